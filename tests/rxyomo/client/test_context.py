"""YoMo's handler API in Python: the context, answers' metadata, cron schedules."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from rxyomo.client.context import Answer, Context, answer_metadata, takes_context
from rxyomo.client.cron import CronSchedule, parse_go_duration
from rxyomo.protocol.metadata import SOURCE_ID, TARGET, TID
from rxyomo.protocol.reserved import BROADCAST


def test_answers_keep_everything_but_the_routing_keys() -> None:
    incoming = {SOURCE_ID: "s", TID: "t", "user": "u", TARGET: "fn-1", BROADCAST: "1"}
    assert answer_metadata(incoming) == {SOURCE_ID: "s", TID: "t", "user": "u"}
    assert answer_metadata(incoming, "fn-2") == {
        SOURCE_ID: "s",
        TID: "t",
        "user": "u",
        TARGET: "fn-2",
    }


def test_a_context_exposes_the_frame_and_queues_writes_in_order() -> None:
    ctx = Context(metadata={SOURCE_ID: "src", TID: "tid-1"}, tag=0x10, data=b"in")
    assert (ctx.tag, ctx.data, ctx.source_id, ctx.tid) == (0x10, b"in", "src", "tid-1")
    ctx.write(0x11, b"a")
    ctx.write_with_target(0x12, bytearray(b"b"), "user-1")
    assert ctx.take_answers() == [Answer(0x11, b"a"), Answer(0x12, b"b", "user-1")]
    assert ctx.take_answers() == []


@pytest.mark.parametrize("tag", [-1, 2**32, 0xF001, "0x10"])
def test_a_bad_tag_is_refused_where_the_handler_writes_it(tag: object) -> None:
    ctx = Context(tag=0x10, data=b"")
    with pytest.raises(ValueError, match="data tag"):
        ctx.write(tag, b"x")  # type: ignore[arg-type]
    assert ctx.take_answers() == []


def _plain(data: bytes) -> None: ...


def _yomo(ctx: Context) -> None: ...


def _unannotated(ctx):
    return None


def test_the_first_parameter_s_annotation_chooses_the_handler_form() -> None:
    assert takes_context(_yomo)
    assert not takes_context(_plain)
    assert not takes_context(_unannotated)
    assert not takes_context(print)  # a builtin: no signature to read
    assert not takes_context(lambda: None)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1h30m", 5400.0), ("500ms", 0.5), ("1.5s", 1.5), ("2m3s", 123.0), ("10us", 1e-5)],
)
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5", "1d", "-1s", "0s", "1h 30m"])
def test_bad_go_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"not a Go duration|must be a positive duration"):
        parse_go_duration(text)


def test_cron_schedules_in_yomo_s_forms() -> None:
    start = datetime(2026, 12, 2, 10, 15, 0, tzinfo=timezone.utc)
    assert CronSchedule("@every 1h30m").next_after(start) == start + timedelta(minutes=90)
    assert CronSchedule("@hourly").next_after(start) == start.replace(hour=11, minute=0)
    assert CronSchedule("30 * * * *").next_after(start) == start.replace(minute=30)
    assert CronSchedule("@daily").next_after(start) == datetime(2026, 12, 3, tzinfo=timezone.utc)


@pytest.mark.parametrize("spec", ["", "every hour", "* * *", "@every soon", "61 * * * *"])
def test_bad_cron_specs_say_what_is_expected(spec: str) -> None:
    # Each message names the form it wanted: a cron spec, or the duration after @every.
    with pytest.raises(
        ValueError, match=r"not a cron spec: .* \(five fields|not a Go duration \(like"
    ):
        CronSchedule(spec)
