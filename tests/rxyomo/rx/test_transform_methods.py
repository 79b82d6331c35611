"""RxStream's per-item operators: values, timing, completion, failure, continue-on-error."""

from __future__ import annotations

import pytest
from reactivex import operators as ops
from reactivex.testing import ReactiveTest

on_next, on_completed, on_error = (
    ReactiveTest.on_next,
    ReactiveTest.on_completed,
    ReactiveTest.on_error,
)
BOOM = RuntimeError("boom")


def fail_on(bad):
    def check(x):
        if x == bad:
            raise ValueError(f"bad {x}")
        return x

    return check


def test_map_goes_on_after_a_failing_item(marbles):
    xs = marbles.hot("-1-2-3-|")
    results = marbles.start(lambda: marbles.stream(xs).map(fail_on(2)).map(lambda x: x * 10))
    assert results == [on_next(201, 10), on_next(205, 30), on_completed(207)]
    assert marbles.errors_of("map") == [(2, "bad 2")]


def test_filter_and_a_failure(marbles):
    xs = marbles.hot("-1-2-3-#", error=BOOM)
    results = marbles.start(lambda: marbles.stream(xs).filter(lambda x: x != 2))
    assert results == [on_next(201, 1), on_next(205, 3), on_error(207, BOOM)]


def test_flat_map_merges_streams_and_iterables(marbles):
    xs = marbles.hot("-1-2-|")
    results = marbles.start(
        lambda: marbles.stream(xs).flat_map(
            lambda x: [x, x] if x == 1 else marbles.stream(marbles.cold("-a|")).map(str.upper)
        )
    )
    assert results == [on_next(201, 1), on_next(201, 1), on_next(204, "A"), on_completed(205)]


def test_flat_map_reports_a_function_that_raises(marbles):
    xs = marbles.hot("-1-2-|")
    results = marbles.start(lambda: marbles.stream(xs).flat_map(lambda x: [fail_on(1)(x)]))
    assert results == [on_next(203, 2), on_completed(205)]
    assert marbles.errors_of("flat_map") == [(1, "bad 1")]


def test_scan_emits_running_results_and_skips_a_failing_step(marbles):
    xs = marbles.hot("-1-2-3-4-|")

    def add(acc, x):
        return acc + fail_on(3)(x)

    results = marbles.start(lambda: marbles.stream(xs).scan(add))
    assert results == [on_next(201, 1), on_next(203, 3), on_next(207, 7), on_completed(209)]
    assert marbles.errors_of("scan") == [(3, "bad 3")]


def test_scan_with_a_seed(marbles):
    xs = marbles.hot("-1-2-|")
    results = marbles.start(lambda: marbles.stream(xs).scan(lambda acc, x: [*acc, x], []))
    assert results == [on_next(201, [1]), on_next(203, [1, 2]), on_completed(205)]


def test_distinct_by_key_keeps_the_first_of_each_key(marbles):
    xs = marbles.hot("-a-A-b-B-b-|")
    results = marbles.start(lambda: marbles.stream(xs).distinct(str.lower))
    assert results == [on_next(201, "a"), on_next(205, "b"), on_completed(211)]


def test_distinct_until_changed_drops_repeats_only(marbles):
    xs = marbles.hot("-a-a-b-a-|")
    results = marbles.start(lambda: marbles.stream(xs).distinct_until_changed())
    assert results == marbles.exp("-a---b-a-|")


def test_distinct_reports_a_failing_key(marbles):
    xs = marbles.hot("-a-b-|")
    results = marbles.start(lambda: marbles.stream(xs).distinct(fail_on("a")))
    assert results == [on_next(203, "b"), on_completed(205)]
    assert marbles.errors_of("distinct") == [("a", "bad a")]


def test_skip_then_take(marbles):
    xs = marbles.hot("-1-2-3-4-|")
    assert marbles.start(lambda: marbles.stream(xs).skip(1).take(2)) == [
        on_next(203, 2),
        on_next(205, 3),
        on_completed(205),
    ]


def test_skip_last_and_take_last(marbles):
    xs = marbles.hot("-1-2-3-|")
    results = marbles.start(lambda: marbles.stream(xs).skip_last(1).pipe(ops.to_list()))
    assert results == [on_next(207, [1, 2]), on_completed(207)]


def test_take_last_waits_for_completion(marbles):
    xs = marbles.hot("-1-2-3-|")
    results = marbles.start(lambda: marbles.stream(xs).take_last(2))
    assert results == [on_next(207, 2), on_next(207, 3), on_completed(207)]


def test_take_until_includes_the_matching_item(marbles):
    xs = marbles.hot("-1-2-3-4-|")
    results = marbles.start(lambda: marbles.stream(xs).take_until(lambda x: x == 2))
    assert results == [on_next(201, 1), on_next(203, 2), on_completed(203)]


def test_take_while_and_skip_while(marbles):
    xs = marbles.hot("-1-2-3-1-|")
    assert marbles.start(lambda: marbles.stream(xs).take_while(lambda x: x < 3)) == [
        on_next(201, 1),
        on_next(203, 2),
        on_completed(205),
    ]


def test_skip_while_then_passes_everything(marbles):
    xs = marbles.hot("-1-3-1-|")
    results = marbles.start(lambda: marbles.stream(xs).skip_while(lambda x: x < 3))
    assert results == [on_next(203, 3), on_next(205, 1), on_completed(207)]


def test_a_predicate_that_raises_drops_the_item(marbles):
    xs = marbles.hot("-1-2-3-|")
    results = marbles.start(lambda: marbles.stream(xs).take_while(lambda x: fail_on(2)(x) < 4))
    assert results == [on_next(201, 1), on_next(205, 3), on_completed(207)]
    assert marbles.errors_of("take_while") == [(2, "bad 2")]


def test_start_with_values_or_a_stream(marbles):
    xs = marbles.hot("-1-|")
    assert marbles.start(lambda: marbles.stream(xs).start_with([7, 8])) == [
        on_next(200, 7),
        on_next(200, 8),
        on_next(201, 1),
        on_completed(203),
    ]


def test_start_with_a_stream_runs_it_first(marbles):
    xs = marbles.cold("-1-|")
    results = marbles.start(lambda: marbles.stream(xs).start_with(marbles.cold("-a|")))
    assert results == [on_next(201, "a"), on_next(203, 1), on_completed(205)]


def test_element_at_picks_by_index(marbles):
    xs = marbles.hot("-a-b-|")
    assert marbles.start(lambda: marbles.stream(xs).element_at(1)) == [
        on_next(203, "b"),
        on_completed(203),
    ]


def test_element_at_beyond_the_end_fails(marbles):
    xs = marbles.hot("-a-|")
    results = marbles.start(lambda: marbles.stream(xs).element_at(3))
    assert len(results) == 1
    assert results[0].value.kind == "E"


@pytest.mark.parametrize(
    ("method", "args", "expected"),
    [
        ("first", (), [on_next(201, 1), on_completed(201)]),
        ("last", (), [on_next(206, 3), on_completed(206)]),
        ("first_or_default", (0,), [on_next(201, 1), on_completed(201)]),
        ("last_or_default", (0,), [on_next(206, 3), on_completed(206)]),
        ("find", (lambda x: x > 1,), [on_next(203, 2), on_completed(203)]),
    ],
)
def test_single_item_picks(marbles, method, args, expected):
    xs = marbles.hot("-1-2-3|")
    assert marbles.start(lambda: getattr(marbles.stream(xs), method)(*args)) == expected


@pytest.mark.parametrize(
    ("method", "args", "expected"),
    [
        ("first", (), [on_completed(203)]),
        ("last", (), [on_completed(203)]),
        ("find", (bool,), [on_completed(203)]),
        ("first_or_default", ("d",), [on_next(203, "d"), on_completed(203)]),
        ("last_or_default", ("d",), [on_next(203, "d"), on_completed(203)]),
        ("default_if_empty", ("d",), [on_next(203, "d"), on_completed(203)]),
    ],
)
def test_single_item_picks_of_an_empty_stream(marbles, method, args, expected):
    xs = marbles.hot("---|")
    assert marbles.start(lambda: getattr(marbles.stream(xs), method)(*args)) == expected


def test_ignore_elements_keeps_only_the_end(marbles):
    xs = marbles.hot("-1-2-#", error=BOOM)
    assert marbles.start(lambda: marbles.stream(xs).ignore_elements()) == [on_error(205, BOOM)]


def test_group_by_dynamic_keys_each_group(marbles):
    xs = marbles.hot("-a-B-c-D-|")
    results = marbles.start(
        lambda: (
            marbles.stream(xs)
            .group_by_dynamic(str.isupper)
            .flat_map(lambda group: group.pipe(ops.map(lambda x: (group.key, x))))
        )
    )
    assert results == [
        on_next(201, (False, "a")),
        on_next(203, (True, "B")),
        on_next(205, (False, "c")),
        on_next(207, (True, "D")),
        on_completed(209),
    ]


def test_group_by_with_a_fixed_number_of_groups(marbles):
    xs = marbles.hot("-1-2-3-|")
    results = marbles.start(
        lambda: (
            marbles.stream(xs)
            .group_by(2, lambda x: x % 2)
            .flat_map(lambda group: group.pipe(ops.count()))
        )
    )
    assert results == [on_next(207, 1), on_next(207, 2), on_completed(207)]


def test_zip_from_iterable_pairs_and_ends_with_the_shorter(marbles):
    xs = marbles.hot("-1-2-3-|")
    results = marbles.start(
        lambda: marbles.stream(xs).zip_from_iterable(["a", "b"], lambda x, c: f"{c}{x}")
    )
    assert results == [on_next(201, "a1"), on_next(203, "b2"), on_completed(203)]


def test_do_on_hooks_run_and_pass_everything_on(marbles):
    seen = []
    xs = marbles.hot("-1-2-|")
    results = marbles.start(
        lambda: (
            marbles.stream(xs)
            .do_on_next(lambda x: seen.append(fail_on(2)(x)))
            .do_on_completed(lambda: seen.append("done"))
        )
    )
    assert results == marbles.exp("-1-2-|")
    assert seen == [1, "done"]
    assert marbles.errors_of("do_on_next") == [(2, "bad 2")]


def test_do_on_error_sees_the_failure(marbles):
    seen: list[Exception] = []
    xs = marbles.hot("-#", error=BOOM)
    results = marbles.start(lambda: marbles.stream(xs).do_on_error(seen.append))
    assert results == [on_error(201, BOOM)]
    assert seen == [BOOM]


@pytest.mark.parametrize(
    ("method", "arg"), [("take", -1), ("skip", "2"), ("take_last", 1.5), ("element_at", -1)]
)
def test_counts_are_checked_at_the_call(marbles, method, arg):
    with pytest.raises((TypeError, ValueError)):
        getattr(marbles.stream(marbles.cold("|")), method)(arg)
