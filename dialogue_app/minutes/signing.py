"""Digital signatures on the minutes (PAdES, ETSI EN 319 142) through pyHanko: sign with the office's key, check
a copy a person signed elsewhere, and say what the signatures of any PDF are worth.

Pure: bytes and settings in, bytes and findings out; no Flask, no database. Every refusal is a SigningRefused
with a message for people (Flask-Babel lazy text). Nothing here logs, and no message carries a PIN, a password
or key material: the messages of the PKCS#11 and PKCS#12 libraries are not passed on.

Verifying never fetches anything: a PDF from anybody names URLs (OCSP, CRL, CA issuers) that the server must
not be made to call. What the PDF embeds (chain, revocation data, timestamps) and the trust roots configured
are all the validator sees. Signing may fetch: the office's own certificate names its CA's OCSP and CRL.
"""

import asyncio
import io
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from functools import lru_cache
from pathlib import Path

from flask_babel import lazy_gettext as _l

from ..officetime import office_zone

# pyHanko, asn1crypto, cryptography and Pillow are imported where used: they take a good part of a second to
# import, and only signing and verifying need them (not the pages, the API, the worker).

# Where the minutes' template puts the chair's signature space (templates/pdf/minutes.html): WeasyPrint writes
# every element id as a named destination, which gives the page and the top left corner.
SIGNATURE_ANCHOR = "signature-chair"
MM = 72 / 25.4
STAMP_WIDTH, STAMP_HEIGHT = 80 * MM, 26 * MM
FIELD_PREFIX = "Dialogue-"


class SigningRefused(Exception):
    """Signing or checking refused; `message` says why, for people. `code` names the reason for programs."""

    def __init__(self, code: str, message):
        super().__init__(code)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class KeySettings:
    """Where the office's key is: a PKCS#12 file, or a PKCS#11 token (the USB tokens Vietnamese CAs issue, or
    an HSM). `trust_roots`: a PEM or DER file of the CA certificates signatures are checked against."""

    pkcs12_path: str | None = None
    pkcs12_password: str | None = field(default=None, repr=False)
    pkcs11_module: str | None = None
    pkcs11_token_label: str | None = None
    pkcs11_pin: str | None = field(default=None, repr=False)
    pkcs11_key_label: str | None = None
    tsa_url: str | None = None
    trust_roots: str | None = None

    @classmethod
    def from_config(cls, config: Mapping) -> "KeySettings":
        return cls(
            pkcs12_path=config.get("SIGNING_PKCS12_PATH") or None,
            pkcs12_password=config.get("SIGNING_PKCS12_PASSWORD") or None,
            pkcs11_module=config.get("SIGNING_PKCS11_MODULE") or None,
            pkcs11_token_label=config.get("SIGNING_PKCS11_TOKEN_LABEL") or None,
            pkcs11_pin=config.get("SIGNING_PKCS11_PIN") or None,
            pkcs11_key_label=config.get("SIGNING_PKCS11_KEY_LABEL") or None,
            tsa_url=config.get("SIGNING_TSA_URL") or None,
            trust_roots=config.get("SIGNING_TRUST_ROOTS") or None,
        )

    @property
    def kind(self) -> str | None:
        """"pkcs11", "pkcs12", or None when the installation has no key."""
        if self.pkcs11_module:
            return "pkcs11"
        if self.pkcs12_path:
            return "pkcs12"
        return None


@dataclass(frozen=True)
class Seal:
    """What the organisation's signature shows on the page: its seal over the left third of the chair's
    signature space, and beside it who signed, for which organisation, and when (Nghị định 30/2020, Phụ lục I)."""

    organisation: str
    font_path: str
    bold_font_path: str


@dataclass(frozen=True)
class SignedPdf:
    data: bytes
    signer: str
    signed_at: datetime


@dataclass(frozen=True)
class SignatureReport:
    """One signature of a PDF, as people ask about it."""

    field_name: str
    signer: str
    signed_at: datetime | None
    # The signature is mathematically sound and its certificate chains to a trusted root (and was valid then).
    valid: bool
    # The bytes it signed are unchanged, and what was added after it is only signatures and validation data.
    intact: bool
    covers_whole_document: bool
    trusted: bool
    timestamped: bool
    revision: int
    problems: list = field(default_factory=list)


# --- Reading a PDF -------------------------------------------------------------------------------------

def open_pdf(data: bytes):
    """A pyHanko reader over `data`, or SigningRefused: not a PDF, unreadable, or encrypted."""
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader

    if not data.lstrip()[:5] == b"%PDF-":
        raise SigningRefused("not_pdf", _l("This file is not a PDF."))
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        encrypted = reader.encrypted
    except (PdfError, ValueError, KeyError, TypeError, IndexError, AttributeError, RecursionError):
        raise SigningRefused("unreadable", _l("This PDF cannot be read: it is damaged or not a PDF.")) from None
    if encrypted:
        raise SigningRefused("encrypted", _l("This PDF is encrypted (protected by a password): signatures in it "
                                             "cannot be checked. Upload the file as it was signed, unencrypted."))
    return reader


def load_certificates(path: str | None) -> list:
    """The certificates of a PEM bundle or a DER file (asn1crypto), [] without a path."""
    if not path:
        return []
    return list(_certificates_of(Path(path).read_bytes()))


def _certificates_of(raw: bytes) -> Iterator:
    from asn1crypto import pem, x509

    if pem.detect(raw):
        for _kind, _headers, der in pem.unarmor(raw, multiple=True):
            yield x509.Certificate.load(der)
    else:
        yield x509.Certificate.load(raw)


# --- Signing -------------------------------------------------------------------------------------------

@contextmanager
def office_signer(settings: KeySettings):
    """The pyHanko signer of the office's key, open while the block runs. SigningRefused when there is no
    key, the file or token is missing, the password or PIN is wrong. Nothing of the library's error text is
    passed on (it may name the token's objects)."""
    kind = settings.kind
    if kind is None:
        raise SigningRefused("no_key", _l("This installation has no signing key: set SIGNING_PKCS12_PATH or "
                                          "SIGNING_PKCS11_MODULE (see the README)."))
    if kind == "pkcs12":
        yield _pkcs12_signer(settings)
        return
    with _pkcs11_signer(settings) as signer:
        yield signer


def _pkcs12_signer(settings: KeySettings):
    from asn1crypto import keys, x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12
    from pyhanko.sign.signers import SimpleSigner
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    try:
        raw = Path(settings.pkcs12_path).read_bytes()
    except OSError:
        raise SigningRefused("no_key", _l("The signing key file (SIGNING_PKCS12_PATH) cannot be read.")) from None
    password = settings.pkcs12_password.encode() if settings.pkcs12_password else None
    try:
        key, cert, others = pkcs12.load_key_and_certificates(raw, password)
    except (ValueError, TypeError):
        raise SigningRefused("bad_password", _l("The signing key file cannot be opened: wrong password "
                                                "(SIGNING_PKCS12_PASSWORD), or not a PKCS#12 file.")) from None
    if key is None or cert is None:
        raise SigningRefused("no_key", _l("The signing key file holds no key with its certificate."))
    def certificate(value):
        return x509.Certificate.load(value.public_bytes(serialization.Encoding.DER))

    store = SimpleCertificateStore()
    store.register_multiple(certificate(c) for c in others)
    key_info = keys.PrivateKeyInfo.load(key.private_bytes(serialization.Encoding.DER,
                                                          serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()))
    return SimpleSigner(signing_key=key_info, signing_cert=certificate(cert), cert_registry=store)


@contextmanager
def _pkcs11_signer(settings: KeySettings):
    import pkcs11
    from asn1crypto import x509
    from pyhanko.sign.pkcs11 import PKCS11Signer, TokenCriteria, open_pkcs11_session

    if not Path(settings.pkcs11_module).is_file():
        raise SigningRefused("no_token", _l("The PKCS#11 module (SIGNING_PKCS11_MODULE) is not installed."))
    try:
        session = open_pkcs11_session(settings.pkcs11_module,
                                      token_criteria=TokenCriteria(label=settings.pkcs11_token_label),
                                      user_pin=settings.pkcs11_pin)
    except pkcs11.exceptions.PinIncorrect:
        raise SigningRefused("bad_pin", _l("The token refused the PIN (SIGNING_PKCS11_PIN).")) from None
    except pkcs11.exceptions.PinLocked:
        raise SigningRefused("pin_locked", _l("The token's PIN is locked: too many wrong PINs.")) from None
    except (pkcs11.PKCS11Error, RuntimeError, OSError):
        # pyHanko raises its own PKCS11Error (a PKCS#11 error subclass) when no token has the label.
        raise SigningRefused("no_token", _l("The signing token (SIGNING_PKCS11_TOKEN_LABEL) is not connected, "
                                            "or the PKCS#11 module cannot reach it.")) from None
    try:
        # The token's other certificates (its CA's) travel with the office's; the office's own is not among
        # them, or it would be embedded twice (which poppler's validator does not accept).
        label = settings.pkcs11_key_label
        chain = [x509.Certificate.load(obj[pkcs11.Attribute.VALUE])
                 for obj in session.get_objects({pkcs11.Attribute.CLASS: pkcs11.ObjectClass.CERTIFICATE})
                 if obj[pkcs11.Attribute.LABEL] != label]
        signer = PKCS11Signer(session, cert_label=label, key_label=label, other_certs_to_pull=(), ca_chain=chain)
        try:
            asyncio.run(signer.ensure_objects_loaded())
        except (pkcs11.PKCS11Error, StopIteration, ValueError):
            raise SigningRefused("no_key", _l("The token has no key and certificate labelled as "
                                              "SIGNING_PKCS11_KEY_LABEL says.")) from None
        yield signer
    finally:
        session.close()


def _check_validity(cert, now: datetime) -> None:
    validity = cert["tbs_certificate"]["validity"]
    not_before, not_after = validity["not_before"].native, validity["not_after"].native
    if now < not_before:
        raise SigningRefused("not_yet_valid", _l("The signing certificate is not valid yet (from %(when)s).",
                                                 when=_iso(not_before)))
    if now > not_after:
        raise SigningRefused("expired", _l("The signing certificate expired on %(when)s: the office needs a new "
                                           "one from its CA.", when=_iso(not_after)))


def _iso(value: datetime) -> str:
    """Vietnam time, ISO 8601 with its offset, to the second: 2026-12-06T17:20:05+07:00."""
    return value.astimezone(office_zone()).replace(microsecond=0).isoformat()


def common_name(cert) -> str:
    subject = cert.subject.native
    return subject.get("common_name") or subject.get("organization_name") or cert.subject.human_friendly


def sign_pdf(data: bytes, settings: KeySettings, seal: Seal | None = None, *, now: datetime | None = None) -> SignedPdf:
    """`data` signed with the office's key, as an incremental update (the bytes of `data` stay the prefix of the
    result): PAdES, SHA-256, with the chain and whatever revocation data the CA publishes embedded (B-LT), and an
    RFC 3161 timestamp from `settings.tsa_url` when set. `seal`: draw the organisation's seal over the chair's
    signature space (else the signature has no appearance). Raises SigningRefused."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers, timestamps
    from pyhanko.sign.general import SigningError
    from pyhanko_certvalidator import ValidationContext
    from pyhanko_certvalidator.errors import InvalidCertificateError, PathBuildingError, PathValidationError

    reader = open_pdf(data)
    now = now or datetime.now(UTC)
    with office_signer(settings) as signer:
        cert = signer.signing_cert
        _check_validity(cert, now)
        chain = list(signer.cert_registry)
        roots = load_certificates(settings.trust_roots) or [c for c in [cert, *chain] if c.self_signed]
        context = ValidationContext(trust_roots=roots, other_certs=chain, allow_fetching=True,
                                    revocation_mode="soft-fail")
        name = f"{FIELD_PREFIX}{len(_signature_fields(reader)) + 1}"
        spec = fields.SigFieldSpec(sig_field_name=name, **_placement(reader, seal is not None))
        meta = signers.PdfSignatureMetadata(
            field_name=name, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES,
            embed_validation_info=True, validation_context=context, use_pades_lta=False,
            reason="Ký số biên bản", name=common_name(cert),
        )
        timestamper = timestamps.HTTPTimeStamper(settings.tsa_url, timeout=20) if settings.tsa_url else None
        signed_at = now
        text = {"org": seal.organisation if seal else "", "signer": common_name(cert), "when": _iso(signed_at)}
        pdf_signer = signers.PdfSigner(meta, signer, timestamper=timestamper, new_field_spec=spec,
                                       stamp_style=_stamp_style(seal) if seal else None)
        writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
        output = io.BytesIO()
        try:
            pdf_signer.sign_pdf(writer, output=output, appearance_text_params=text)
        except (PathBuildingError, PathValidationError):
            raise SigningRefused("untrusted", _l("The signing certificate does not chain to a trusted root "
                                                 "(SIGNING_TRUST_ROOTS), or was revoked.")) from None
        except InvalidCertificateError:
            raise SigningRefused("unusable_certificate", _l(
                "The signing certificate may not sign documents: its key usage lacks “non-repudiation” (content "
                "commitment). The office needs a certificate issued for signing.")) from None
        except timestamps.TimestampRequestError:
            raise SigningRefused("tsa", _l("The timestamp server (SIGNING_TSA_URL) did not answer with a "
                                           "timestamp.")) from None
        except SigningError:
            raise SigningRefused("signing_failed", _l("The key could not sign the document.")) from None
    return SignedPdf(output.getvalue(), common_name(cert), signed_at)


def _signature_fields(reader) -> list:
    from pyhanko.sign.fields import enumerate_sig_fields

    return list(enumerate_sig_fields(reader, filled_status=None))


def _placement(reader, visible: bool) -> dict:
    """The field's page and box: the chair's signature space where the document marks it, else invisible."""
    where = _anchor(reader, SIGNATURE_ANCHOR) if visible else None
    if where is None:
        return {}
    page, left, top = where
    return {"on_page": page, "box": (int(left), int(top - STAMP_HEIGHT), int(left + STAMP_WIDTH), int(top))}


def _anchor(reader, name: str):
    """(page index, left, top) of a named destination, or None."""
    try:
        tree = reader.root["/Names"]["/Dests"]
    except KeyError:
        return None
    target = _name_lookup(tree, name)
    if target is None:
        return None
    if hasattr(target, "get") and "/D" in target:
        target = target["/D"]
    try:
        page_ref, left, top = target.raw_get(0), float(target[2]), float(target[3])
    except (IndexError, TypeError, ValueError, AttributeError):
        return None
    pages = _page_refs(reader.root["/Pages"])
    for index, ref in enumerate(pages):
        if ref.idnum == page_ref.idnum:
            return index, left, top
    return None


def _name_lookup(node, name: str, depth: int = 0):
    if depth > 20:
        return None
    names = node.get("/Names")
    if names is not None:
        for i in range(0, len(names) - 1, 2):
            if str(names[i]) == name:
                return names[i + 1]
    for kid in node.get("/Kids", ()):
        found = _name_lookup(kid, name, depth + 1)
        if found is not None:
            return found
    return None


def _page_refs(node, depth: int = 0) -> list:
    refs = []
    for kid_ref in node.get("/Kids", ()):
        kid = kid_ref.get_object()
        if kid.get("/Type") == "/Pages" and depth < 30:
            refs.extend(_page_refs(kid, depth + 1))
        else:
            refs.append(kid_ref)
    return refs


@lru_cache(maxsize=4)
def _font_bytes(path: str) -> bytes:
    return Path(path).read_bytes()


@lru_cache(maxsize=1)
def _font_factory_class():
    from pyhanko.pdf_utils.font.opentype import GlyphAccumulator, GlyphAccumulatorFactory

    class ThousandthsAccumulator(GlyphAccumulator):
        """pyHanko writes glyph widths (/W) and TJ adjustments in the font's own units, which PDF reads as
        thousandths of an em: right for fonts of 1000 units per em only. Liberation Serif has 2048, and its text
        came out spread twice as wide. Shaping and widths are brought to thousandths here."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._to_thousandths = 1000 / self.units_per_em
            self.hb_font.scale = (1000, 1000)
            self.units_per_em = 1000

        def _get_cid_and_width(self, glyph_id: int) -> tuple[int, int]:
            if glyph_id in self._glyphs:
                return self._glyphs[glyph_id]
            cid, width = super()._get_cid_and_width(glyph_id)
            self._glyphs[glyph_id] = result = (cid, round(width * self._to_thousandths))
            return result

    class FontFromMemory(GlyphAccumulatorFactory):
        """Also: pyHanko's factory opens the font file and never closes it (a handle and a ResourceWarning per
        signature); this one reads it once and hands out copies in memory."""

        def create_font_engine(self, writer, obj_stream=None):
            if obj_stream is None and writer.stream_xrefs and self.create_objstream_if_needed:
                obj_stream = writer.prepare_object_stream()
            return ThousandthsAccumulator(writer=writer, font_handle=io.BytesIO(_font_bytes(self.font_file)),
                                          font_size=self.font_size, obj_stream=obj_stream)

    return FontFromMemory


def _stamp_style(seal: Seal):
    from pyhanko.pdf_utils import images, layout
    from pyhanko.pdf_utils.text import TextBoxStyle
    from pyhanko.stamp import TextStampStyle

    return TextStampStyle(
        stamp_text="Cơ quan: %(org)s\nNgười ký: %(signer)s\nThời gian ký: %(when)s",
        text_box_style=TextBoxStyle(font=_font_factory_class()(seal.font_path, font_size=8), font_size=8, leading=10),
        border_width=0,
        background=images.PdfImage(seal_image(seal.organisation, seal.bold_font_path)),
        background_opacity=1.0,
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MIN, y_align=layout.AxisAlignment.ALIGN_MID,
            inner_content_scaling=layout.InnerScaling.SHRINK_TO_FIT, margins=layout.Margins(0, 0, 0, 0)),
        inner_content_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MAX, y_align=layout.AxisAlignment.ALIGN_MID,
            inner_content_scaling=layout.InnerScaling.SHRINK_TO_FIT,
            margins=layout.Margins(left=int(STAMP_HEIGHT) + 6, right=2, top=2, bottom=2)),
    )


@lru_cache(maxsize=32)
def seal_image(organisation: str, font_path: str):
    """The organisation's seal as a red, round, transparent image: its name around the rim, a star inside
    (the drawn likeness of a seal: the office's real seal image is not in the software)."""
    from PIL import Image, ImageDraw, ImageFont

    size = 360
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    red = (200, 16, 46, 255)
    centre = size / 2
    draw.ellipse((6, 6, size - 6, size - 6), outline=red, width=9)
    draw.ellipse((62, 62, size - 62, size - 62), outline=red, width=4)
    star = [(centre + r * math.sin(math.radians(a)), centre - r * math.cos(math.radians(a)))
            for i, a in enumerate(range(0, 360, 36)) for r in [(48 if i % 2 == 0 else 19)]]
    draw.polygon(star, fill=red)
    text = " ".join(organisation.upper().split())
    font_size = max(14, min(30, int(900 / max(len(text), 1))))
    font = ImageFont.truetype(font_path, font_size)
    radius = centre - 36
    widths = [font.getlength(ch) for ch in text]
    spread = min(330.0, math.degrees(sum(widths) * 1.08 / radius))
    angle = -spread / 2
    for ch, width in zip(text, widths, strict=True):
        step = math.degrees(width * 1.08 / radius)
        middle = math.radians(angle + step / 2)
        glyph = Image.new("RGBA", (font_size * 2, font_size * 2), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((font_size, font_size), ch, font=font, fill=red, anchor="mm")
        glyph = glyph.rotate(-math.degrees(middle), resample=Image.BICUBIC)
        x = centre + radius * math.sin(middle) - font_size
        y = centre - radius * math.cos(middle) - font_size
        image.alpha_composite(glyph, (int(x), int(y)))
        angle += step
    return image


# --- Verifying -----------------------------------------------------------------------------------------

class Modification(Enum):
    NONE = "none"
    SIGNATURES = "signatures"
    OTHER = "other"


def verify_pdf(data: bytes, trust_roots: list) -> list[SignatureReport]:
    """Each signature of the PDF in `data`, oldest first, checked against `trust_roots` without fetching
    anything. Raises SigningRefused when the file is not a readable, unencrypted PDF."""
    from pyhanko.sign.general import UnacceptableSignerError
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.errors import SignatureValidationError
    from pyhanko_certvalidator import ValidationContext

    reader = open_pdf(data)
    try:
        signatures = list(reader.embedded_signatures)
    except Exception:  # noqa: BLE001 - any malformed signature dictionary makes the file unreadable to us
        raise SigningRefused("unreadable", _l("The signatures of this PDF cannot be read.")) from None
    reports = []
    for embedded in signatures:
        context = ValidationContext(trust_roots=trust_roots, allow_fetching=False, revocation_mode="soft-fail")
        name = embedded.field_name
        try:
            status = validate_pdf_signature(embedded, signer_validation_context=context,
                                            ts_validation_context=context)
        except (SignatureValidationError, UnacceptableSignerError, ValueError, KeyError, TypeError):
            reports.append(SignatureReport(name, _signer_of(embedded), None, False, False, False, False, False,
                                           embedded.signed_revision,
                                           [_l("This signature cannot be checked: it is damaged.")]))
            continue
        reports.append(_report(embedded, status))
    return reports


def _signer_of(embedded) -> str:
    try:
        return common_name(embedded.signer_cert)
    except Exception:  # noqa: BLE001 - a broken signature has no readable signer
        return "?"


def _report(embedded, status) -> SignatureReport:
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    sound = bool(status.intact and status.valid)
    level = status.modification_level
    unchanged = (sound and status.docmdp_ok is not False and level is not None
                 and level <= ModificationLevel.FORM_FILLING)
    # A B-LT signature is followed by its validation data (the DSS, an update it cannot cover by design): it
    # still covers the whole document when nothing but validation data came after it.
    whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE or (
        status.coverage == SignatureCoverageLevel.ENTIRE_REVISION and level is not None
        and level <= ModificationLevel.LTA_UPDATES)
    timestamp = status.timestamp_validity
    signed_at = timestamp.timestamp if timestamp is not None else status.signer_reported_dt
    problems = []
    if not sound:
        problems.append(_l("The signed bytes were changed, or the signature does not match them."))
    elif not status.trusted:
        problems.append(_l("The certificate does not chain to a trusted root, or was not valid when it signed."))
    if sound and not unchanged:
        problems.append(_l("The document was changed after this signature: more than signatures were added."))
    if timestamp is not None and not (timestamp.intact and timestamp.valid):
        problems.append(_l("The signature's timestamp is not valid."))
    return SignatureReport(
        field_name=embedded.field_name, signer=common_name(status.signing_cert), signed_at=signed_at,
        valid=sound and bool(status.trusted) and (timestamp is None or bool(timestamp.valid)),
        intact=unchanged, covers_whole_document=whole, trusted=bool(status.trusted),
        timestamped=timestamp is not None, revision=embedded.signed_revision, problems=problems,
    )


# --- A copy signed elsewhere ---------------------------------------------------------------------------

def check_signed_copy(original: bytes, upload: bytes, trust_roots: list) -> list[SignatureReport]:
    """The signatures of `upload` when it is exactly `original` with signatures added (incremental updates
    that only sign, and the validation data signers embed), each valid; else SigningRefused saying why."""
    from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY, ModificationLevel, SuspiciousModification

    if not upload.startswith(original):
        open_pdf(upload)  # an encrypted or broken file says so first
        raise SigningRefused("other_document", _l(
            "This is not the finalised document: its original part differs from the minutes as Dialogue "
            "printed them. Download the PDF again, sign it without changing it, and upload what the tool saved."))
    if len(upload) == len(original):
        raise SigningRefused("unsigned", _l("No signature was added to the document."))
    reader = open_pdf(upload)
    base = open_pdf(original).xrefs.total_revisions - 1
    try:
        outcome = DEFAULT_DIFF_POLICY.review_file(reader, base)
    except Exception:  # noqa: BLE001 - pyHanko raises many kinds on malformed updates; all mean "refuse"
        outcome = None
    if not hasattr(outcome, "modification_level") or isinstance(outcome, SuspiciousModification) \
            or outcome.modification_level > ModificationLevel.FORM_FILLING:
        raise SigningRefused("modified", _l(
            "Something besides signatures was added to the document after it was finalised (a page, text or "
            "a change): only signatures may be added."))
    reports = verify_pdf(upload, trust_roots)
    added = [r for r in reports if r.revision >= base + 1]
    if not added:
        raise SigningRefused("unsigned", _l("No signature was added to the document."))
    bad = [r for r in reports if not r.valid or not r.intact]
    if bad:
        reasons = "; ".join(str(p) for p in bad[0].problems) or str(_l("not valid"))
        raise SigningRefused("invalid", _l("The signature of %(signer)s is not accepted: %(reasons)s",
                                           signer=bad[0].signer, reasons=reasons))
    return reports
