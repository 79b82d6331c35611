"""Back-pressure bookkeeping between a zipper's connections."""

from __future__ import annotations

from rxyomo.delivery.backpressure import BackPressure


def test_a_sender_pauses_once_and_resumes_when_every_holder_drained() -> None:
    pressure = BackPressure()
    assert not pressure.routed(1, 10)  # not congested: nothing to do
    pressure.congested(10)
    pressure.congested(11)
    assert pressure.is_congested(10)
    assert pressure.routed(1, 10)  # pause the sender now
    assert not pressure.routed(1, 10)  # already held by this destination
    assert not pressure.routed(1, 11)  # held by a second one: still paused
    assert pressure.is_held(1)
    assert pressure.drained(10) == []  # 11 still holds it
    assert pressure.drained(11) == [1]
    assert not pressure.is_held(1)
    assert not pressure.is_congested(11)


def test_forgetting_a_connection_releases_whom_it_held_and_its_own_holds() -> None:
    pressure = BackPressure()
    pressure.congested(10)
    pressure.congested(11)
    assert pressure.routed(1, 10)
    assert pressure.routed(2, 11)
    assert pressure.routed(11, 10)
    assert sorted(pressure.forget(10)) == [1, 11]  # the gone destination held them
    assert pressure.forget(2) == []
    assert pressure.drained(11) == []  # the gone sender 2 is not resumed
    assert not pressure.is_held(2)
