"""TLS settings shared by the QUIC and TCP transports: credentials, contexts, messages."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

from rxyomo.transport.base import ALPN, TlsConfig, TransportError
from rxyomo.transport.certs import dev_certificates

logger = logging.getLogger("rxyomo.transport")

#: What to tell a user whose client rejected a server certificate.
UNTRUSTED_HINT = (
    "server certificates are verified by default: set TlsConfig(cafile=...) to the CA "
    "that signed the server's certificate (for a development server, "
    "rxyomo.transport.certs.dev_client_tls() trusts its generated CA), "
    "TlsConfig(server_name=...) to the name the certificate carries, or "
    "TlsConfig(verify=False) to skip verification"
)

# TLS alert codes (RFC 8446 section 6) that a QUIC CRYPTO_ERROR carries.
_ALERTS = {
    40: "handshake failure",
    42: "bad certificate",
    43: "unsupported certificate",
    44: "certificate revoked",
    45: "certificate expired",
    46: "certificate unknown",
    48: "unknown certificate authority",
    70: "protocol version not supported",
    80: "internal error",
    109: "missing extension",
    116: "certificate required",
    120: f"no application protocol in common (rxyomo speaks ALPN {ALPN!r})",
}
_CERTIFICATE_ALERTS = frozenset({42, 43, 44, 45, 46, 48})
_NO_APPLICATION_PROTOCOL = 120


def server_credentials(tls: TlsConfig) -> tuple[Path, Path | None]:
    """The server's certificate and key files, the development pair when none is set."""
    if tls.certfile is None:
        if tls.keyfile is not None:
            raise TransportError("TlsConfig.keyfile is set but certfile is not")
        dev = dev_certificates()
        logger.info(
            "no server certificate configured: using the development certificate %s "
            "(clients trust it with TlsConfig(cafile=%r))",
            dev.certfile,
            str(dev.ca_certfile),
        )
        return dev.certfile, dev.keyfile
    return tls.certfile, tls.keyfile


def server_ssl_context(tls: TlsConfig) -> ssl.SSLContext:
    """A TLS 1.3 server context offering ALPN ``yomo``."""
    certfile, keyfile = server_credentials(tls)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.set_alpn_protocols([ALPN])
    try:
        context.load_cert_chain(certfile, keyfile)
    except (OSError, ssl.SSLError) as exc:
        raise TransportError(f"cannot load server certificate {certfile}: {exc}") from exc
    return context


def client_ssl_context(tls: TlsConfig) -> ssl.SSLContext:
    """A TLS 1.3 client context asking for ALPN ``yomo``; verification per ``tls``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.set_alpn_protocols([ALPN])
    if tls.verify:
        try:
            if tls.cafile is not None:
                context.load_verify_locations(cafile=tls.cafile)
            else:
                context.load_default_certs(ssl.Purpose.SERVER_AUTH)
        except (OSError, ssl.SSLError) as exc:
            raise TransportError(f"cannot load CA file {tls.cafile}: {exc}") from exc
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def check_cafile(tls: TlsConfig) -> None:
    """Fail early and clearly when a configured CA file cannot be read."""
    if tls.verify and tls.cafile is not None and not Path(tls.cafile).is_file():
        raise TransportError(f"CA file {tls.cafile} does not exist")


def is_certificate_alert(alert: int) -> bool:
    """Whether a TLS alert says a certificate was not accepted."""
    return alert in _CERTIFICATE_ALERTS


def describe_alert(alert: int, reason: str) -> str:
    """A sentence for a TLS alert received or raised during a QUIC handshake."""
    name = _ALERTS.get(alert, f"TLS alert {alert}")
    if "ALPN" in reason and alert != _NO_APPLICATION_PROTOCOL:
        # Older aioquic reports a missing common ALPN as a plain handshake failure.
        name = _ALERTS[_NO_APPLICATION_PROTOCOL]
    text = f"TLS handshake failed: {name}"
    if reason:
        text += f" ({reason})"
    if alert in _CERTIFICATE_ALERTS:
        text += f"; {UNTRUSTED_HINT}"
    return text


def describe_verify_failure(peer: str, exc: ssl.SSLCertVerificationError) -> str:
    """A sentence for a server certificate that Python's ssl module rejected."""
    problem = exc.verify_message or exc.reason or str(exc)
    return f"TLS certificate of {peer} rejected: {problem}; {UNTRUSTED_HINT}"
