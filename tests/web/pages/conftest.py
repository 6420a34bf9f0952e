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
from pathlib import Path
from typing import Any

import pytest

#: Where Debian puts the browser and its driver.
CHROMIUM = ("chromium", "chromium-browser")
DRIVER = "chromedriver"

#: Width and height of the window, in CSS pixels: a laptop's.
WINDOW = (1100, 900)


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
    try:
        yield chrome
    finally:
        chrome.quit()


class Screenshots:
    """
    Where a test saves pictures of the pages: the session's temporary
    directory, and C{RANDNUM_SCREENSHOTS} if set.

    @ivar directory: the temporary directory.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        copyTo = os.environ.get("RANDNUM_SCREENSHOTS")
        self.copyTo = Path(copyTo) if copyTo else None

    def save(self, browser: Any, name: str, width: int | None = None) -> Path:
        """
        A PNG of the whole page now in C{browser}, as C{NAME.png}, taken at
        C{width} CSS pixels wide (the usual window if not given) and as tall
        as the page.
        """
        width = width or WINDOW[0]
        height = browser.execute_script(
            "return Math.ceil(document.documentElement.scrollHeight)"
        )
        browser.set_window_size(width, WINDOW[1])
        height = browser.execute_script(
            "return Math.ceil(document.documentElement.scrollHeight)"
        )
        # The window's outer size includes nothing in headless mode.
        browser.set_window_size(width, max(int(height), 300))
        path = self.directory / f"{name}.png"
        try:
            browser.save_screenshot(str(path))
        finally:
            browser.set_window_size(*WINDOW)
        if self.copyTo is not None:
            self.copyTo.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, self.copyTo / path.name)
        return path


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Screenshots:
    """
    Where this session's screenshots go.
    """
    return Screenshots(tmp_path_factory.mktemp("screenshots"))
