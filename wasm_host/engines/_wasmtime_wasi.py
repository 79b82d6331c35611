"""WASI for a wasmtime store: arguments, environment, preopened directories, and the
guest's stdout and stderr captured for Python logging."""

from __future__ import annotations

import os
import tempfile

import wasmtime

from ..engine import WasiConfig
from ..errors import LinkError
from ._output import LineLogger, output_loggers

__all__ = ["CapturedStream", "wasi_config"]


class CapturedStream:
    """A guest stream written by wasmtime to an unlinked temporary file, read after calls.

    wasmtime's Python-callback outputs can be invoked from its own threads, even while the
    interpreter shuts down; a file involves no callback at all.
    """

    def __init__(self, logger: LineLogger) -> None:
        self.logger = logger
        handle, self.path = tempfile.mkstemp(prefix="wasm-guest-")
        self._file = os.fdopen(handle, "rb")
        self._offset = 0

    def opened(self) -> None:
        """Called once wasmtime holds the file open: the name is no longer needed."""
        os.unlink(self.path)

    def drain(self) -> None:
        """Logs what the guest wrote since the last drain."""
        self._file.seek(self._offset)
        data = self._file.read()
        if data:
            self._offset += len(data)
            # wasmtime keeps writing at its own offset, so truncating leaves a hole where
            # the old output was: the disk space is returned and offsets stay valid.
            os.ftruncate(self._file.fileno(), 0)
            self.logger(data)

    def close(self) -> None:
        self._file.close()


def wasi_config(wasi: WasiConfig, streams: list[CapturedStream]) -> wasmtime.WasiConfig:
    config = wasmtime.WasiConfig()
    config.argv = [wasi.program_name, *wasi.args]
    config.env = list(wasi.env.items())
    for guest_path, host_path in wasi.preopens.items():
        try:
            config.preopen_dir(str(host_path), guest_path, wasi.writable)
        except wasmtime.WasmtimeError as exc:
            raise LinkError(f"cannot preopen {host_path!r} as {guest_path!r}: {exc}") from exc
    if wasi.capture_output:
        stdout, stderr = output_loggers()
        streams.extend([CapturedStream(stdout), CapturedStream(stderr)])
        config.stdout_file = streams[0].path
        config.stderr_file = streams[1].path
        for stream in streams:
            stream.opened()
    else:
        config.inherit_stdout()
        config.inherit_stderr()
    return config
