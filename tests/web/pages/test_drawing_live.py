"""
Public drawings in headless Chromium: from the C{/draw} form to the
permalink, which verifies; hostile names stay text; a saved permalink
verifies offline, and says "invalid" when its entrant list is changed.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from inprocess import Signing, reactorThread, servers

pytestmark = pytest.mark.live

#: Entrants of the drawing shown in the docs.
NAMES = [
    "Ada Lovelace",
    "Alan Turing",
    "Grace Hopper",
    "Katherine Johnson",
    "Edsger Dijkstra",
    "Barbara Liskov",
    "Donald Knuth",
    "Margaret Hamilton",
    "Claude Shannon",
    "Frances Allen",
    "John von Neumann",
    "Radia Perlman",
]

#: Names that would run script, load an image or end an element if they
#: ever became HTML.
HOSTILE = [
    "<script>window.pwned = 1</script>",
    '<img src=x onerror="window.pwned = 2">',
    "</script><script>window.pwned = 3</script>",
]

#: Width of a phone's screen, in CSS pixels.
PHONE = 390


@pytest.fixture
def signing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Signing]:
    """
    A signing server with its HTTP face, in this process.
    """
    with reactorThread() as running, servers(running, monkeypatch) as serving:
        yield Signing(serving, tmp_path)


def verdict(browser: Any) -> tuple[str, str]:
    """
    The page's verdict once checked, and its words.
    """
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def checked(driver: Any) -> Any:
        box = driver.find_element(By.ID, "verdict")
        state = box.get_attribute("data-verdict")
        return (state, box.text) if state in ("valid", "invalid") else False

    found: tuple[str, str] = WebDriverWait(browser, 30).until(checked)
    return found


def postDrawing(url: str, **members: Any) -> dict[str, Any]:
    """
    A drawing run through the API.
    """
    request = urllib.request.Request(
        url + "/v1/drawings",
        data=json.dumps(members).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer: dict[str, Any] = json.load(response)
    return answer


def savedPage(url: str, path: str, directory: Path) -> tuple[Path, str]:
    """
    The page at C{path} as a browser gets it, written to a file as
    "Save page" would.
    """
    request = urllib.request.Request(url + path, headers={"Accept": "text/html"})
    with urllib.request.urlopen(request, timeout=30) as response:
        html = response.read().decode("utf-8")
    saved = directory / "drawing.html"
    saved.write_text(html, "utf-8")
    return saved, html


def shownWinners(browser: Any) -> list[tuple[str, str]]:
    from selenium.webdriver.common.by import By

    return [
        (
            item.find_element(By.CLASS_NAME, "winner-name").text,
            item.find_element(By.CLASS_NAME, "winner-index").text,
        )
        for item in browser.find_elements(By.CSS_SELECTOR, "#drawing .winners li")
    ]


def test_aDrawingFromTheFormToItsVerifiedPermalink(
    browser: Any, signing: Signing, screenshots: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(signing.url + "/draw")
    browser.find_element(By.ID, "title").send_keys("Spring raffle 2026")
    browser.find_element(By.ID, "entrants").send_keys("\n".join(NAMES) + "\n\n")
    winners = browser.find_element(By.ID, "winners")
    winners.clear()
    winners.send_keys("3")
    assert browser.find_element(By.ID, "entrant-count").text == "12 entrants."
    # The list from its first line, as the organiser pasted it, and no
    # field in focus.
    browser.execute_script(
        "document.getElementById('entrants').scrollTop = 0;"
        "document.activeElement.blur();"
    )
    screenshots.save(browser, "draw")
    screenshots.save(browser, "draw-phone", PHONE)
    browser.find_element(By.ID, "draw-button").click()
    WebDriverWait(browser, 30).until(
        lambda driver: re.search(r"/draws/[0-9]+$", driver.current_url)
    )
    state, words = verdict(browser)
    assert state == "valid", words
    assert "The entrants listed are the ones the record was signed for" in words
    serial = int(browser.current_url.rsplit("/", 1)[1])
    with urllib.request.urlopen(f"{signing.url}/v1/drawings/{serial}") as response:
        answer = json.load(response)
    assert answer["entrants"] == NAMES
    assert shownWinners(browser) == [
        (winner["entrant"], f"entrant #{winner['index']}")
        for winner in answer["winners"]
    ]
    assert browser.find_element(By.ID, "draw-title").text == "Spring raffle 2026"
    entrants = browser.find_elements(By.CSS_SELECTOR, "#drawing .entrants li")
    assert [item.text for item in entrants] == NAMES
    screenshots.save(browser, "drawing-permalink")
    screenshots.save(browser, "drawing-permalink-phone", PHONE)


def test_theFormSaysWhatIsWrong(browser: Any, signing: Signing) -> None:
    from selenium.webdriver.common.by import By

    browser.get(signing.url + "/draw")
    browser.find_element(By.ID, "entrants").send_keys("one\ntwo")
    winners = browser.find_element(By.ID, "winners")
    winners.clear()
    winners.send_keys("5")
    browser.find_element(By.ID, "draw-button").click()
    error = browser.find_element(By.ID, "drawing-error")
    assert error.text == (
        "The number of winners must be a whole number from 1 to 2, the number "
        "of entrants."
    )
    assert browser.current_url.endswith("/draw")


def test_hostileNamesStayText(browser: Any, signing: Signing) -> None:
    from selenium.webdriver.common.by import By

    names = ["Alan", *HOSTILE]
    answer = postDrawing(
        signing.url, entrants=names, winners=4, title="<b>bold</b> & </script>"
    )
    browser.get(signing.url + answer["permalink"])
    state, words = verdict(browser)
    assert state == "valid", words
    assert browser.execute_script("return window.pwned === undefined")
    assert browser.find_elements(By.CSS_SELECTOR, "main img, main b") == []
    shown = browser.find_elements(By.CSS_SELECTOR, "#drawing .entrants li")
    assert [item.text for item in shown] == names
    assert sorted(name for name, _ in shownWinners(browser)) == sorted(names)
    assert browser.find_element(By.ID, "draw-title").text == "<b>bold</b> & </script>"


def test_aSavedPermalinkVerifiesOffline(
    browser: Any, signing: Signing, tmp_path: Path
) -> None:
    answer = postDrawing(signing.url, entrants=NAMES, winners=2)
    saved, _ = savedPage(signing.url, answer["permalink"], tmp_path)
    browser.get(saved.as_uri())
    state, words = verdict(browser)
    assert state == "valid", words
    assert [name for name, _ in shownWinners(browser)] == [
        winner["entrant"] for winner in answer["winners"]
    ]


@pytest.mark.parametrize(
    "change, reason",
    [
        (
            lambda names: [*names[:2], "Grace Hopp3r", *names[3:]],
            "the entrant list shown is not the one the record was signed for",
        ),
        (
            lambda names: names[:-1],
            "the record was signed for 12 entrants, but the list shown has 11",
        ),
        (
            lambda names: [names[1], names[0], *names[2:]],
            "the entrant list shown is not the one the record was signed for",
        ),
    ],
)
def test_aTamperedEntrantListInASavedPageIsInvalid(
    browser: Any,
    signing: Signing,
    tmp_path: Path,
    change: Any,
    reason: str,
    screenshots: Any,
) -> None:
    answer = postDrawing(signing.url, entrants=NAMES, winners=2)
    saved, html = savedPage(signing.url, answer["permalink"], tmp_path)
    original = json.dumps(NAMES, ensure_ascii=False, separators=(",", ":"))
    assert html.count(original) == 1
    changed = json.dumps(change(NAMES), ensure_ascii=False, separators=(",", ":"))
    saved.write_text(html.replace(original, changed), "utf-8")
    browser.get(saved.as_uri())
    state, words = verdict(browser)
    assert state == "invalid"
    said = words.lower()
    assert "the entrants shown are not the ones the winners were drawn from" in said
    assert reason in said
    if "Grace Hopp3r" in changed:
        screenshots.save(browser, "drawing-invalid")
