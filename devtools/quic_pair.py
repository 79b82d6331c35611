"""Two aioquic connections wired back to back in memory, with time passed by hand.

Tests of the QUIC layer drive a client and a server connection without sockets or a
clock: :func:`exchange` carries datagrams both ways and jumps to the next timer whenever
neither side has anything to send, so a handshake or a transfer is deterministic.
"""

from __future__ import annotations

from aioquic.quic.connection import QuicConnection

__all__ = ["CLIENT_ADDRESS", "SERVER_ADDRESS", "exchange"]

CLIENT_ADDRESS = ("127.0.0.1", 4000)
SERVER_ADDRESS = ("127.0.0.1", 9000)


def exchange(
    client: QuicConnection,
    server: QuicConnection,
    *,
    now: float = 0.0,
    until: float,
    client_sizes: list[int] | None = None,
    server_sizes: list[int] | None = None,
) -> float:
    """Carries datagrams both ways, stepping time and timers, until both ends go quiet
    before ``until`` (nothing to send, no timer due by then); answers the time reached.
    Raises AssertionError if they are still talking at ``until``. The sizes of the
    datagrams each end sent are appended to ``client_sizes`` and ``server_sizes``."""
    ends = (
        (client, server, CLIENT_ADDRESS, client_sizes),
        (server, client, SERVER_ADDRESS, server_sizes),
    )
    while now < until:
        moved = False
        for sender, receiver, source, sizes in ends:
            for data, _ in sender.datagrams_to_send(now=now):
                if sizes is not None:
                    sizes.append(len(data))
                receiver.receive_datagram(data, source, now=now)
                moved = True
        if not moved:
            # Nothing to send now: jump to the next timer (pacing, ACK delay), if any.
            timers = [t for t in (client.get_timer(), server.get_timer()) if t is not None]
            if not timers or min(timers) >= until:
                return now
            now = max(now, min(timers))
            for end in (client, server):
                timer = end.get_timer()
                if timer is not None and timer <= now:
                    end.handle_timer(now=now)
    raise AssertionError("the connections never went quiet")
