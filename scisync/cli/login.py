"""``scisync login``: get a SciCat token and save it for later commands.

Three ways, each a thin layer over :mod:`scisync.scicat.auth`:

- ``--method local`` (default): a local or functional account's password
  (SciCat's ``auth/login``);
- ``--method ldap`` (or ``--ldap``): a facility account's password (``auth/ldap``);
- ``--browser``: open SciCat's login page, log in there (single sign-on, OIDC, ...),
  and paste the token from the user settings page; scisync checks it with ``whoami``.

The token goes to the credential store (see :mod:`scisync.scicat.credentials`), where
later commands find it when ``$SCICAT_TOKEN`` is not set.  Passwords are prompted without
echo, or read from an environment variable named by ``--password-env``; they are never
accepted as command-line values (they would land in shell history and ``ps``).  Without a
terminal there is nobody to prompt: scisync says so instead of failing inside getpass.
"""

from __future__ import annotations

import os
import sys
import webbrowser
from datetime import UTC, datetime

import click

from scisync._util.secrets import register_secret
from scisync.cli.options import print_retry
from scisync.errors import ConfigError
from scisync.scicat.auth import (
    LOGIN_METHODS,
    LoginMethod,
    LoginResult,
    check_token,
    expires_soon,
    login,
    login_page_url,
)
from scisync.scicat.credentials import CredentialStore, StoredCredential
from scisync.scicat.http import api_root


def stdin_is_terminal() -> bool:
    """Whether a person can answer prompts (tests replace this)."""
    return sys.stdin.isatty()


def can_open_browser() -> bool:
    """A graphical browser can be opened: without a display, Python's webbrowser would
    start a text browser in this very terminal, so the URL is printed instead."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


@click.command("login")
@click.option(
    "--url",
    envvar="SCICAT_URL",
    metavar="URL",
    help="SciCat API URL, e.g. https://scicat.example.org/api/v3 (default: $SCICAT_URL).",
)
@click.option(
    "--method",
    "method",
    type=click.Choice([*LOGIN_METHODS, "browser"]),
    default="local",
    show_default=True,
    help="local: local/functional account (auth/login); ldap: facility account "
    "(auth/ldap); browser: log in on the SciCat web page and paste the token.",
)
@click.option("--ldap", "method", flag_value="ldap", help="Same as --method ldap.")
@click.option("--browser", "method", flag_value="browser", help="Same as --method browser.")
@click.option("--username", metavar="NAME", help="Account name (prompted if not given).")
@click.option(
    "--password-env",
    metavar="NAME",
    help="Read the password from this environment variable instead of prompting.",
)
@click.option(
    "--login-url",
    metavar="URL",
    help="The SciCat web page to log in on (--browser; default: the API's host + /login).",
)
@click.option(
    "--no-browser",
    is_flag=True,
    help="With --browser: print the login page's URL instead of opening it.",
)
@click.option("--timeout", type=float, default=30.0, show_default=True, help="Seconds.")
def login_command(
    url: str | None,
    method: str,
    username: str | None,
    password_env: str | None,
    login_url: str | None,
    no_browser: bool,
    timeout: float,
) -> None:
    """Log in to SciCat and save the token for later commands."""
    if not url:
        raise click.UsageError("give --url (the SciCat API URL, e.g. https://host/api/v3)")
    try:
        root = api_root(url)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--url") from None
    if method == "browser":
        result = _browser_login(url, login_url, no_browser, timeout)
    else:
        assert method in LOGIN_METHODS
        login_method: LoginMethod = "ldap" if method == "ldap" else "local"
        name = username or _ask("Username", "--username NAME", hide=False)
        password = _password(password_env)
        result = login(
            url, name, password, method=login_method, timeout=timeout, on_retry=print_retry
        )
    store = CredentialStore.default(os.environ)
    store.put(
        url,
        StoredCredential(
            token=result.token, expires_at=result.expires_at, username=result.username
        ),
    )
    who = f" as {result.username}" if result.username else ""
    expiry = (
        f", valid until {result.expires_at.isoformat(timespec='seconds')}"
        if result.expires_at
        else ""
    )
    click.echo(f"Logged in to {root}{who}{expiry}; token saved in {store.path}.")
    if expires_soon(result.expires_at):
        assert result.expires_at is not None
        minutes = max(0, int((result.expires_at - datetime.now(tz=UTC)).total_seconds() // 60))
        click.echo(
            f"Note: this token expires soon, in {minutes} min at "
            f"{result.expires_at.isoformat(timespec='seconds')}; log in again before long runs.",
            err=True,
        )


def _browser_login(
    url: str, login_url: str | None, no_browser: bool, timeout: float
) -> LoginResult:
    page = login_url or login_page_url(url)
    opened = False if no_browser or not can_open_browser() else webbrowser.open(page)
    where = "A browser window shows" if opened else "Open"
    click.echo(
        f"{where} {page} : log in there, open your user settings page and copy your "
        "SciCat token, then paste it here.",
        err=True,
    )
    if stdin_is_terminal():
        token = click.prompt("Token", hide_input=True, type=str, err=True)
    else:
        token = sys.stdin.readline()
    register_secret(token.strip())
    return check_token(url, token, timeout=timeout)


def _password(password_env: str | None) -> str:
    if password_env:
        password = os.environ.get(password_env, "")
        if not password:
            raise ConfigError(
                f"${password_env} is empty or not set",
                where="--password-env",
                hint=f"export {password_env}=... or omit --password-env to be prompted",
            )
    else:
        password = _ask("Password", "--password-env NAME", hide=True)
    register_secret(password)
    return password


def _ask(label: str, option: str, *, hide: bool) -> str:
    """Prompt for a value; without a terminal, say how to give it instead."""
    if not stdin_is_terminal():
        raise ConfigError(
            f"scisync login needs a terminal to ask for the {label.lower()}, and stdin is not one",
            where="scisync login",
            hint=f"give {option}"
            + (" (the name of an environment variable holding the password)" if hide else "")
            + ", or set a token in $SCICAT_TOKEN, or pipe a token into "
            "`scisync login --browser --no-browser`",
        )
    return str(click.prompt(label, hide_input=hide, type=str))
