pytest_plugins = ["scisync.testing.plugin"]
