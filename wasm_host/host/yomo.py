"""``env``: the host side of YoMo's wasm stream-function ABI (``yomo run x.wasm``).

What the guest imports from ``env``, as YoMo's CLI (``cli/serverless/wasm/``, v1.13 to
v1.19) and its first generation (up to v1.12) provided it:

- ``yomo_observe_datatag(tag)``: adds an observed tag; only while the function starts.
- ``yomo_context_tag() -> tag`` and ``yomo_context_data_size() -> len`` of the frame being
  handled; ``yomo_context_data(ptr, limit) -> len`` copies the payload to ``ptr`` unless
  it is longer than ``limit``, and returns its length either way.
- ``yomo_write(tag, ptr, len) -> 0`` answers with a frame (any number per call);
  ``yomo_write_with_target(tag, ptr, len, target_ptr, target_len) -> 0`` answers to one
  target (YoMo's own wazero runtime sent the target bytes as the payload: a bug not kept).
- ``yomo_get_wanted_target(ptr, len)``: the function's wanted target, while it starts.
- ``yomo_http_send(req_ptr, req_len, resp_ptr_ptr, resp_len_ptr) -> code``: an HTTP
  request as YoMo's ``serverless.HTTPRequest`` JSON; the response JSON is put in memory
  the guest's ``yomo_alloc(size)`` returns. Refused (code 2) unless the host was given
  the names of hosts the function may reach.
- First generation: ``yomo_load_input(ptr)`` copies the whole payload, and
  ``yomo_dump_output(tag, ptr, len)`` sets the call's single answer (the last one wins).

Every pointer is bounds-checked; a call that writes more than ``max_answers`` answers or
``max_answer_bytes`` bytes in all traps with :attr:`TrapCause.OUTPUT_LIMIT`.
"""

from __future__ import annotations

import base64
import json
import logging
import struct
import urllib.error
import urllib.parse
import urllib.request
import weakref
from collections.abc import Callable, Collection, Mapping
from typing import Any

from ..engine import FuncType
from ..errors import TrapCause, WasmTrap
from ._base import I32, HostContext, HostModule

__all__ = ["Answer", "YomoHost"]

logger = logging.getLogger(__name__)

_SIGNATURES = {
    "yomo_observe_datatag": FuncType((I32,), ()),
    "yomo_context_tag": FuncType((), (I32,)),
    "yomo_context_data": FuncType((I32, I32), (I32,)),
    "yomo_context_data_size": FuncType((), (I32,)),
    "yomo_write": FuncType((I32, I32, I32), (I32,)),
    "yomo_write_with_target": FuncType((I32, I32, I32, I32, I32), (I32,)),
    "yomo_get_wanted_target": FuncType((I32, I32), ()),
    "yomo_http_send": FuncType((I32, I32, I32, I32), (I32,)),
    "yomo_load_input": FuncType((I32,), ()),
    "yomo_dump_output": FuncType((I32, I32, I32), ()),
}
#: yomo_http_send's return codes, as YoMo's host used them.
HTTP_OK, HTTP_BAD_REQUEST, HTTP_FAILED, HTTP_NO_ALLOC = 0, 1, 2, 3
HTTP_TIMEOUT = 10.0


class Answer(tuple[int, bytes]):
    """One frame a function answered with: ``(tag, data)``, with ``target`` set when it was
    written with a target (``yomo_write_with_target``). Compares as the plain pair."""

    target: str | None

    def __new__(cls, tag: int, data: bytes, target: str | None = None) -> Answer:
        answer = super().__new__(cls, (tag, data))
        answer.target = target
        return answer

    @property
    def tag(self) -> int:
        """The answer's data tag."""
        return self[0]

    @property
    def data(self) -> bytes:
        """The answer's payload."""
        return self[1]

    def __repr__(self) -> str:
        target = f", target={self.target!r}" if self.target is not None else ""
        return f"Answer({self[0]:#x}, {self[1]!r}{target})"


class YomoHost(HostModule):
    """The ``env`` functions of one instance, and what they share with its caller.

    One host serves one instance (it keeps that instance's observed tags and the frame
    being handled). ``http_hosts`` names the hosts ``yomo_http_send`` may reach (none by
    default); ``alloc`` is set by the caller to the guest's ``yomo_alloc``.
    """

    name = "env"

    def __init__(
        self,
        *,
        max_answers: int = 1024,
        max_answer_bytes: int = 64 * 1024 * 1024,
        http_hosts: Collection[str] = (),
    ) -> None:
        self.max_answers = max_answers
        self.max_answer_bytes = max_answer_bytes
        self.http_hosts = frozenset(host.lower() for host in http_hosts)
        self.observed: list[int] = []
        self.wanted_target: str | None = None
        self.starting = True
        self.tag = 0
        self.data = b""
        self.metadata: Mapping[str, str] = {}
        self.answers: list[Answer] = []
        self.dumped: Answer | None = None
        self.alloc: Callable[[int], int] | None = None
        self._answer_bytes = 0
        self._context: weakref.ref[HostContext] | None = None

    def signatures(self) -> dict[str, FuncType]:
        return dict(_SIGNATURES)

    def begin(self, tag: int, data: bytes, metadata: Mapping[str, str]) -> None:
        """Makes ``(tag, data)`` the frame the guest's next handler call sees."""
        self.tag, self.data, self.metadata = tag, data, metadata
        self.answers, self.dumped, self._answer_bytes = [], None, 0

    def bind(self, context: HostContext) -> dict[str, Callable[..., Any]]:
        # Weakly: the engine keeps host functions (and so this host) until the store is
        # freed, and the context leads to the store through the guest's memory.
        self._context = weakref.ref(context)
        return {name: getattr(self, "_" + name.removeprefix("yomo_")) for name in _SIGNATURES}

    @property
    def _memory(self) -> Any:
        context = self._context() if self._context is not None else None
        if context is None:
            raise WasmTrap(TrapCause.HOST_ERROR, "the instance was released")
        return context.memory

    def _observe_datatag(self, tag: int) -> None:
        if not self.starting:
            logger.warning("yomo_observe_datatag(%#x) after start-up is ignored", tag)
            return
        if tag not in self.observed:
            self.observed.append(tag)

    def _get_wanted_target(self, ptr: int, length: int) -> None:
        target = self._memory.read(ptr, length).decode("utf-8", "replace")
        if not self.starting:
            logger.warning("yomo_get_wanted_target after start-up is ignored")
            return
        self.wanted_target = target or None

    def _context_tag(self) -> int:
        return self.tag

    def _context_data_size(self) -> int:
        return len(self.data)

    def _context_data(self, ptr: int, limit: int) -> int:
        if len(self.data) > limit or not self.data:
            return len(self.data)
        self._memory.write(ptr, self.data)
        return len(self.data)

    def _load_input(self, ptr: int) -> None:
        self._memory.write(ptr, self.data)

    def _take(self, ptr: int, length: int) -> bytes:
        """The bytes of an answer, after checking the call's output limits."""
        self._memory.address(ptr, length)
        if len(self.answers) >= self.max_answers:
            raise WasmTrap(
                TrapCause.OUTPUT_LIMIT,
                f"more than {self.max_answers} answers to one frame (a yomo_write storm)",
            )
        self._answer_bytes += length
        if self._answer_bytes > self.max_answer_bytes:
            raise WasmTrap(
                TrapCause.OUTPUT_LIMIT,
                f"answers to one frame passed {self.max_answer_bytes} bytes",
            )
        return bytes(self._memory.read(ptr, length))

    def _write(self, tag: int, ptr: int, length: int) -> int:
        self.answers.append(Answer(tag, self._take(ptr, length)))
        return 0

    def _write_with_target(self, tag: int, ptr: int, length: int, tptr: int, tlen: int) -> int:
        target = self._memory.read(tptr, tlen).decode("utf-8", "replace")
        self.answers.append(Answer(tag, self._take(ptr, length), target or None))
        return 0

    def _dump_output(self, tag: int, ptr: int, length: int) -> None:
        data = self._take(ptr, length)
        self.dumped = Answer(tag, data)
        self._answer_bytes = length  # one answer per call: the last dump replaces the others

    def _http_send(self, req_ptr: int, req_len: int, resp_ptr: int, resp_len: int) -> int:
        memory = self._memory
        request = memory.read(req_ptr, req_len)
        memory.address(resp_ptr, 4)
        memory.address(resp_len, 4)
        response = self._http(request)
        if isinstance(response, int):
            return response
        if self.alloc is None:
            logger.error("yomo_http_send: the guest exports no yomo_alloc")
            return HTTP_NO_ALLOC
        at = self.alloc(len(response))  # runs the guest: memory may move
        self._memory.write(at, response)
        self._memory.write(resp_ptr, struct.pack("<I", at))
        self._memory.write(resp_len, struct.pack("<I", len(response)))
        return HTTP_OK

    def _http(self, raw: bytes) -> bytes | int:
        """The response JSON for a request JSON, or yomo_http_send's error code."""
        try:
            request = {key.lower(): value for key, value in json.loads(raw).items()}
            url = str(request["url"])
            host = (urllib.parse.urlsplit(url).hostname or "").lower()
            body = base64.b64decode(request.get("body") or "")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            logger.error("yomo_http_send: not a request: %s", exc)
            return HTTP_BAD_REQUEST
        if host not in self.http_hosts:
            logger.error("yomo_http_send: %r is not among the hosts this function may reach", host)
            return HTTP_FAILED
        timeout = request.get("timeout") or 0
        outgoing = urllib.request.Request(
            url,
            data=body or None,
            method=str(request.get("method") or "GET"),
            headers={str(k): str(v) for k, v in (request.get("header") or {}).items()},
        )
        try:
            with urllib.request.urlopen(
                outgoing, timeout=timeout / 1000 if timeout > 0 else HTTP_TIMEOUT
            ) as reply:
                status, reason, headers = reply.status, reply.reason, reply.headers
                content = reply.read()
        except urllib.error.HTTPError as exc:
            status, reason, headers, content = exc.code, exc.reason, exc.headers, exc.read()
        except (OSError, ValueError) as exc:
            logger.error("yomo_http_send: %s: %s", url, exc)
            return HTTP_FAILED
        return json.dumps(
            {
                "Status": f"{status} {reason}",
                "StatusCode": status,
                "Header": {key: headers[key] for key in headers},
                "Body": base64.b64encode(content).decode(),
            }
        ).encode()
