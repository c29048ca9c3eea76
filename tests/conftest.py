pytest_plugins = [
    "tests.fixtures_storage",
    "tests.fixtures_synapse",
    "tests.fixtures_bot",
    "tests.chat",
    "tests.support.pg_cluster",  # the `pg_cluster` fixture: a private PostgreSQL to stop and restart
    "tests.support.caldav",  # the `radicale` fixture: a CalDAV server for a test module
]
