"""``subscribe``: observe a Y3 key in each payload, as YoMo's ``Subscribe(key)``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import y3
from reactivex import Observable, abc

from .._reporting import ErrorReporter, default_reporter

__all__ = ["subscribe"]

Buffer = bytes | bytearray | memoryview


def observe_keys(
    keys: int | Iterable[int],
    emit: Callable[[y3.Observation], None],
    observer: abc.ObserverBase[Any],
    source: Observable[Buffer],
    scheduler: abc.SchedulerBase | None,
    report: Callable[[str, object, Exception], None],
    name: str,
    split_packets: bool,
) -> abc.DisposableBase:
    """Feed each payload of ``source`` to a ``y3.KeyObserver(keys)`` of this subscription and
    call ``emit`` with each observation.

    A payload the codec rejects is reported, and the next payload is read afresh: the
    runtime delivers one Data frame per payload, so a frame boundary is where to resync.
    Unless ``split_packets``, a payload ending inside a packet is rejected too, so that a
    truncated frame cannot swallow the next one.
    """
    watcher = y3.KeyObserver(keys)

    def on_next(payload: Buffer) -> None:
        nonlocal watcher
        try:
            if not isinstance(payload, (bytes, bytearray, memoryview)):
                raise TypeError(f"a payload must be bytes-like, got {type(payload).__name__}")
            found = watcher.feed(payload)
        except (y3.Y3Error, TypeError) as exc:
            report(name, payload, exc)
            watcher = y3.KeyObserver(keys)
            return
        for observation in found:
            emit(observation)
        if watcher.pending and not split_packets:
            report(
                name,
                payload,
                y3.PacketTooShortError(
                    f"the payload ends inside a packet ({watcher.pending} bytes of it)"
                ),
            )
            watcher = y3.KeyObserver(keys)

    def on_completed() -> None:
        try:
            watcher.close()
        except y3.Y3Error as exc:  # the last payload ended inside a packet
            report(name, None, exc)
        observer.on_completed()

    return source.subscribe(on_next, observer.on_error, on_completed, scheduler=scheduler)


def subscribe(
    key: int, *, split_packets: bool = False, reporter: ErrorReporter | None = None
) -> Callable[[Observable[Buffer]], Observable[bytes]]:
    """For each root packet in the payloads, emit its first child packet with Y3 ``key``,
    whole (tag, length and value) as ``bytes``, as YoMo's ``Subscribe(key)`` fed its
    ``OnObserve`` function.

    Keys are matched child by child, never inside a value. Each payload (one Data frame)
    holds whole packets; with ``split_packets=True`` the payloads are one byte stream
    instead, as YoMo v1.3 read its connection, and a packet may span them. A payload that
    is not valid Y3 is reported and skipped.
    """
    y3.KeyObserver(key)  # checks the key now, at the call
    report = (reporter or default_reporter()).report

    def _subscribe(source: Observable[Buffer]) -> Observable[bytes]:
        def subscribe_(
            observer: abc.ObserverBase[bytes], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            emit = observer.on_next

            def on_observation(observation: y3.Observation) -> None:
                emit(bytes(observation.packet))

            return observe_keys(
                key,
                on_observation,
                observer,
                source,
                scheduler,
                report,
                "subscribe",
                split_packets,
            )

        return Observable(subscribe_)

    return _subscribe
