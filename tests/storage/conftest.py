pytest_plugins = ["scisync.testing.sshd"]
