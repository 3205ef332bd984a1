"""The Dagster UI as a person sees it: Debian's Chromium opens the asset graph.

Headless Chromium, driven by Selenium through Debian's ``chromedriver`` (``make test``
installs both on Debian when they are missing), loads the running webserver's global
asset lineage page, does what a person does there (skips the first-visit "Join the
Dagster community" dialog, expands all groups with ⌥E), waits until all five assets of
the sync are drawn, and keeps a screenshot: under the test's ``tmp_path``, and copied
to ``build/screenshots/``.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.webserver import REPO, UiWorld, sandbox_ui

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ASSETS = ("tidal_snapshot", "filesystem_snapshot", "library_diff", "dedup_plan", "playlist_library")
GRAPH_PAGE = "/asset-groups"  # the global asset lineage graph of every code location
PAGE_TIMEOUT_SECONDS = 60.0
STABLE_SCREENSHOT = REPO / "build" / "screenshots" / "asset-graph.png"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    _MISSING = "Debian's chromium and chromium-driver are not installed (make install adds them)"
    if os.environ.get("TIDAL_SYNC_REQUIRE_BROWSER"):  # CI: must run, not skip
        pytest.fail(_MISSING, pytrace=False)
    pytest.skip(_MISSING, allow_module_level=True)

# Only once Chromium is known to be there:
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402


@pytest.fixture
def ui(tmp_path: Path) -> Iterator[UiWorld]:
    with sandbox_ui(tmp_path) as world:
        yield world


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--window-size=1600,1000",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def drawn(name: str, text: str) -> bool:
    """``name`` is on screen whole, or middle-truncated as the graph draws long names."""
    if name in text:
        return True
    return any(
        name.startswith(head) and name.endswith(tail) and len(head) >= 4
        for head, tail in re.findall(r"(\S+)…(\S+)", text)
    )


def visible_text(browser: webdriver.Chrome) -> str:
    return str(browser.find_element(By.TAG_NAME, "body").text)


def wait_for_page(browser: webdriver.Chrome, deadline: float) -> None:
    """Until the lineage page has drawn its groups (and, on a first visit, its dialog)."""
    while time.monotonic() < deadline:
        text = visible_text(browser)
        if "Global asset lineage" in text and "planning" in text:
            return
        time.sleep(0.5)
    raise AssertionError(f"{browser.current_url} never drew the lineage:\n{visible_text(browser)}")


def test_the_asset_graph_shows_the_five_assets_of_the_sync(
    ui: UiWorld, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    browser.get(ui.webserver.url + GRAPH_PAGE)
    deadline = time.monotonic() + PAGE_TIMEOUT_SECONDS
    wait_for_page(browser, deadline)
    time.sleep(2)  # the first-visit dialog comes up after the page
    for skip in browser.find_elements(By.XPATH, "//button[normalize-space()='Skip']"):
        skip.click()
    ActionChains(browser).key_down(Keys.ALT).send_keys("e").key_up(Keys.ALT).perform()

    missing: list[str] = list(ASSETS)
    while missing and time.monotonic() < deadline:
        text = visible_text(browser)
        missing = [name for name in ASSETS if not drawn(name, text)]
        time.sleep(0.5)
    assert not missing, f"{browser.current_url} never drew {missing}:\n{visible_text(browser)}"
    time.sleep(2)  # the graph zooms to fit after the nodes arrive

    screenshot = tmp_path / "asset-graph.png"
    assert browser.save_screenshot(str(screenshot))
    STABLE_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(screenshot, STABLE_SCREENSHOT)
    print(f"asset graph screenshot: {STABLE_SCREENSHOT}")

    data = screenshot.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 20_000, f"a {len(data)}-byte screenshot shows next to nothing"
