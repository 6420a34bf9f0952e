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

from randnum.signing.drawings import DrawingError, entrantsFromList

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


def test_aChangedTitleInASavedPageIsInvalid(
    browser: Any, signing: Signing, tmp_path: Path
) -> None:
    answer = postDrawing(signing.url, entrants=NAMES, winners=2, title="Raffle")
    saved, html = savedPage(signing.url, answer["permalink"], tmp_path)
    # The page's own copy of the drawing (not the record's data) changed.
    assert html.count('"title":"Raffle"') == 1
    saved.write_text(html.replace('"title":"Raffle"', '"title":"Lottery"'), "utf-8")
    browser.get(saved.as_uri())
    state, words = verdict(browser)
    assert state == "invalid"
    assert "the title shown is not the one in the record's data" in words


def pasteEntrants(browser: Any, text: str) -> None:
    """
    Put C{text} in the form's entrants box at once, as a paste does.
    """
    browser.execute_script(
        "var e = document.getElementById('entrants'); e.value = arguments[0];"
        "e.dispatchEvent(new Event('input'));",
        text,
    )


def drawingsRun(url: str) -> int:
    """
    How many signed draws the server has made (drawings are signed draws).
    """
    with urllib.request.urlopen(url + "/v1/key", timeout=30) as response:
        serial: int = json.load(response)["head"]["serial"]
    return serial


def test_enterInAFieldDoesNotDraw(browser: Any, signing: Signing) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(signing.url + "/draw")
    browser.find_element(By.ID, "entrants").send_keys("\n".join(NAMES[:4]))
    # Enter in the title moves on to the entrants; it does not draw.
    browser.find_element(By.ID, "title").send_keys("Spring raffle" + Keys.ENTER)
    assert browser.switch_to.active_element.get_attribute("id") == "entrants"
    # Enter in the number of winners moves on to the button; nor does it.
    winners = browser.find_element(By.ID, "winners")
    winners.clear()
    winners.send_keys("2" + Keys.ENTER)
    assert browser.switch_to.active_element.get_attribute("id") == "draw-button"
    # Had anything been sent, its answer would have come by now.
    browser.execute_async_script("setTimeout(arguments[0], 500)")
    assert browser.current_url.endswith("/draw")
    assert drawingsRun(signing.url) == 0
    assert not browser.find_element(By.ID, "drawing-error").is_displayed()
    # The button draws (here from the keyboard, where Enter left the focus).
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    state, words = verdict(browser)
    assert state == "valid", words
    assert drawingsRun(signing.url) == 1


def test_aLongTitleIsCountedNotCut(browser: Any, signing: Signing) -> None:
    from selenium.webdriver.common.by import By

    browser.get(signing.url + "/draw")
    count = browser.find_element(By.ID, "title-count")
    hint = browser.find_element(By.ID, "title-hint")
    assert "At most 150 characters: 150 left." in hint.text
    title = browser.find_element(By.ID, "title")
    title.send_keys("x" * 140)
    assert count.text == "10 left."
    title.send_keys("y" * 20)
    # Typed to the end, not silently cut at the limit.
    assert title.get_attribute("value") == "x" * 140 + "y" * 20
    assert count.text == "10 characters too many."
    browser.find_element(By.ID, "entrants").send_keys("one\ntwo")
    browser.find_element(By.ID, "draw-button").click()
    assert browser.find_element(By.ID, "drawing-error").text == (
        "The title is 160 characters long: at most 150 fit in the signed record. "
        "Shorten it."
    )
    assert drawingsRun(signing.url) == 0
    # Counted as the server counts: characters (not UTF-16 units), once
    # stripped.
    browser.execute_script(
        "var t = document.getElementById('title');"
        "t.value = '  ' + '\\u{1F3B2}'.repeat(150) + '\\u3000';"
        "t.dispatchEvent(new Event('input'));"
    )
    assert count.text == "0 left."
    browser.find_element(By.ID, "draw-button").click()
    state, words = verdict(browser)
    assert state == "valid", words
    assert browser.find_element(By.ID, "draw-title").text == "\U0001f3b2" * 150


#: Lines as an organiser might paste them: spaces of several kinds, a byte
#: order mark alone (which JavaScript's trim() strips and Python's strip()
#: keeps), a zero-width joiner in a name (allowed).
PASTED = [" Ada ", "\ufeff", "\u00a0", "\u3000Bob\u3000", "Zoë\u200d", "\x1cCy\x85"]


def test_theFormReadsEntrantsAsTheServerDoes(browser: Any, signing: Signing) -> None:
    from selenium.webdriver.common.by import By

    browser.get(signing.url + "/draw")
    # The page strips exactly what Python's str.strip() strips.
    stripped = browser.execute_script(
        "var out = [];"
        "for (var c = 0; c < 0x10000; c++) {"
        "  if (c >= 0xd800 && c < 0xe000) { continue; }"
        "  if (window.randnumPages.strip('a' + String.fromCharCode(c)) === 'a') {"
        "    out.push(c); } }"
        "return out;"
    )
    assert stripped == [
        c for c in range(0x10000) if not 0xD800 <= c < 0xE000 and chr(c).isspace()
    ]
    entrants = browser.find_element(By.ID, "entrants")
    browser.execute_script(
        "arguments[0].value = arguments[1];"
        "arguments[0].dispatchEvent(new Event('input'));",
        entrants,
        "\n".join(PASTED),
    )
    count = browser.find_element(By.ID, "entrant-count").text
    python = [line.strip() for line in PASTED if line.strip()]
    assert len(python) == 5
    assert count == (
        "5 entrants. Line 2 holds an invisible byte order mark (U+FEFF), which a "
        "name may not hold: delete that character, or retype the name."
    )
    # Refused before anything is sent.
    browser.find_element(By.ID, "draw-button").click()
    assert browser.find_element(By.ID, "drawing-error").text == count.split(". ", 1)[1]
    assert drawingsRun(signing.url) == 0


def test_theFormRefusesTheCharactersTheServerRefuses(
    browser: Any, signing: Signing
) -> None:
    browser.get(signing.url + "/draw")
    astral = [0x1F469, 0x110BD, 0x1BCA0, 0x1D173, 0xE0001, 0xE0041, 0xE007F, 0xF0000]
    refused = browser.execute_script(
        "var out = [];"
        "var points = arguments[0];"
        "for (var c = 0; c < 0x10000; c++) { points.push(c); }"
        "points.forEach(function (c) {"
        "  if (window.randnumPages.refusedIn('a' + String.fromCodePoint(c) + 'b')) {"
        "    out.push(c); } });"
        "return out;",
        astral,
    )
    # The server's rule, on this Python's Unicode database (Chromium's may be
    # newer: these code points have kept their category since Unicode 14).
    assert sorted(refused) == sorted(
        c for c in [*range(0x10000), *astral] if _refusedByServer(c)
    )


def _refusedByServer(c: int) -> bool:
    try:
        entrantsFromList([f"a{chr(c)}b"])
    except DrawingError:
        return True
    return False


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("\u202eevil", "an invisible right-to-left override (U+202E)"),
        ("tag\U000e0041", "an invisible character (U+E0041)"),
        ("a\u2066b", "an invisible left-to-right isolate (U+2066)"),
        ("zero\u200bwidth", "an invisible zero-width space (U+200B)"),
        ("soft\u00adhyphen", "an invisible soft hyphen (U+00AD)"),
        ("word\u2060joiner", "an invisible word joiner (U+2060)"),
        ("line\u2028separator", "an invisible line separator (U+2028)"),
        ("bell\x07", "a control character (U+0007)"),
    ],
)
def test_invisibleCharactersAreNamed(
    browser: Any, signing: Signing, name: str, said: str
) -> None:
    from selenium.webdriver.common.by import By

    browser.get(signing.url + "/draw")
    pasteEntrants(browser, "Ada\n" + name + "\nZwj\u200dand\u200cnon-joiner")
    browser.find_element(By.ID, "draw-button").click()
    assert browser.find_element(By.ID, "drawing-error").text == (
        f"Line 2 holds {said}, which a name may not hold: delete that character, "
        "or retype the name."
    )
    assert drawingsRun(signing.url) == 0


@pytest.mark.parametrize(
    ("status", "body", "headers", "said"),
    [
        (
            400,
            "",
            {},
            "The server refused the drawing: the entrant list is 609001 bytes as "
            "JSON: at most 524288 (512 KiB).",
        ),
        (
            429,
            '{"error": "too many signed draws from this address"}',
            {"Retry-After": "30"},
            "This address has run too many signed draws just now: try again in 30 "
            "seconds.",
        ),
        (
            502,
            "<html><body>Bad Gateway</body></html>",
            {"Content-Type": "text/html"},
            "The server refused the drawing (HTTP 502). Try again later; if it "
            "goes on, tell the server's operator.",
        ),
    ],
    ids=["refused", "rate", "proxy"],
)
def test_theServersRefusalIsSaidPlainly(
    browser: Any,
    signing: Signing,
    status: int,
    body: str,
    headers: dict[str, str],
    said: str,
) -> None:
    from selenium.webdriver.common.by import By

    browser.get(signing.url + "/draw")
    browser.find_element(By.ID, "entrants").send_keys("one\ntwo")
    if status == 400:
        # The server's own refusal, for real: a list larger than it keeps.
        pasteEntrants(browser, "\n".join(f"{i:04d}" + "n" * 196 for i in range(3000)))
    else:
        # What a proxy in front, or the rate limit, answers: stood in for.
        browser.execute_script(
            "var body = arguments[0], status = arguments[1], headers = arguments[2];"
            "window.fetch = function () { return Promise.resolve("
            "  new Response(body, {status: status, headers: headers})); };",
            body,
            status,
            headers,
        )
    browser.find_element(By.ID, "draw-button").click()
    from selenium.webdriver.support.ui import WebDriverWait

    error = browser.find_element(By.ID, "drawing-error")
    WebDriverWait(browser, 30).until(lambda _: error.text)
    assert error.text == said
    assert browser.find_element(By.ID, "draw-button").text == "Draw the winners"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            "Ada\n" + "\U0001f3b2" * 201 + "\nBob",
            "Line 2 is longer than 200 characters: shorten that name.",
        ),
        (
            "\n".join(f"entrant {i}" for i in range(10_001)),
            "That is more than 10,000 entrants, the most one drawing takes.",
        ),
    ],
)
def test_theFormSaysWhatTheServerWouldRefuse(
    browser: Any, signing: Signing, text: str, said: str
) -> None:
    from selenium.webdriver.common.by import By

    browser.get(signing.url + "/draw")
    pasteEntrants(browser, text)
    assert browser.find_element(By.ID, "entrant-count").text.endswith(said)
    browser.find_element(By.ID, "draw-button").click()
    assert browser.find_element(By.ID, "drawing-error").text == said
    assert drawingsRun(signing.url) == 0
