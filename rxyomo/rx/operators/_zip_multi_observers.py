"""``zip_multi_observers``: decode several Y3 keys and zip their values."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import y3
from reactivex import Observable, abc

from .._reporting import ErrorReporter, default_reporter
from ._subscribe import Buffer, observe_keys

__all__ = ["zip_multi_observers"]

_U = TypeVar("_U")

KeyObserveFunc = tuple[int, Callable[[bytes], Any]]


def zip_multi_observers(
    observers: Sequence[KeyObserveFunc],
    zipper: Callable[[list[Any]], _U],
    *,
    split_packets: bool = False,
    reporter: ErrorReporter | None = None,
) -> Callable[[Observable[Buffer]], Observable[_U]]:
    """Observe every key of ``observers`` (``(key, on_observe)`` pairs), decode each observed
    packet with its key's function, and each time every key has a value, emit
    ``zipper([value of key 1, value of key 2, ...])`` (in the order of ``observers``).

    As YoMo's ``ZipMultiObservers``: each root packet yields its first child with any of the
    keys, the n-th values of the keys are zipped together, and a value that fails to decode
    or a zip that fails is reported and skipped. At least two distinct keys are needed.
    """
    if len(observers) < 2:
        raise ValueError("zip_multi_observers needs at least two (key, on_observe) pairs")
    keys = [key for key, _ in observers]
    if len(set(keys)) != len(keys):
        raise ValueError(f"zip_multi_observers got a key twice: {keys}")
    y3.KeyObserver(keys)  # checks the keys now, at the call
    decoders = dict(observers)
    report = (reporter or default_reporter()).report

    def _zip_multi_observers(source: Observable[Buffer]) -> Observable[_U]:
        def subscribe(
            observer: abc.ObserverBase[_U], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            values: dict[int, deque[Any]] = {key: deque() for key in keys}

            def on_observation(observation: y3.Observation) -> None:
                packet = bytes(observation.packet)
                try:
                    value = decoders[observation.key](packet)
                except Exception as exc:
                    report("zip_multi_observers", packet, exc)
                    return
                values[observation.key].append(value)
                if all(values.values()):
                    items = [values[key].popleft() for key in keys]
                    try:
                        zipped = zipper(items)
                    except Exception as exc:
                        report("zip_multi_observers", items, exc)
                        return
                    observer.on_next(zipped)

            return observe_keys(
                keys,
                on_observation,
                observer,
                source,
                scheduler,
                report,
                "zip_multi_observers",
                split_packets,
            )

        return Observable(subscribe)

    return _zip_multi_observers
