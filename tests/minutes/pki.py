"""A certification authority made on the spot (with `cryptography`) for the signing tests and the benchmark:
a root CA, the office's certificate and a person's, a PKCS#12 file, a SoftHSM2 token, a timestamp and CRL server.
"""

import os
import shutil
import subprocess
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"


@dataclass
class Issued:
    key: rsa.RSAPrivateKey
    cert: x509.Certificate

    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def _name(common: str, org: str = "Tổng cục Hải quan (thử nghiệm)") -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                      x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_ca(common: str = "Dialogue Test Root CA") -> Issued:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(UTC)
    builder = (x509.CertificateBuilder().subject_name(_name(common)).issuer_name(_name(common))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - timedelta(days=30)).not_valid_after(now + timedelta(days=3650))
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                            content_commitment=False, key_encipherment=False, data_encipherment=False,
                                            key_agreement=False, encipher_only=False, decipher_only=False),
                              critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    return Issued(key, builder.sign(key, hashes.SHA256()))


def issue(ca: Issued, common: str, *, org: str = "Chi cục Hải quan Khu công nghệ cao",
          not_before: datetime | None = None, not_after: datetime | None = None, crl_url: str | None = None,
          timestamping: bool = False, commitment: bool = True) -> Issued:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(UTC)
    builder = (x509.CertificateBuilder().subject_name(_name(common, org)).issuer_name(ca.cert.subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(not_before or now - timedelta(days=1))
               .not_valid_after(not_after or now + timedelta(days=365))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=commitment and not timestamping,
                                            key_cert_sign=False, crl_sign=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False, encipher_only=False,
                                            decipher_only=False), critical=True)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False))
    if timestamping:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
    if crl_url:
        builder = builder.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(crl_url)], relative_name=None, reasons=None,
            crl_issuer=None)]), critical=False)
    return Issued(key, builder.sign(ca.key, hashes.SHA256()))


def crl(ca: Issued) -> bytes:
    now = datetime.now(UTC)
    return (x509.CertificateRevocationListBuilder().issuer_name(ca.cert.subject)
            .last_update(now - timedelta(hours=1)).next_update(now + timedelta(days=7))
            .sign(ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))


def write_pkcs12(path: Path, holder: Issued, ca: Issued, password: str) -> Path:
    path.write_bytes(pkcs12.serialize_key_and_certificates(
        b"office", holder.key, holder.cert, [ca.cert],
        serialization.BestAvailableEncryption(password.encode())))
    return path


def softhsm_available() -> bool:
    return Path(SOFTHSM_MODULE).is_file() and shutil.which("softhsm2-util") is not None


def make_softhsm_token(folder: Path, holder: Issued, ca: Issued, *, label: str, pin: str,
                       key_label: str) -> None:
    """A SoftHSM2 token in `folder` (SOFTHSM2_CONF is pointed at it) holding the key and both certificates."""
    import pkcs11
    from pkcs11 import Attribute, CertificateType, ObjectClass

    tokens = folder / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    conf = folder / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    env = {**os.environ}
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", pin + "9"],
                   check=True, capture_output=True, env=env)
    key_file = folder / "key.pem"
    key_file.write_bytes(holder.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    subprocess.run(["softhsm2-util", "--import", str(key_file), "--token", label, "--label", key_label,
                    "--id", "01", "--pin", pin], check=True, capture_output=True, env=env)
    key_file.unlink()
    lib = pkcs11.lib(SOFTHSM_MODULE)
    token = lib.get_token(token_label=label)
    with token.open(user_pin=pin, rw=True) as session:
        for cert, cert_label, ident in ((holder.cert, key_label, b"\x01"), (ca.cert, "ca", b"\x02")):
            session.create_object({
                Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                Attribute.TOKEN: True, Attribute.LABEL: cert_label, Attribute.ID: ident,
                Attribute.SUBJECT: cert.subject.public_bytes(),
                Attribute.VALUE: cert.public_bytes(serialization.Encoding.DER)})


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):  # noqa: N802 - the http.server API
        self.server.crl_requests += 1
        body = self.server.crl_der
        self.send_response(200 if self.path == "/ca.crl" else 404)
        self.send_header("Content-Type", "application/pkix-crl")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):  # noqa: N802
        import asyncio

        from asn1crypto import tsp

        request = tsp.TimeStampReq.load(self.rfile.read(int(self.headers["Content-Length"])))
        answer = asyncio.run(self.server.stamper.async_request_tsa_response(request))
        body = answer.dump()
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class AuthorityServer:
    """A CRL at /ca.crl and an RFC 3161 timestamp authority on POST, on 127.0.0.1, in a thread."""

    def __init__(self, ca: Issued, tsa: Issued):
        from asn1crypto import keys
        from asn1crypto import x509 as asn1_x509
        from pyhanko.sign.timestamps import DummyTimeStamper

        def certificate(cert):
            return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.crl_der = crl(ca)
        self.httpd.crl_requests = 0
        self.httpd.stamper = DummyTimeStamper(
            tsa_cert=certificate(tsa.cert),
            tsa_key=keys.PrivateKeyInfo.load(tsa.key.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())),
            certs_to_embed=[certificate(ca.cert)])
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def crl_requests(self) -> int:
        return self.httpd.crl_requests

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
