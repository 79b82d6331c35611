"""A module of YoMo's stream-function ABI, served as the whole stream function it is.

It names the tags it observes (``yomo_observe_datatags``) and, optionally, the target it
wants (``yomo_wanted_target``) while it starts, and writes its own answers: any number per
frame, each on its own tag, some for a target (``yomo_write_with_target``), which the
answer's target metadata carries as :meth:`rxyomo.Context.write_with_target` does. So it is
given no export and no reply tag, and ``observe`` only to say the same tags again.

Loading starts a trial instance (running the guest's start-up and ``yomo_init``) to learn
its tags and target, and refuses the module if that fails; every instance then starts the
same way and handles one frame per ``yomo_handler`` call.
"""

from __future__ import annotations

from rxyomo.client.source import check_tag
from rxyomo.functions.conventions import call_fault, describe_convention, starting
from rxyomo.functions.frames import BAD_ANSWER, INSTANCE_FAILED, Answer, Fault, Frame
from rxyomo.functions.spec import FunctionConfig
from rxyomo.functions.version import FunctionVersion, Instance, LoadError
from wasm_host import (
    CompiledModule,
    Convention,
    HostModule,
    Limits,
    WasiConfig,
    WasmHostError,
    YomoCaller,
)

__all__ = ["YomoInstance", "YomoVersion", "load_yomo"]

_U32 = 0xFFFF_FFFF


def _tags(tags: tuple[int, ...]) -> str:
    return ", ".join(f"0x{tag:X}" for tag in tags)


def load_yomo(
    config: FunctionConfig,
    module: CompiledModule,
    wasi: WasiConfig,
    limits: Limits,
    hosts: list[HostModule],
) -> YomoVersion:
    """The checked version of a YoMo-ABI module; :class:`LoadError` saying what is wrong
    (an export or reply given, a start-up that fails, tags that are none, reserved, or not
    the ones ``observe`` says)."""
    name = config.name
    for field, given in (("export", config.export), ("reply", config.reply)):
        if given is not None:
            raise LoadError(
                name,
                f"the module is a YoMo stream function, which names its own tags and writes "
                f"its own answers: it is given no {field}",
            )
    version = YomoVersion(config, module, wasi, limits, hosts)
    with starting(name):
        caller = version.start()
    try:
        declared = tuple(dict.fromkeys(tag & _U32 for tag in caller.observed))
        target = caller.wanted_target or ""
    finally:
        caller.close()
    if not declared:
        raise LoadError(name, "it observes no tags: its yomo_observe_datatags named none")
    for tag in declared:
        try:
            check_tag(tag)
        except ValueError as exc:
            raise LoadError(name, f"yomo_observe_datatags named a bad tag: {exc}") from exc
    if config.observe and set(config.observe) != set(declared):
        raise LoadError(
            name,
            f"observe says [{_tags(config.observe)}], but the module observes [{_tags(declared)}]",
        )
    version.observe = config.observe or declared
    version.wanted_target = target
    return version


class YomoVersion(FunctionVersion):
    """A compiled module of YoMo's ABI; its tags and target are what its trial instance
    declared."""

    def __init__(
        self,
        config: FunctionConfig,
        module: CompiledModule,
        wasi: WasiConfig,
        limits: Limits,
        hosts: list[HostModule],
    ) -> None:
        super().__init__(config, module.digest, config.observe)
        self.module = module
        self.wasi = wasi
        self.limits = limits
        self.hosts = hosts
        self.convention = describe_convention(Convention.YOMO, module)

    def start(self) -> YomoCaller:
        """A started instance (raises what wasm_host raises)."""
        return YomoCaller.create(
            self.module, wasi=self.wasi, limits=self.limits, host_modules=self.hosts
        )

    def instantiate(self) -> Instance:
        try:
            return YomoInstance(self.start())
        except WasmHostError as exc:
            raise Fault(INSTANCE_FAILED, str(exc)) from exc


class YomoInstance(Instance):
    """One started instance: each frame is one ``yomo_handler`` call."""

    def __init__(self, caller: YomoCaller) -> None:
        self._caller = caller

    def call(self, frame: Frame) -> list[Answer]:
        try:
            written = self._caller.call(frame.data, frame.tag, frame.metadata)
        except WasmHostError as exc:
            raise call_fault(exc) from exc
        answers = []
        for answer in written:
            try:
                answers.append(Answer(answer.tag & _U32, answer.data, answer.target or ""))
            except ValueError as exc:  # a reserved tag: refused here, named
                detail = f"the function wrote an answer that cannot be sent: {exc}"
                raise Fault(BAD_ANSWER, detail, costly=False) from exc
        return answers

    def memory(self) -> int | None:
        try:
            return self._caller.instance.memory.size()
        except WasmHostError:
            return None

    def close(self) -> None:
        self._caller.close()
