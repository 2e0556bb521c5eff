"""Throwaway TLS and JWT key material for the sandbox, written into one directory.

`DIR/ca.pem` is the CA that clients trust; `DIR/server.pem` and `DIR/server-key.pem` the
certificate the server presents (127.0.0.1, localhost, ::1). `DIR/jwt-private.pem` and
`DIR/jwt-cert.pem` are the key pair of the sandbox's connected app for the OAuth 2.0 JWT bearer
flow: the connector signs with the private key, the sandbox verifies with the certificate. The JWT
pair is kept across restarts so a configured connector keeps working; the TLS pair is renewed.
"""

from __future__ import annotations

import datetime as dt
import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class TlsFiles:
    """Paths of everything `materialize` wrote."""

    directory: Path

    @property
    def ca(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def server_cert(self) -> Path:
        return self.directory / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.directory / "server-key.pem"

    @property
    def jwt_private_key(self) -> Path:
        return self.directory / "jwt-private.pem"

    @property
    def jwt_cert(self) -> Path:
        return self.directory / "jwt-cert.pem"


def materialize(directory: str | Path) -> TlsFiles:
    """Write a fresh CA and server certificate, and the JWT key pair if it is missing."""
    files = TlsFiles(Path(directory))
    files.directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="leadbridge sandbox")
    cert = ca.issue_cert("127.0.0.1", "localhost", "::1")
    ca.cert_pem.write_to_path(str(files.ca))
    cert.private_key_pem.write_to_path(str(files.server_key))
    with files.server_cert.open("wb") as out:
        for blob in cert.cert_chain_pems:
            out.write(blob.bytes())
    files.server_key.chmod(0o600)
    if not (files.jwt_private_key.exists() and files.jwt_cert.exists()):
        _write_jwt_pair(files)
    return files


def server_context(files: TlsFiles) -> ssl.SSLContext:
    """The server-side TLS context presenting the sandbox certificate."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(files.server_cert), str(files.server_key))
    return context


def connected_app_cert(key: CertificateIssuerPrivateKeyTypes) -> x509.Certificate:
    """A self-signed certificate for `key`, as a connected app's uploaded certificate."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "leadbridge sandbox connected app")])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )


def _write_jwt_pair(files: TlsFiles) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = connected_app_cert(key)
    files.jwt_private_key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    files.jwt_private_key.chmod(0o600)
    files.jwt_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
