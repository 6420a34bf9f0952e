"""
Driving the pages in the browser (L{tests/web/pages/conftest.py}'s
C{browser}): fill a field, press a button, wait for the verdict, run the
page's own verifier.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.request
from pathlib import Path
from typing import Any

#: Width and height of the window, in CSS pixels: a laptop's.
WINDOW = (1100, 900)

#: Verdicts that end a check.
FINAL = ("valid", "invalid", "unchecked", "error")


def setField(browser: Any, fieldId: str, text: str) -> None:
    """
    Put C{text} into the field C{fieldId}, as a paste would (any text:
    typing keys one by one cannot enter characters beyond the BMP).
    """
    browser.execute_script(
        "var f = document.getElementById(arguments[0]); f.value = arguments[1];"
        "f.dispatchEvent(new Event('input', {bubbles: true}));",
        fieldId,
        text,
    )


def verdict(browser: Any, timeout: float = 30) -> tuple[str, list[str], str]:
    """
    Wait for the page's verdict; its value, the reasons and notes it
    lists, and its whole text.
    """
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, timeout).until(
        lambda b: b.find_element("id", "verdict").get_attribute("data-verdict") in FINAL
    )
    box = browser.find_element("id", "verdict")
    reasons = [
        item.get_attribute("textContent")
        for item in box.find_elements("css selector", "li")
    ]
    return box.get_attribute("data-verdict"), reasons, box.text


def verifyPasted(browser: Any, record: str, key: str | None = None) -> None:
    """
    Paste C{record} (and C{key}, if given) into the verify page open in
    C{browser}, and press Verify.
    """
    setField(browser, "record", record)
    if key is not None:
        setField(browser, "key", key)
    browser.find_element("id", "verify-button").click()


def getJSON(url: str) -> Any:
    """
    The JSON at C{url}.
    """
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


def getText(url: str, accept: str = "application/json") -> str:
    """
    The body at C{url}, asked for as C{accept}.
    """
    request = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=30) as response:
        text: str = response.read().decode("utf-8")
        return text


def runVerifier(browser: Any, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """
    The page's verifier (C{randnumVerify}) on each case, in one call:
    C{{"record": text, "previous": text or None, "key": PEM}} each, as a
    person would paste them; the results, in order, as
    C{{"verdict", "reasons", "chain"}}.
    """
    results: list[dict[str, Any]] = browser.execute_async_script(
        """
        var cases = JSON.parse(arguments[0]), done = arguments[1];
        var verify = window.randnumVerify;
        (async function () {
          var out = [];
          for (var i = 0; i < cases.length; i++) {
            var c = cases[i];
            var parsed = verify.parseRecord(c.record);
            if (parsed.error) {
              out.push({verdict: "invalid", reasons: [parsed.error], chain: ""});
              continue;
            }
            var previous = null;
            if (c.previous !== null) {
              previous = verify.parseRecord(c.previous).record || null;
            }
            try {
              var r = await verify.verifyRecord(parsed.record, c.key, previous);
              out.push({verdict: r.verdict, reasons: r.reasons, chain: r.chain});
            } catch (e) {
              out.push({verdict: "error", reasons: [String(e && e.message)],
                        chain: ""});
            }
          }
          return out;
        })().then(done, function (e) { done([{verdict: "error: " + e}]); });
        """,
        json.dumps(cases),
    )
    return results


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
        # The page laid out at exactly that width (as a phone's, below 600),
        # then as tall as it is: Chromium's own device emulation.
        metrics = {"width": width, "height": WINDOW[1], "deviceScaleFactor": 1}
        metrics["mobile"] = width < 600
        browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
        try:
            height = browser.execute_script(
                "return Math.ceil(document.documentElement.scrollHeight)"
            )
            metrics["height"] = max(int(height), 300)
            browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
            path = self.directory / f"{name}.png"
            browser.save_screenshot(str(path))
        finally:
            browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        if self.copyTo is not None:
            self.copyTo.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, self.copyTo / path.name)
        return path
