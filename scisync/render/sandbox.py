"""What ``scisync sandbox`` shows when it starts."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scisync.sandbox.server import SandboxInfo


def describe(info: SandboxInfo) -> list[str]:
    """The lines shown on start: where it listens and how to log in."""
    lines = [
        f"SciCat sandbox listening on {info.url}",
        f"web page: {info.web_url}",
        f"data folder: {info.data_dir}",
        f"accounts (from {info.accounts_file}; demo only, never expose beyond localhost):",
    ]
    for username, password, groups in info.accounts:
        how = "  (LDAP: scisync login --ldap)" if username in info.ldap_accounts else ""
        lines.append(f"  {username} / {password}  groups: {', '.join(groups) or '-'}{how}")
    lines.append("Press Ctrl-C to stop.")
    return lines
