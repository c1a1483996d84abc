"""Which certificate authorities a SciCat connection trusts.

Sessions run with ``trust_env`` off (so ``~/.netrc`` is never read), which also stops
requests from reading ``REQUESTS_CA_BUNDLE`` and ``CURL_CA_BUNDLE``.  Sites with their
own certificate authority, or a proxy that inspects TLS, need exactly those variables,
so they are read here, explicitly and in requests' own order.  A variable that names
nothing is an error at once: silently falling back to the default authorities would turn
a typo into a confusing certificate failure later.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from scisync.errors import ConfigError

CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
"""Read in this order, as requests reads them; the first one set wins."""

CA_BUNDLE_HINT = (
    "if SciCat's certificate comes from your site's own certificate authority (or a proxy "
    "that inspects TLS), set REQUESTS_CA_BUNDLE to that authority's certificate file (PEM)"
)


def ca_bundle_setting(environ: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """``(variable, path)`` of the CA bundle the environment names, or None for the default.

    Raises ConfigError when the named file or folder does not exist.
    """
    source = os.environ if environ is None else environ
    for variable in CA_BUNDLE_VARIABLES:
        path = source.get(variable, "")
        if not path:
            continue
        if not os.path.exists(path):
            raise ConfigError(
                f"{variable} names {path!r}, which does not exist",
                where=f"environment variable {variable}",
                hint=f"point {variable} at a PEM file of certificate authorities (or a folder "
                f"of them), or unset it to use the default authorities",
            )
        return variable, path
    return None
