"""Protocol errors that know how the peer must be told.

Like h11's ``RemoteProtocolError`` carrying the status to answer with, a
:class:`ProtocolError` carries the frame that closes the connection: Rejected
(do not come back: bad credentials, unknown name) or Goaway (come back later:
a malformed frame, a timeout, a zipper shutting down).
"""

from __future__ import annotations


class ProtocolError(Exception):
    """The peer broke the protocol; ``reject`` selects Rejected over Goaway."""

    def __init__(self, message: str, *, reject: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.reject = reject


class LocalProtocolError(ProtocolError):
    """This side tried something its current state does not allow."""
