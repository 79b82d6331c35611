"""Argument checks shared by the operators: bad arguments fail at the call, typed."""

from __future__ import annotations

__all__ = ["check_count", "check_key", "ms_to_seconds", "period_to_seconds"]


def ms_to_seconds(milliseconds: float, name: str = "milliseconds") -> float:
    """A YoMo time argument (milliseconds, as YoMo v1.3 took them) in seconds."""
    if isinstance(milliseconds, bool) or not isinstance(milliseconds, (int, float)):
        raise TypeError(f"{name} must be a number of milliseconds, got {milliseconds!r}")
    if not milliseconds >= 0:  # also rejects NaN
        raise ValueError(f"{name} must be >= 0, got {milliseconds!r}")
    return milliseconds / 1000.0


def period_to_seconds(milliseconds: float, name: str = "milliseconds") -> float:
    """A period in milliseconds, which must be more than 0, in seconds."""
    seconds = ms_to_seconds(milliseconds, name)
    if seconds <= 0:
        raise ValueError(f"{name} must be a period > 0 ms, got {milliseconds!r}")
    return seconds


def check_count(count: int, name: str = "count", *, minimum: int = 1) -> int:
    """An item count: an ``int`` of at least ``minimum``."""
    if isinstance(count, bool) or not isinstance(count, int):
        raise TypeError(f"{name} must be an int, got {count!r}")
    if count < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {count}")
    return count


def check_key(key: int) -> int:
    """A Y3 key (sequence id): an ``int`` in 0x00..0x3F."""
    if isinstance(key, bool) or not isinstance(key, int):
        raise TypeError(f"a Y3 key must be an int, got {key!r}")
    if not 0 <= key <= 0x3F:
        raise ValueError(f"a Y3 key must be in 0x00..0x3F, got {key:#x}")
    return key
