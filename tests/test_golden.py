"""
The golden transcript (L{golden}) still holds: the wire bytes, HTTP
responses, command-line messages and exit statuses recorded before the
package moved into subpackages.
"""

from __future__ import annotations

import json
from pathlib import Path

import golden
import pytest

RECORDED = json.loads((Path(__file__).parent / "golden.json").read_text())
NOW = golden.transcript()


@pytest.mark.parametrize("part", sorted(RECORDED))
def test_transcriptIsUnchanged(part: str) -> None:
    assert NOW[part] == RECORDED[part]


def test_transcriptCoversEveryPart() -> None:
    assert sorted(NOW) == sorted(RECORDED)
