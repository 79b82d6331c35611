"""A wasmedge-bindgen module: its export called with each frame's payload, as a
wasm-bindgen one is.

``#[wasmedge_bindgen] pub fn infer(image_data: Vec<u8>) -> Result<Vec<u8>, String>`` gets
the payload and answers under the reply tag with its first result (a ``Vec<u8>`` or a
``String``); a guest ``Err`` is the handler's error, as a Python handler's exception: the
frame has no answer and the function goes on. The crate's results carry their types only
at run time, so a result that is not bytes is refused per frame, not at load.
"""

from __future__ import annotations

from rxyomo.functions.conventions import call_fault, describe_convention, find_export, starting
from rxyomo.functions.frames import BAD_ANSWER, INSTANCE_FAILED, Answer, Fault, Frame
from rxyomo.functions.spec import FunctionConfig
from rxyomo.functions.version import FunctionVersion, Instance
from wasm_host import (
    CompiledModule,
    Convention,
    HostModule,
    Limits,
    WasiConfig,
    WasmedgeBindgenAbi,
    WasmedgeBindgenCaller,
    WasmHostError,
)

__all__ = ["WasmedgeBindgenInstance", "WasmedgeBindgenVersion", "load_wasmedge_bindgen"]


def load_wasmedge_bindgen(
    config: FunctionConfig,
    module: CompiledModule,
    wasi: WasiConfig,
    limits: Limits,
    hosts: list[HostModule],
) -> WasmedgeBindgenVersion:
    """The checked version of a wasmedge-bindgen module; :class:`LoadError` when the
    export is missing, not one the convention calls, or no instance can start."""
    abi = WasmedgeBindgenAbi.detect(module)
    export = find_export(config, module, abi.functions)
    version = WasmedgeBindgenVersion(config, module, export, wasi, limits, hosts)
    with starting(config.name):
        version.start().close()
    return version


class WasmedgeBindgenVersion(FunctionVersion):
    """A compiled wasmedge-bindgen module and the export each frame goes to."""

    def __init__(
        self,
        config: FunctionConfig,
        module: CompiledModule,
        export: str,
        wasi: WasiConfig,
        limits: Limits,
        hosts: list[HostModule],
    ) -> None:
        super().__init__(config, module.digest, config.observe)
        self.module = module
        self.export = export
        self.wasi = wasi
        self.limits = limits
        self.hosts = hosts
        self.convention = describe_convention(Convention.WASMEDGE_BINDGEN, module)

    def start(self) -> WasmedgeBindgenCaller:
        """A caller on a new instance (raises what wasm_host raises)."""
        return WasmedgeBindgenCaller.create(
            self.module, wasi=self.wasi, limits=self.limits, host_modules=self.hosts
        )

    def instantiate(self) -> Instance:
        try:
            return WasmedgeBindgenInstance(self.start(), self.export, self.config.reply)
        except WasmHostError as exc:
            raise Fault(INSTANCE_FAILED, str(exc)) from exc


class WasmedgeBindgenInstance(Instance):
    """One instance, one caller."""

    def __init__(self, caller: WasmedgeBindgenCaller, export: str, reply: int | None) -> None:
        self._caller = caller
        self._export = export
        self._reply = reply

    def call(self, frame: Frame) -> list[Answer]:
        try:
            results = self._caller.call(self._export, frame.data)
        except WasmHostError as exc:
            raise call_fault(exc) from exc
        if self._reply is None:
            return []
        first = results[0] if results else None
        if isinstance(first, str):
            first = first.encode()
        if not isinstance(first, bytes):
            kind = type(first).__name__ if results else "nothing"
            raise Fault(
                BAD_ANSWER,
                f"the export returned {kind}, but a reply must be bytes (a Vec<u8> or String)",
                costly=False,
            )
        return [Answer(self._reply, first)]

    def memory(self) -> int | None:
        try:
            return self._caller.instance.memory.size()
        except WasmHostError:
            return None

    def close(self) -> None:
        self._caller.close()
