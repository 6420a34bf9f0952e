# -*- test-case-name: tests.signing.test_drawings -*-
"""
Public drawings: winners drawn from a list of entrants, as an ordinary
signed draw.

A drawing of C{k} winners among C{N} entrants is the signed draw of C{k}
unique integers in C{1..N} (C{{"type": "int", "n": k, "min": 1, "max": N,
"unique": true}}): its values are the winners' 1-based indices in the
entrant list, in draw order.  The record's C{data} binds the list:

    drawing entrants=N sha256=HEX[; TITLE]

where C{HEX} is the SHA-256 of the list's canonical form, the RFC 8785
JSON array of its strings (L{randnum.signing.records.canonical}).  So any
verifier of records verifies a drawing, and anyone holding the list can
check that it is the one drawn from, and map each winner to its entrant.

No I/O here: parsing, limits, the query and the data.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from randnum.query import Query, QueryError
from randnum.signing.records import canonical

#: Most entrants in one drawing.
MAX_ENTRANTS = 10000

#: Most characters in one entrant's name.
MAX_ENTRANT = 200

#: Most characters of a name as sent, surrounding whitespace included.
MAX_RAW = 1000

#: Most lines of a list sent as text (empty ones included).
MAX_LINES = 100_000

#: Most bytes of a drawing's entrant list as stored (its canonical JSON):
#: every drawing is kept for good, and read back whole.  Room for 10,000
#: e-mail addresses, or 10,000 names of 16 CJK characters.
MAX_LIST = 512 * 1024

#: Most characters in a drawing's title: what a record's C{data} has room
#: for (L{randnum.query.MAX_DATA}) after C{drawing entrants=N sha256=HEX; }.
MAX_TITLE = 150

#: Most bytes of a drawing's request body (C{POST /v1/drawings}): a list
#: at L{MAX_LIST}, with room for JSON's escapes and spacing.
MAX_BODY = 1024 * 1024

#: Bytes of a stored drawing that count as one signed draw against its
#: client's rate: about what the largest signed draw stores.
BYTES_PER_DRAW = 64 * 1024

#: The format characters a name may hold: the joiners, which scripts and
#: emoji sequences need.  The others (bidi overrides and isolates, zero
#: width spaces, the byte order mark, soft hyphens) hide or reorder text,
#: so that one name could pass for another.
_JOINERS = frozenset("\u200c\u200d")

#: What a drawing's record's C{data} is.
DATA = re.compile(
    r"drawing entrants=([1-9][0-9]{0,4}) sha256=([0-9a-f]{64})(?:; (.+))?", re.DOTALL
)


class DrawingError(ValueError):
    """
    A drawing that cannot be made as asked.

    @ivar reason: what is wrong, in words for the organiser.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Drawing:
    """
    A drawing's entrants and title, checked.

    @ivar entrants: the names, in order (winners are 1-based indices here).
    @ivar title: a title, if any (also in the record's C{data}).
    """

    entrants: tuple[str, ...]
    title: str | None = None

    @cached_property
    def canonicalEntrants(self) -> bytes:
        """
        The entrant list's canonical form: the RFC 8785 JSON array.
        """
        return canonical(list(self.entrants))

    @cached_property
    def digest(self) -> str:
        """
        The hex SHA-256 of L{canonicalEntrants}.
        """
        return hashlib.sha256(self.canonicalEntrants).hexdigest()

    @property
    def data(self) -> str:
        """
        The record's C{data}: C{drawing entrants=N sha256=HEX[; TITLE]}.
        """
        text = f"drawing entrants={len(self.entrants)} sha256={self.digest}"
        return text if self.title is None else f"{text}; {self.title}"

    def query(self, winners: int) -> Query:
        """
        The signed draw of C{winners} winners: unique integers in
        C{1..N}, with this drawing's L{data}.

        @raise DrawingError: unless 1 <= C{winners} <= N.
        """
        count = len(self.entrants)
        if isinstance(winners, bool) or not isinstance(winners, int):
            raise DrawingError("winners must be a whole number")
        if not 1 <= winners <= count:
            raise DrawingError(
                f"winners must be between 1 and {count}, the number of entrants"
            )
        try:
            return Query(
                min=1, max=count, n=winners, unique=True, signed=True, data=self.data
            ).checked()
        except QueryError as error:
            raise DrawingError(error.reason) from None

    def stored(self) -> bytes:
        """
        What is stored with the record: the canonical JSON object
        C{{"entrants": [...], "title": ...}} (no title member without one).
        """
        value: dict[str, Any] = {"entrants": list(self.entrants)}
        if self.title is not None:
            value["title"] = self.title
        return canonical(value)

    @classmethod
    def fromStored(cls, text: bytes) -> Drawing:
        """
        The drawing L{stored} made.
        """
        value = json.loads(text)
        return cls(tuple(value["entrants"]), value.get("title"))

    def winners(self, values: list[Any]) -> list[dict[str, Any]]:
        """
        The winners of a record's C{values}: C{{"index": i, "entrant":
        name}} each, in draw order.
        """
        return [{"index": i, "entrant": self.entrants[i - 1]} for i in values]


def _refused(char: str) -> bool:
    """
    Whether an entrant's name may not hold C{char}: control characters
    (but tab), format characters (but the joiners), line and paragraph
    separators, and lone surrogates, which have no UTF-8.
    """
    category = unicodedata.category(char)
    if category == "Cc":
        return char != "\t"
    if category == "Cf":
        return char not in _JOINERS
    return category in ("Zl", "Zp", "Cs")


def _refusedIn(text: str, allowed: str = "") -> frozenset[str]:
    """
    The characters of C{text} a name may not hold (but those in
    C{allowed}).
    """
    # Each distinct character is judged once: a long list has few.
    return frozenset(c for c in set(text) if c not in allowed and _refused(c))


def _firstOf(chars: frozenset[str], name: str) -> str:
    """
    The first character of C{name} (at most L{MAX_RAW} long) in C{chars},
    which holds one.
    """
    return next(char for char in name if char in chars)


def _described(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X} {name}".rstrip()


def _refusal(where: str, char: str) -> DrawingError:
    return DrawingError(
        f"{where} holds a control or invisible character ({_described(char)})"
    )


def _name(raw: str, where: str) -> str:
    """
    One entrant's name: C{raw} stripped of surrounding whitespace (empty
    if it is only whitespace).  (Its characters are checked apart, before
    it is stripped, so that a control character Python counts as
    whitespace, such as U+001C or U+0085, is refused wherever it is.)

    @raise DrawingError: if it is too long, naming C{where} it is.
    """
    if len(raw) > MAX_RAW:
        raise DrawingError(
            f"{where} is longer than {MAX_RAW:,} characters, spaces included"
        )
    name = raw.strip()
    if len(name) > MAX_ENTRANT:
        raise DrawingError(f"{where} is longer than {MAX_ENTRANT} characters")
    return name


def _checkCount(count: int) -> None:
    if count == 0:
        raise DrawingError("there are no entrants")
    if count > MAX_ENTRANTS:
        raise DrawingError(f"there are more than {MAX_ENTRANTS:,} entrants")


def entrantsFromText(text: str) -> tuple[str, ...]:
    """
    The entrants of a text, one a line: each stripped of surrounding
    whitespace, empty lines dropped.

    @raise DrawingError: for a character a name may not hold (a control
        or invisible one: see L{_refused}), a name too long, no entrants or
        too many, naming the line.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if len(lines) > MAX_LINES:
        raise DrawingError(f"the text has more than {MAX_LINES:,} lines")
    # Lengths first: the search for a refused character is then short.
    names = [_name(line, f"line {number}") for number, line in enumerate(lines, 1)]
    refused = _refusedIn(text, "\n")
    if refused:
        for number, line in enumerate(lines, 1):
            if not refused.isdisjoint(line):
                raise _refusal(f"line {number}", _firstOf(refused, line))
    entrants = [name for name in names if name]
    _checkCount(len(entrants))
    return tuple(entrants)


def entrantsFromList(names: object) -> tuple[str, ...]:
    """
    The entrants of a JSON array of strings: each stripped of surrounding
    whitespace; none may be empty (indices are the organiser's).

    @raise DrawingError: if it is not such an array, or breaks a limit.
    """
    if not isinstance(names, list):
        raise DrawingError("entrants must be an array of strings")
    _checkCount(len(names))
    for number, name in enumerate(names, 1):
        if not isinstance(name, str):
            raise DrawingError(f"entrant {number} is not a string")
    # Lengths first: the search for a refused character is then short.
    entrants = [
        _name(name, f"entrant {number}") for number, name in enumerate(names, 1)
    ]
    refused = _refusedIn("\t".join(names), "\t")
    if refused:
        for number, name in enumerate(names, 1):
            if not refused.isdisjoint(name):
                raise _refusal(f"entrant {number}", _firstOf(refused, name))
    for number, name in enumerate(entrants, 1):
        if not name:
            raise DrawingError(f"entrant {number} is empty")
    return tuple(entrants)


def checkTitle(title: object) -> str | None:
    """
    A drawing's title: none, or 1 to L{MAX_TITLE} printable characters
    (surrounding whitespace stripped; empty is none).

    @raise DrawingError: otherwise.
    """
    if title is None:
        return None
    if not isinstance(title, str):
        raise DrawingError("title must be a string")
    title = title.strip()
    if not title:
        return None
    if len(title) > MAX_TITLE:
        raise DrawingError(f"title must be at most {MAX_TITLE} characters")
    if not title.isprintable():
        # The record's data holds printable characters only: name the one
        # that is not (a no-break space looks like any other).
        bad = next(char for char in title if not char.isprintable())
        raise DrawingError(
            f"the title holds {_described(bad)}, which a title may not hold: "
            "no tabs or line breaks, no spaces but the plain one, no "
            "invisible characters"
        )
    return title


def parseRequest(body: bytes) -> tuple[Drawing, int]:
    """
    A drawing asked for by C{POST /v1/drawings}: a JSON object with
    C{entrants} (an array of strings) or C{entrantsText} (one a line),
    C{winners}, and optionally C{title}.

    @return: the drawing and its number of winners (checked: see
        L{Drawing.query}).
    @raise DrawingError: saying what is wrong.
    """
    if len(body) > MAX_BODY:
        raise DrawingError(f"a drawing's request is at most {MAX_BODY} bytes")
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise DrawingError("the request must be a JSON object (UTF-8)") from None
    if not isinstance(value, dict):
        raise DrawingError("the request must be a JSON object")
    known = {"entrants", "entrantsText", "winners", "title"}
    unknown = sorted(set(value) - known)
    if unknown:
        raise DrawingError(
            f"unknown member {unknown[0][:32]!r} (entrants or entrantsText, "
            "winners and title are)"
        )
    if ("entrants" in value) == ("entrantsText" in value):
        raise DrawingError("give either entrants (an array) or entrantsText")
    if "entrants" in value:
        entrants = entrantsFromList(value["entrants"])
    else:
        text = value["entrantsText"]
        if not isinstance(text, str):
            raise DrawingError("entrantsText must be a string")
        entrants = entrantsFromText(text)
    if "winners" not in value:
        raise DrawingError("winners is required")
    drawing = Drawing(entrants, checkTitle(value.get("title")))
    size = len(drawing.canonicalEntrants)
    if size > MAX_LIST:
        raise DrawingError(
            f"the entrant list is {size} bytes as JSON: at most {MAX_LIST} "
            f"({MAX_LIST // 1024} KiB)"
        )
    winners = value["winners"]
    drawing.query(winners)
    return drawing, winners


def drawCost(stored: bytes) -> int:
    """
    How many signed draws a drawing stored as C{stored} counts as against
    its client's rate: one for each L{BYTES_PER_DRAW} begun.
    """
    return max(1, -(-len(stored) // BYTES_PER_DRAW))


def matchData(data: object) -> tuple[int, str, str | None] | None:
    """
    A drawing's record's C{data}, read: the number of entrants, the
    digest of their list and the title; L{None} if it is no drawing's.
    """
    if not isinstance(data, str):
        return None
    found = DATA.fullmatch(data)
    if found is None:
        return None
    return int(found[1]), found[2], found[3]


def checkAnswer(answer: Mapping[str, Any]) -> dict[str, Any]:
    """
    The record of a drawing's answer (C{GET /v1/drawings/SERIAL}, or a line
    of C{randnum export --drawings}), once its entrants, title and winners
    are checked against it: the list is the one its C{data} binds (count
    and SHA-256), and each winner is the entrant its value numbers.  The
    record's own signature is for its verifier to check.

    @raise DrawingError: saying what does not match.
    """
    record = answer.get("record")
    entrants = answer.get("entrants")
    if not isinstance(record, dict) or not isinstance(entrants, list):
        raise DrawingError("not a drawing's answer: it has no record and entrants")
    bound = matchData(record.get("data"))
    if bound is None:
        raise DrawingError("the record is not a drawing's (its data binds no list)")
    count, digest, title = bound
    if not all(isinstance(name, str) for name in entrants):
        raise DrawingError("the drawing's entrants are not all strings")
    drawing = Drawing(tuple(entrants), title)
    if len(entrants) != count or drawing.digest != digest:
        raise DrawingError(
            "the drawing's entrant list is not the one its record was signed for "
            f"({len(entrants)} entrants, sha256 {drawing.digest[:16]}..., where "
            f"the record says {count} and {digest[:16]}...)"
        )
    if answer.get("title") != title:
        raise DrawingError(
            "the drawing's title is not the one its record was signed for"
        )
    values = record.get("values")
    if not isinstance(values, list) or not all(
        type(value) is int and 1 <= value <= count for value in values
    ):
        raise DrawingError("the record's values do not number the drawing's entrants")
    if answer.get("winners") != drawing.winners(values):
        raise DrawingError(
            "the drawing's winners are not the entrants its record's values number"
        )
    return record
