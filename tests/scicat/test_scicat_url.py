"""The SciCat URL: normalised to the API root, or refused with what to write instead."""

from __future__ import annotations

import re

import pytest

from scisync.errors import ConfigError
from scisync.scicat.client import ScicatClient
from scisync.scicat.http import api_root

ACCEPTED = [
    ("http://h:3000/api/v3", "http://h:3000/api"),
    ("http://h:3000/api/v3/", "http://h:3000/api"),
    ("http://h:3000/api/v4", "http://h:3000/api"),
    ("https://h/api/V3", "https://h/api"),
    ("http://h:3000/api", "http://h:3000/api"),
    ("http://h:3000/api/", "http://h:3000/api"),
    ("http://h:3000", "http://h:3000/api"),
    ("http://h:3000/", "http://h:3000/api"),
    ("  https://h/scicat/api/v3  ", "https://h/scicat/api"),  # behind a proxy prefix
    ("https://h/scicat", "https://h/scicat/api"),
]

REFUSED = [
    ("h:3000/api/v3", "not an http(s) URL"),
    ("scicat.example.org/api/v3", "did you mean 'http://scicat.example.org/api/v3'?"),
    ("ftp://h/api/v3", "not an http(s) URL"),
    ("http://ada:pw@h/api/v3", "must not carry a user name or password"),
    ("http://h/api/v3?x=1", "must not have a query"),
    ("http://h/api/v3/datasets", "give the root itself, e.g. 'http://h/api/v3'"),
    ("http://h/api/v3/Datasets/", "goes past the API root"),
    ("http://h/api/v5", "scisync speaks SciCat's v3/v4 API"),
    ("http://h/api/v1", "names API v1"),
]


@pytest.mark.parametrize(("given", "root"), ACCEPTED)
def test_accepted(given: str, root: str) -> None:
    assert api_root(given) == root


@pytest.mark.parametrize(("given", "message"), REFUSED)
def test_refused_with_what_to_write(given: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        api_root(given)


def test_refusal_reaches_the_user_as_a_config_error_without_the_password() -> None:
    with pytest.raises(ConfigError) as raised:
        ScicatClient("http://ada:hunter2pw@h/api/v3", None)
    assert "hunter2pw" not in str(raised.value)
    assert "scicat.url" in str(raised.value)


def test_suggested_url_is_accepted() -> None:
    """Following the hint works: the URL the message suggests is taken."""
    with pytest.raises(ValueError) as raised:
        api_root("http://h/api/v3/datasets")
    suggested = str(raised.value).split("e.g. ")[1].strip("'")
    assert api_root(suggested) == "http://h/api"
