"""
What a newcomer pastes into C{/verify}, in headless Chromium: text that is
no record (or no key) is said to be so, plainly, with the verdict
C{error} (nothing checked), never as an "invalid" record or a parser's
words; a private key is refused at once and never used; a browser that
cannot check says so before anything is pasted; a valid verdict offers a
link to pass on; a drawing's record checked without its list says so; a
huge number is named plainly.
"""

from __future__ import annotations

import base64
import json
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from inprocess import Servers, Signing
from pagebrowser import Screenshots, getJSON, getText, setField, verdict, verifyPasted

pytestmark = pytest.mark.live

#: What a parser says, which a person should never be shown.
PARSER_WORDS = ("JSON.parse", "Unexpected", "position", "SyntaxError", "token")


@pytest.fixture
def signing(inProcess: Servers, tmp_path: Path) -> Signing:
    """
    A signing server, on both faces, in this process.
    """
    return Signing(inProcess, tmp_path)


def signedDraws(signing: Signing, count: int) -> list[str]:
    """
    C{count} signed draws' records, as sent.
    """
    url = f"{signing.url}/v1/random?n=3&min=1&max=6&signed=true"
    return [getText(url).strip() for _ in range(count)]


def postDrawing(url: str, **members: Any) -> dict[str, Any]:
    """
    A drawing run through the API: its answer.
    """
    request = urllib.request.Request(
        url + "/v1/drawings",
        data=json.dumps(members).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer: dict[str, Any] = json.load(response)
    return answer


def b64(text: str) -> str:
    """
    C{text} as base64url without padding, as the share links carry it.
    """
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def unb64(text: str) -> str:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()


def mistake(browser: Any) -> str | None:
    """
    The verdict's C{data-mistake}: which input mistake it names.
    """
    box = browser.find_element("id", "verdict")
    named: str | None = box.get_attribute("data-mistake")
    return named


@contextmanager
def onEveryPage(browser: Any, source: str) -> Iterator[None]:
    """
    Run C{source} in every page loaded meanwhile, before its own scripts.
    """
    added = browser.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument", {"source": source}
    )
    try:
        yield
    finally:
        browser.execute_cdp_cmd(
            "Page.removeScriptToEvaluateOnNewDocument",
            {"identifier": added["identifier"]},
        )


#: As over plain HTTP at an address other than localhost: no WebCrypto.
NO_CRYPTO = "Object.defineProperty(window.crypto, 'subtle', {value: undefined});"

#: As in a browser whose WebCrypto has no Ed25519 (Firefox before 129,
#: Safari before 17): importing an Ed25519 key is not supported.
NO_ED25519 = """
(function () {
  var subtle = window.crypto && window.crypto.subtle;
  if (!subtle) { return; }
  var importKey = subtle.importKey.bind(subtle);
  subtle.importKey = function (format, data, algorithm) {
    var name = typeof algorithm === "string" ? algorithm : algorithm && algorithm.name;
    if (String(name).toLowerCase() === "ed25519") {
      return Promise.reject(
        new DOMException("Algorithm: Unrecognized name", "NotSupportedError"));
    }
    return importKey.apply(null, arguments);
  };
})();
"""


def _mistakes(signing: Signing) -> dict[str, tuple[str, str]]:
    """
    What a newcomer pastes into the record box by mistake: the text, and
    the mistake the page must name.
    """
    first, second = signedDraws(signing, 2)
    key = getJSON(f"{signing.url}/v1/key")
    return {
        "empty": ("   \n", "empty"),
        "public key": (key["publicKey"], "public-key"),
        "link": (f"{signing.url}/draws/1", "link"),
        "verify link": (f"{signing.url}/verify#record={b64(first)}", "link"),
        "a page of /v1/draws": (getText(f"{signing.url}/v1/draws?after=0"), "several"),
        "two records": (first + "\n" + second, "several"),
        "cut short": (first[: len(first) // 2], "not-json"),
        "words": ("the winner is 17", "not-json"),
        "a list": (json.dumps([json.loads(first)]), "not-object"),
        "a number": ("17", "not-object"),
        "/v1/key's answer": (json.dumps(key), "key-answer"),
        "an unsigned answer": (getText(f"{signing.url}/v1/random?n=2"), "unsigned"),
    }


def test_inputMistakesAreSaidPlainly(
    browser: Any, signing: Signing, screenshots: Screenshots
) -> None:
    cases = _mistakes(signing)
    browser.get(f"{signing.url}/verify")
    for name, (text, named) in cases.items():
        verifyPasted(browser, text)
        result, reasons, words = verdict(browser)
        assert (name, result, mistake(browser)) == (name, "error", named), words
        assert words.startswith("Nothing was checked"), (name, words)
        # What to paste instead, always; a parser's words, never.
        assert any("paste a signed draw's record" in r for r in reasons), name
        assert not any(word in words for word in PARSER_WORDS), (name, words)
        # Nothing was checked, so no record is shown.
        assert not browser.find_element("id", "record-view").is_displayed()
        if name == "public key":
            screenshots.save(browser, "verify-mistake")


def test_keyBoxMistakes(browser: Any, signing: Signing) -> None:
    record = signedDraws(signing, 1)[0]
    key = getJSON(f"{signing.url}/v1/key")
    browser.get(f"{signing.url}/verify")
    for text, named in (("", "key-empty"), ("not a key", "key-not-pem")):
        verifyPasted(browser, record, text)
        result, _, words = verdict(browser)
        assert (result, mistake(browser)) == ("error", named), words
    verifyPasted(browser, record, record)
    result, reasons, words = verdict(browser)
    assert (result, mistake(browser)) == ("error", "key-not-pem"), words
    assert reasons[0] == "It holds JSON, perhaps a record: records go in the first box."
    # What /v1/key answers, pasted whole: its publicKey is taken.
    verifyPasted(browser, record, json.dumps(key))
    result, reasons, words = verdict(browser)
    assert result == "valid", words
    assert reasons[0] == (
        "The key was taken from the publicKey of the /v1/key answer pasted."
    )


def test_aDrawingsAnswerIsCheckedWithItsList(browser: Any, signing: Signing) -> None:
    names = ["Ada", "Alan", "Grace", "Edsger"]
    serial = postDrawing(signing.url, entrants=names, winners=2)["serial"]
    answer = getText(f"{signing.url}/v1/drawings/{serial}")
    browser.get(f"{signing.url}/verify")
    verifyPasted(browser, answer)
    result, reasons, words = verdict(browser)
    assert result == "valid", words
    assert reasons[0] == (
        "This is a drawing's answer (/v1/drawings): its record and its entrant "
        "list were checked."
    )
    # The list changed in the answer: the winners were not drawn from it.
    changed = json.loads(answer)
    changed["entrants"][1] = "Alan Turing"
    verifyPasted(browser, json.dumps(changed))
    result, reasons, words = verdict(browser)
    assert result == "invalid", words
    assert words.startswith("Invalid: the entrants given are not the ones")
    assert any("not the one the record was signed for" in r for r in reasons)


def test_aPrivateKeyIsRefusedAtOnceAndNeverUsed(
    browser: Any, signing: Signing, tmp_path: Path, screenshots: Screenshots
) -> None:
    private = (tmp_path / "signing.pem").read_text()
    assert "PRIVATE KEY" in private
    record = signedDraws(signing, 1)[0]
    browser.get(f"{signing.url}/verify")
    browser.execute_script(
        "window.used = []; var verify = window.randnumVerify;"
        "var original = verify.verifyRecord;"
        "verify.verifyRecord = function () {"
        "  window.used.push(JSON.stringify([].slice.call(arguments)));"
        "  return original.apply(this, arguments); };"
    )
    setField(browser, "record", record)
    # Pasted: refused before Verify is pressed, and taken out of the box.
    setField(browser, "key", private)
    result, reasons, words = verdict(browser)
    assert (result, mistake(browser)) == ("error", "private-key"), words
    assert "PRIVATE key: never paste it into a web page" in words
    assert reasons[0].startswith("A private key signs draws. Checking a draw never")
    assert browser.find_element("id", "key").get_attribute("value") == ""
    screenshots.save(browser, "verify-private-key")
    # Put in without an input event, then Verify: still refused, unused.
    public = getJSON(f"{signing.url}/v1/key")["publicKey"]
    for field in ("key", "record", "previous"):
        browser.execute_script(
            "var given = {record: arguments[0], key: arguments[1], previous: ''};"
            "given[arguments[2]] = arguments[3];"
            "Object.keys(given).forEach(function (id) {"
            "  document.getElementById(id).value = given[id]; });",
            record,
            public,
            field,
            private,
        )
        browser.find_element("id", "verify-button").click()
        result, _, words = verdict(browser)
        assert (result, mistake(browser)) == ("error", "private-key"), (field, words)
        assert browser.find_element("id", field).get_attribute("value") == ""
    assert browser.execute_script("return window.used") == []
    # In a link's key: not filled in, and taken out of the address bar.
    browser.get(f"{signing.url}/verify#record={b64(record)}&key={b64(private)}")
    result, _, words = verdict(browser)
    assert (result, mistake(browser)) == ("error", "private-key"), words
    assert "PRIVATE" not in browser.find_element("id", "key").get_attribute("value")
    assert "#" not in browser.current_url


@pytest.mark.parametrize(
    ("simulated", "why"),
    [
        (NO_CRYPTO, "This browser offers no cryptography to this page"),
        (NO_ED25519, "This browser's cryptography has no Ed25519"),
    ],
    ids=["no-webcrypto", "no-ed25519"],
)
def test_aBrowserThatCannotCheckSaysSoUpFront(
    browser: Any,
    signing: Signing,
    simulated: str,
    why: str,
    request: pytest.FixtureRequest,
    screenshots: Screenshots,
) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    record = signedDraws(signing, 1)[0]
    with onEveryPage(browser, simulated):
        browser.get(f"{signing.url}/verify")
        # Before anything is pasted.
        notice = browser.find_element("id", "capability")
        WebDriverWait(browser, 10).until(lambda _: notice.is_displayed())
        assert notice.text.startswith(
            "This browser cannot check signatures on this page\n" + why
        )
        assert "open this page over HTTPS" in notice.text
        if request.node.callspec.id == "no-webcrypto":
            screenshots.save(browser, "verify-cannot-check")
        verifyPasted(browser, record)
        result, reasons, words = verdict(browser)
        # A genuine record: not checked, never "invalid".
        assert result == "unchecked", words
        assert reasons[0].startswith(why[0].lower() + why[1:])
        browser.get(f"{signing.url}/draws/1")
        result, _, words = verdict(browser)
        assert result == "unchecked", words
    # And where the browser can check, no notice.
    browser.get(f"{signing.url}/verify")
    verifyPasted(browser, record)
    assert verdict(browser)[0] == "valid"
    assert not browser.find_element("id", "capability").is_displayed()


def test_aValidVerdictOffersItsLink(
    browser: Any, signing: Signing, screenshots: Screenshots
) -> None:
    record = signedDraws(signing, 2)[1]
    browser.get(f"{signing.url}/draws/2")
    assert verdict(browser)[0] == "valid"
    link = browser.find_element("id", "share-link")
    assert link.is_displayed()
    url = link.get_attribute("value")
    assert url.startswith(f"{signing.url}/verify#record=")
    assert json.loads(unb64(url.split("#record=")[1])) == json.loads(record)
    assert browser.find_element("id", "share-open").get_attribute("href") == url
    # Copied to the clipboard by its button.
    origin = signing.url
    browser.execute_cdp_cmd(
        "Browser.grantPermissions",
        {
            "origin": origin,
            "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"],
        },
    )
    browser.find_element("id", "copy-link").click()
    status = browser.find_element("id", "copy-status")
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 10).until(lambda _: status.text)
    assert status.text == "Link copied."
    copied = browser.execute_async_script(
        "navigator.clipboard.readText().then(arguments[0], "
        "function (e) { arguments[0]('failed: ' + e); });"
    )
    assert copied == url
    screenshots.save(browser, "draw-record-share")
    # The link opens the verify page, which checks it, and offers it again.
    browser.get(url)
    assert verdict(browser)[0] == "valid"
    assert browser.find_element("id", "share-link").get_attribute("value") == url
    # Not offered for an invalid record.
    verifyPasted(browser, record.replace('"values":[', '"values":[7,', 1))
    assert verdict(browser)[0] == "invalid"
    assert browser.find_elements("id", "share-link") == []


def test_aDrawingsRecordWithoutItsListSaysSo(browser: Any, signing: Signing) -> None:
    answer = postDrawing(signing.url, entrants=["Ada", "Alan", "Grace"], winners=1)
    serial = answer["serial"]
    browser.get(f"{signing.url}/draws/{serial}")
    assert verdict(browser)[0] == "valid"
    # A drawing's page offers itself: the link that shows the list.
    shared = browser.find_element("id", "share-link").get_attribute("value")
    assert shared == f"{signing.url}/draws/{serial}"
    record = json.dumps(answer["record"])
    browser.get(f"{signing.url}/verify#record={b64(record)}")
    result, reasons, words = verdict(browser)
    assert result == "valid", words
    assert words.startswith(
        "Valid: signed and unchanged; its entrant list was not checked here"
    )
    assert any(
        "not the list of entrants" in r and r.endswith(f"/draws/{serial}")
        for r in reasons
    ), reasons
    link = browser.find_element("css selector", "#verdict a")
    assert link.get_attribute("href") == f"{signing.url}/draws/{serial}"


@pytest.mark.parametrize(
    ("number", "said"),
    [
        (
            "1" + "0" * 399,
            "the record holds the number 10000000…00000000 (400 digits), too large "
            "for a record (records hold whole numbers up to "
            "±9,007,199,254,740,991): it was changed after signing",
        ),
        (
            str(2**60 + 1),
            "the record holds the number 1152921504606846977, too large for a "
            "record (records hold whole numbers up to ±9,007,199,254,740,991): "
            "it was changed after signing",
        ),
        (
            "-" + "9" * 40,
            "the record holds the number -99999999…99999999 (40 digits), too large "
            "for a record (records hold whole numbers up to "
            "±9,007,199,254,740,991): it was changed after signing",
        ),
    ],
    ids=["400-digits", "2**60+1", "negative"],
)
def test_aHugeNumberIsNamedPlainly(
    browser: Any, signing: Signing, number: str, said: str
) -> None:
    record = signedDraws(signing, 1)[0]
    changed = record.replace('"values":[', f'"values":[{number},', 1)
    assert changed != record
    browser.get(f"{signing.url}/verify")
    verifyPasted(browser, changed)
    result, reasons, words = verdict(browser)
    assert result == "invalid", words
    assert reasons == [said]
