"""Certificates and HTTPS requests for the front-door tests: self-signed certificates made here (no CA, no
network), and requests to a loopback listener under a host name (SNI and Host), checked against a certificate."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl

from bench.loadgen import connection


def self_signed(name, days=30, label='cutover test', ips=()):
    """(certificate PEM, key PEM) for name, valid from now for days. A client that trusts two certificates for one
    name tells them apart by their subject, which label (the organization) makes differ."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name), x509.NameAttribute(NameOID.ORGANIZATION_NAME, label)])
    now = datetime.datetime.now(datetime.timezone.utc)
    names = [x509.DNSName(name)] + [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode())


def trusting(cert_pem):
    """A client context that trusts only cert_pem (and checks the host name against it)."""
    return ssl.create_default_context(cadata=cert_pem)


def unverified():
    """A client context that takes any certificate (for a host name no certificate is for)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def get(port, host, path='/', tls=None, timeout=5):
    """(status, body) of one GET to 127.0.0.1:port for host (Host header, and SNI with tls)."""
    conn = connection('127.0.0.1', port, timeout, host, tls)
    try:
        conn.request('GET', path, headers={'Host': host})
        resp = conn.getresponse()
        return resp.status, resp.read().decode('utf-8', 'replace').strip()
    finally:
        conn.close()


def served_certificate(port, host, timeout=5):
    """The certificate (PEM) the listener on 127.0.0.1:port presents for host (SNI), whatever it is."""
    return served_certificate_at('127.0.0.1', port, host, timeout)


def served_certificate_at(address, port, host, timeout=5):
    """The certificate (PEM) the listener at address:port presents for host (SNI), whatever it is."""
    with socket.create_connection((address, port), timeout) as sock:
        with unverified().wrap_socket(sock, server_hostname=host) as tls:
            return ssl.DER_cert_to_PEM_cert(tls.getpeercert(binary_form=True))


def same_certificate(pem_a, pem_b):
    return ssl.PEM_cert_to_DER_cert(pem_a) == ssl.PEM_cert_to_DER_cert(pem_b)
