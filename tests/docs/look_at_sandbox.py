"""What the getting-started tour's reader does in a browser, with the standard library.

Run by tests/docs/test_getting_started.py right after the tour starts `scisync sandbox`:
waits for the server, signs in through the login form, prints the datasets page.
Usage: python look_at_sandbox.py PORT
"""

from __future__ import annotations

import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar


def main(port: int) -> None:
    site = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{site}/login", timeout=5).read()
            break
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    form = urllib.parse.urlencode({"username": "ingestor", "password": "sandbox-ingestor"})
    page = browser.open(f"{site}/login", data=form.encode(), timeout=30)  # follows the 303
    sys.stdout.write(page.read().decode("utf-8"))


if __name__ == "__main__":
    main(int(sys.argv[1]))
