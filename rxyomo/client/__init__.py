"""Clients of a zipper: sources, stream functions and sinks."""

from __future__ import annotations

from rxyomo.client._client import ClientClosed, ReconnectPolicy, ZipperClient, parse_address
from rxyomo.client._link import ConnectionRejected
from rxyomo.client.context import Context, CronContext
from rxyomo.client.source import Source
from rxyomo.client.stream_function import Handler, Received, Sink, StreamFunction
from rxyomo.client.sync import SyncSource, run
from rxyomo.delivery.stats import DeliveryStats

__all__ = [
    "ClientClosed",
    "ConnectionRejected",
    "Context",
    "CronContext",
    "DeliveryStats",
    "Handler",
    "Received",
    "ReconnectPolicy",
    "Sink",
    "Source",
    "StreamFunction",
    "SyncSource",
    "ZipperClient",
    "parse_address",
    "run",
]
