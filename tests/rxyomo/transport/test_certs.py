"""Development certificates: generated once, reused, renewed, trusted only on request."""

from __future__ import annotations

import datetime
import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from rxyomo.transport.certs import (
    CONFIG_DIR_ENV,
    DevCertificates,
    config_dir,
    dev_certificates,
    dev_client_tls,
)


def _load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _write_expired_server_pair(
    dev: DevCertificates,
    ca: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    issued: datetime.datetime,
) -> None:
    """Put a server pair the CA signed at ``issued`` in place of the development one, valid
    as long as the development certificates are (825 days)."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(issued)
        .not_valid_after(issued + datetime.timedelta(days=825))
        .sign(ca_key, hashes.SHA256())
    )
    dev.keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    dev.certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def test_generated_on_first_use_under_the_config_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path))
    dev = dev_certificates()
    assert dev.certfile.parent == tmp_path / "certs" / "dev"
    for path in (dev.ca_certfile, dev.certfile, dev.keyfile):
        assert path.is_file()
    assert stat.S_IMODE(dev.keyfile.stat().st_mode) == 0o600


def test_reused_afterwards(tmp_path: Path) -> None:
    first = dev_certificates(tmp_path)
    before = {p: p.read_bytes() for p in (first.ca_certfile, first.certfile, first.keyfile)}
    second = dev_certificates(tmp_path)
    assert second == first
    assert {p: p.read_bytes() for p in before} == before


def test_server_certificate_names_loopback_and_is_signed_by_the_ca(tmp_path: Path) -> None:
    dev = dev_certificates(tmp_path)
    ca, server = _load(dev.ca_certfile), _load(dev.certfile)
    server.verify_directly_issued_by(ca)
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert set(names.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    }
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_an_expiring_server_certificate_is_reissued_by_the_same_ca(tmp_path: Path) -> None:
    dev = dev_certificates(tmp_path)
    ca_before = dev.ca_certfile.read_bytes()
    ca = _load(dev.ca_certfile)
    ca_key = serialization.load_pem_private_key((tmp_path / "ca-key.pem").read_bytes(), None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    long_ago = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=900)
    _write_expired_server_pair(dev, ca, ca_key, long_ago)
    assert _load(dev.certfile).not_valid_after_utc < datetime.datetime.now(datetime.timezone.utc)

    dev_certificates(tmp_path)
    renewed = _load(dev.certfile)
    assert renewed.not_valid_after_utc > datetime.datetime.now(datetime.timezone.utc)
    assert dev.ca_certfile.read_bytes() == ca_before
    renewed.verify_directly_issued_by(ca)


def test_a_damaged_ca_replaces_the_whole_set(tmp_path: Path) -> None:
    dev = dev_certificates(tmp_path)
    dev.ca_certfile.write_text("garbage")
    dev_certificates(tmp_path)
    _load(dev.certfile).verify_directly_issued_by(_load(dev.ca_certfile))


def test_client_trust_is_explicit(tmp_path: Path) -> None:
    tls = dev_client_tls(tmp_path)
    assert tls.cafile == tmp_path / "ca.pem"
    assert tls.verify


def test_config_directory_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path))
    assert config_dir() == tmp_path
    monkeypatch.delenv(CONFIG_DIR_ENV)
    assert config_dir().name == "rxyomo"
