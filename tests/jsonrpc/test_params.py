"""
L{randnum.jsonrpc.params}: RANDOM.ORG's parameter rules, as properties.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from randnum.jsonrpc.params import Params, checkChoice, checkInteger
from randnum.jsonrpc.protocol import RpcError

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    max_leaves=5,
)


@given(st.integers(), st.integers(-100, 0), st.integers(0, 100))
def test_anIntegerIsAcceptedExactlyInItsRange(value: int, low: int, high: int) -> None:
    if low <= value <= high:
        assert checkInteger("n", value, low, high) == value
    else:
        with pytest.raises(RpcError) as refused:
            checkInteger("n", value, low, high)
        assert refused.value.code == 202
        assert refused.value.data == ["n", low, high]
        assert refused.value.message == (
            f"Parameter 'n' is out of range; allowable values are [{low},{high}]"
        )


@given(JSON_VALUES.filter(lambda v: isinstance(v, bool) or not isinstance(v, int)))
def test_anythingButAnIntegerIsMalformed(value: Any) -> None:
    with pytest.raises(RpcError) as refused:
        checkInteger("n", value, -(10**9), 10**9)
    assert refused.value.code == 200
    assert refused.value.data == ["n"]


@given(JSON_VALUES)
def test_aChoiceIsOneOfItsChoices(value: Any) -> None:
    choices = (2, 8, 10, 16)
    if not isinstance(value, bool) and value in choices:
        assert checkChoice("base", value, choices) == value
    else:
        with pytest.raises(RpcError) as refused:
            checkChoice("base", value, choices)
        assert refused.value.message == (
            "Parameter 'base' is malformed: it must be 2, 8, 10 or 16"
        )


@given(st.dictionaries(st.text(), JSON_VALUES))
def test_unknownNamesAreInvalidParams(values: dict[str, Any]) -> None:
    names = ("n", "min", "max")
    unknown = [name for name in values if name not in names]
    if unknown:
        with pytest.raises(RpcError) as refused:
            Params(values, names)
        assert refused.value.code == -32602
        assert refused.value.message == (
            f"Invalid params: unknown parameter '{unknown[0]}'"
        )
    else:
        Params(values, names)


@given(st.sampled_from([None, 5]))
def test_nullIsTheDefault(value: Any) -> None:
    params = Params({"n": value}, ("n",))
    assert params.integer("n", 1, 10, default=7) == (7 if value is None else 5)


def test_aMissingRequiredParameterIsInvalidParams() -> None:
    with pytest.raises(RpcError) as refused:
        Params({"n": None}, ("n",)).integer("n", 1, 10)
    assert (refused.value.code, refused.value.message) == (
        -32602,
        "Invalid params: missing parameter 'n'",
    )
