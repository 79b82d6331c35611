from __future__ import annotations

import pytest

from rxyomo.transport.base import FlowControl


def test_flow_control_rejects_low_watermark_above_high() -> None:
    with pytest.raises(ValueError, match="low_watermark"):
        FlowControl(high_watermark=10, low_watermark=11)


def test_flow_control_accepts_equal_watermarks() -> None:
    flow = FlowControl(high_watermark=10, low_watermark=10)
    assert (flow.low_watermark, flow.high_watermark) == (10, 10)
