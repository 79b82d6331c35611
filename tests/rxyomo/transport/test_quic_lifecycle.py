"""The QUIC channel's phase table on its own: no sockets, no event loop."""

from __future__ import annotations

import itertools

import pytest

from rxyomo.transport.quic.lifecycle import (
    FINAL,
    TRANSITIONS,
    LifecycleError,
    Phase,
    Trigger,
    advance,
)

_ILLEGAL = [pair for pair in itertools.product(Phase, Trigger) if pair not in TRANSITIONS]


@pytest.mark.parametrize(("start", "trigger", "end"), [(*k, v) for k, v in TRANSITIONS.items()])
def test_every_allowed_move_lands_where_the_table_says(
    start: Phase, trigger: Trigger, end: Phase
) -> None:
    assert advance(start, trigger) is end


@pytest.mark.parametrize(("start", "trigger"), _ILLEGAL)
def test_a_move_outside_the_table_is_refused_naming_phase_and_trigger(
    start: Phase, trigger: Trigger
) -> None:
    with pytest.raises(LifecycleError, match="internal error") as caught:
        advance(start, trigger)
    assert start.name in str(caught.value)
    assert trigger.name in str(caught.value)
    assert (caught.value.phase, caught.value.trigger) == (start, trigger)


def test_terminated_is_the_only_final_phase_and_refuses_every_trigger() -> None:
    assert set(FINAL) == {Phase.TERMINATED}
    for trigger in Trigger:
        with pytest.raises(LifecycleError):
            advance(Phase.TERMINATED, trigger)


def test_the_table_cannot_be_changed_at_run_time() -> None:
    with pytest.raises(TypeError):
        TRANSITIONS[Phase.TERMINATED, Trigger.END] = Phase.OPEN  # type: ignore[index]


def _reachable_from(start: Phase) -> set[Phase]:
    seen = {start}
    frontier = [start]
    while frontier:
        phase = frontier.pop()
        for (source, _), target in TRANSITIONS.items():
            if source is phase and target not in seen:
                seen.add(target)
                frontier.append(target)
    return seen


def test_every_phase_is_reachable_and_every_phase_can_still_terminate() -> None:
    assert _reachable_from(Phase.CONNECTING) == set(Phase)
    for phase in Phase:
        assert Phase.TERMINATED in _reachable_from(phase), phase


def test_every_phase_that_is_not_over_can_end() -> None:
    # abort() must work from anywhere the application has not been told yet.
    for phase in Phase:
        if not phase.ended:
            assert (phase, Trigger.END) in TRANSITIONS, phase


@pytest.mark.parametrize(("start", "trigger", "end"), [(*k, v) for k, v in TRANSITIONS.items()])
def test_no_move_undoes_what_happened(start: Phase, trigger: Trigger, end: Phase) -> None:
    # Once closing, closed on the wire, told or terminated, always so.
    assert end is not start
    assert not start.closing or end.closing
    assert start.wire_open or not end.wire_open
    assert not start.ended or end.ended
    assert not start.terminated or end.terminated


def test_what_each_phase_means() -> None:
    writable = {phase for phase in Phase if not phase.closing}
    assert writable == {Phase.CONNECTING, Phase.OPEN}
    assert {phase for phase in Phase if phase.wire_open} == {
        Phase.CONNECTING,
        Phase.OPEN,
        Phase.CLOSING,
    }
    assert {phase for phase in Phase if phase.ended} == {Phase.LOST, Phase.TERMINATED}
    assert {phase for phase in Phase if phase.terminated} == {Phase.HOLDING, Phase.TERMINATED}
    assert {phase for phase in Phase if phase.holds_end} == {Phase.DRAINING, Phase.HOLDING}


@pytest.mark.parametrize(
    "path",
    [
        # close() completes: our FIN acknowledged, CONNECTION_CLOSE, closing period.
        [Trigger.HANDSHAKE_DONE, Trigger.CLOSE, Trigger.END, Trigger.TERMINATE],
        # A failed handshake, or abort() at any time.
        [Trigger.END, Trigger.TERMINATE],
        [Trigger.HANDSHAKE_DONE, Trigger.END, Trigger.TERMINATE],
        # The peer closes in order while our reader is paused, which resumes in time...
        [Trigger.HANDSHAKE_DONE, Trigger.PEER_CLOSED, Trigger.END, Trigger.TERMINATE],
        # ...or only after the wire terminated.
        [Trigger.HANDSHAKE_DONE, Trigger.PEER_CLOSED, Trigger.TERMINATE, Trigger.END],
    ],
)
def test_the_lives_a_connection_leads_end_terminated(path: list[Trigger]) -> None:
    phase = Phase.CONNECTING
    for trigger in path:
        phase = advance(phase, trigger)
    assert phase is Phase.TERMINATED
