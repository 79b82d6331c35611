"""Development certificates: a local certificate authority and a server pair.

A server started without ``certfile``/``keyfile`` uses a certificate signed by
a development CA that is generated on first use and reused afterwards. Both
live in the user's configuration directory (``platformdirs``' user config dir
for ``rxyomo``, or ``$RXYOMO_CONFIG_DIR`` when set) under ``certs/dev``.

Clients never trust this CA on their own: verification stays on, so a client
of a development server either points ``TlsConfig.cafile`` at
:attr:`DevCertificates.ca_certfile` (see :func:`dev_client_tls`) or turns
verification off explicitly. The server certificate names ``localhost``,
``127.0.0.1`` and ``::1`` only; production servers use their own certificate,
key and CA options.
"""

from __future__ import annotations

import datetime
import ipaddress
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import platformdirs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from rxyomo.transport.base import TlsConfig

__all__ = [
    "CONFIG_DIR_ENV",
    "DevCertificates",
    "config_dir",
    "dev_certificates",
    "dev_client_tls",
]

logger = logging.getLogger("rxyomo.transport.certs")

#: Environment variable that overrides the configuration directory.
CONFIG_DIR_ENV = "RXYOMO_CONFIG_DIR"

#: Names the development server certificate is valid for.
DEV_HOSTNAMES = ("localhost",)
DEV_ADDRESSES = ("127.0.0.1", "::1")

_CA_LIFETIME = datetime.timedelta(days=3650)
_SERVER_LIFETIME = datetime.timedelta(days=825)
# Regenerate a little before expiry so a long-running server never starts with
# a certificate that lapses during the day.
_RENEW_MARGIN = datetime.timedelta(days=2)

_CA_CERT = "ca.pem"
_CA_KEY = "ca-key.pem"
_SERVER_CERT = "server.pem"
_SERVER_KEY = "server-key.pem"


@dataclass(frozen=True)
class DevCertificates:
    """Paths of the development CA certificate and the server pair it signed."""

    ca_certfile: Path
    certfile: Path
    keyfile: Path


def config_dir() -> Path:
    """The rxyomo configuration directory (``$RXYOMO_CONFIG_DIR`` wins)."""
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return Path(override)
    return Path(platformdirs.user_config_dir("rxyomo"))


def dev_certificates(directory: Path | None = None) -> DevCertificates:
    """Return the development certificates, generating them on first use.

    ``directory`` defaults to ``config_dir() / "certs" / "dev"``. Files that
    exist and are still valid are reused; a missing or expiring server
    certificate is reissued by the same CA so clients that trust the CA keep
    working; a missing, unreadable or expiring CA replaces everything.
    """
    where = directory if directory is not None else config_dir() / "certs" / "dev"
    paths = DevCertificates(
        ca_certfile=where / _CA_CERT,
        certfile=where / _SERVER_CERT,
        keyfile=where / _SERVER_KEY,
    )
    now = datetime.datetime.now(datetime.timezone.utc)
    if not where.is_dir():
        _create_directory_atomically(where, now)
        logger.info("generated a development CA and server certificate in %s", where)
        return paths
    ca = _load_ca(where, now)
    if ca is None:
        _write_all(where, now)
        logger.warning("the development CA in %s was unusable: generated a new one", where)
    elif not _valid_until(paths.certfile, now + _RENEW_MARGIN):
        _write_server(where, ca[0], ca[1], now)
        logger.info("renewed the development server certificate in %s", where)
    return paths


def dev_client_tls(directory: Path | None = None) -> TlsConfig:
    """A client :class:`TlsConfig` that trusts the development CA (and only it)."""
    return TlsConfig(cafile=dev_certificates(directory).ca_certfile)


def _create_directory_atomically(where: Path, now: datetime.datetime) -> None:
    # Build the set in a sibling temporary directory and rename it into place,
    # so two processes starting at once never see (or write) half a set: the
    # loser of the rename simply uses the winner's files.
    where.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".dev-certs-", dir=where.parent))
    try:
        _write_all(staging, now)
        try:
            staging.rename(where)
        except OSError:
            if not where.is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_all(where: Path, now: datetime.datetime) -> None:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    name = _name("rxyomo development CA")
    ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = _issue(name, ca_key, name, ca_key, ski, now, now + _CA_LIFETIME, ca=True)
    where.mkdir(parents=True, exist_ok=True)
    _write_file(where / _CA_KEY, _key_pem(ca_key), private=True)
    _write_file(where / _CA_CERT, ca_cert.public_bytes(serialization.Encoding.PEM))
    _write_server(where, ca_cert, ca_key, now)


def _write_server(
    where: Path,
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    now: datetime.datetime,
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(host) for host in DEV_HOSTNAMES]
    names += [x509.IPAddress(ipaddress.ip_address(addr)) for addr in DEV_ADDRESSES]
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = _issue(
        _name("localhost"),
        key,
        ca_cert.subject,
        ca_key,
        ca_ski,
        now,
        min(now + _SERVER_LIFETIME, ca_cert.not_valid_after_utc),
        ca=False,
        extensions=[
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
            x509.SubjectAlternativeName(names),
        ],
    )
    # Key first: a reader that finds the new certificate also finds its key.
    _write_file(where / _SERVER_KEY, _key_pem(key), private=True)
    _write_file(where / _SERVER_CERT, cert.public_bytes(serialization.Encoding.PEM))


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "rxyomo"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _issue(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    issuer_ski: x509.SubjectKeyIdentifier,
    now: datetime.datetime,
    not_after: datetime.datetime,
    *,
    ca: bool,
    extensions: Sequence[x509.ExtensionType] = (),
) -> x509.Certificate:
    """A certificate for ``key`` signed by ``issuer_key``: a CA's, which signs certificates
    only, or a server's, which signs handshakes only (non-critical ``extensions`` added)."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    for extension in extensions:
        builder = builder.add_extension(extension, critical=False)
    return (
        builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski),
            critical=False,
        )
        .sign(issuer_key, hashes.SHA256())
    )


def _load_ca(
    where: Path, now: datetime.datetime
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    try:
        cert = x509.load_pem_x509_certificate((where / _CA_CERT).read_bytes())
        key = serialization.load_pem_private_key((where / _CA_KEY).read_bytes(), None)
    except (OSError, ValueError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return None
    if cert.not_valid_after_utc < now + _RENEW_MARGIN:
        return None
    return cert, key


def _valid_until(certfile: Path, moment: datetime.datetime) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(certfile.read_bytes())
    except (OSError, ValueError):
        return False
    return cert.not_valid_after_utc >= moment


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_file(path: Path, data: bytes, *, private: bool = False) -> None:
    # Write-then-rename keeps every file whole for concurrent readers.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.chmod(tmp, 0o600 if private else 0o644)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
