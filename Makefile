# The two commands a newcomer needs: `make run` (the demo) and `make test` (the whole suite).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run test check lint bench venv clean browser permissions translations

# pip says nothing unless something fails (-qq keeps its errors, drops its warnings and notices).
PIP := $(BIN)/python -m pip -qq --disable-pip-version-check

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit("Python >= 3.11 is needed (set PYTHON=python3.11)" if sys.version_info < (3, 11) else 0)'
	@echo "creating $(VENV)"
	@$(PYTHON) -m venv $(VENV)
	@$(PIP) install --upgrade pip

# One stamp per set of extras, redone when pyproject.toml changes.
$(VENV)/.installed-%: pyproject.toml | $(BIN)/python
	@echo "installing the bot with its $* extra into $(VENV) (a minute or two the first time)"
	@$(PIP) install -e '.[$*]'
	@touch $@

venv: $(VENV)/.installed-dev

# The demo. Fixed ports keep a Matrix client pointed at the same homeserver from run to run, and a WORKDIR
# keeps the demo's users, rooms and data for the next run: make run PORT=8008 WEB_PORT=8080 WORKDIR=demo
# It speaks the terminal's language (LANGUAGE, LC_ALL, LC_MESSAGES, LANG), or the one asked: make run LANGUAGE=fr
# (given on the command line, it is checked: one of ar zh en fr ru es).
run: $(VENV)/.installed-demo
	@$(BIN)/iscg-bot demo $(if $(PORT),--port $(PORT)) $(if $(WEB_PORT),--web-port $(WEB_PORT)) \
	  $(if $(WORKDIR),--workdir $(WORKDIR)) $(if $(filter command line,$(origin LANGUAGE)),--lang $(LANGUAGE))

# ARGS go to pytest as they are: make test ARGS='-k feeds', make test ARGS='tests/test_web.py -x'.
# The suite includes every bench in its --quick mode (tests/test_benches.py), so a bench cannot rot.
test: check browser
	$(BIN)/python -m pytest -q -p no:cacheprovider $(ARGS)

# Types (mypy, configured in pyproject.toml), the layers' import contracts (import-linter, .importlinter) and
# lint (ruff), before any test runs.
check: $(VENV)/.installed-test
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The web pages' browser tests drive Debian's chromium (never a downloaded browser). Installed here where the
# machine lets us (apt as root, or sudo without a password); otherwise those tests are skipped, saying why.
CHROMIUM ?= /usr/bin/chromium
# A small CJK font, so Chinese pages (screenshots) and the report's chart show characters, not boxes.
FONTS := fonts-wqy-microhei
APT := env DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Use-Pty=0
browser:
	@if [ -x $(CHROMIUM) ] && fc-list :lang=zh 2>/dev/null | grep -q .; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else \
	  echo "chromium is not installed and apt needs root: the browser tests will be skipped"; exit 0; fi; \
	if ! command -v apt-get >/dev/null; then echo "no apt-get: the browser tests will be skipped"; exit 0; fi; \
	echo "installing Debian's chromium and a CJK font for the browser tests"; \
	$$SUDO $(APT) install chromium $(FONTS) >/dev/null 2>&1 || \
	{ $$SUDO $(APT) update >/dev/null 2>&1 && $$SUDO $(APT) install chromium $(FONTS) >/dev/null 2>&1; } || \
	echo "could not install chromium: the browser tests will be skipped"

# The README's permission table, regenerated from the commands' declarations (a test fails while it differs).
permissions: $(VENV)/.installed-dev
	$(BIN)/python -m iscg_bot.commands.permission_table --write README.md

# The message catalogs (README "Translations"): extract every marked message into the template, bring each
# language's catalog up to it (new messages empty, removed ones dropped), compile them, and say how complete
# each is. A test fails while the template or a compiled catalog is out of date, or a translation is missing.
LOCALE := iscg_bot/locale
KEYWORDS := -k _ -k n_:1,2 -k tr -k ntr:1,2 -k lazy
translations: $(VENV)/.installed-dev
	$(BIN)/pybabel -q extract -F babel.cfg $(KEYWORDS) --no-default-keywords --no-location --sort-output \
	  --project "ISCG bot" --copyright-holder "the ISCG bot's authors" -o $(LOCALE)/iscg_bot.pot iscg_bot commands
	$(BIN)/pybabel -q update -i $(LOCALE)/iscg_bot.pot -d $(LOCALE) -D iscg_bot --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d $(LOCALE) -D iscg_bot --statistics

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

# Every bench in full (minutes; the figures quoted in the README come from here), stopping at the first that fails.
bench: $(VENV)/.installed-test
	@set -e; for bench in bench/*.py; do echo "== $$bench"; $(BIN)/python $$bench; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
