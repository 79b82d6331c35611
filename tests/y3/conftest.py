"""Hypothesis profiles for the codec's property tests.

The default profile keeps the suite inside its CI budget; for a long search run, for example::

    pytest tests/y3 tests/rxyomo/protocol/test_frames.py --hypothesis-profile=y3-long
"""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("y3-long", max_examples=5000, deadline=None)
