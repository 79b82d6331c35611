"""The three forms of the image-recognition function, and what each one starts.

- ``zipper``: the zipper serves the guest itself (``zipper/served.yaml``): source ->
  zipper -> sink, two hops; the guest's instances run on the zipper's worker threads.
- ``run``: ``rxyomo run`` serves the guest in a function host of its own, connected to
  the zipper as a stream function: four hops, the guest's faults contained by that process.
- ``flow``: the article's Python flow (``flow.py``), ``subscribe(0x10).on_observe(decode)
  .encode(0x11)`` over y3 payloads, one process per instance.

The first two serve the guest as it is, which takes the JPEG alone: their source writes raw
JPEGs with the frame's index in the metadata (``frames.image_metadata``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml
from recognizer import GUEST_WASM

__all__ = ["FORMS", "RAW_FORMS", "SERVED_WORKFLOW", "run_arguments", "served_workflow"]

HERE = Path(__file__).resolve().parent
#: The workflow of the zipper-served form, as committed (its model folder is ./model).
SERVED_WORKFLOW = HERE / "zipper" / "served.yaml"
#: The forms, fastest first (see the README's figures).
FORMS = ("zipper", "run", "flow")
#: The forms whose payloads are raw JPEGs and raw sentences.
RAW_FORMS = ("zipper", "run")


def served_workflow(
    out: Path,
    *,
    model_dir: Path,
    instances: int,
    env: Mapping[str, str] | None = None,
    timeout_ms: int = 10_000,
) -> Path:
    """Write to ``out`` the committed served workflow with the guest's and the model's
    folders as absolute paths, ``instances`` guest instances and the ``INFER_*``
    settings ``env`` (the defaults when empty); returns ``out``."""
    workflow = yaml.safe_load(SERVED_WORKFLOW.read_text(encoding="utf-8"))
    (function,) = (f for f in workflow["functions"] if "wasm" in f)
    function["wasm"] = str(GUEST_WASM)
    function["dirs"] = {"/model": str(Path(model_dir).resolve())}
    if env:
        function["env"] = dict(env)
    function["limits"] = {**function["limits"], "instances": instances, "timeout_ms": timeout_ms}
    out.write_text(yaml.safe_dump(workflow, sort_keys=False), encoding="utf-8")
    return out


def run_arguments(
    zipper: str,
    *,
    model_dir: Path,
    instances: int,
    env: Mapping[str, str] | None = None,
    ca: Path | None = None,
) -> list[str]:
    """``rxyomo run``'s arguments (after ``rxyomo``) serving the guest as
    ``image-recognition``, the same function ``zipper/served.yaml`` describes."""
    settings = dict(env or {}) or {"INFER_MODEL": "/model/efficientnet_lite0.tflite"}
    argv = [
        "run",
        str(GUEST_WASM),
        "--name",
        "image-recognition",
        "--zipper",
        zipper,
        "--observe",
        "0x10",
        "--export",
        "infer",
        "--reply",
        "0x11",
        "--dir",
        f"/model={Path(model_dir).resolve()}",
        "--memory",
        "256MiB",
        "--timeout-ms",
        "10000",
        "--instances",
        str(instances),
        "--no-watch",
    ]
    for key, value in settings.items():
        argv += ["--env", f"{key}={value}"]
    if ca is not None:
        argv += ["--ca", str(ca)]
    return argv
