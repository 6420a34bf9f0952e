"""
Fair shares of each turn's work per client address.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from loopback import TurnClock as Clock
from prometheus_client import generate_latest
from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.internet.task import Clock as PlainClock
from twisted.logger import LogEvent, formatEvent

from randnum.metrics import metricsRegistry
from randnum.server import RandnumServer
from randnum.sharing import Shares, clientKey


def test_aClientIsAnIPv4AddressAnIPv6Slash64OrLocal() -> None:
    assert clientKey(IPv4Address("TCP", "192.0.2.7", 5000)) == "192.0.2.7"
    assert clientKey(IPv6Address("TCP", "2001:db8:1:2:3:4:5:6", 1)) == (
        "2001:db8:1:2::/64"
    )
    assert clientKey(IPv6Address("TCP", "fe80::1%eth0", 1)) == "fe80::/64"
    # An IPv4 client on a dual-stack socket is its IPv4 address.
    assert clientKey(IPv6Address("TCP", "::ffff:192.0.2.7", 1)) == "192.0.2.7"
    assert clientKey(UNIXAddress(b"/run/randnum.sock")) == "local"
    assert clientKey(None) == "local"


@given(st.ip_addresses(v=6), st.integers(0, 2**64 - 1))
def test_everyAddressOfASlash64IsOneClient(address: object, low: int) -> None:
    import ipaddress

    base = int(ipaddress.IPv6Address(str(address))) >> 64 << 64
    one = ipaddress.IPv6Address(base)
    other = ipaddress.IPv6Address(base + low)
    if one.ipv4_mapped is None and other.ipv4_mapped is None:
        assert clientKey(IPv6Address("TCP", str(one), 1)) == clientKey(
            IPv6Address("TCP", str(other), 1)
        )


def recorder(log: list[str], name: str) -> Callable[[], None]:
    return lambda: log.append(name)


def test_anAddressWithItsShareLeftWorksAtOnce() -> None:
    shares = Shares(PlainClock, turnWork=100, smallest=1)
    assert shares.mayWork("a")
    shares.spend("a", 60)
    assert shares.mayWork("a")
    shares.spend("a", 60)
    assert not shares.mayWork("a")
    assert shares.mayWork("b")


def test_eachWaitingAddressGetsOneShareATurnInOrder() -> None:
    clock = Clock()
    shares = Shares(lambda: clock, turnWork=100, smallest=1)
    log: list[str] = []
    for name in ("a1", "a2", "a3"):
        shares.wait("a", recorder(log, name))
    shares.wait("b", recorder(log, "b1"))
    # While any of its connections waits, no other of the address works.
    assert not shares.mayWork("a")
    clock.advance(0)
    assert log == ["a1", "b1"]
    clock.advance(0)
    assert log == ["a1", "b1", "a2"]
    clock.advance(0)
    assert log == ["a1", "b1", "a2", "a3"]
    assert shares.mayWork("a")


def test_anExpensiveShareIsPaidForWithLaterTurns() -> None:
    clock = Clock()
    shares = Shares(lambda: clock, turnWork=100, smallest=1)
    log: list[str] = []

    def heavy() -> None:
        log.append("heavy")
        shares.spend("a", 350)
        shares.wait("a", heavy)

    def light() -> None:
        log.append("light")
        shares.wait("b", light)

    shares.wait("a", heavy)
    shares.wait("b", light)
    turns = 30
    for _ in range(turns):
        clock.turn()
    # Two busy addresses: a share is half a turn.  The light client has one
    # every turn; the heavy one does no more work than its shares, give or
    # take the request it is paying for.
    assert shares.share == 50
    assert log.count("light") == turns
    assert 350 * log.count("heavy") <= 50 * turns + 350
    assert 350 * log.count("heavy") >= 50 * turns - 350


def test_aTurnIsSharedAmongTheBusyAddressesDownToTheSmallestShare() -> None:
    clock = Clock()
    shares = Shares(lambda: clock, turnWork=1000, smallest=100)
    seen: list[int] = []
    for others, share in ((0, 1000), (1, 500), (3, 250), (9, 100), (49, 100)):
        for i in range(others):
            shares.spend(f"10.0.0.{i}", 1)
        shares.wait("192.0.2.7", lambda: seen.append(shares.share))
        clock.turn()
        assert seen[-1] == share
        # Nobody busy any more: the whole next turn for whoever comes.
        assert shares.share == 1000


def test_aCancelledWaitIsSkipped() -> None:
    clock = Clock()
    shares = Shares(lambda: clock, turnWork=100, smallest=1)
    log: list[str] = []
    gone = shares.wait("a", recorder(log, "gone"))
    shares.wait("a", recorder(log, "stays"))
    assert gone.active()
    gone.cancel()
    assert not gone.active()
    clock.advance(0)
    assert log == ["stays"]
    assert not shares.waiting and not clock.getDelayedCalls()


def test_theBusiestAddressIsTheOneWithMostWaiting() -> None:
    shares = Shares(PlainClock, turnWork=100, smallest=1)
    assert shares.busiest() is None
    for _ in range(3):
        shares.wait("a", lambda: None)
    shares.wait("b", lambda: None)
    assert shares.busiest() == ("a", 3)


@pytest.mark.parametrize("spent", [0, 99, 100, 250])
def test_turnsStopWhenNothingIsOwedOrWaiting(spent: int) -> None:
    clock = Clock()
    shares = Shares(lambda: clock, turnWork=100, smallest=1)
    shares.spend("a", spent)
    for _ in range(4):
        clock.advance(0)
    assert shares.spent == {} and not clock.getDelayedCalls()


def test_contentionIsLoggedOnceAWindowNamingTheBusiest(logged: list[LogEvent]) -> None:
    clock = Clock()
    shares = Shares(lambda: clock, turnWork=100, smallest=1, logWindow=60)

    def contend() -> None:
        for _ in range(3):
            shares.wait("192.0.2.7", lambda: None)
        shares.wait("198.51.100.1", lambda: None)
        clock.turn()

    contend()
    contend()
    clock.advance(60)
    contend()
    said = [
        formatEvent(event)
        for event in logged
        if "shares each turn" in event["log_format"]
    ]
    assert len(said) == 2  # the first turn, and the first a window later
    assert said[0] == (
        "randnum shares each turn among 2 client addresses; the busiest, "
        "192.0.2.7, has 3 connections waiting"
    )


def test_theMetricsShowHowBusyAddressesAre() -> None:
    server = RandnumServer(clock=Clock())
    for _ in range(3):
        server.shares.wait("192.0.2.7", lambda: None)
    server.shares.wait("198.51.100.1", lambda: None)
    text = generate_latest(metricsRegistry(server)).decode()
    assert "randnum_client_addresses_waiting 2.0" in text
    assert "randnum_busiest_address_connections_waiting 3.0" in text
