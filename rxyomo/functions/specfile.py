"""``functions.yaml``: a list of functions to serve, each refused by name and line.

::

    - name: image-recognition
      wasm: guest/image_recognition.wasm     # relative to this file
      observe: [0x10]
      export: infer
      reply: 0x11
      dirs: {/model: ./model}
      env: {INFER_MODEL: /model/efficientnet_lite0.tflite}
      limits: {memory: 128MiB, timeout_ms: 1000, instances: 2}
    - name: sfn                              # YoMo's ABI: its own tags and answers
      wasm: sfn.wasm
      nn_preload: {lite0: model.tflite}      # WASI-NN's load_by_name
    - name: counter
      python: counter.py

The file is that list, or a mapping whose ``functions`` key holds it (the workflow's
form). :func:`entry_config` reads one entry's YAML node, so that another file format
holding such entries (a workflow) can reuse it and its line numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from rxyomo.functions.spec import FunctionConfig, SpecError, function_config

__all__ = ["ENTRY_KEYS", "entry_config", "load_functions_file", "parse_functions"]

#: The keys an entry may have; exactly one of ``wasm`` and ``python``.
ENTRY_KEYS = (
    "name",
    "wasm",
    "python",
    "observe",
    "export",
    "reply",
    "dirs",
    "env",
    "limits",
    "nn_preload",
)


def load_functions_file(path: str | Path) -> list[FunctionConfig]:
    """Read and check a functions file; raises :class:`SpecError` naming the line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError("", "", f"cannot read {path}: {exc.strerror}") from exc
    return parse_functions(text, source=str(path), base_dir=path.resolve().parent)


def parse_functions(
    text: str, *, source: str = "<functions>", base_dir: str | Path | None = None
) -> list[FunctionConfig]:
    """The functions listed in YAML ``text``; paths are relative to ``base_dir``."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}: line {mark.line + 1}" if mark is not None else source
        raise SpecError("", "", f"invalid YAML: {getattr(exc, 'problem', exc)}", where) from exc
    if root is None:
        raise SpecError("", "", "the file lists no functions", source)
    if isinstance(root, yaml.MappingNode):
        found = [value for key, value in root.value if getattr(key, "value", None) == "functions"]
        if not found:
            raise SpecError("", "", "expected a list of functions, or a 'functions' key", source)
        root = found[0]
    if not isinstance(root, yaml.SequenceNode):
        raise SpecError("", "", "expected a list of '- name: ...' entries", _at(source, root))
    configs: list[FunctionConfig] = []
    seen: dict[str, int] = {}
    for node in root.value:
        config = entry_config(node, source=source, base_dir=base_dir)
        line = node.start_mark.line + 1
        if config.name in seen:
            raise SpecError(
                config.name, "name", f"listed twice (first on line {seen[config.name]})"
            ).located(f"{source}: line {line}")
        seen[config.name] = line
        configs.append(config)
    return configs


def entry_config(
    node: yaml.Node, *, source: str = "<functions>", base_dir: str | Path | None = None
) -> FunctionConfig:
    """One entry's :class:`FunctionConfig`; errors name the line of the offending field."""
    if not isinstance(node, yaml.MappingNode):
        raise SpecError("", "", "an entry must be a mapping ('- name: ...')", _at(source, node))
    values: dict[str, Any] = {}
    lines: dict[str, int] = {}
    loader = yaml.SafeLoader("")
    for key_node, value_node in node.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        given = values.get("name")
        name = given if isinstance(given, str) else ""
        if key not in ENTRY_KEYS:
            known = ", ".join(ENTRY_KEYS)
            where = _at(source, key_node)
            raise SpecError(name, str(key), f"unknown field (known: {known})", where)
        if key in values:
            raise SpecError(name, key, "given twice", _at(source, key_node))
        try:
            values[key] = loader.construct_object(value_node, deep=True)
        except yaml.YAMLError as exc:
            raise SpecError(name, key, f"invalid value: {exc}", _at(source, value_node)) from exc
        lines[key] = value_node.start_mark.line + 1
        if isinstance(value_node, yaml.MappingNode):
            for sub_key, sub_value in value_node.value:
                lines[f"{key}.{sub_key.value}"] = sub_value.start_mark.line + 1
    entry_line = node.start_mark.line + 1
    given = values.get("name")
    name = given if isinstance(given, str) else ""
    if "wasm" in values and "python" in values:
        raise SpecError(name, "python", "give either 'wasm' or 'python', not both").located(
            f"{source}: line {lines['python']}"
        )
    kind = "wasm" if "wasm" in values else "python" if "python" in values else None
    if kind is None:
        raise SpecError(
            name, "wasm", "needs the module to serve: 'wasm: FILE' or 'python: FILE'"
        ).located(f"{source}: line {entry_line}")
    try:
        return function_config(
            given,
            values[kind],
            kind=kind,
            observe=values.get("observe", ()),
            export=values.get("export"),
            reply=values.get("reply"),
            dirs=values.get("dirs"),
            env=values.get("env"),
            limits=values.get("limits"),
            nn_preload=values.get("nn_preload"),
            base_dir=base_dir,
        )
    except SpecError as exc:
        field = kind if exc.field == "source" else exc.field
        line = lines.get(field) or lines.get(field.partition(".")[0]) or entry_line
        located = SpecError(exc.function, field, exc.message)
        raise located.located(f"{source}: line {line}") from None


def _at(source: str, node: yaml.Node) -> str:
    return f"{source}: line {node.start_mark.line + 1}"
