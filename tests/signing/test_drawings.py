"""
Public drawings: entrant lists, their canonical form and digest, the draw
they make, and their storage with their record in the audit database.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from signers import makeStore
from twisted.internet.task import Clock

from randnum.generation.source import seededSource
from randnum.generation.values import UUID7Clock
from randnum.query import MAX_DATA, QueryError
from randnum.signing.drawings import (
    MAX_BODY,
    MAX_ENTRANT,
    MAX_ENTRANTS,
    MAX_LINES,
    MAX_LIST,
    MAX_RAW,
    MAX_TITLE,
    Drawing,
    DrawingError,
    checkAnswer,
    checkTitle,
    drawCost,
    entrantsFromList,
    entrantsFromText,
    matchData,
    parseRequest,
)
from randnum.signing.records import parseRecord, verifyRecord
from randnum.signing.store import RECORD_OVERHEAD, AuditStore
from randnum.web.drawings import drawingAnswer

#: What a refused title's reason says of the rule.
TITLE_RULE = (
    "which a title may not hold: no tabs or line breaks, no spaces but the "
    "plain one, no invisible characters"
)


def test_entrantsOneALineStrippedEmptyLinesDropped() -> None:
    text = "  Ada Lovelace \r\n\n\tAlan Turing\t\n   \nGrace\tHopper\rLast"
    assert entrantsFromText(text) == (
        "Ada Lovelace",
        "Alan Turing",
        "Grace\tHopper",
        "Last",
    )


@pytest.mark.parametrize(
    "text, reason",
    [
        ("a\nb\x00c", "line 2 holds a control or invisible character (U+0000)"),
        ("a\n\n\nb\x1bc", "line 4 holds a control or invisible character (U+001B)"),
        ("x\x85y", "line 1 holds a control or invisible character (U+0085)"),
        # Control characters Python would strip as whitespace.
        ("a\nb\x1c", "line 2 holds a control or invisible character (U+001C)"),
        ("\x85a", "line 1 holds a control or invisible character (U+0085)"),
        ("a\x0b", "line 1 holds a control or invisible character (U+000B)"),
        ("a\ud800", "line 1 holds a control or invisible character (U+D800)"),
        ("", "there are no entrants"),
        (" \n\t\n", "there are no entrants"),
        (
            "a\n" + "b" * (MAX_ENTRANT + 1),
            f"line 2 is longer than {MAX_ENTRANT} characters",
        ),
        ("a\n" * (MAX_ENTRANTS + 1), f"there are more than {MAX_ENTRANTS:,} entrants"),
    ],
)
def test_badTextIsRefusedNamingTheLine(text: str, reason: str) -> None:
    with pytest.raises(DrawingError) as raised:
        entrantsFromText(text)
    assert raised.value.reason == reason


@pytest.mark.parametrize(
    "char, named",
    [
        ("\u202e", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("\u2066", "U+2066 LEFT-TO-RIGHT ISOLATE"),
        ("\u200b", "U+200B ZERO WIDTH SPACE"),
        ("\ufeff", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
        ("\u00ad", "U+00AD SOFT HYPHEN"),
        ("\u2060", "U+2060 WORD JOINER"),
        ("\u2028", "U+2028 LINE SEPARATOR"),
        ("\u2029", "U+2029 PARAGRAPH SEPARATOR"),
        ("\U000e0041", "U+E0041 TAG LATIN CAPITAL LETTER A"),
    ],
)
def test_invisibleCharactersThatDisguiseANameAreRefused(char: str, named: str) -> None:
    # Each could make one name pass for another ("Alice" and "Al<SHY>ice"),
    # or reorder what a page shows.
    for text in (f"Bob\nAl{char}ice", f"Bob\n{char}Alice", f"Bob\nAlice{char}"):
        with pytest.raises(DrawingError) as raised:
            entrantsFromText(text)
        reason = f"line 2 holds a control or invisible character ({named})"
        assert raised.value.reason == reason
    with pytest.raises(DrawingError) as raised:
        entrantsFromList(["Bob", "Carol\tC.", f"Al{char}ice"])
    assert raised.value.reason == (
        f"entrant 3 holds a control or invisible character ({named})"
    )


def test_theJoinersThatScriptsAndEmojiNeedAreKept() -> None:
    names = (
        "\U0001f469\u200d\U0001f4bb Ada",
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
    )
    assert entrantsFromText("\n".join(names)) == names
    assert entrantsFromList(list(names)) == names


def _refusedByReference(char: str) -> bool:
    # The rule, one character at a time.
    category = unicodedata.category(char)
    if category == "Cc":
        return char not in "\t\n"
    if category == "Cf":
        return char not in "\u200c\u200d"
    return category in ("Zl", "Zp", "Cs")


@given(st.lists(st.text(max_size=8), min_size=1, max_size=8))
def test_aListIsRefusedExactlyWhenAReferenceScanFindsACharacter(
    names: list[str],
) -> None:
    firstBad = next(
        (
            (number, char)
            for number, name in enumerate(names, 1)
            for char in name
            if char == "\n" or _refusedByReference(char)
        ),
        None,
    )
    try:
        entrantsFromList(names)
    except DrawingError as error:
        if firstBad is None:
            assert "holds" not in error.reason
            return
        number, char = firstBad
        assert error.reason.startswith(f"entrant {number} holds")
        assert f"U+{ord(char):04X}" in error.reason
    else:
        assert firstBad is None


@given(st.text(max_size=40))
def test_aTextIsRefusedExactlyWhenAReferenceScanFindsACharacter(text: str) -> None:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    firstBad = next(
        (
            (number, char)
            for number, line in enumerate(lines, 1)
            for char in line
            if _refusedByReference(char)
        ),
        None,
    )
    try:
        entrantsFromText(text)
    except DrawingError as error:
        if firstBad is None:
            assert "holds" not in error.reason
            return
        number, char = firstBad
        assert error.reason.startswith(f"line {number} holds")
        assert f"U+{ord(char):04X}" in error.reason
    else:
        assert firstBad is None


def test_aNameIsMeasuredBeforeItsCharactersAreSearched() -> None:
    # A name of a million characters, every refused one at its end: refused
    # for its length at once, not searched for each of them.
    poison = "a" * 1_000_000 + "".join(map(chr, range(0x202A, 0x202F)))
    with pytest.raises(DrawingError) as raised:
        entrantsFromList(["Ada", poison])
    assert raised.value.reason == (
        f"entrant 2 is longer than {MAX_RAW:,} characters, spaces included"
    )
    with pytest.raises(DrawingError) as raised:
        entrantsFromText("Ada\n" + poison)
    assert raised.value.reason == (
        f"line 2 is longer than {MAX_RAW:,} characters, spaces included"
    )


def test_surroundingWhitespaceCountsUpToALimit() -> None:
    padded = " " * (MAX_RAW - 3) + "Ada"
    assert entrantsFromList([padded]) == ("Ada",)
    with pytest.raises(DrawingError):
        entrantsFromList([" " + padded])


def test_aTextHasALimitOfLines() -> None:
    assert entrantsFromText("\n" * (MAX_LINES - 1) + "Ada") == ("Ada",)
    with pytest.raises(DrawingError) as raised:
        entrantsFromText("\n" * MAX_LINES + "Ada")
    assert raised.value.reason == f"the text has more than {MAX_LINES:,} lines"


def test_limitsAreInclusive() -> None:
    assert len(entrantsFromText("a\n" * MAX_ENTRANTS)) == MAX_ENTRANTS
    assert entrantsFromText("é" * MAX_ENTRANT) == ("é" * MAX_ENTRANT,)


@pytest.mark.parametrize(
    "names, reason",
    [
        ("a", "entrants must be an array of strings"),
        ([], "there are no entrants"),
        (["a", 1], "entrant 2 is not a string"),
        (["a", "  "], "entrant 2 is empty"),
        (["a", "b\nc"], "entrant 2 holds a control or invisible character (U+000A)"),
    ],
)
def test_badListsAreRefused(names: object, reason: str) -> None:
    with pytest.raises(DrawingError) as raised:
        entrantsFromList(names)
    assert raised.value.reason == reason


def test_theCanonicalListAndItsDigest() -> None:
    drawing = Drawing(("Zoë", 'say "hi"', "tab\there", "</script>"))
    expected = '["Zoë","say \\"hi\\"","tab\\there","</script>"]'.encode()
    assert drawing.canonicalEntrants == expected
    assert drawing.digest == hashlib.sha256(expected).hexdigest()
    assert drawing.data == f"drawing entrants=4 sha256={drawing.digest}"
    assert Drawing(("a",), "Spring raffle").data.endswith("; Spring raffle")


def test_theQueryIsAUniqueSignedDrawOfIndices() -> None:
    drawing = Drawing(("a", "b", "c"), "T")
    query = drawing.query(2)
    assert (query.type, query.n, query.min, query.max) == ("int", 2, 1, 3)
    assert query.unique and query.signed and query.data == drawing.data
    for winners in (0, 4, -1):
        with pytest.raises(DrawingError, match="between 1 and 3"):
            drawing.query(winners)
    for wrong in (True, 1.0, "1", None):
        with pytest.raises(DrawingError, match="whole number"):
            drawing.query(wrong)  # type: ignore[arg-type]


def test_theLongestDataFitsARecord() -> None:
    title = checkTitle("t" * MAX_TITLE)
    drawing = Drawing(("x",) * MAX_ENTRANTS, title)
    assert len(drawing.data) <= MAX_DATA
    query = drawing.query(MAX_ENTRANTS)
    assert query.n == MAX_ENTRANTS
    assert matchData(drawing.data) == (MAX_ENTRANTS, drawing.digest, title)


@pytest.mark.parametrize(
    "title, reason",
    [
        (1, "title must be a string"),
        ("t" * (MAX_TITLE + 1), f"title must be at most {MAX_TITLE} characters"),
        ("a\nb", f"the title holds U+000A, {TITLE_RULE}"),
        (
            "Tirage du 14 juillet\u00a0: lot 1",
            f"the title holds U+00A0 NO-BREAK SPACE, {TITLE_RULE}",
        ),
        (
            "\u62bd\u9078\u3000\u7b2c1\u56de",
            f"the title holds U+3000 IDEOGRAPHIC SPACE, {TITLE_RULE}",
        ),
    ],
)
def test_badTitlesAreRefused(title: object, reason: str) -> None:
    with pytest.raises(DrawingError) as raised:
        checkTitle(title)
    assert raised.value.reason == reason


def test_emptyTitlesAreNone() -> None:
    assert checkTitle(None) is None
    assert checkTitle("   ") is None
    assert checkTitle(" Raffle ") == "Raffle"


def test_matchData() -> None:
    digest = "ab" * 32
    assert matchData(f"drawing entrants=3 sha256={digest}") == (3, digest, None)
    for data in (
        None,
        3,
        f"drawing entrants=03 sha256={digest}",
        f"drawing entrants=3 sha256={digest.upper()}",
        f"drawing entrants=3 sha256={digest};x",
        "something else",
    ):
        assert matchData(data) is None


def test_parseRequest() -> None:
    drawing, winners = parseRequest(
        json.dumps({"entrantsText": "a\nb\n", "winners": 1, "title": "T"}).encode()
    )
    assert (drawing, winners) == (Drawing(("a", "b"), "T"), 1)
    drawing, winners = parseRequest(b'{"entrants": [" a ", "b"], "winners": 2}')
    assert (drawing, winners) == (Drawing(("a", "b")), 2)


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"\xff", "the request must be a JSON object (UTF-8)"),
        (b"[1]", "the request must be a JSON object"),
        (b"{", "the request must be a JSON object (UTF-8)"),
        (b"[" * 100000, "the request must be a JSON object (UTF-8)"),
        (b'{"winners": 1}', "give either entrants (an array) or entrantsText"),
        (
            b'{"entrants": [], "entrantsText": "", "winners": 1}',
            "give either entrants (an array) or entrantsText",
        ),
        (b'{"entrantsText": 5, "winners": 1}', "entrantsText must be a string"),
        (b'{"entrantsText": "a"}', "winners is required"),
        (
            b'{"entrantsText": "a", "winners": 1, "what": 1}',
            "unknown member 'what' (entrants or entrantsText, winners and title are)",
        ),
        (
            b'{"entrantsText": "a\\nb", "winners": 3}',
            "winners must be between 1 and 2, the number of entrants",
        ),
        (b" " * (MAX_BODY + 1), f"a drawing's request is at most {MAX_BODY} bytes"),
    ],
)
def test_badRequestsAreRefused(body: bytes, reason: str) -> None:
    with pytest.raises(DrawingError) as raised:
        parseRequest(body)
    assert raised.value.reason == reason


def test_theEntrantListIsCappedAsStored() -> None:
    # 2,600 names of 200 characters: 527,801 bytes as JSON, over 512 KiB.
    names = [f"{i:04d}" + "x" * 196 for i in range(2600)]
    body = json.dumps({"entrants": names, "winners": 1}).encode()
    assert len(body) <= MAX_BODY
    with pytest.raises(DrawingError) as raised:
        parseRequest(body)
    assert raised.value.reason == (
        f"the entrant list is {len(json.dumps(names).replace(' ', ''))} bytes "
        f"as JSON: at most {MAX_LIST} (512 KiB)"
    )
    fits = names[: MAX_LIST // 203]
    drawing, _ = parseRequest(json.dumps({"entrants": fits, "winners": 1}).encode())
    assert len(drawing.canonicalEntrants) <= MAX_LIST


def test_aDrawingCostsOneSignedDrawFor64KiBStored() -> None:
    assert drawCost(b"x") == 1
    assert drawCost(b"x" * 65536) == 1
    assert drawCost(b"x" * 65537) == 2
    assert drawCost(b"x" * MAX_LIST) == 8


@given(st.binary(max_size=200) | st.from_regex(rb"\{.*\}", fullmatch=True))
def test_anyBodyIsADrawingOrARefusal(body: bytes) -> None:
    try:
        drawing, winners = parseRequest(body)
    except DrawingError:
        return
    drawing.query(winners)


@given(st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=20))
def test_theStoredDrawingReadsBack(names: list[str]) -> None:
    try:
        entrants = entrantsFromList(names)
    except DrawingError:
        return
    drawing = Drawing(entrants, "T")
    assert Drawing.fromStored(drawing.stored()) == drawing
    assert json.loads(drawing.canonicalEntrants) == list(entrants)


# Storage.


def drawOne(
    store: AuditStore, drawing: Drawing, winners: int, seed: int = 1
) -> list[bytes]:
    lines: list[bytes] = []
    store.draw(
        drawing.query(winners), seededSource(seed), UUID7Clock(), drawing.stored()
    ).addCallback(lines.append)
    return lines


def test_theDrawingIsStoredWithItsRecordAndReadBack(tmp_path: Path) -> None:
    clock = Clock()
    store, pool = makeStore(tmp_path, clock)
    drawing = Drawing(("a", "b", "c", "d"), "Raffle")
    lines = drawOne(store, drawing, 2)
    clock.advance(0)
    # One transaction holds both: nothing of either before it commits.
    assert len(pool.pending) == 1
    plain = sqlite3.connect(store.path)
    assert plain.execute("SELECT COUNT(*) FROM drawings").fetchone() == (0,)
    pool.runNext()
    assert plain.execute("SELECT COUNT(*) FROM drawings").fetchone() == (1,)
    [line] = lines
    record = parseRecord(line)
    verifyRecord(record, {store.signer.keyId: store.signer.publicKey})
    assert record["data"] == drawing.data
    assert record["request"] == {
        "type": "int",
        "n": 2,
        "min": 1,
        "max": 4,
        "unique": True,
    }
    assert len(set(record["values"])) == 2
    assert all(1 <= value <= 4 for value in record["values"])
    read: list[bytes | None] = []
    store.drawing(record["serial"]).addCallback(read.append)
    store.drawing(record["serial"] + 1).addCallback(read.append)
    pool.runAll()
    assert read == [drawing.stored(), None]


def test_aFailedCommitStoresNeither(tmp_path: Path) -> None:
    clock = Clock()
    store, pool = makeStore(tmp_path, clock)
    failed: list[object] = []
    store.draw(
        Drawing(("a", "b")).query(1),
        seededSource(1),
        UUID7Clock(),
        Drawing(("a", "b")).stored(),
    ).addErrback(failed.append)
    clock.advance(0)
    pool.breakNext = 1
    pool.runAll()
    assert len(failed) == 1
    plain = sqlite3.connect(store.path)
    assert plain.execute("SELECT COUNT(*) FROM draws").fetchone() == (0,)
    assert plain.execute("SELECT COUNT(*) FROM drawings").fetchone() == (0,)


def test_theSizeLimitCountsTheEntrants(tmp_path: Path) -> None:
    clock = Clock()
    store, pool = makeStore(tmp_path, clock)
    drawing = Drawing(tuple(f"entrant number {i}" for i in range(2000)))
    stored = drawing.stored()
    query = drawing.query(1)
    # Room for the record, not for its entrants as well.
    store.maxSize = store.size() + 2 * (query.replySize() + RECORD_OVERHEAD) + 4 * 4096
    assert store.roomFor(query.replySize() + RECORD_OVERHEAD)
    with pytest.raises(QueryError, match="audit store full"):
        store.draw(query, seededSource(1), UUID7Clock(), stored)
    assert store.full
    # With room for both, it is stored.
    store.maxSize += 2 * len(stored)
    store.full = False
    lines = drawOne(store, drawing, 1)
    clock.advance(0)
    pool.runAll()
    assert len(lines) == 1


# A drawing's answer, checked against its record.


def _answer(tmp_path: Path) -> dict[str, Any]:
    clock = Clock()
    store, pool = makeStore(tmp_path, clock)
    drawing = Drawing(("Ada", "Bob", "Cy", "Di"), "Raffle")
    lines = drawOne(store, drawing, 2)
    clock.advance(0)
    pool.runAll()
    answer: dict[str, Any] = json.loads(drawingAnswer(lines[0], drawing.stored()))
    return answer


def test_aGenuineAnswerGivesItsRecord(tmp_path: Path) -> None:
    answer = _answer(tmp_path)
    assert checkAnswer(answer) == answer["record"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            lambda a: a["entrants"].__setitem__(0, "Eve"),
            "the drawing's entrant list is not the one its record was signed for",
        ),
        (
            lambda a: a["entrants"].append("Eve"),
            "the drawing's entrant list is not the one its record was signed for",
        ),
        (
            lambda a: a.__setitem__("title", "Other"),
            "the drawing's title is not the one its record was signed for",
        ),
        (
            lambda a: a["winners"].reverse(),
            "the drawing's winners are not the entrants its record's values number",
        ),
        (
            lambda a: a["record"]["values"].__setitem__(0, 9),
            "the record's values do not number the drawing's entrants",
        ),
        (
            lambda a: a["record"].__setitem__("data", "raffle"),
            "the record is not a drawing's (its data binds no list)",
        ),
        (
            lambda a: a.pop("entrants"),
            "not a drawing's answer: it has no record and entrants",
        ),
    ],
)
def test_aChangedAnswerIsRefused(
    tmp_path: Path, change: Callable[[dict[str, Any]], object], reason: str
) -> None:
    answer = _answer(tmp_path)
    change(answer)
    with pytest.raises(DrawingError) as raised:
        checkAnswer(answer)
    assert raised.value.reason.startswith(reason)
