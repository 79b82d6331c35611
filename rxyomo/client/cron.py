"""Cron schedules in the forms YoMo's ``SetCronHandler`` takes (robfig/cron v3).

- ``@every <duration>`` in Go's duration syntax (``@every 1h30m``, ``@every 500ms``),
  counted from when the schedule starts;
- the descriptors ``@yearly`` (``@annually``), ``@monthly``, ``@weekly``, ``@daily``
  (``@midnight``) and ``@hourly``;
- a standard five-field expression (minute hour day-of-month month day-of-week), read by
  croniter, in local time as robfig/cron's default.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from croniter import croniter

__all__ = ["CronSchedule", "parse_go_duration"]

_GO_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_GO_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_go_duration(text: str) -> float:
    """Seconds in a Go duration such as ``1h30m`` or ``1.5s``; ValueError otherwise."""
    pos, total = 0, 0.0
    while pos < len(text):
        match = _GO_PART.match(text, pos)
        if match is None:
            raise ValueError(f"not a Go duration (like 1h30m or 500ms): {text!r}")
        total += float(match.group(1)) * _GO_UNITS[match.group(2)]
        pos = match.end()
    if not text or total <= 0:
        raise ValueError(f"a cron interval must be a positive duration, got {text!r}")
    return total


class CronSchedule:
    """When a cron handler runs next; ValueError names what is wrong with ``spec``."""

    def __init__(self, spec: str) -> None:
        self.spec = spec.strip()
        self.interval: float | None = None
        if self.spec.startswith("@every "):
            self.interval = parse_go_duration(self.spec[len("@every ") :].strip())
        elif not croniter.is_valid(self.spec) or len(self.spec.split()) not in (1, 5):
            raise ValueError(
                f"not a cron spec: {spec!r} (five fields, a descriptor like @hourly, "
                "or @every <duration>)"
            )

    def next_after(self, moment: datetime) -> datetime:
        """The first run strictly after ``moment`` (a local, timezone-aware time)."""
        if self.interval is not None:
            return moment + timedelta(seconds=self.interval)
        following: datetime = croniter(self.spec, moment).get_next(datetime)
        return following
