"""
L{randnum.jsonrpc.methods}: RANDOM.ORG's semantics on randnum's
generators: uniform, and distinct without replacement.
"""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from typing import Any

from uniformity import chiSquareOk

from randnum.generation.source import seededSource
from randnum.jsonrpc.methods import plan, timestamp
from randnum.limits import WORK_BUDGET


def draw(method: str, **params: Any) -> Any:
    """
    C{random.data} of a call, decoded as a client does (exact decimals).
    """
    planned = plan(method, {"apiKey": "k", **params})
    text = b"".join(planned.drawing.pieces(seededSource(3)))
    return json.loads(text, parse_float=Decimal)


def test_integersAreUniform() -> None:
    data = draw("generateIntegers", n=10000, min=-5, max=4)
    assert chiSquareOk(Counter(v + 5 for v in data), 10, 10000)


def test_integersWithoutReplacementAreADistinctSample() -> None:
    data = draw("generateIntegers", n=1000, min=1, max=1000, replacement=False)
    assert sorted(data) == list(range(1, 1001))


def test_twentyPlaceDecimalsAreUniformInEveryDigit() -> None:
    data = draw("generateDecimalFractions", n=5000, decimalPlaces=20)
    spelled = [format(v, "f").ljust(22, "0") for v in data]
    assert all(len(s) == 22 for s in spelled)
    # The first place (the high half's) and the last (the low half's).
    assert chiSquareOk(Counter(int(s[2]) for s in spelled), 10, 5000)
    assert chiSquareOk(Counter(int(s[21]) for s in spelled), 10, 5000)


def test_decimalsWithoutReplacementAreDistinct() -> None:
    data = draw("generateDecimalFractions", n=100, decimalPlaces=2, replacement=False)
    assert sorted(data) == [Decimal(i) / 100 for i in range(100)]
    wide = draw("generateDecimalFractions", n=2000, decimalPlaces=19, replacement=False)
    assert len(set(wide)) == 2000


def test_gaussiansHaveTheirMeanAndDeviation() -> None:
    data = draw(
        "generateGaussians",
        n=10000,
        mean=100,
        standardDeviation=-10,
        significantDigits=20,
    )
    mean = sum(data) / len(data)
    deviation = (sum((v - mean) ** 2 for v in data) / len(data)).sqrt()
    assert abs(mean - 100) < 1
    assert abs(deviation - 10) < 1
    assert all(
        len(str(v).replace("-", "").replace(".", "").lstrip("0")) <= 20 for v in data
    )


def test_stringCharactersAreUniformAndRepeatsCountOnce() -> None:
    data = draw("generateStrings", n=4000, length=5, characters="abcabcdefghij")
    counts = Counter("abcdefghij".index(c) for s in data for c in s)
    assert chiSquareOk(counts, 10, 20000)


def test_stringsWithoutReplacementAreDistinct() -> None:
    # Every one of the 12**3 strings; then a few of many.
    data = draw(
        "generateStrings",
        n=1728,
        length=3,
        characters="0123456789ab",
        replacement=False,
    )
    assert len(set(data)) == 1728
    data = draw(
        "generateStrings",
        n=3000,
        length=6,
        characters="0123456789",
        replacement=False,
    )
    assert len(set(data)) == 3000


def test_sequencesWithoutReplacementAreDistinctWithin() -> None:
    data = draw(
        "generateIntegerSequences", n=50, length=10, min=1, max=10, replacement=False
    )
    assert all(sorted(s) == list(range(1, 11)) for s in data)


def test_timestampIsRandomOrgs() -> None:
    assert timestamp(1673229686) == "2023-01-09 02:01:26Z"


def test_aLargeAnswerIsDrawnAWorkBudgetAPieceAtATime() -> None:
    # The attack run's call: 10,000 strings of 32 was made in one piece of
    # 26-43 ms, while every other client waited.
    planned = plan(
        "generateStrings",
        {"apiKey": "k", "n": 10000, "length": 32, "characters": "abcdef\u00e9"},
    )
    pieces = list(planned.drawing.pieces(seededSource(3)))
    assert len(pieces) >= planned.drawing.workSize // WORK_BUDGET
    assert all(len(piece) <= 2 * WORK_BUDGET for piece in pieces)
    data = json.loads(b"".join(pieces))
    assert len(data) == 10000 and all(len(s) == 32 for s in data)
    assert set("".join(data)) == set("abcdef\u00e9")


def test_sequencesArePiecedWholeAndStayInOrder() -> None:
    planned = plan(
        "generateIntegerSequences",
        {"apiKey": "k", "n": 1000, "length": 10, "min": 1, "max": 10**9},
    )
    pieces = list(planned.drawing.pieces(seededSource(3)))
    assert len(pieces) > 1
    data = json.loads(b"".join(pieces))
    assert len(data) == 1000 and all(len(s) == 10 for s in data)
