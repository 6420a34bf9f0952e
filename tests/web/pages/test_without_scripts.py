"""
The pages in a browser with JavaScript off: they say they need it, and
their forms send nothing (what is pasted, a private key even, never goes
to the server in an address).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from inprocess import Servers, Signing
from pagebrowser import getText

pytestmark = pytest.mark.live

#: What a visitor might paste by mistake: it must never leave the page.
PASTED = (
    "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----"
)


@pytest.fixture
def signing(inProcess: Servers, tmp_path: Path) -> Signing:
    """
    A signing server, on both faces, in this process.
    """
    return Signing(inProcess, tmp_path)


def _notice(browser: Any) -> str:
    from selenium.webdriver.common.by import By

    notices = [
        n.text for n in browser.find_elements(By.CSS_SELECTOR, ".notice") if n.text
    ]
    assert len(notices) == 1, notices
    return str(notices[0])


@pytest.mark.parametrize(
    ("page", "field", "button"),
    [("/verify", "record", "verify-button"), ("/draw", "entrants", "draw-button")],
)
def test_aFormSendsNothingWithoutScripts(
    browserWithoutScripts: Any, signing: Signing, page: str, field: str, button: str
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser = browserWithoutScripts
    browser.get(signing.url + page)
    assert _notice(browser).startswith("This page needs JavaScript, which is off")
    box = browser.find_element(By.ID, field)
    box.send_keys(PASTED)
    assert not browser.find_element(By.ID, button).is_enabled()
    browser.find_element(By.ID, button).click()
    # Enter in a one-line field would submit a form with a working button.
    for line in browser.find_elements(By.CSS_SELECTOR, "input"):
        line.send_keys(Keys.ENTER)
    assert browser.current_url == signing.url + page


def test_aDrawsPageSaysWhereItsRecordIsWithoutScripts(
    browserWithoutScripts: Any, signing: Signing
) -> None:
    from selenium.webdriver.common.by import By

    getText(f"{signing.url}/v1/random?n=1&signed=true")
    browser = browserWithoutScripts
    browser.get(f"{signing.url}/draws/1")
    notice = _notice(browser)
    assert "/v1/draws/1" in notice and "randnum verify" in notice
    # Not "Checking…" for ever.
    assert not browser.find_element(By.ID, "verdict").is_displayed()
