"""rxyomo's own operators, one per module, written like reactivex's.

Each is a function returning ``Callable[[Observable[T]], Observable[U]]``, usable with
``Observable.pipe`` as well as through :class:`rxyomo.rx.RxStream`. They are the operators
YoMo v1.3 had and reactivex lacks (or has with other semantics), and the continue-on-error
forms of ``map`` and ``filter``.
"""

from ._audit_time import audit_time
from ._average import average
from ._back_off_retry import back_off_retry, exponential_backoff
from ._default_if_empty_with_time import default_if_empty_with_time
from ._encode import encode
from ._filter import filter
from ._group_by import group_by
from ._join import join
from ._map import map
from ._numbers import NumberKind
from ._on_observe import on_observe
from ._raw_bytes import raw_bytes
from ._repeat import INFINITE, repeat
from ._retry import retry
from ._serialize import serialize
from ._sliding_window_with_count import sliding_window_with_count
from ._sliding_window_with_time import sliding_window_with_time
from ._std_out import std_out
from ._subscribe import subscribe
from ._sum import sum
from ._zip_multi_observers import zip_multi_observers

__all__ = [
    "INFINITE",
    "NumberKind",
    "audit_time",
    "average",
    "back_off_retry",
    "default_if_empty_with_time",
    "encode",
    "exponential_backoff",
    "filter",
    "group_by",
    "join",
    "map",
    "on_observe",
    "raw_bytes",
    "repeat",
    "retry",
    "serialize",
    "sliding_window_with_count",
    "sliding_window_with_time",
    "std_out",
    "subscribe",
    "sum",
    "zip_multi_observers",
]
