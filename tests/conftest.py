pytest_plugins = ["tests.fixtures_storage", "tests.fixtures_synapse", "tests.fixtures_bot", "tests.chat"]
