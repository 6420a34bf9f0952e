"""
The request parser and validator shared by every face.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from randnum.query import (
    INT64_MAX,
    INT64_MIN,
    KEYS,
    MAX_COUNT,
    Query,
    QueryError,
    parseLine,
    parseParameters,
)

DEFAULTS = Query()


def assertParsesOrExplains(line: bytes) -> None:
    """
    A line either parses to a valid query or raises a L{QueryError} with a
    reason; nothing else can come out of the parser.
    """
    try:
        query = parseLine(line, DEFAULTS)
    except QueryError as error:
        assert error.reason
    else:
        assert query.checked() is query


@given(st.binary(max_size=200))
def test_parseLineNeverRaisesAnythingButQueryError(line: bytes) -> None:
    assertParsesOrExplains(line)


@given(
    st.lists(
        st.sampled_from([b"n=", b"min=", b"max=", b"unique=", b"=", b" ", b"\t", b"x"])
        | st.binary(max_size=5),
        max_size=12,
    ).map(b"".join)
)
def test_parseLineNeverRaisesOnParameterLikeLines(line: bytes) -> None:
    assertParsesOrExplains(line)


@st.composite
def validQueries(draw: st.DrawFn) -> Query:
    low = draw(st.integers(INT64_MIN, INT64_MAX))
    high = draw(st.integers(low, INT64_MAX))
    unique = draw(st.booleans())
    most = min(MAX_COUNT, high - low + 1) if unique else MAX_COUNT
    return Query(min=low, max=high, n=draw(st.integers(1, most)), unique=unique)


@given(validQueries())
def test_validParameterLinesRoundTrip(query: Query) -> None:
    line = (
        f"n={query.n} min={query.min} max={query.max} "
        f"unique={str(query.unique).lower()}"
    ).encode()
    assert parseLine(line, DEFAULTS) == query


@given(validQueries(), st.permutations(["n", "min", "max", "unique"]))
def test_parameterOrderDoesNotMatter(query: Query, order: list[str]) -> None:
    values = {
        "n": str(query.n),
        "min": str(query.min),
        "max": str(query.max),
        "unique": str(query.unique).lower(),
    }
    line = " ".join(f"{key}={values[key]}" for key in order).encode()
    assert parseLine(line, DEFAULTS) == query


@pytest.mark.parametrize(
    "line",
    [
        b"",
        b"Example request",
        b"\x00\xff\xfe",
        b"a = b",
        b"1+1=2",
        b"=",
        b"x = 1",
        b"n = 3 please",
        b"   ",
    ],
)
def test_otherLinesAskForTheDefaults(line: bytes) -> None:
    assert parseLine(line, DEFAULTS) is DEFAULTS


@pytest.mark.parametrize(
    ("line", "fix"),
    [
        (b"n = 3", "n=3"),
        (b"n =3", "n=3"),
        (b"n= 3", "n=3"),
        (b"n\t=\t3", "n=3"),
        (b"n=3 min = 1  max= 6", "n=3 min=1 max=6"),
        (b"signed =true", "signed=true"),
        (b"n = " + b"9" * 80, "key=value"),
    ],
)
def test_spacesAroundEqualsAreRefusedWithTheFix(line: bytes, fix: str) -> None:
    """
    A line that would be a parameter request but for spaces around its
    C{=} signs is refused with the request it meant, not answered as free
    text with one number.
    """
    with pytest.raises(QueryError) as caught:
        parseLine(line, DEFAULTS)
    assert caught.value.reason == f"no spaces around =: {fix}"
    assert caught.value.kind == "bad_format"


def test_aLineOfMoreWordsThanEveryParameterSpacedOutIsFreeText() -> None:
    """
    Only a line of at most three words per parameter (C{key = value}) is
    read again without its spaces: a longer one is free text, not worth a
    second pass.
    """
    longest = b" ".join([b"n = 1"] * len(KEYS))
    with pytest.raises(QueryError) as caught:
        parseLine(longest, DEFAULTS)
    assert caught.value.reason == "no spaces around =: " + " ".join(["n=1"] * len(KEYS))
    assert parseLine(longest + b" n = 1", DEFAULTS) is DEFAULTS


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"n=3 unique", "unique needs a value: n=3 unique=true"),
        (b"unique n=3", "unique needs a value: unique=true n=3"),
        (b"signed n=2", "signed needs a value: signed=true n=2"),
        (b"n max=6", "n needs a value: n=3 max=6"),
        (b"n = 3 unique", "unique needs a value: n=3 unique=true"),
        (b"n=3 unique signed", "unique needs a value: n=3 unique=true signed"),
        (b"n=3 max", "max needs a value (max=VALUE)"),
        (b"n =", "n needs a value: n=3"),
        (b"n= \x80 n=", "n needs a value: key=value"),
        (b"n=3 max =", "max needs a value (max=VALUE)"),
        (b"type=string length", "length needs a value (length=VALUE)"),
        (b"n=" + b"9" * 80 + b" unique", "unique needs a value: key=value"),
    ],
)
def test_aParameterWithoutItsValueIsRefusedWithTheFix(line: bytes, reason: str) -> None:
    """
    A line that would be a parameter request but for a parameter named
    without its value is refused, with a value to give it where one is
    likely, not answered as free text with one number.
    """
    with pytest.raises(QueryError) as caught:
        parseLine(line, DEFAULTS)
    assert caught.value.reason == reason
    assert caught.value.kind == "empty_value"


@pytest.mark.parametrize(
    "line",
    [b"unique", b"n=3 please", b"n=3 unique please", b"n=3 uniq", b"n=3 N"],
)
def test_aLoneWordIsAParameterOnlyBesideParameters(line: bytes) -> None:
    """
    A parameter's name alone is refused only in a line of parameters (with
    at least one C{=}): C{unique} alone, or beside a word randnum does not
    know, is free text.
    """
    assert parseLine(line, DEFAULTS) is DEFAULTS


def test_aLineOfMoreWordsThanEveryParameterSpacedOutIsNotReadForNames() -> None:
    """
    Bare names are looked for under the same bound as spaced-out C{=}s.
    """
    longest = b"n=1" + b" unique" * (3 * len(KEYS) - 1)
    with pytest.raises(QueryError):
        parseLine(longest, DEFAULTS)
    assert parseLine(longest + b" unique", DEFAULTS) is DEFAULTS


@pytest.mark.parametrize(
    ("line", "fix"),
    [
        (b"n=3&min=1&max=6", "n=3 min=1 max=6"),
        (b"n=3,min=1", "n=3 min=1"),
        (b"n=3,unique=true&max=6", "n=3 unique=true max=6"),
        (b"type=string&length=4 n=2", "type=string length=4 n=2"),
        (b"n=3&max=" + b"9" * 80, "key=value"),
    ],
)
def test_queryStringSeparatorsAreRefusedWithTheFix(line: bytes, fix: str) -> None:
    """
    A request whose parameters are separated as in a URL's query string
    (C{&}) or a list (C{,}) is refused naming the request with spaces, not
    with the reason its first value would get (C{n must be an integer}).
    """
    with pytest.raises(QueryError) as caught:
        parseLine(line, DEFAULTS)
    assert caught.value.reason == f"separate parameters with spaces: {fix}"
    assert caught.value.kind == "bad_format"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"n=3&x=1", "n must be an integer"),
        (b"n=3&N=1", "n must be an integer"),
        (b"n=3&min1=1", "n must be an integer"),
    ],
)
def test_otherAmpersandsKeepTheirReason(line: bytes, reason: str) -> None:
    """
    Only a C{&} or C{,} before a parameter's name and C{=} is taken for a
    separator.
    """
    with pytest.raises(QueryError) as caught:
        parseLine(line, DEFAULTS)
    assert caught.value.reason == reason


def test_aValidValueHoldingASeparatorIsTakenAsItIs() -> None:
    """
    A valid request is never refused for its separators: C{chars} may hold
    C{,n=}.
    """
    query = parseLine(b"type=string chars=:ab,n=", DEFAULTS)
    assert query.chars == ":ab,n="


_NAMES = st.sampled_from(["n", "min", "max", "unique", "type", "length"])


@given(
    st.lists(
        st.tuples(_NAMES, st.from_regex(r"[a-z0-9]{1,5}", fullmatch=True)),
        min_size=1,
        max_size=4,
    ),
    st.data(),
)
def test_anyParameterRequestWithSpacedEqualsNamesItsFix(
    pairs: list[tuple[str, str]], data: st.DataObject
) -> None:
    """
    Spaces on either side of any C{=} of a parameter request are refused,
    naming the request without them.
    """
    spaced = []
    for name, value in pairs:
        before, after = data.draw(
            st.sampled_from([(" ", ""), ("", " "), (" ", " "), ("", "")])
        )
        spaced.append(f"{name}{before}={after}{value}")
    fix = " ".join(f"{name}={value}" for name, value in pairs)
    line = " ".join(spaced)
    assume(line != fix)
    with pytest.raises(QueryError) as caught:
        parseLine(line.encode(), DEFAULTS)
    assert caught.value.reason == f"no spaces around =: {fix}"


def test_missingParametersComeFromTheDefaults() -> None:
    defaults = Query(min=5, max=50)
    assert parseLine(b"n=3", defaults) == Query(min=5, max=50, n=3)
    assert parseLine(b"max=7", defaults) == Query(min=5, max=7)


def test_whitespaceAndCarriageReturnsAreSeparators() -> None:
    assert parseLine(b"  n=2\tmin=3   max=4\r", DEFAULTS) == Query(min=3, max=4, n=2)


def test_signedValuesAreAccepted() -> None:
    assert parseLine(b"min=-5 max=+5", DEFAULTS) == Query(min=-5, max=5)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"n=0", "n must be between 1 and 10000"),
        (b"n=-1", "n must be between 1 and 10000"),
        (b"n=10001", "n must be between 1 and 10000"),
        (b"n=abc", "n must be an integer"),
        (b"n=1.5", "n must be an integer"),
        (b"min=1e400", "min must be an integer"),
        (b"max=" + b"9" * 400, "max must be an integer"),
        (b"min=\xd9\xa1", "min must be an integer"),
        (b"min=9223372036854775808", "min must be a signed 64-bit integer"),
        (b"max=-9223372036854775809", "max must be a signed 64-bit integer"),
        (b"min=9 max=1", "min must not exceed max"),
        (b"n=", "empty value for n"),
        (b"n=1 n=2", "repeated parameter n"),
        (b"unique=maybe", "unique must be true or false"),
        (b"unique=TRUE", "unique must be true or false"),
        (b"foo=1", "unknown parameter 'foo'"),
        (b"n=1 count=2", "unknown parameter 'count'"),
        (b"x" * 100 + b"=1", "unknown parameter '" + "x" * 32 + "...'"),
        (
            b"n=7 min=1 max=6 unique=true",
            "unique needs n <= 6, the count of values in 1..6",
        ),
    ],
)
def test_invalidParameterRequestsSayWhy(line: bytes, reason: str) -> None:
    with pytest.raises(QueryError) as raised:
        parseLine(line, DEFAULTS)
    assert raised.value.reason == reason


def test_parseParametersTakesTextPairs() -> None:
    assert parseParameters([("n", "3"), ("unique", "true")], DEFAULTS) == Query(
        n=3, unique=True
    )


def test_checkedReturnsTheSameQuery() -> None:
    query = Query(min=-1, max=1, n=3, unique=True)
    assert query.checked() is query
    assert query.span == 3


def test_leadingZerosAreADecimalInteger() -> None:
    query = parseLine(b"n=00000000000000000003 min=-0000000000000000000000001", Query())
    assert (query.n, query.min) == (3, -1)


@pytest.mark.parametrize("value", ["4_2", " 42", "\u0664\u0662", "0x10", "1e3", "+-1"])
def test_onlyAsciiDecimalIntegers(value: str) -> None:
    with pytest.raises(QueryError) as raised:
        parseParameters([("n", value)], Query())
    assert raised.value.kind == "not_an_integer"


# What mutation testing found unpinned (issue 27).


def test_theBase64SizeEstimateHoldsTheReplyCap() -> None:
    from randnum.query import MAX_REPLY

    # 4 * ceil(1677 / 3) + 1 = 2237 bytes a value: 7,500 values are 16.8 MB.
    with pytest.raises(QueryError, match="reply too large"):
        parseLine(b"type=bytes format=base64 length=1677 n=7500", DEFAULTS)
    fits = parseLine(b"type=bytes format=base64 length=1677 n=7499", DEFAULTS)
    assert fits.replySize() == 7499 * 2237 <= MAX_REPLY
    # A byte more a value rounds up to three more characters: over the cap.
    with pytest.raises(QueryError, match="reply too large"):
        parseLine(b"type=bytes format=base64 length=1678 n=7499", DEFAULTS)


@pytest.mark.parametrize(
    ("line", "each"),
    [
        (b"type=bytes length=5", 10),
        (b"type=bytes length=5 format=base64", 8),
        (b"type=bytes length=6 format=base64", 8),
        (b"type=bytes length=7 format=base64", 12),
        (b"type=uuid", 36),
        (b"type=string length=9", 9),
        (b"type=decimal places=4", 6),
        (b"type=gaussian digits=5", 29),
        (b"min=-100 max=7", 4),
        (b"min=-7 max=1000", 4),
    ],
)
def test_eachTypesReplySizeIsExact(line: bytes, each: int) -> None:
    for n in (1, 3):
        query = parseLine(line + b" n=%d" % n, DEFAULTS)
        assert query.replySize() == n * (each + 1)


@pytest.mark.parametrize("data", ["\x01", "tab\there", "line\nbreak", "\x7f"])
def test_nonPrintableDataIsBadData(data: str) -> None:
    with pytest.raises(QueryError) as raised:
        Query(signed=True, data=data).checked()
    assert raised.value.reason == "data must be printable characters"
    assert raised.value.kind == "bad_data"


def refusal(query: Query) -> tuple[str, str | None]:
    """
    What C{query.checked()} says: its reason and its kind.
    """
    with pytest.raises(QueryError) as raised:
        query.checked()
    return raised.value.reason, raised.value.kind


@pytest.mark.parametrize(
    ("query", "times"),
    [
        # 10 choices, fewer than 16 a value, but not a string: no premium.
        (Query(min=1, max=10), 1),
        (Query(type="gaussian"), 4),
        # Unique strings from a crowded space: fewer than 16 choices a value.
        (Query(type="string", chars=":ab", length=3, unique=True), 8),
        # Exactly 16 choices a value is not crowded.
        (Query(type="string", chars=":ab", length=4, unique=True), 1),
        (Query(type="string", chars=":ab", length=3), 1),
    ],
)
def test_workSizeChargesWhatEachByteCosts(query: Query, times: int) -> None:
    assert query.checked().workSize() == times * query.replySize()


def test_aQueryBuiltByHandIsCheckedToo() -> None:
    # Query is public API: a hand-made one reaches checks the parsers make first.
    assert refusal(Query(type="float")) == (
        "type must be one of int, decimal, gaussian, string, uuid, bytes",
        "bad_type",
    )
    assert refusal(Query(data="hello")) == ("data needs signed=true", "bad_data")


def test_aSignedReplyMayBeExactlyItsLimit() -> None:
    from randnum.query import MAX_SIGNED_REPLY

    # 4,096 values of 15 characters and a separator: exactly 64 KiB.
    exact = Query(type="string", length=15, n=4096, signed=True)
    assert exact.replySize() == MAX_SIGNED_REPLY
    assert exact.checked() is exact
    assert refusal(Query(type="string", length=16, n=4096, signed=True)) == (
        f"reply too large for a signed draw (at most {MAX_SIGNED_REPLY} bytes of "
        "values)",
        "reply_too_large",
    )


def test_anAlphabetIsTwoTo94PrintableCharacters() -> None:
    everything = ":" + "".join(map(chr, range(ord("!"), ord("~") + 1)))
    assert len(everything) == 1 + 94
    for chars in (everything, ":!~"):
        query = Query(type="string", chars=chars)
        assert query.checked() is query
    for chars in (everything + "!", ": a", ":a"):
        assert refusal(Query(type="string", chars=chars)) == (
            "chars must list 2 to 94 printable ASCII characters after ':'",
            "bad_alphabet",
        )


def test_dataMayBeExactlyItsLimit() -> None:
    from randnum.query import MAX_DATA

    query = Query(signed=True, data="x" * MAX_DATA)
    assert query.checked() is query
    assert refusal(Query(signed=True, data="x" * (MAX_DATA + 1))) == (
        f"data must be at most {MAX_DATA} characters",
        "bad_data",
    )


def test_otherTypesTakeTheDefaultCountButNotItsRange() -> None:
    defaults = Query(n=5, min=3, max=4)
    assert parseLine(b"type=decimal", defaults) == Query(n=5, type="decimal")
    assert parseLine(b"type=string", defaults) == Query(n=5, type="string")
    assert parseLine(b"type=bytes", defaults) == Query(n=5, type="bytes", length=32)
