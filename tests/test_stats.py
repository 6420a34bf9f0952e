"""
L{randnum.stats}: what the server counts, and the figures that travel
between processes.
"""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from randnum.stats import AuditFigures, Face, HttpStats, TcpStats, emptyFaces


@given(
    st.builds(
        AuditFigures,
        records=st.integers(0, 2**40),
        bytes=st.integers(0, 2**50),
        full=st.booleans(),
        commits=st.integers(0, 2**40),
        failures=st.integers(0, 2**20),
    )
)
def test_auditFiguresTravelAsJSON(figures: AuditFigures) -> None:
    text = figures.toText()
    assert json.loads(text) == {
        "records": figures.records,
        "bytes": figures.bytes,
        "full": figures.full,
        "commits": figures.commits,
        "failures": figures.failures,
    }
    assert AuditFigures.fromText(text) == figures


def test_figuresFromANewerProcessKeepWhatThisOneKnows() -> None:
    text = json.dumps({"records": 3, "full": True, "surprise": 1})
    assert AuditFigures.fromText(text) == AuditFigures(records=3, full=True)


def test_eachFaceCountsAlone() -> None:
    faces = emptyFaces()
    assert sorted(faces) == sorted(face.value for face in Face) == ["http", "tcp"]
    assert isinstance(faces["tcp"], TcpStats) and isinstance(faces["http"], HttpStats)
    faces["tcp"].countError("bad_count")
    assert (faces["tcp"].errors, faces["tcp"].errorKinds["bad_count"]) == (1, 1)
    assert faces["http"].errors == 0
