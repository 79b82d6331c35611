"""The zipper: YoMo's router of data frames, configured by a workflow file."""

from __future__ import annotations

from rxyomo.zipper.mesh import MeshLink
from rxyomo.zipper.routing import Admission, Endpoint, Route, RoutingTable
from rxyomo.zipper.server import Zipper, serve
from rxyomo.zipper.stats import ConnectionStats, ZipperStats
from rxyomo.zipper.workflow import (
    FunctionSpec,
    InstancePolicy,
    Limits,
    MeshPeer,
    Stage,
    TlsSettings,
    Workflow,
    WorkflowError,
    load_workflow,
    parse_workflow,
)

__all__ = [
    "Admission",
    "ConnectionStats",
    "Endpoint",
    "FunctionSpec",
    "InstancePolicy",
    "Limits",
    "MeshLink",
    "MeshPeer",
    "Route",
    "RoutingTable",
    "Stage",
    "TlsSettings",
    "Workflow",
    "WorkflowError",
    "Zipper",
    "ZipperStats",
    "load_workflow",
    "parse_workflow",
    "serve",
]
