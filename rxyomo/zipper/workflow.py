"""The zipper's configuration file: YoMo's ``workflow.yaml``, both eras.

The seed era (YoMo v1.3) listed ``flows:`` (run in sequence, each fed the
previous one's output) and ``sinks:`` (run in parallel on the last flow's
output). Later YoMo listed ``functions:`` routed purely by data tag, with
``auth:`` and ``mesh:``. Both parse to one :class:`Workflow`.

An entry of ``functions:`` with more than a name (``wasm:`` or ``python:``, ``observe``,
``export``, ``reply``, ``dirs``, ``env``, ``limits``) is a function the zipper serves
itself, checked as ``rxyomo run``'s ``functions.yaml`` checks its entries, with paths
relative to the workflow file.

Errors name the line of the offending node, because the YAML is written by
hand: validation walks PyYAML's node tree (which keeps positions) instead of
the plain objects ``yaml.safe_load`` returns.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import yaml

if TYPE_CHECKING:
    from rxyomo.functions.spec import FunctionConfig

T = TypeVar("T")


class WorkflowError(ValueError):
    """The workflow file is invalid; the message names the line."""


class InstancePolicy(enum.Enum):
    """What a second connection with an already connected name does."""

    SHARE = "share"  # joins as another instance; frames are balanced across instances
    REPLACE = "replace"  # the older connection is sent Goaway and the newer takes over


class Stage(enum.Enum):
    """Where a function sits in a seed-era workflow."""

    FLOW = "flow"
    SINK = "sink"
    FUNCTION = "function"  # modern form: routed by tag only


@dataclass(frozen=True)
class FunctionSpec:
    """One function the zipper accepts."""

    name: str
    stage: Stage
    #: Position among the flows (seed form), -1 otherwise.
    index: int = -1
    #: The code the zipper serves itself under this name (``wasm:`` or ``python:``), or
    #: None for a function that connects.
    served: FunctionConfig | None = field(default=None, hash=False)


@dataclass(frozen=True)
class MeshPeer:
    """Another zipper to forward data frames to."""

    name: str
    host: str
    port: int
    credential: str = ""


@dataclass(frozen=True)
class Limits:
    """Protection against misbehaving clients."""

    max_frame_size: int = 16 * 1024 * 1024
    max_connections: int = 1024
    handshake_timeout: float = 10.0


@dataclass(frozen=True)
class TlsSettings:
    """Certificate options; empty means a generated development certificate."""

    cert: str = ""
    key: str = ""
    ca: str = ""
    verify: bool = True


@dataclass(frozen=True)
class Workflow:
    """A parsed, validated workflow file."""

    name: str
    host: str = "localhost"
    port: int = 9000
    functions: tuple[FunctionSpec, ...] = ()
    auth_token: str | None = None
    mesh: tuple[MeshPeer, ...] = ()
    transport: str = "quic"
    limits: Limits = field(default_factory=Limits)
    tls: TlsSettings = field(default_factory=TlsSettings)
    instances: InstancePolicy = InstancePolicy.SHARE
    #: ``HOST:PORT`` to serve Prometheus metrics on (``/metrics``), empty for none.
    metrics: str = ""
    #: ``HOST:PORT`` to serve the live view on, empty for none.
    dashboard: str = ""

    @property
    def is_sequential(self) -> bool:
        """True for the seed form, whose flows run in sequence."""
        return any(f.stage is not Stage.FUNCTION for f in self.functions)

    @property
    def flows(self) -> tuple[FunctionSpec, ...]:
        """The seed form's flows, in order."""
        return tuple(f for f in self.functions if f.stage is Stage.FLOW)

    @property
    def sinks(self) -> tuple[FunctionSpec, ...]:
        """The seed form's sinks."""
        return tuple(f for f in self.functions if f.stage is Stage.SINK)

    def function(self, name: str) -> FunctionSpec | None:
        """The function called ``name``, or None when the workflow does not list it."""
        return next((f for f in self.functions if f.name == name), None)

    @property
    def served(self) -> tuple[FunctionConfig, ...]:
        """The functions the zipper serves itself, in the order listed."""
        return tuple(f.served for f in self.functions if f.served is not None)


_TOP_KEYS = {
    "name",
    "host",
    "port",
    "flows",
    "sinks",
    "functions",
    "auth",
    "mesh",
    "transport",
    "limits",
    "tls",
    "instances",
    "metrics",
    "dashboard",
}


def load_workflow(path: str | Path) -> Workflow:
    """Read and validate a workflow file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise WorkflowError(f"{path}: cannot read the workflow file: {exc.strerror}") from exc
    return parse_workflow(text, source=str(path), base_dir=path.resolve().parent)


def parse_workflow(
    text: str, source: str = "<workflow>", *, base_dir: str | Path | None = None
) -> Workflow:
    """Parse and validate workflow YAML text; the paths of served functions are relative
    to ``base_dir`` (default: the working directory)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "somewhere"
        problem = getattr(exc, "problem", None) or str(exc)
        raise WorkflowError(f"{source}: {where}: invalid YAML: {problem}") from exc
    if root is None:
        raise WorkflowError(f"{source}: the workflow file is empty")
    return _Parser(source, base_dir).workflow(root)


class _Parser:
    def __init__(self, source: str, base_dir: str | Path | None = None) -> None:
        self.source = source
        self.base_dir = base_dir
        # One loader turns scalar nodes into typed values with YAML's own rules.
        self._loader = yaml.SafeLoader("")

    def fail(self, node: yaml.Node, message: str) -> WorkflowError:
        return WorkflowError(f"{self.source}: line {node.start_mark.line + 1}: {message}")

    def mapping(self, node: yaml.Node, what: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping")
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key, value in node.value:
            name = self.scalar(key, str, f"a key of {what}")
            if name in out:
                raise self.fail(key, f"duplicate key {name!r} in {what}")
            out[name] = (key, value)
        return out

    def scalar(self, node: yaml.Node, kind: type[T], what: str) -> T:
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, f"{what} must be a {kind.__name__}")
        value = self._loader.construct_object(node)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if kind is str and isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.fail(node, f"{what} must be a {kind.__name__}, got {node.value!r}")
        return value

    def optional(
        self,
        keys: dict[str, tuple[yaml.Node, yaml.Node]],
        name: str,
        read: Callable[[yaml.Node], T],
        default: T,
    ) -> T:
        return read(keys[name][1]) if name in keys else default

    def workflow(self, root: yaml.Node) -> Workflow:
        keys = self.mapping(root, "the workflow")
        for name, (key, _) in keys.items():
            if name not in _TOP_KEYS:
                raise self.fail(
                    key, f"unknown key {name!r} (known: {', '.join(sorted(_TOP_KEYS))})"
                )
        if "name" not in keys:
            raise self.fail(root, "the workflow needs a 'name'")
        name = self.scalar(keys["name"][1], str, "'name'")
        host = self.optional(keys, "host", lambda n: self.scalar(n, str, "'host'"), "localhost")
        port = self.optional(keys, "port", lambda n: self.port(n, "'port'"), 9000)
        functions = self.functions(keys)
        auth_token = self.auth(keys["auth"][1]) if "auth" in keys else None
        mesh = self.mesh(keys["mesh"][1]) if "mesh" in keys else ()
        transport = self.optional(keys, "transport", self.transport, "quic")
        limits = self.limits(keys["limits"][1]) if "limits" in keys else Limits()
        tls = self.tls(keys["tls"][1]) if "tls" in keys else TlsSettings()
        instances = self.optional(keys, "instances", self.instances, InstancePolicy.SHARE)
        metrics = self.optional(keys, "metrics", lambda n: self.address(n, "'metrics'"), "")
        dashboard = self.optional(keys, "dashboard", lambda n: self.address(n, "'dashboard'"), "")
        return Workflow(
            name=name,
            host=host,
            port=port,
            functions=functions,
            auth_token=auth_token,
            mesh=mesh,
            transport=transport,
            limits=limits,
            tls=tls,
            instances=instances,
            metrics=metrics,
            dashboard=dashboard,
        )

    def port(self, node: yaml.Node, what: str) -> int:
        port = self.scalar(node, int, what)
        if not 0 <= port <= 65535:
            raise self.fail(node, f"{what} must be between 0 and 65535, got {port}")
        return port

    def functions(self, keys: dict[str, tuple[yaml.Node, yaml.Node]]) -> tuple[FunctionSpec, ...]:
        if "functions" in keys and ("flows" in keys or "sinks" in keys):
            raise self.fail(
                keys["functions"][0],
                "use either 'functions' (routed by tag) or 'flows'/'sinks' (in sequence), not both",
            )
        specs: list[FunctionSpec] = []
        seen: dict[str, yaml.Node] = {}
        for section, stage in (
            ("flows", Stage.FLOW),
            ("sinks", Stage.SINK),
            ("functions", Stage.FUNCTION),
        ):
            if section not in keys:
                continue
            node = keys[section][1]
            if not isinstance(node, yaml.SequenceNode):
                raise self.fail(node, f"'{section}' must be a list of '- name: ...' entries")
            for index, item in enumerate(node.value):
                entry = self.mapping(item, f"an entry of '{section}'")
                if "name" not in entry:
                    raise self.fail(item, f"an entry of '{section}' needs a 'name'")
                served = None
                if stage is Stage.FUNCTION and len(entry) > 1:
                    served = self.served(item)
                for extra, (key, _) in entry.items():
                    if extra != "name" and served is None:
                        hint = "; functions the zipper serves go under 'functions'"
                        raise self.fail(
                            key,
                            f"unknown key {extra!r} in an entry of '{section}'"
                            + (hint if extra in ("wasm", "python") else ""),
                        )
                fn_name = self.scalar(entry["name"][1], str, "a function name")
                if not fn_name:
                    raise self.fail(item, "a function name must not be empty")
                if fn_name in seen:
                    first = seen[fn_name].start_mark.line + 1
                    raise self.fail(
                        item, f"function {fn_name!r} is listed twice (first on line {first})"
                    )
                seen[fn_name] = item
                position = index if stage is Stage.FLOW else -1
                specs.append(FunctionSpec(fn_name, stage, position, served))
        return tuple(specs)

    def served(self, node: yaml.Node) -> FunctionConfig:
        """A function the zipper serves, checked as ``functions.yaml`` entries are."""
        from rxyomo.functions.spec import SpecError
        from rxyomo.functions.specfile import entry_config

        try:
            return entry_config(node, source=self.source, base_dir=self.base_dir)
        except SpecError as exc:
            raise WorkflowError(str(exc)) from None

    def auth(self, node: yaml.Node) -> str:
        keys = self.mapping(node, "'auth'")
        kind = self.scalar(keys["type"][1], str, "'auth.type'") if "type" in keys else None
        if kind != "token":
            raise self.fail(node, f"'auth.type' must be 'token', got {kind!r}")
        if "token" not in keys:
            raise self.fail(node, "'auth' of type token needs a 'token'")
        token = self.scalar(keys["token"][1], str, "'auth.token'")
        if not token:
            raise self.fail(keys["token"][1], "'auth.token' must not be empty")
        return token

    def mesh(self, node: yaml.Node) -> tuple[MeshPeer, ...]:
        peers = []
        for peer_name, (_, value) in self.mapping(node, "'mesh'").items():
            keys = self.mapping(value, f"mesh peer {peer_name!r}")
            if "host" not in keys or "port" not in keys:
                raise self.fail(value, f"mesh peer {peer_name!r} needs 'host' and 'port'")
            peers.append(
                MeshPeer(
                    name=peer_name,
                    host=self.scalar(keys["host"][1], str, "a mesh host"),
                    port=self.port(keys["port"][1], "a mesh port"),
                    credential=self.optional(
                        keys, "credential", lambda n: self.scalar(n, str, "a credential"), ""
                    ),
                )
            )
        return tuple(peers)

    def address(self, node: yaml.Node, what: str) -> str:
        value = self.scalar(node, str, what)
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or int(port) > 65535:
            raise self.fail(node, f"{what} must be HOST:PORT, got {value!r}")
        return value

    def transport(self, node: yaml.Node) -> str:
        value = self.scalar(node, str, "'transport'")
        if value not in ("quic", "tcp", "memory"):
            raise self.fail(node, f"'transport' must be quic, tcp or memory, got {value!r}")
        return value

    def instances(self, node: yaml.Node) -> InstancePolicy:
        value = self.scalar(node, str, "'instances'")
        try:
            return InstancePolicy(value)
        except ValueError:
            raise self.fail(node, f"'instances' must be share or replace, got {value!r}") from None

    def limits(self, node: yaml.Node) -> Limits:
        keys = self.mapping(node, "'limits'")
        allowed = {"max_frame_size", "max_connections", "handshake_timeout"}
        for name, (key, _) in keys.items():
            if name not in allowed:
                raise self.fail(
                    key, f"unknown limit {name!r} (known: {', '.join(sorted(allowed))})"
                )
        defaults = Limits()
        values: dict[str, float] = {}
        for name in ("max_frame_size", "max_connections"):
            if name in keys:
                values[name] = self.positive(keys[name][1], int, name)
        if "handshake_timeout" in keys:
            values["handshake_timeout"] = self.positive(
                keys["handshake_timeout"][1], float, "handshake_timeout"
            )
        return Limits(
            max_frame_size=int(values.get("max_frame_size", defaults.max_frame_size)),
            max_connections=int(values.get("max_connections", defaults.max_connections)),
            handshake_timeout=values.get("handshake_timeout", defaults.handshake_timeout),
        )

    def positive(self, node: yaml.Node, kind: type[int] | type[float], what: str) -> float:
        value = self.scalar(node, kind, f"'{what}'")
        if value <= 0:
            raise self.fail(node, f"'{what}' must be positive, got {value}")
        return value

    def tls(self, node: yaml.Node) -> TlsSettings:
        keys = self.mapping(node, "'tls'")
        allowed = {"cert", "key", "ca", "verify"}
        for name, (key, _) in keys.items():
            if name not in allowed:
                raise self.fail(
                    key, f"unknown tls option {name!r} (known: {', '.join(sorted(allowed))})"
                )
        text = {
            k: self.scalar(keys[k][1], str, f"'tls.{k}'")
            for k in ("cert", "key", "ca")
            if k in keys
        }
        if ("cert" in text) != ("key" in text):
            raise self.fail(node, "'tls' needs both 'cert' and 'key', or neither")
        verify = self.optional(keys, "verify", lambda n: self.scalar(n, bool, "'tls.verify'"), True)
        return TlsSettings(
            cert=text.get("cert", ""), key=text.get("key", ""), ca=text.get("ca", ""), verify=verify
        )
