"""The function host's test guests: see :mod:`devtools.wat_guests` (the benches use them
too)."""

from __future__ import annotations

from devtools.wat_guests import (
    NOT_BINDGEN,
    UNRESOLVED,
    guest,
    write_guest,
    write_yomo_guest,
    yomo_guest,
)

__all__ = ["NOT_BINDGEN", "UNRESOLVED", "guest", "write_guest", "write_yomo_guest", "yomo_guest"]
