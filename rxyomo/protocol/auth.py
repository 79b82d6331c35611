"""Token authentication, as YoMo's ``auth: {type: token, token: ...}``."""

from __future__ import annotations

import hmac

from rxyomo.protocol.frames import HandshakeFrame

#: The auth name a client puts in its handshake for token authentication.
TOKEN_AUTH = "token"


def check_credential(expected_token: str | None, handshake: HandshakeFrame) -> str | None:
    """None when the handshake may proceed, else the reason to reject it."""
    if expected_token is None:
        return None
    if handshake.auth_name != TOKEN_AUTH:
        shown = handshake.auth_name or "none"
        return f"authentication failed: this zipper needs a token (client sent auth {shown!r})"
    # Constant time, so the token cannot be guessed byte by byte from timing.
    if not hmac.compare_digest(handshake.auth_payload.encode(), expected_token.encode()):
        return "authentication failed: wrong token"
    return None


def parse_credential(credential: str) -> tuple[str, str]:
    """Split YoMo's ``"token:SECRET"`` credential form into (auth name, payload)."""
    if not credential:
        return "", ""
    name, sep, payload = credential.partition(":")
    if not sep:
        raise ValueError(f"a credential looks like 'token:SECRET', got {credential!r}")
    name = name.strip()
    if name != TOKEN_AUTH:
        raise ValueError(f"unsupported credential type {name!r} (supported: {TOKEN_AUTH})")
    return name, payload.strip()
