"""``scisync login``: get a SciCat token with a username and password, and save it.

The token goes to the credential store (see :mod:`scisync.scicat.credentials`), where
later commands find it when ``$SCICAT_TOKEN`` is not set.  The password is prompted
without echo, or read from an environment variable named by ``--password-env``; it is
never accepted as a command-line value (it would land in shell history and ``ps``).
"""

from __future__ import annotations

import os

import click

from scisync._util.secrets import register_secret
from scisync.errors import ConfigError
from scisync.scicat.auth import login
from scisync.scicat.credentials import CredentialStore, StoredCredential
from scisync.scicat.http import api_root


@click.command("login")
@click.option(
    "--url",
    envvar="SCICAT_URL",
    metavar="URL",
    help="SciCat API URL, e.g. https://scicat.example.org/api/v3 (default: $SCICAT_URL).",
)
@click.option("--username", metavar="NAME", help="Account name (prompted if not given).")
@click.option(
    "--password-env",
    metavar="NAME",
    help="Read the password from this environment variable instead of prompting.",
)
@click.option("--timeout", type=float, default=30.0, show_default=True, help="Seconds.")
def login_command(
    url: str | None, username: str | None, password_env: str | None, timeout: float
) -> None:
    """Log in to SciCat and save the token for later commands."""
    if not url:
        raise click.UsageError("give --url (the SciCat API URL, e.g. https://host/api/v3)")
    try:
        root = api_root(url)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--url") from None
    if not username:
        username = click.prompt("Username", type=str)
    assert username is not None
    if password_env:
        password = os.environ.get(password_env, "")
        if not password:
            raise ConfigError(
                f"${password_env} is empty or not set",
                where="--password-env",
                hint=f"export {password_env}=... or omit --password-env to be prompted",
            )
    else:
        password = click.prompt("Password", hide_input=True, type=str)
    register_secret(password)

    result = login(url, username, password, timeout=timeout)
    store = CredentialStore.default(os.environ)
    store.put(
        url,
        StoredCredential(token=result.token, expires_at=result.expires_at, username=username),
    )
    expiry = (
        f", valid until {result.expires_at.isoformat(timespec='seconds')}"
        if result.expires_at
        else ""
    )
    click.echo(f"Logged in to {root} as {username}{expiry}; token saved in {store.path}.")
