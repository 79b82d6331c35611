"""rxyomo: geo-distributed streaming serverless, after YoMo.

Sources write tagged data frames to a zipper; the zipper routes them to the
stream functions that observe their tags; functions answer with new frames that
flow on to later functions, sinks and other zippers.
"""

from __future__ import annotations

from rxyomo.client import (
    ClientClosed,
    ConnectionRejected,
    Context,
    CronContext,
    ReconnectPolicy,
    Sink,
    Source,
    StreamFunction,
    SyncSource,
    run,
)
from rxyomo.zipper import Workflow, WorkflowError, Zipper, load_workflow, parse_workflow

__all__ = [
    "ClientClosed",
    "ConnectionRejected",
    "Context",
    "CronContext",
    "ReconnectPolicy",
    "Sink",
    "Source",
    "StreamFunction",
    "SyncSource",
    "Workflow",
    "WorkflowError",
    "Zipper",
    "load_workflow",
    "parse_workflow",
    "run",
]
