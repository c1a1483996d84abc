"""Shared fixtures: the SciCat sandbox and a real OpenSSH sshd (both shipped in scisync.testing)."""

pytest_plugins = ["scisync.testing.plugin", "scisync.testing.sshd"]
