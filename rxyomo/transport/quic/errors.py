"""What a QUIC connection's end means: error codes and the messages users see."""

from __future__ import annotations

from aioquic.quic import events
from aioquic.quic.packet import QuicErrorCode

from rxyomo.transport._tls import describe_alert, is_certificate_alert
from rxyomo.transport.base import CertificateError, TransportError

#: Application error codes rxyomo puts in CONNECTION_CLOSE.
ERROR_ABORTED = 0x1
ERROR_PROTOCOL = 0x2

# Transport error codes 0x100-0x1ff carry a TLS alert (RFC 9001 section 4.8).
_CRYPTO_ERROR_FIRST = 0x100
_CRYPTO_ERROR_LAST = 0x1FF


def termination_error(event: events.ConnectionTerminated) -> TransportError | None:
    """None for an orderly close, else a TransportError saying what happened."""
    code, reason = event.error_code, event.reason_phrase
    if code == QuicErrorCode.NO_ERROR:
        return None
    if _CRYPTO_ERROR_FIRST <= code <= _CRYPTO_ERROR_LAST and event.frame_type is not None:
        alert = code - _CRYPTO_ERROR_FIRST
        error = CertificateError if is_certificate_alert(alert) else TransportError
        return error(describe_alert(alert, reason))
    if event.frame_type is not None and code == QuicErrorCode.CONNECTION_REFUSED:
        return TransportError(f"connection refused by server: {reason or 'no reason given'}")
    if event.frame_type is not None and reason == "Idle timeout":
        return TransportError("idle timeout: nothing heard from the peer")
    if event.frame_type is None and code == ERROR_ABORTED:
        return TransportError(f"connection aborted by peer ({reason or 'no reason given'})")
    kind = "application" if event.frame_type is None else "transport"
    return TransportError(
        f"connection closed by peer with {kind} error {code:#x}: {reason or 'no reason given'}"
    )
