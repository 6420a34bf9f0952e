"""
Tests for L{randnum.idle}: idle timers of one period on one timer of the
clock's, called exactly when the clock's own timers would be.
"""

from __future__ import annotations

from functools import partial

import pytest
from hypothesis import given
from hypothesis import strategies as st
from twisted.internet.error import AlreadyCalled, AlreadyCancelled
from twisted.internet.interfaces import IDelayedCall
from twisted.internet.task import Clock
from twisted.logger import LogEvent

from randnum.idle import IdleTimers

PERIOD = 10.0


def timers() -> tuple[IdleTimers, Clock]:
    clock = Clock()
    return IdleTimers(lambda: clock, PERIOD), clock


def test_aTimerIsCalledAfterItsPeriod() -> None:
    idle, clock = timers()
    called: list[float] = []
    idle.callLater(PERIOD, lambda: called.append(clock.seconds()))
    clock.advance(PERIOD - 0.001)
    assert called == []
    clock.advance(0.001)
    assert called == [PERIOD]
    assert clock.getDelayedCalls() == []


def test_aTimerPushedBackIsCalledAPeriodAfterThat() -> None:
    idle, clock = timers()
    called: list[float] = []
    timer = idle.callLater(PERIOD, lambda: called.append(clock.seconds()))
    clock.advance(4)
    timer.reset(PERIOD)
    assert timer.getTime() == 14
    clock.advance(9)
    assert called == [] and timer.active()
    clock.advance(1)
    assert called == [14] and not timer.active()


def test_manyTimersTakeOneTimerOfTheClock() -> None:
    idle, clock = timers()
    called: list[int] = []
    for i in range(100):
        idle.callLater(PERIOD, partial(called.append, i))
        clock.advance(0.01)
    assert len(clock.getDelayedCalls()) == 1 and len(idle) == 100
    clock.advance(PERIOD)
    assert called == list(range(100))


def test_noTimerOfTheClockOnceEveryTimerIsCancelled() -> None:
    idle, clock = timers()
    made = [idle.callLater(PERIOD, lambda: None) for _ in range(3)]
    for timer in made:
        timer.cancel()
    assert clock.getDelayedCalls() == [] and len(idle) == 0


def test_aTimerOfAnotherPeriodIsTheClocks() -> None:
    idle, clock = timers()
    timer = idle.callLater(3, lambda: None)
    assert timer in clock.getDelayedCalls() and len(idle) == 0


def test_aDelayedTimerIsCalledThatMuchLater() -> None:
    idle, clock = timers()
    called: list[float] = []
    timer = idle.callLater(PERIOD, lambda: called.append(clock.seconds()))
    idle.callLater(PERIOD, lambda: None)
    timer.delay(5)
    assert timer.getTime() == 15
    clock.advance(14)
    assert called == []
    clock.advance(1)
    assert called == [15]


def test_aTimerResetToAnotherPeriodIsCalledThen() -> None:
    idle, clock = timers()
    called: list[float] = []
    timer = idle.callLater(PERIOD, lambda: called.append(clock.seconds()))
    timer.reset(2)
    clock.advance(2)
    assert called == [2]


def test_aTimerCancelledOrCalledCannotBeCancelledAgain() -> None:
    idle, _ = timers()
    timer = idle.callLater(PERIOD, lambda: None)
    timer.cancel()
    with pytest.raises(AlreadyCancelled):
        timer.cancel()
    with pytest.raises(AlreadyCancelled):
        timer.reset(PERIOD)


def test_aTimerCalledCannotBeResetNorCancelled() -> None:
    idle, clock = timers()
    timer = idle.callLater(PERIOD, lambda: None)
    clock.advance(PERIOD)
    with pytest.raises(AlreadyCalled):
        timer.reset(PERIOD)
    with pytest.raises(AlreadyCalled):
        timer.cancel()


def test_aTimerStartedByATimerBeingCalledIsCalledAPeriodLater() -> None:
    idle, clock = timers()
    called: list[float] = []

    def again() -> None:
        called.append(clock.seconds())
        if len(called) < 3:
            idle.callLater(PERIOD, again)

    idle.callLater(PERIOD, again)
    idle.callLater(PERIOD, lambda: None)
    clock.advance(PERIOD)
    clock.advance(PERIOD)
    clock.advance(PERIOD)
    assert called == [10, 20, 30]
    assert clock.getDelayedCalls() == []


#: One step of a connection's timer: start, push back, cancel, or let time
#: pass.
STEPS = st.lists(
    st.tuples(
        st.sampled_from(["start", "reset", "cancel", "advance"]),
        st.integers(0, 7),
        st.floats(0, 12, allow_nan=False),
    ),
    max_size=60,
)


@given(STEPS)
def test_timersAreCalledWhenTheClocksOwnWouldBe(
    steps: list[tuple[str, int, float]],
) -> None:
    """
    Any history of starts, resets, cancels and passing time calls the same
    timers at the same moments as the clock's own timers.
    """
    idle, clock = timers()
    model = Clock()
    calls: dict[str, list[tuple[int, float]]] = {"idle": [], "model": []}
    made: dict[int, tuple[IDelayedCall, IDelayedCall]] = {}

    def record(kind: str, which: int, on: Clock) -> None:
        calls[kind].append((which, on.seconds()))

    for action, which, seconds in steps:
        pair = made.get(which)
        live = pair is not None and pair[0].active()
        if action == "start" and not live:
            made[which] = (
                idle.callLater(PERIOD, partial(record, "idle", which, clock)),
                model.callLater(PERIOD, partial(record, "model", which, model)),
            )
        elif action == "reset" and live:
            assert pair is not None
            for timer in pair:
                timer.reset(PERIOD)
        elif action == "cancel" and live:
            assert pair is not None
            for timer in pair:
                timer.cancel()
        elif action == "advance":
            clock.advance(seconds)
            model.advance(seconds)
        for one, other in made.values():
            assert one.active() == other.active()
            if one.active():
                assert one.getTime() == other.getTime()
    clock.advance(PERIOD)
    model.advance(PERIOD)
    # (Timers due at the same moment may be called in another order.)
    assert sorted(calls["idle"], key=lambda c: (c[1], c[0])) == sorted(
        calls["model"], key=lambda c: (c[1], c[0])
    )
    assert clock.getDelayedCalls() == []


def test_aTimerThatFailsIsLoggedAndTheOthersAreStillCalled(
    logged: list[LogEvent],
) -> None:
    """
    As the reactor does with its own timers, a timer that raises is
    logged, and the other timers due (now and later) are still called.
    """
    idle, clock = timers()
    called: list[str] = []

    def fail() -> None:
        raise RuntimeError("timeoutConnection failed")

    idle.callLater(PERIOD, fail)
    idle.callLater(PERIOD, partial(called.append, "due with it"))
    clock.advance(1)
    idle.callLater(PERIOD, partial(called.append, "due later"))
    clock.advance(PERIOD - 1)
    assert called == ["due with it"]
    assert [event["log_failure"].type for event in logged] == [RuntimeError]
    clock.advance(1)
    assert called == ["due with it", "due later"]
    assert clock.getDelayedCalls() == []
