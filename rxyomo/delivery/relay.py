"""A mesh link's half: what a peer zipper's verdicts on the frames forwarded to it mean
for their writers' tickets, and what the forwarding zipper counts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rxyomo.delivery.outcome import Outcome
from rxyomo.delivery.settlement import Ticket, release
from rxyomo.protocol.receipts import is_no_observer

__all__ = ["Relay", "Relayed"]


@dataclass
class Relayed:
    """What one outcome of a mesh link settled."""

    #: What the link counts in its own delivery statistics.
    outcome: Outcome[object]
    #: Frames the forwarding zipper counts as dropped, by reason.
    drops: Counter[str] = field(default_factory=Counter)


class Relay:
    """The verdicts of one peer zipper (named ``peer``) on the frames forwarded to it,
    each known by its writer's :class:`Ticket` (None when the writer did not ask for
    receipts).

    A frame the peer passed on releases its ticket as delivered. One the peer dropped
    releases it as dropped ``at mesh peer …`` (the peer counted it itself). One lost on
    the link, or of unknown fate there, is counted here as ``mesh peer …: <reason>`` and
    released as such. A peer with no observer for a frame is no loss, since every zipper
    of the mesh gets every frame and most observe only some: the ticket is passed over,
    and the frame counts as dropped only if no zipper observed it.
    """

    def __init__(self, peer: str) -> None:
        self.peer = peer

    def unreachable(self) -> str:
        """The drop reason for a frame that could not be forwarded (no connection)."""
        return f"mesh peer {self.peer} unreachable"

    def settle(self, outcome: Outcome[object]) -> Relayed:
        """Release the tickets ``outcome`` settles; returns what the link and the
        zipper count."""
        for key in outcome.confirmed:
            release(key)
        counted: Outcome[object] = Outcome(
            confirmed=list(outcome.confirmed),
            dropped=outcome.dropped,
            unknown=outcome.unknown,
            excess=outcome.excess,
        )
        for reason, keys in outcome.by_zipper.items():
            if is_no_observer(reason):
                # Not a loss for the link: the peer settled it as it should.
                counted.confirmed.extend(keys)
                for key in keys:
                    if isinstance(key, Ticket):
                        key.pass_over(f"{reason} anywhere in the mesh")
                continue
            counted.by_zipper[reason] = keys
            for key in keys:
                release(key, f"at mesh peer {self.peer}: {reason}")
        drops: Counter[str] = Counter()
        for unsettled in (outcome.dropped, outcome.unknown):
            for reason, keys in unsettled.items():
                local = f"mesh peer {self.peer}: {reason}"
                drops[local] += len(keys)
                for key in keys:
                    release(key, local)
        return Relayed(counted, drops)
