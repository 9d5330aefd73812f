"""The cluster's shared certificate (Kong's ``cluster_mtls = shared``).

Every node of a cluster holds the same self-signed certificate and key. Each
side of a cluster connection presents it and trusts nothing else, so a peer
with any other certificate fails the TLS handshake. Host names are not
checked: the certificate names the cluster, not a host.
"""

from __future__ import annotations

import datetime
import os
import ssl

__all__ = ["client_context", "gen_cert", "server_context"]

COMMON_NAME = "kong_clustering"


def gen_cert(cert_path: str, key_path: str, days: int = 3 * 365) -> None:
    """Write a new self-signed certificate and its key (mode 0600)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, COMMON_NAME)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key_bytes)
    with open(cert_path, "wb") as fh:
        fh.write(cert.public_bytes(serialization.Encoding.PEM))


def server_context(cert: str, key: str) -> ssl.SSLContext:
    """The control plane's side: requires the data plane to present the shared certificate."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=cert)
    ctx.load_cert_chain(cert, key)
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def client_context(cert: str, key: str) -> ssl.SSLContext:
    """The data plane's side: presents the shared certificate, trusts only it."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cert)
    ctx.check_hostname = False
    ctx.load_cert_chain(cert, key)
    return ctx
