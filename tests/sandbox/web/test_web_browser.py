"""The web page in a real headless Chromium, over the README quickstart's sandbox folder.

After `scisync apply`, `scisync sandbox --data .scisync-sandbox` serves the catalogue; a
visitor signs in, finds the dataset, sees its files and its plot actually drawn.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from selenium.common.exceptions import (
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from scisync.sandbox import SandboxServer
from tests.sandbox.helpers import v4_dataset

DATASET = "Silicon calibration scan"
SCREENSHOT = Path(__file__).parents[3] / "docs" / "sandbox-dataset-page.png"


def _submit(page: Any, by: str, value: str) -> None:
    """Click a link or a form's button, and wait for the page it leads to.

    A click only starts the navigation (for a form, a POST and then a 303 redirect): looking
    at the page straight after it can still see the old one (CI did), so wait until the old
    document is gone and the new one has loaded.  The element is found again if the page
    was replaced between finding and clicking it (CI saw Chromium refuse the click: "node
    ... does not belong to the document"); a refused click dispatched nothing, so trying
    again is safe.
    """

    def clicked(driver: Any) -> Any:
        try:
            old = driver.find_element(By.TAG_NAME, "html")
            driver.find_element(by, value).click()
        except WebDriverException as exc:
            if not _detached(exc):
                raise
            return False
        return old

    old = WebDriverWait(page, 30).until(clicked)
    WebDriverWait(page, 30).until(_gone(old))
    WebDriverWait(page, 30).until(
        lambda driver: driver.execute_script("return document.readyState") == "complete"
    )


def _gone(element: Any) -> Any:
    """A wait condition: *element*'s document was replaced (see :func:`_detached`)."""

    def check(driver: Any) -> bool:
        try:
            element.is_enabled()
        except WebDriverException as exc:
            if not _detached(exc):
                raise
            return True
        return False

    return check


def _detached(exc: WebDriverException) -> bool:
    """An element whose document was replaced: Chromium reports it as a stale element, or
    (racing the replacement) as "node ... does not belong to the document"."""
    return isinstance(exc, StaleElementReferenceException) or (
        "does not belong to the document" in str(exc)
    )


def _sign_in(page: Any, server: SandboxServer, password: str = "sandbox-ingestor") -> None:
    page.get(server.web_url + "login")
    page.find_element(By.ID, "username").send_keys("ingestor")
    page.find_element(By.ID, "password").send_keys(password)
    _submit(page, By.CSS_SELECTOR, "form.login button[type=submit]")


def _names(page: Any) -> list[str]:
    return [a.text for a in page.find_elements(By.CSS_SELECTOR, "#datasets tbody td:first-child a")]


def _shows_names(page: Any, expected: list[str]) -> None:
    """Wait (30 s at most) until the datasets table lists exactly *expected*, in any order.

    After a navigation the new document may still be loading, or be replaced while it is
    read (a stale element: CI saw it under load), so the table is read again until it
    matches; a table that never matches fails with what it last showed.
    """
    seen: list[list[str]] = [[]]

    def matches(driver: Any) -> bool:
        try:
            seen[0] = _names(driver)
        except StaleElementReferenceException:
            return False
        return sorted(seen[0]) == sorted(expected)

    try:
        WebDriverWait(page, 30).until(matches)
    except TimeoutException:
        raise AssertionError(f"the table shows {seen[0]}, expected {expected}") from None


def test_an_anonymous_visitor_does_not_see_the_unpublished_dataset(
    page: Any, served: SandboxServer
) -> None:
    page.get(served.web_url)
    assert page.title.startswith("Datasets")
    assert DATASET not in page.page_source
    assert page.find_element(By.ID, "no-results").is_displayed()
    pid = _pid(served)
    page.get(served.web_url + "datasets/" + quote(pid, safe=""))
    assert page.find_element(By.TAG_NAME, "h1").text == "Dataset not found"
    assert DATASET not in page.page_source


def test_the_login_form_refuses_a_wrong_password_then_signs_in_and_out(
    page: Any, served: SandboxServer
) -> None:
    _sign_in(page, served, password="wrong")
    assert page.find_element(By.ID, "login-error").text == "Wrong username or password."
    assert not page.find_elements(By.ID, "signed-in-user")
    _sign_in(page, served)
    assert page.find_element(By.ID, "signed-in-user").text == "ingestor"
    _shows_names(page, [DATASET])
    _submit(page, By.CSS_SELECTOR, ".who form button")
    assert not page.find_elements(By.ID, "signed-in-user")
    # An empty table would also "match" a page still loading: wait for its own message.
    WebDriverWait(page, 30).until(
        expected_conditions.visibility_of_element_located((By.ID, "no-results"))
    )
    assert _names(page) == []


def test_the_dataset_page_shows_files_plot_sample_and_lineage(
    page: Any, served: SandboxServer
) -> None:
    _sign_in(page, served)
    _submit(page, By.LINK_TEXT, DATASET)
    assert page.find_element(By.ID, "dataset-name").text == DATASET
    rows = page.find_elements(By.CSS_SELECTOR, "#files tbody tr")
    cells = [[td.text for td in row.find_elements(By.TAG_NAME, "td")] for row in rows]
    assert [c[0] for c in cells] == ["frame-001.csv", "frame-002.csv", "frame-003.csv"]
    assert all(len(c[2]) == 64 and int(c[2], 16) >= 0 for c in cells)  # sha256 checksums
    image = page.find_element(By.CSS_SELECTOR, ".gallery img")
    rendered = page.execute_script(
        "const i = arguments[0]; return i.complete && i.naturalWidth > 0 ? i.naturalWidth : 0;",
        image,
    )
    assert rendered > 0
    assert (
        "Integrated intensity of the three frames"
        in page.find_element(By.TAG_NAME, "figcaption").text
    )
    lineage = page.find_element(By.ID, "lineage")
    assert lineage.tag_name == "svg"
    assert "Silicon powder, batch 1" in lineage.get_attribute("innerHTML")
    assert page.find_elements(By.CSS_SELECTOR, "#files")  # and the metadata with units:
    assert "angstrom" in page.find_element(By.CSS_SELECTOR, "table.quantities").text
    path = SCREENSHOT if os.environ.get("SCISYNC_UPDATE_SCREENSHOT") else None
    if path is not None:
        page.set_window_size(1100, 1400)
        page.save_screenshot(str(path))
    _submit(page, By.LINK_TEXT, "Silicon powder, batch 1")
    assert page.find_element(By.ID, "sample-name").text == "Silicon powder, batch 1"
    assert DATASET in page.find_element(By.CSS_SELECTOR, "ul.links").text


def test_search_narrows_the_list(page: Any, served: SandboxServer) -> None:
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {served.login('ingestor')}"
    for name in ("Water background", "Empty cell"):
        body = v4_dataset(datasetName=name, keywords=["background"], isPublished=True)
        assert api.post(served.root_url + "/v4/datasets", json=body).status_code == 201
    _sign_in(page, served)
    _shows_names(page, [DATASET, "Water background", "Empty cell"])
    box = page.find_element(By.ID, "q")
    box.send_keys("SILICON\n")
    WebDriverWait(page, 30).until(_gone(box))
    _shows_names(page, [DATASET])
    box = page.find_element(By.ID, "q")
    box.clear()
    box.send_keys("background\n")  # a keyword
    WebDriverWait(page, 30).until(_gone(box))
    _shows_names(page, ["Empty cell", "Water background"])
    page.get(served.web_url + "?q=nothing-like-this")
    assert page.find_element(By.ID, "no-results").is_displayed()


# What the default publishedDataConfig requires of a record's metadata.
METADATA = {
    "creators": [{"name": "Ada Lovelace"}],
    "publisher": {"name": "Sandbox Facility", "publisherIdentifierScheme": "ROR"},
    "publicationYear": 2026,
    "resourceType": "Dataset",
}


def _publication(server: SandboxServer, title: str, status: str, **extra: Any) -> str:
    """A published-data record citing the quickstart's dataset, created in *status*
    (not through publish/register, which would publish the dataset), by ingestor."""
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {server.login('ingestor')}"
    body = {
        "title": title,
        "abstract": f"What {title} is about.",
        "datasetPids": [_pid(server)],
        "status": status,
        "metadata": METADATA,
        **extra,
    }
    reply = api.post(server.root_url + "/v4/publisheddata", json=body)
    assert reply.status_code == 201, reply.text
    return str(reply.json()["doi"])


def _titles(page: Any) -> list[str]:
    cells = page.find_elements(By.CSS_SELECTOR, "#published-data tbody td:first-child a")
    return sorted(a.text for a in cells)


def test_published_data_registered_for_all_private_for_its_owner(
    page: Any, served: SandboxServer
) -> None:
    registered = _publication(served, "Silicon lattice paper", "registered")
    private = _publication(served, "Draft on silicon", "private")
    page.get(served.web_url)
    _submit(page, By.LINK_TEXT, "Published data (DOIs)")
    assert page.find_element(By.TAG_NAME, "h1").text == "Published data"
    assert "Silicon lattice paper" in _titles(page)
    assert "Draft on silicon" not in page.page_source
    page.get(served.web_url + "publisheddata/" + quote(private, safe=""))
    assert page.find_element(By.TAG_NAME, "h1").text == "Published data record not found"
    assert "Draft on silicon" not in page.page_source
    page.get(served.web_url + "publisheddata/" + quote(registered, safe=""))
    assert page.find_element(By.ID, "publication-doi").text == registered
    assert registered.startswith("10.5072/")
    _sign_in(page, served)
    page.get(served.web_url + "publisheddata")
    assert {"Draft on silicon", "Silicon lattice paper"} <= set(_titles(page))
    _submit(page, By.LINK_TEXT, "Draft on silicon")
    assert page.find_element(By.ID, "publication-title").text == "Draft on silicon"
    assert page.find_element(By.ID, "publication-status").text == "private"
    assert "Ada Lovelace" in page.find_element(By.ID, "publication-summary").text
    _submit(page, By.LINK_TEXT, DATASET)  # the record links its dataset
    assert page.find_element(By.ID, "dataset-name").text == DATASET
    cited = page.find_element(By.CSS_SELECTOR, "section[aria-labelledby=h-publications]").text
    assert "Draft on silicon" in cited and "Silicon lattice paper" in cited
    _submit(page, By.PARTIAL_LINK_TEXT, "Silicon lattice paper")
    assert page.find_element(By.ID, "publication-doi").text == registered


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>window.pwned = 1</script>",
        '"><img src=x onerror="window.pwned=1">',
        "</title><svg onload=window.pwned=1>",
    ],
)
def test_hostile_catalogue_text_is_shown_as_text_never_run(
    page: Any, served: SandboxServer, hostile: str
) -> None:
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {served.login('ingestor')}"
    body = v4_dataset(
        datasetName=hostile, description=hostile, keywords=[hostile], isPublished=True
    )
    pid = api.post(served.root_url + "/v4/datasets", json=body).json()["pid"]
    metadata = {**METADATA, "creators": [{"name": hostile}], "publisher": {"name": hostile}}
    record = {"title": hostile, "abstract": hostile, "datasetPids": [pid], "status": "registered"}
    doi = api.post(served.root_url + "/v4/publisheddata", json={**record, "metadata": metadata})
    urls = (
        served.web_url + "?q=pwned",
        served.web_url + "datasets/" + quote(pid, safe=""),
        served.web_url + "publisheddata?q=pwned",
        served.web_url + "publisheddata/" + quote(doi.json()["doi"], safe=""),
    )
    for url in urls:
        page.get(url)
        assert page.execute_script("return window.pwned === undefined")
        assert page.find_elements(By.CSS_SELECTOR, "script") == []
        assert hostile in page.find_element(By.TAG_NAME, "main").text


def _pid(server: SandboxServer) -> str:
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {server.login('ingestor')}"
    found = api.get(
        server.root_url + "/v4/datasets", params={"filter": '{"limits": {"limit": 100}}'}
    )
    return next(d["pid"] for d in found.json() if d["datasetName"] == DATASET)
