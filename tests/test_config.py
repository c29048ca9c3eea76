"""Configuration: TOML + ISCG_* overrides + secret files, validated with the key and the reason."""

import os
from pathlib import Path

import pytest

from iscg_bot.cli import main
from iscg_bot.core.config import ConfigError, load_settings

EXAMPLE = Path(__file__).parent.parent / "config.example.toml"

MINIMAL = """
[matrix]
homeserver = "https://matrix.example.org"
user_id = "@iscg-bot:example.org"
password = "pw"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path | None, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env or {})
    return caught.value.problems


def test_the_shipped_example_is_valid():
    settings = load_settings(EXAMPLE, {})
    assert settings.bot.default_timezone == "Europe/Zurich"
    assert settings.database.url.get_secret_value().startswith("sqlite+aiosqlite://")


def test_defaults_fill_what_the_file_leaves_out(tmp_path):
    settings = load_settings(write(tmp_path, MINIMAL), {})
    assert settings.bot.command_prefix == "!"
    assert settings.matrix.encryption is True


def test_environment_overrides_every_kind_of_key(tmp_path):
    env = {
        "ISCG_MATRIX_HOMESERVER": "http://127.0.0.1:8008/",
        "ISCG_BOT_ADMINS": "@a:example.org, @b:example.org",
        "ISCG_BOT_INVITE_ALLOWLIST": '["itu.int", ":example.org"]',
        "ISCG_BOT_MAX_MESSAGE_LENGTH": "500",
        "ISCG_MATRIX_ENCRYPTION": "false",
    }
    settings = load_settings(write(tmp_path, MINIMAL), env)
    assert settings.matrix.homeserver == "http://127.0.0.1:8008"
    assert settings.bot.admins == ["@a:example.org", "@b:example.org"]
    assert settings.bot.invite_allowlist == ["itu.int", "example.org"]
    assert settings.bot.max_message_length == 500
    assert settings.matrix.encryption is False


def test_configuration_may_come_from_the_environment_alone():
    env = {
        "ISCG_MATRIX_HOMESERVER": "https://m.example.org",
        "ISCG_MATRIX_USER_ID": "@bot:example.org",
        "ISCG_MATRIX_ACCESS_TOKEN": "syt_x",
    }
    assert load_settings(None, env).matrix.access_token.get_secret_value() == "syt_x"


def test_secrets_are_read_from_files(tmp_path):
    secret = tmp_path / "token"
    secret.write_text("syt_secret\n", encoding="utf-8")
    text = MINIMAL.replace('password = "pw"', f'access_token_file = "{secret}"')
    assert load_settings(write(tmp_path, text), {}).matrix.access_token.get_secret_value() == "syt_secret"
    env = {"ISCG_DATABASE_URL_FILE": str(secret)}
    secret.write_text("postgresql+asyncpg://u:p@db/iscg", encoding="utf-8")
    assert load_settings(write(tmp_path, MINIMAL), env).database.url.get_secret_value().endswith("/iscg")


def test_an_unreadable_secret_file_is_named(tmp_path):
    text = MINIMAL + '\n[database]\nurl_file = "/nonexistent/secret"\n'
    assert problems(write(tmp_path, text)) == [
        "database.url_file: cannot read /nonexistent/secret: No such file or directory"
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ('homeserver = "https://matrix.example.org"', 'homeserver = "matrix.example.org"'),
            "matrix.homeserver (from {path}): must be an http:// or https:// URL",
        ),
        (
            ('user_id = "@iscg-bot:example.org"', 'user_id = "iscg-bot"'),
            "matrix.user_id (from {path}): must be a Matrix user ID like @iscg-bot:example.org",
        ),
        (
            ('password = "pw"', ""),
            "matrix: set access_token or password (or access_token_file / password_file)",
        ),
        (
            ('password = "pw"', 'password = "pw"\npasword = "typo"'),
            "matrix.pasword (from {path}): unknown key (a typo?)",
        ),
    ],
)
def test_errors_name_the_key_the_source_and_the_reason(tmp_path, change, expected):
    path = write(tmp_path, MINIMAL.replace(*change))
    assert problems(path) == [expected.format(path=path)]


def test_errors_from_the_environment_name_the_variable(tmp_path):
    env = {"ISCG_BOT_DEFAULT_TIMEZONE": "CET+1", "ISCG_BOT_ADMINS": "alice"}
    assert sorted(problems(write(tmp_path, MINIMAL), env)) == [
        "bot.admins (from ISCG_BOT_ADMINS): 'alice' is not a Matrix user ID like @chair:example.org",
        "bot.default_timezone (from ISCG_BOT_DEFAULT_TIMEZONE): "
        "'CET+1' is not an IANA time zone (e.g. Europe/Zurich)",
    ]


def test_missing_required_keys_say_how_to_set_them():
    assert problems(None)[:2] == [
        "matrix.homeserver: missing: set it in the config file or as ISCG_MATRIX_HOMESERVER",
        "matrix.user_id: missing: set it in the config file or as ISCG_MATRIX_USER_ID",
    ]


def test_broken_toml_is_reported_with_the_file(tmp_path):
    [problem] = problems(write(tmp_path, "[matrix\n"))
    assert problem.startswith(f"{tmp_path / 'config.toml'}: not valid TOML")


def test_check_config_command(tmp_path, capsys):
    assert main(["check-config", "--config", str(write(tmp_path, MINIMAL))]) == 0
    out = capsys.readouterr().out
    assert "matrix.password = ********" in out and "pw" not in out.replace("password", "")
    assert main(["check-config", "--config", str(write(tmp_path, "[bot]\nadmins = 3\n"))]) == 2
    err = capsys.readouterr().err
    assert "config error: bot.admins" in err


@pytest.mark.parametrize(
    "address",
    [
        "iscg-bot@localhost",  # local delivery, test setups
        "iscg-bot@itu.int",
        "first.last+iscg@lists.example.org",
        '"quoted local"@example.org',
        "bot@[127.0.0.1]",
    ],
)
def test_mail_addresses_that_an_address_parser_accepts_are_accepted(tmp_path, address):
    env = {"ISCG_MAIL_FROM_ADDRESS": address, "ISCG_MAIL_LIST_ADDRESS": address}
    settings = load_settings(write(tmp_path, MINIMAL), env)
    assert (settings.mail.from_address, settings.mail.list_address) == (address, address)


@pytest.mark.parametrize(
    "address",
    [
        "garbage",
        "bot@",
        "@itu.int",
        "bot@itu..int",
        "two words@itu.int",
        "Bot <bot@itu.int>",  # a display name: not a plain mailbox
        "a@itu.int, b@itu.int",
        "bot@itu.int\r\nBcc: x@example.org",
        "bot@itu.int\nBcc: x@example.org",
        "bøt@itu.int",
    ],
)
def test_what_an_address_parser_cannot_read_is_refused(tmp_path, address):
    [problem] = problems(write(tmp_path, MINIMAL), {"ISCG_MAIL_FROM_ADDRESS": address})
    assert problem.startswith("mail.from_address (from ISCG_MAIL_FROM_ADDRESS): "), problem
    assert "is not an e-mail address" in problem and "\n" not in problem


@pytest.fixture
def bare_directory(tmp_path, monkeypatch):
    """A directory with no config.toml, and no ISCG_* variable set."""
    for name in [n for n in os.environ if n.startswith("ISCG_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("command", ["check-config", "run", "migrate"])
def test_with_no_config_file_the_error_says_which_file_was_looked_for(bare_directory, capsys, command):
    assert main([command]) == 2
    err = capsys.readouterr().err
    first = err.splitlines()[0]
    assert first == (
        f"config error: no config file: ./config.toml was not found (in {bare_directory}), "
        "and neither --config nor $ISCG_CONFIG names one"
    )
    assert "--config FILE" in err and "ISCG_CONFIG=FILE" in err and "ISCG_MATRIX_HOMESERVER" in err
    assert "matrix.homeserver: missing" in err  # what is still missing, as before


def test_a_config_named_by_iscg_config_that_does_not_exist_is_named(bare_directory, capsys, monkeypatch):
    monkeypatch.setenv("ISCG_CONFIG", str(bare_directory / "etc" / "iscg.toml"))
    assert main(["check-config"]) == 2
    err = capsys.readouterr().err
    assert f"config file {bare_directory / 'etc' / 'iscg.toml'} not found" in err
    assert "(from $ISCG_CONFIG)" in err


def test_the_environment_alone_is_a_valid_configuration_and_check_config_says_so(
    bare_directory, capsys, monkeypatch
):
    monkeypatch.setenv("ISCG_MATRIX_HOMESERVER", "https://matrix.example.org")
    monkeypatch.setenv("ISCG_MATRIX_USER_ID", "@iscg-bot:example.org")
    monkeypatch.setenv("ISCG_MATRIX_PASSWORD", "pw")
    assert main(["check-config"]) == 0
    out = capsys.readouterr().out
    first = out.splitlines()[0]
    assert first == "configuration is valid (no config file: from ISCG_* variables and defaults):"
    assert "matrix.homeserver = https://matrix.example.org" in out


def test_the_log_format_is_text_or_json(tmp_path):
    assert load_settings(write(tmp_path, MINIMAL), {}).logging.format == "text"
    assert load_settings(write(tmp_path, MINIMAL), {"ISCG_LOGGING_FORMAT": "json"}).logging.format == "json"
    assert problems(write(tmp_path, MINIMAL), {"ISCG_LOGGING_FORMAT": "xml"}) == [
        "logging.format (from ISCG_LOGGING_FORMAT): Input should be 'text' or 'json'"
    ]


def test_environment_strings_are_read_as_the_key_s_type(tmp_path):
    env = {
        "ISCG_MATRIX_ENCRYPTION": "no",
        "ISCG_WEB_ENABLED": "0",
        "ISCG_MAIL_STARTTLS": "Yes",
        "ISCG_BOT_MAX_MESSAGE_LENGTH": " 500.0 ",
        "ISCG_MATRIX_SYNC_TIMEOUT_SECONDS": "12.5",
        "ISCG_REMINDERS_OFFSETS_MINUTES": "5, 60, 5",
        "ISCG_MATRIX_STORE_PATH": "/var/lib/iscg/crypto",
    }
    settings = load_settings(write(tmp_path, MINIMAL), env)
    assert (settings.matrix.encryption, settings.web.enabled, settings.mail.starttls) == (False, False, True)
    assert settings.bot.max_message_length == 500 and settings.matrix.sync_timeout_seconds == 12.5
    assert settings.reminders.offsets_minutes == [60, 5]  # sorted, latest first, once each
    assert settings.matrix.store_path == Path("/var/lib/iscg/crypto")


def test_wrong_types_and_out_of_range_values_are_each_named(tmp_path):
    env = {
        "ISCG_MATRIX_ENCRYPTION": "maybe",
        "ISCG_MATRIX_SYNC_TIMEOUT_SECONDS": "0",
        "ISCG_BOT_MAX_MESSAGE_LENGTH": "lots",
        "ISCG_WEB_LISTEN_PORT": "65536",
    }
    text = MINIMAL + '\n[bot]\nadmins = ["@chair:example.org", 5]\n'
    assert problems(write(tmp_path, text), env) == [
        "matrix.encryption (from ISCG_MATRIX_ENCRYPTION): Input should be a valid boolean, unable to "
        "interpret input",
        "matrix.sync_timeout_seconds (from ISCG_MATRIX_SYNC_TIMEOUT_SECONDS): Input should be greater than 0",
        f"bot.admins.1 (from {tmp_path / 'config.toml'}): Input should be a valid string",
        "bot.max_message_length (from ISCG_BOT_MAX_MESSAGE_LENGTH): Input should be a valid integer, unable "
        "to parse string as an integer",
        "web.listen_port (from ISCG_WEB_LISTEN_PORT): Input should be less than or equal to 65535",
    ]


def test_secrets_never_show_when_the_settings_are_printed(tmp_path):
    env = {
        "ISCG_DATABASE_URL": "postgresql+asyncpg://bot:db-s3cret@db/iscg",
        "ISCG_MATRIX_PASSWORD": "pw-s3cret",
    }
    settings = load_settings(write(tmp_path, MINIMAL), env)
    shown = repr(settings) + str(settings.model_dump())
    assert "s3cret" not in shown and "**********" in shown
    assert settings.matrix.password.get_secret_value() == "pw-s3cret"


def test_settings_cannot_be_changed_once_loaded(tmp_path):
    settings = load_settings(write(tmp_path, MINIMAL), {})
    with pytest.raises(AttributeError):
        settings.bot.command_prefix = "?"
    copy = settings.model_copy(update={"bot": settings.bot.model_copy(update={"command_prefix": "?"})})
    assert (settings.bot.command_prefix, copy.bot.command_prefix) == ("!", "?")
    assert type(settings).model_validate(settings.model_dump()) == settings
