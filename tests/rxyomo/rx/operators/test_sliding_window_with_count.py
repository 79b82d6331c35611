from __future__ import annotations

import pytest

from rxyomo.rx import operators as yops


def test_the_handler_gets_the_last_n_items_every_m_items_and_items_pass_unchanged(marbles):
    windows: list[list[int]] = []
    xs = marbles.hot("-1-2-3-4-5-6-7-|")
    results = marbles.start(
        lambda: xs.pipe(
            yops.sliding_window_with_count(3, 2, windows.append, reporter=marbles.reporter)
        )
    )
    assert results == marbles.exp("-1-2-3-4-5-6-7-|")
    assert windows == [[1, 2, 3], [3, 4, 5], [5, 6, 7]]


def test_a_slide_of_one_hands_over_every_full_window(marbles):
    windows: list[list[int]] = []
    xs = marbles.hot("-1-2-3-4-|")
    marbles.start(lambda: xs.pipe(yops.sliding_window_with_count(2, 1, windows.append)))
    assert windows == [[1, 2], [2, 3], [3, 4]]


def test_a_failing_handler_is_reported_and_the_stream_goes_on(marbles):
    def handler(window):
        raise ArithmeticError(f"sum {sum(window)}")

    xs = marbles.hot("-1-2-3-|")
    results = marbles.start(
        lambda: xs.pipe(yops.sliding_window_with_count(2, 1, handler, reporter=marbles.reporter))
    )
    assert results == marbles.exp("-1-2-3-|")
    assert marbles.errors_of("sliding_window_with_count") == [([1, 2], "sum 3"), ([2, 3], "sum 5")]


def test_a_failure_is_passed_on(marbles):
    windows: list[list[int]] = []
    xs = marbles.hot("-1-#", error=ValueError("v"))
    results = marbles.start(lambda: xs.pipe(yops.sliding_window_with_count(1, 1, windows.append)))
    assert results == marbles.exp("-1-#", error=ValueError("v"))
    assert windows == [[1]]


@pytest.mark.parametrize(("window", "slide"), [(0, 1), (1, 0), (-1, 1)])
def test_sizes_must_be_positive(window, slide):
    with pytest.raises(ValueError, match=r"(window|slide)_size must be >= 1"):
        yops.sliding_window_with_count(window, slide, print)
