"""
The pages in headless Chromium, served by a signing server in this process:
a genuine record verifies, each kind of tampering is caught and named,
C{/draws/SERIAL} verifies on load, and a page saved to disk verifies
offline.  Screenshots of each page are saved (L{Screenshots}).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from inprocess import Servers, Signing
from pagebrowser import (
    Screenshots,
    getJSON,
    getText,
    setField,
    verdict,
    verifyPasted,
)
from selenium.webdriver.common.keys import Keys

from randnum.signing.keys import Signer
from randnum.signing.records import GENESIS, digest, signedBytes

pytestmark = pytest.mark.live

#: What the draws' data say: text that looks like markup, and more.
DATA = 'Spring raffle "12": <b>ünïcødé</b> & more'


def signedDraws(signing: Signing, count: int = 3) -> list[str]:
    """
    C{count} signed draws from C{signing}'s server over HTTP: their records'
    JSON text, as sent.
    """
    query = "n=3&min=1&max=6&signed=true&data=" + _quote(DATA)
    return [getText(f"{signing.url}/v1/random?{query}").strip() for _ in range(count)]


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def tampered(text: str, change: Any) -> str:
    """
    The record C{text} with C{change} applied to it (its signature kept).
    """
    record = json.loads(text)
    change(record)
    return json.dumps(record)


@pytest.fixture
def signing(inProcess: Servers, tmp_path: Path) -> Signing:
    """
    A signing server, on both faces, in this process.
    """
    return Signing(inProcess, tmp_path)


def test_aGenuineRecordIsValid(
    browser: Any, signing: Signing, screenshots: Screenshots
) -> None:
    records = signedDraws(signing, 2)
    browser.get(f"{signing.url}/verify")
    # The server's key is filled in, its id shown.
    assert (
        browser.find_element("id", "key").get_attribute("value")
        == getJSON(f"{signing.url}/v1/key")["publicKey"]
    )
    assert signing.keyId in browser.find_element("id", "key-hint").text
    # Pasted, then Verify pressed from the keyboard: Tab from the record
    # to the key, the previous record's box, the button; Enter.
    setField(browser, "record", records[1])
    browser.find_element("id", "record").click()
    focused = []
    for _ in range(3):
        browser.switch_to.active_element.send_keys(Keys.TAB)
        focused.append(browser.switch_to.active_element.get_attribute("id"))
    assert focused[0] == "key" and focused[2] == "verify-button"
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    result, reasons, text = verdict(browser)
    assert result == "valid", text
    # Online, it fetched serial 1 and checked the link.
    assert reasons == ["It links to the record before it (its prev matches)."]
    facts = browser.find_element("id", "record-facts").text
    assert DATA in facts
    # Whose key it was checked with: the server's, as filled in.
    keyLine = browser.find_element("css selector", "#verdict .key-line").text
    assert keyLine == f"Checked with this server's key {signing.keyId}"
    screenshots.save(browser, "verify-valid")


def test_theVerdictSaysWhoseKeyItWasCheckedWith(
    browser: Any, signing: Signing, tmp_path: Path
) -> None:
    other = Signer.fromFile(_otherKey(tmp_path))
    forged = dict(json.loads(signedDraws(signing, 1)[0]), key=other.keyId)
    forged["signature"] = base64.b64encode(other.sign(signedBytes(forged))).decode()
    browser.get(f"{signing.url}/verify")
    verifyPasted(browser, json.dumps(forged), other.publicPem)
    result, _, text = verdict(browser)
    assert result == "valid", text
    keyLine = browser.find_element("css selector", "#verdict .key-line").text
    assert keyLine == f"Checked with the key you gave, {other.keyId}"
    # The hint under the box says so too, not that it is the server's.
    assert browser.find_element("id", "key-hint").text == (
        "The key you gave: the verdict is only as good as this key."
    )
    # A draw's own page brought its key: the visitor is told to compare it.
    browser.get(f"{signing.url}/draws/1")
    result, _, text = verdict(browser)
    assert result == "valid", text
    keyLine = browser.find_element("css selector", "#verdict .key-line").text
    assert keyLine == (
        f"Checked with this server's key {signing.keyId}. To know it is the "
        "organiser's key, compare this id with the one they published."
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            lambda r: r["values"].__setitem__(0, r["values"][0] % 6 + 1),
            "the signature does not match: the record was changed after "
            "signing, or signed by another key",
        ),
        (
            lambda r: r.__setitem__("data", "raffle 13"),
            "the signature does not match: the record was changed after "
            "signing, or signed by another key",
        ),
        (
            lambda r: r.pop("signature"),
            "not a record: missing signature",
        ),
        (
            lambda r: r["request"].__setitem__("max", 1.5),
            "not a record: it holds 1.5, which is not a whole number",
        ),
    ],
    ids=["value", "data", "signature", "float"],
)
def test_aChangedRecordIsInvalid(
    browser: Any,
    signing: Signing,
    change: Any,
    reason: str,
    request: pytest.FixtureRequest,
    screenshots: Screenshots,
) -> None:
    record = signedDraws(signing, 1)[0]
    browser.get(f"{signing.url}/verify")
    verifyPasted(browser, tampered(record, change))
    result, reasons, text = verdict(browser)
    assert result == "invalid", text
    assert reasons[0] == reason
    if request.node.callspec.id == "value":
        screenshots.save(browser, "verify-invalid")


def test_aWrongKeyIsNamed(browser: Any, signing: Signing, tmp_path: Path) -> None:
    record = signedDraws(signing, 1)[0]
    other = Signer.fromFile(_otherKey(tmp_path))
    browser.get(f"{signing.url}/verify")
    verifyPasted(browser, record, other.publicPem)
    result, reasons, text = verdict(browser)
    assert result == "invalid", text
    assert reasons == [
        f"the record names key {signing.keyId}, but the key given is {other.keyId}"
    ]


def test_aKeyFromALinkIsNotPassedOffAsTheServers(
    browser: Any, signing: Signing, tmp_path: Path
) -> None:
    # Anyone can sign a record with a key of their own and share a link
    # that carries that key: the server's page must not vouch for it.
    other = Signer.fromFile(_otherKey(tmp_path))
    forged = dict(json.loads(signedDraws(signing, 1)[0]), key=other.keyId)
    forged["signature"] = base64.b64encode(other.sign(signedBytes(forged))).decode()

    def b64(text: str) -> str:
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    record, key = b64(json.dumps(forged)), b64(other.publicPem)
    browser.get(f"{signing.url}/verify#record={record}&key={key}")
    result, reasons, text = verdict(browser)
    assert result == "valid", text
    assert "not this server's key" in text
    assert reasons[0].startswith(f"Checked against key {other.keyId}, which is NOT")
    # Passed on, the check carries its key: whoever opens it is told the same.
    shared = browser.find_element("css selector", "#share a").get_attribute("href")
    assert shared.startswith(f"{signing.url}/verify#record=")
    assert shared.endswith(f"&key={key}")


def _otherKey(tmp_path: Path) -> Path:
    from randnum.signing.keys import generateKey

    path = tmp_path / "other" / "other.pem"
    path.parent.mkdir()
    generateKey(path)
    return path


def test_aBrokenPrevIsNamed(browser: Any, signing: Signing, tmp_path: Path) -> None:
    # Two records with serial 1, both signed with the server's key: the
    # chain forks, and serial 2 links to one of them only.
    first, second = signedDraws(signing, 2)
    signer = Signer.fromFile(tmp_path / "signing.pem")
    fork = dict(json.loads(first), values=[6, 6, 6])
    fork["signature"] = base64.b64encode(signer.sign(signedBytes(fork))).decode()
    browser.get(f"{signing.url}/verify")
    browser.find_element("css selector", "#previous-box summary").click()
    setField(browser, "previous", json.dumps(fork))
    verifyPasted(browser, second)
    result, reasons, text = verdict(browser)
    assert result == "invalid", text
    assert reasons == [
        "the previous record does not link: this record's prev is "
        f"{json.loads(second)['prev']}, but serial 1 hashes to {digest(fork)}"
    ]
    # And the genuine serial 1, pasted, links.
    setField(browser, "previous", first)
    verifyPasted(browser, second)
    assert verdict(browser)[:2] == (
        "valid",
        ["It links to the record before it (its prev matches)."],
    )


def test_aSharedLinkVerifiesOnOpening(browser: Any, signing: Signing) -> None:
    record = signedDraws(signing, 1)[0]
    encoded = base64.urlsafe_b64encode(record.encode()).decode().rstrip("=")
    browser.get(f"{signing.url}/verify#record={encoded}")
    result, reasons, text = verdict(browser)
    assert result == "valid", text
    assert reasons == ["It is serial 1: the first record of its chain."]
    # With a key in the link too: the wrong one here.
    pem = getJSON(f"{signing.url}/v1/key")["publicKey"].replace("M", "N", 1)
    key = base64.urlsafe_b64encode(pem.encode()).decode().rstrip("=")
    browser.get(f"{signing.url}/verify#record={encoded}&key={key}")
    result, _, text = verdict(browser)
    assert result == "invalid", text


def test_theDrawPageVerifiesOnLoad(
    browser: Any, signing: Signing, screenshots: Screenshots
) -> None:
    signedDraws(signing, 3)
    browser.get(f"{signing.url}/draws/2")
    result, reasons, text = verdict(browser)
    assert result == "valid", text
    assert reasons == ["It links to the record before it (its prev matches)."]
    assert browser.find_element("id", "draw-title").text == "Signed draw #2"
    assert DATA in browser.find_element("id", "record-facts").text
    links = {
        link.get_attribute("rel"): link.get_attribute("href")
        for link in browser.find_elements("css selector", ".chain a")
    }
    assert links == {
        "prev": f"{signing.url}/draws/1",
        "next": f"{signing.url}/draws/3",
    }
    screenshots.save(browser, "draw-record")
    screenshots.save(browser, "draw-record-phone", width=390)
    browser.get(f"{signing.url}/draws/3")
    assert verdict(browser)[0] == "valid"
    assert [
        link.get_attribute("rel")
        for link in browser.find_elements("css selector", ".chain a")
        if link.is_displayed()
    ] == ["prev"]


def test_theVerifyPageSavedToDiskWorksOffline(
    browser: Any, signing: Signing, tmp_path: Path, screenshots: Screenshots
) -> None:
    first, second = signedDraws(signing, 2)
    key = getJSON(f"{signing.url}/v1/key")["publicKey"]
    saved = tmp_path / "verify.html"
    saved.write_text(getText(f"{signing.url}/verify", "text/html"), "utf-8")
    browser.get(saved.as_uri())
    assert browser.find_element("id", "key-hint").text.startswith(
        "The key of the server this page was saved from; key id "
    )
    setField(browser, "key", "")
    verifyPasted(browser, second, key)
    result, reasons, text = verdict(browser)
    assert result == "valid", text
    # Offline, the record before it cannot be fetched: said, not failed.
    assert reasons == ["previous record not available: the prev link was not checked"]
    screenshots.save(browser, "verify-offline")
    # Pasted, it is checked.
    browser.find_element("css selector", "#previous-box summary").click()
    setField(browser, "previous", tampered(first, lambda r: r.update(values=[1])))
    verifyPasted(browser, second, key)
    result, reasons, text = verdict(browser)
    assert result == "invalid", text
    assert reasons[0].startswith(
        "the previous record does not link: serial 1 itself does not verify"
    )


def test_theDrawPageSavedToDiskVerifiesOffline(
    browser: Any, signing: Signing, tmp_path: Path
) -> None:
    signedDraws(signing, 2)
    saved = tmp_path / "draw.html"
    saved.write_text(getText(f"{signing.url}/draws/2", "text/html"), "utf-8")
    browser.get(saved.as_uri())
    result, reasons, text = verdict(browser)
    assert result == "valid", text
    assert reasons == ["It links to the record before it (its prev matches)."]
    # The links to the server's pages lead nowhere from a file: hidden.
    assert not any(
        link.is_displayed()
        for link in browser.find_elements("css selector", "a.online")
    )


def test_dataThatLooksLikeMarkupStaysText(browser: Any, signing: Signing) -> None:
    hostile = "</script><script>document.title='owned'</script><img src=x>"
    getText(f"{signing.url}/v1/random?signed=true&data={_quote(hostile)}")
    browser.get(f"{signing.url}/draws/1")
    assert verdict(browser)[0] == "valid"
    assert hostile in browser.find_element("id", "record-facts").text
    assert browser.title == "Draw #1 · randnum"
    assert browser.find_elements("css selector", "img") == []


def test_notFoundAndSigningDisabledArePages(
    browser: Any, signing: Signing, inProcess: Servers
) -> None:
    browser.get(f"{signing.url}/draws/7")
    assert browser.find_element("tag name", "h1").text == "No such draw"
    plain = inProcess.http()
    browser.get(f"http://127.0.0.1:{plain}/draws/1")
    assert browser.find_element("tag name", "h1").text == "Signing is not enabled"
    browser.get(f"http://127.0.0.1:{plain}/verify")
    assert browser.find_element("id", "key").get_attribute("value") == ""


def test_theGenesisRecord(browser: Any, signing: Signing) -> None:
    record = json.loads(signedDraws(signing, 1)[0])
    assert record["prev"] == GENESIS
    browser.get(f"{signing.url}/draws/1")
    assert verdict(browser)[:2] == (
        "valid",
        ["It is serial 1: the first record of its chain."],
    )


def test_withoutCryptographyNothingIsChecked(browser: Any, signing: Signing) -> None:
    # As over plain HTTP at an address other than localhost, where browsers
    # give pages no crypto.subtle: no verdict, and the page says why.
    record = signedDraws(signing, 1)[0]
    browser.get(f"{signing.url}/verify")
    browser.execute_script(
        "Object.defineProperty(window.crypto, 'subtle', {value: undefined})"
    )
    verifyPasted(browser, record)
    result, reasons, text = verdict(browser)
    assert result == "unchecked", text
    assert reasons[0].startswith("this browser offers no cryptography to this page")
