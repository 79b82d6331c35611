"""RxStream mirrors YoMo v1.3's RxStream interface, method for method, in snake_case."""

from __future__ import annotations

import re

import pytest

from rxyomo.rx import RxStream

# The methods of `RxStream` in YoMo v1.3.0's pkg/rx/rxstream.go, plus `RawBytes` (added
# to it in the v1.x line). `MergeReadWriterWithFunc` is the Go client's transport plumbing,
# which the runtime owns here; `Observe` (from rxgo.Iterable) is the `observable` property.
GO_METHODS = [
    "Subscribe",
    "Encode",
    "OnObserve",
    "StdOut",
    "AuditTime",
    "DefaultIfEmptyWithTime",
    "All",
    "AverageFloat32",
    "AverageFloat64",
    "AverageInt",
    "AverageInt8",
    "AverageInt16",
    "AverageInt32",
    "AverageInt64",
    "BackOffRetry",
    "BufferWithCount",
    "BufferWithTime",
    "BufferWithTimeOrCount",
    "Connect",
    "Contains",
    "Count",
    "Debounce",
    "DefaultIfEmpty",
    "Distinct",
    "DistinctUntilChanged",
    "DoOnCompleted",
    "DoOnError",
    "DoOnNext",
    "ElementAt",
    "Error",
    "Errors",
    "Filter",
    "Find",
    "First",
    "FirstOrDefault",
    "FlatMap",
    "ForEach",
    "GroupBy",
    "GroupByDynamic",
    "IgnoreElements",
    "Join",
    "Last",
    "LastOrDefault",
    "Map",
    "Marshal",
    "Max",
    "Min",
    "OnErrorResumeNext",
    "OnErrorReturn",
    "OnErrorReturnItem",
    "Reduce",
    "Repeat",
    "Retry",
    "Run",
    "Sample",
    "Scan",
    "SequenceEqual",
    "Send",
    "Serialize",
    "Skip",
    "SkipLast",
    "SkipWhile",
    "StartWith",
    "SumFloat32",
    "SumFloat64",
    "SumInt64",
    "Take",
    "TakeLast",
    "TakeUntil",
    "TakeWhile",
    "TimeInterval",
    "Timestamp",
    "ToMap",
    "ToMapWithValueSelector",
    "ToSlice",
    "Unmarshal",
    "WindowWithCount",
    "WindowWithTime",
    "WindowWithTimeOrCount",
    "ZipFromIterable",
    "SlidingWindowWithCount",
    "SlidingWindowWithTime",
    "ZipMultiObservers",
    "RawBytes",
]


def snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def test_the_go_list_is_complete():
    assert len(GO_METHODS) == 84
    assert len(set(GO_METHODS)) == len(GO_METHODS)


@pytest.mark.parametrize("go_name", GO_METHODS)
def test_every_go_method_has_its_snake_case_twin(go_name):
    method = getattr(RxStream, snake_case(go_name), None)
    assert callable(method), f"{go_name} -> {snake_case(go_name)} is missing"
    assert method.__doc__, f"{snake_case(go_name)} has no docstring"


def test_the_underlying_observable_is_exposed():
    stream = RxStream.from_iterable([1])
    assert stream.observable.run() == 1
