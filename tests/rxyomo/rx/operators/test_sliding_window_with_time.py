from __future__ import annotations

import pytest

from rxyomo.rx import operators as yops


def test_every_slide_the_handler_gets_the_items_of_the_last_window(marbles):
    windows: list[list[str]] = []
    xs = marbles.hot("-a-b-c-----d-|")
    results = marbles.start(
        lambda: xs.pipe(
            yops.sliding_window_with_time(4000, 2000, windows.append, reporter=marbles.reporter)
        )
    )
    assert results == marbles.exp("-a-b-c-----d-|")
    # Checks at 202, 204, ..., 212 and once more at the end (213); 210 had an empty window.
    assert windows == [["a"], ["a", "b"], ["b", "c"], ["c"], ["d"], ["d"]]


def test_a_failing_handler_is_reported_and_the_stream_goes_on(marbles):
    def handler(items):
        raise LookupError(len(items))

    xs = marbles.hot("-a-b-|")
    results = marbles.start(
        lambda: xs.pipe(
            yops.sliding_window_with_time(1500, 2000, handler, reporter=marbles.reporter)
        )
    )
    assert results == marbles.exp("-a-b-|")
    # Checks at 202 and 204; at the end (205) "b" is older than the window.
    reported = marbles.errors_of("sliding_window_with_time")
    assert reported == [(["a"], "1"), (["b"], "1")]


def test_the_last_window_is_handed_over_before_a_failure(marbles):
    windows: list[list[str]] = []
    xs = marbles.hot("-a#", error=OSError("o"))
    results = marbles.start(
        lambda: xs.pipe(yops.sliding_window_with_time(5000, 5000, windows.append))
    )
    assert results == marbles.exp("-a#", error=OSError("o"))
    # Only the final check: a timer left running would have handed "a" over again at 205.
    assert windows == [["a"]]


@pytest.mark.parametrize(("window", "slide"), [(0, 10), (10, 0)])
def test_times_must_be_positive(window, slide):
    with pytest.raises(ValueError, match=r"(window|slide)_ms must be a period > 0 ms"):
        yops.sliding_window_with_time(window, slide, print)
