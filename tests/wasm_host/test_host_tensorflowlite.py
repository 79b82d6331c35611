"""wasmedge_tensorflowlite: WasmEdge's return codes, zero handles, warm interpreters, bounds."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from wasm_host import (
    HostContext,
    InterpreterPool,
    TensorFlowLiteHost,
    TrapCause,
    WasmTrap,
)

from .conftest import BufferMemory

MEMORY = 16 << 20
MODEL_AT = 1 << 20
NAME_AT = 4096
DATA_AT = 8192
OUT_AT = 200_000
PIXELS = 224 * 224 * 3
P = "wasmedge_tensorflowlite_"


@pytest.fixture(scope="module")
def model_bytes(model_dir: Path) -> bytes:
    return (model_dir / "efficientnet_lite0.tflite").read_bytes()


class Guest:
    """The host functions of one instance, over a buffer standing in for guest memory."""

    def __init__(self, host: TensorFlowLiteHost, memory: BufferMemory) -> None:
        self.memory = memory
        self.context = HostContext()
        self.context.bind(memory)
        self.functions = host.bind(self.context)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        return self.functions[P + name]

    def put(self, at: int, data: bytes) -> tuple[int, int]:
        self.memory.write(at, data)
        return at, len(data)

    def session(self, model: bytes) -> int:
        handle: int = self.create_session(*self.put(MODEL_AT, model))
        return handle


@pytest.fixture
def pool() -> InterpreterPool:
    return InterpreterPool()


@pytest.fixture
def guest(pool: InterpreterPool, buffer_memory: Callable[[int], BufferMemory]) -> Guest:
    return Guest(TensorFlowLiteHost(pool), buffer_memory(MEMORY))


def test_zero_and_unknown_handles_behave_like_wasmedge(guest: Guest) -> None:
    name = guest.put(NAME_AT, b"Softmax")
    assert guest.get_tensor_len(0) == 0
    guest.memory.write(OUT_AT, b"\xaa")
    guest.get_tensor_data(0, OUT_AT)
    assert guest.memory.read(OUT_AT, 1) == b"\xaa"
    assert guest.get_output_tensor(0, *name) == 0
    assert guest.run_session(12345) == 1
    guest.delete_session(0)
    guest.append_input(0, *name, DATA_AT, 4)


def test_a_model_the_runtime_rejects_gives_session_zero(guest: Guest) -> None:
    assert guest.session(b"this is not a flatbuffer") == 0


def test_a_session_classifies_and_reads_its_output(
    guest: Guest, model_bytes: bytes, photos: Path
) -> None:
    session = guest.session(model_bytes)
    assert session != 0
    pixels = _photo(photos)
    guest.append_input(session, *guest.put(NAME_AT, b"images"), *guest.put(DATA_AT, pixels))
    assert guest.run_session(session) == 0
    assert guest.get_output_tensor(session, *guest.put(NAME_AT, b"no such output")) == 0
    tensor = guest.get_output_tensor(session, *guest.put(NAME_AT, b"Softmax"))
    assert tensor != 0
    assert guest.get_tensor_len(tensor) == 1000
    guest.get_tensor_data(tensor, OUT_AT)
    scores = np.frombuffer(guest.memory.read(OUT_AT, 1000), np.uint8)
    labels = zipfile.ZipFile(io.BytesIO(model_bytes)).read("labels_without_background.txt")
    assert labels.decode().splitlines()[int(scores.argmax())] == "espresso"
    guest.delete_session(session)
    assert guest.get_tensor_len(tensor) == 0  # the handle died with its session


def _photo(photos: Path) -> bytes:
    with Image.open(photos / "coffee.png") as photo:
        return np.asarray(photo.convert("RGB").resize((224, 224))).tobytes()


def test_unknown_input_names_and_wrong_sizes_are_ignored(
    guest: Guest, model_bytes: bytes, photos: Path
) -> None:
    session = guest.session(model_bytes)
    noise_at = DATA_AT + PIXELS + 64
    guest.put(noise_at, np.random.default_rng(7).integers(0, 256, PIXELS, np.uint8).tobytes())

    def scores() -> bytes:
        assert guest.run_session(session) == 0
        tensor = guest.get_output_tensor(session, *guest.put(NAME_AT, b"Softmax"))
        guest.get_tensor_data(tensor, OUT_AT)
        return guest.memory.read(OUT_AT, 1000)

    guest.append_input(session, *guest.put(NAME_AT, b"images"), *guest.put(DATA_AT, _photo(photos)))
    of_photo = scores()
    guest.append_input(session, *guest.put(NAME_AT, b"nope"), noise_at, PIXELS)
    guest.append_input(session, *guest.put(NAME_AT, b"images"), noise_at, PIXELS - 1)
    assert scores() == of_photo
    guest.append_input(session, *guest.put(NAME_AT, b"images"), noise_at, PIXELS)
    assert scores() != of_photo


def test_a_new_session_of_the_same_model_reuses_the_interpreter(
    guest: Guest, pool: InterpreterPool, model_bytes: bytes
) -> None:
    for _ in range(3):
        session = guest.session(model_bytes)
        assert session != 0
        guest.delete_session(session)
    assert (pool.created, pool.reused) == (1, 2)
    # Different bytes of the same length elsewhere in memory are a different model.
    edited = bytearray(model_bytes)
    edited[edited.index(b"goldfish")] = ord("G")
    elsewhere = MODEL_AT + len(model_bytes) + 4096
    guest.delete_session(guest.create_session(*guest.put(elsewhere, bytes(edited))))
    assert pool.created == 2


def test_a_model_rewritten_in_place_is_noticed(
    guest: Guest, pool: InterpreterPool, model_bytes: bytes
) -> None:
    guest.delete_session(guest.session(model_bytes))
    start = model_bytes.index(b"tench")
    end = model_bytes.index(b"toilet tissue")
    edited = model_bytes[:start] + model_bytes[start:end].upper() + model_bytes[end:]
    guest.delete_session(guest.session(edited))
    guest.delete_session(guest.session(model_bytes))
    assert (pool.created, pool.reused) == (2, 1)


def test_sessions_per_instance_are_bounded_and_returned_on_close(
    pool: InterpreterPool, buffer_memory: Callable[[int], BufferMemory], model_bytes: bytes
) -> None:
    guest = Guest(TensorFlowLiteHost(pool, max_sessions=2), buffer_memory(MEMORY))
    sessions = [guest.session(model_bytes) for _ in range(3)]
    assert sessions[0] != 0
    assert sessions[1] != 0
    assert sessions[2] == 0
    guest.context.close()
    other = Guest(TensorFlowLiteHost(pool), buffer_memory(MEMORY))
    assert other.session(model_bytes) != 0
    assert pool.reused == 1


@pytest.mark.parametrize(
    "call",
    [
        lambda g: g.create_session(MEMORY, 16),
        lambda g: g.create_session(100, (MEMORY) - 99),
        lambda g: g.get_output_tensor(1, (MEMORY) - 2, 3),
        lambda g: g.append_input(1, NAME_AT, 6, (MEMORY) - 10, PIXELS),
    ],
    ids=["model-past-end", "model-too-long", "name-past-end", "data-past-end"],
)
def test_out_of_bounds_pointers_trap(guest: Guest, call: Callable[[Guest], object]) -> None:
    with pytest.raises(WasmTrap) as trapped:
        call(guest)
    assert trapped.value.cause is TrapCause.BAD_POINTER


def test_output_copy_past_the_end_of_memory_traps(guest: Guest, model_bytes: bytes) -> None:
    session = guest.session(model_bytes)
    tensor = guest.get_output_tensor(session, *guest.put(NAME_AT, b"Softmax"))
    with pytest.raises(WasmTrap) as trapped:
        guest.get_tensor_data(tensor, (MEMORY) - 999)
    assert trapped.value.cause is TrapCause.BAD_POINTER
