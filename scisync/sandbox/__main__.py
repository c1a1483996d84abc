"""``python -m scisync.sandbox``: the same as ``scisync sandbox``."""

from scisync.cli.sandbox import sandbox_command

if __name__ == "__main__":
    sandbox_command()
