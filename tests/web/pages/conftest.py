"""
The pages' browser: one headless Chromium for the session, driven by
Selenium through Debian's C{chromium-driver}.

Tests that use it start processes, so they are marked C{live}.  Without
Chromium they skip, unless C{RANDNUM_REQUIRE_BROWSER} is set (as CI sets
it, having installed it): then they fail.

Screenshots (L{Screenshots}) go to the session's temporary directory; with
C{RANDNUM_SCREENSHOTS=DIR} (for the docs: C{docs/images}) they are also
copied there.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from pagebrowser import WINDOW, Screenshots

#: Where Debian puts the browser and its driver.
CHROMIUM = ("chromium", "chromium-browser")
DRIVER = "chromedriver"


def _missing(what: str) -> None:
    """
    Skip for lack of C{what}, or fail if the browser is required.
    """
    if os.environ.get("RANDNUM_REQUIRE_BROWSER"):
        pytest.fail(f"RANDNUM_REQUIRE_BROWSER is set, but {what}")
    pytest.skip(f"{what} (apt-get install chromium chromium-driver)")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """
    A headless Chromium (a Selenium C{WebDriver}), for the whole session.
    """
    chrome = _chromium()
    try:
        yield chrome
    finally:
        chrome.quit()


@pytest.fixture(scope="session")
def browserWithoutScripts() -> Iterator[Any]:
    """
    A headless Chromium with JavaScript turned off, as a visitor may have.
    """
    chrome = _chromium({"profile.managed_default_content_settings.javascript": 2})
    try:
        yield chrome
    finally:
        chrome.quit()


def _chromium(preferences: dict[str, Any] | None = None) -> Any:
    """
    Start a headless Chromium, with these preferences.
    """
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _missing("selenium is not installed")
    binary = next(filter(None, map(shutil.which, CHROMIUM)), None)
    driver = shutil.which(DRIVER)
    if binary is None or driver is None:
        _missing("chromium or chromedriver is not installed")
    assert binary is not None and driver is not None
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    if preferences:
        options.add_experimental_option("prefs", preferences)
    for argument in (
        "--headless=new",
        # Root, in a container: Chromium's sandbox needs namespaces it
        # cannot have there.
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
    ):
        options.add_argument(argument)
    chrome = webdriver.Chrome(options=options, service=Service(driver))
    chrome.set_script_timeout(120)
    chrome.set_page_load_timeout(60)
    return chrome


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Screenshots:
    """
    Where this session's screenshots go.
    """
    return Screenshots(tmp_path_factory.mktemp("screenshots"))
