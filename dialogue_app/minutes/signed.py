"""Signed minutes: the office signs the finalised minutes with its key, a person's signed copy is checked and
kept, and any PDF's signatures are verified. Plain data in, objects out; no `request`, no commit.

The official copy is the minutes as a manager of the meeting's unit reads them (the whole record of the unit),
printed once and then only appended to: each signature is an incremental update, so the first bytes of every
signed copy are the document as printed. The latest copy of the minutes' latest revision is what
`/meetings/{id}/minutes.pdf` serves to the staff who may read all of it; an amendment makes a later revision,
printed and signed afresh, and the earlier copies stay as they were signed.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import defer

from ..auth.models import Role, User
from ..db import utcnow
from ..exceptions import Conflict, Forbidden, InvalidData
from ..extensions import db
from ..scheduling.models import Meeting
from ..scope import can_sign_minutes, is_business, reads_restricted_records
from ..text import person_label
from . import services, signing
from .models import Minutes, SignedMinutes

# A signed copy of the minutes is well under a megabyte; a file ten times larger is not one.
MAX_PDF_BYTES = 10 * 1024 * 1024


class SigningFailed(Conflict):
    """The office's key could not sign (no key, token missing, wrong PIN, certificate out of date, …)."""

    def __init__(self, refusal: signing.SigningRefused):
        super().__init__(_l("The minutes were not signed: %(reason)s", reason=refusal.message))
        self.reason = refusal.code


class UploadRefused(InvalidData):
    def __init__(self, refusal: signing.SigningRefused):
        super().__init__(refusal.message, {"file": [refusal.message]})
        self.reason = refusal.code


def key_settings() -> signing.KeySettings:
    return signing.KeySettings.from_config(current_app.config)


@lru_cache(maxsize=4)
def _roots(path: str) -> tuple:
    return tuple(signing.load_certificates(path))


def trust_roots() -> list:
    """The CA certificates signatures are checked against (SIGNING_TRUST_ROOTS), [] when none is set."""
    path = current_app.config.get("SIGNING_TRUST_ROOTS")
    return list(_roots(path)) if path else []


def _seal(meeting: Meeting) -> signing.Seal:
    fonts = Path(current_app.static_folder, "fonts")
    return signing.Seal(organisation=meeting.unit.name, font_path=str(fonts / "LiberationSerif-Regular.ttf"),
                        bold_font_path=str(fonts / "LiberationSerif-Bold.ttf"))


def _unit_reader(meeting: Meeting, role: Role) -> User:
    """A reader with the scope of `role` at the meeting's unit. Never added to the session: it only carries
    the role and the unit into the scope rules."""
    return User(id=None, role=role.value, unit=meeting.unit, unit_id=meeting.unit_id, name="", email="")


def official_reader(meeting: Meeting) -> User:
    return _unit_reader(meeting, Role.MANAGER)


def _restricted(meeting: Meeting, minutes: Minutes) -> bool:
    """Whether the official copy prints more than an organiser of the unit reads (a sensitive issue)."""
    return (services.fingerprint(meeting, official_reader(meeting), minutes)
            != services.fingerprint(meeting, _unit_reader(meeting, Role.ORGANISER), minutes))


def signed_copies(minutes: Minutes | None) -> list[SignedMinutes]:
    """Every signed copy of the minutes, newest first, without their bytes."""
    if minutes is None:
        return []
    return list(db.session.execute(
        select(SignedMinutes).where(SignedMinutes.minutes_id == minutes.id)
        .options(defer(SignedMinutes.data)).order_by(SignedMinutes.id.desc())
    ).scalars())


def get_copy(minutes: Minutes | None, copy_id: int) -> SignedMinutes | None:
    if minutes is None:
        return None
    return db.session.execute(
        select(SignedMinutes).where(SignedMinutes.minutes_id == minutes.id, SignedMinutes.id == copy_id)
    ).scalar_one_or_none()


def official_copy(minutes: Minutes | None) -> SignedMinutes | None:
    """The latest signed copy of the minutes' latest revision (bytes loaded when read), or None."""
    if minutes is None or minutes.status != "final":
        return None
    return db.session.execute(
        select(SignedMinutes).where(SignedMinutes.minutes_id == minutes.id,
                                    SignedMinutes.revision == minutes.revision_count)
        .options(defer(SignedMinutes.data)).order_by(SignedMinutes.id.desc()).limit(1)
    ).scalar_one_or_none()


def may_read_copy(reader: User, copy: SignedMinutes) -> bool:
    """Staff who see the meeting read its signed copies, except organisers a copy that prints what only managers
    read. Businesses read their own version of the minutes, never the office's whole record."""
    if is_business(reader):
        return False
    return not copy.restricted or reads_restricted_records(reader)


def may_sign(user: User, meeting: Meeting) -> bool:
    return can_sign_minutes(user, meeting.unit)


@dataclass
class SignedPdfAnswer:
    """The signed copy as minutes.pdf serves it: an ETag of its own (its digest), and its bytes."""

    etag: str
    copy: SignedMinutes

    def data(self) -> bytes:
        return self.copy.data


def pdf_for(meeting: Meeting, reader: User, minutes: Minutes | None):
    """What `/meetings/{id}/minutes.pdf` serves `reader`: the official signed copy when there is one for the
    minutes' latest revision and the reader may read it, else the rendered minutes (services.minutes_pdf)."""
    if minutes is not None and minutes.status == "final" and not is_business(reader):
        copy = official_copy(minutes)
        if copy is not None and may_read_copy(reader, copy):
            return SignedPdfAnswer(f"signed-{copy.sha256[:40]}", copy)
    return services.minutes_pdf(meeting, reader, minutes)


def _final_minutes(meeting: Meeting, actor: User) -> Minutes:
    if not may_sign(actor, meeting):
        raise Forbidden(_l("Only the organisers and managers of %(unit)s, and administrators, sign its minutes.",
                           unit=meeting.unit.name))
    minutes = services.get_minutes(meeting)
    if minutes is None or minutes.status != "final":
        raise Conflict(_l("Only final minutes can be signed. Finalise them first."))
    return minutes


def _unsigned(meeting: Meeting, minutes: Minutes) -> bytes:
    """The minutes printed for the record (from the PDF cache when they were printed already)."""
    return services.minutes_pdf(meeting, official_reader(meeting), minutes).data()


def document_to_sign(meeting: Meeting, minutes: Minutes) -> bytes:
    """The bytes the next signature goes onto: the latest signed copy of this revision, else the minutes
    printed for the record."""
    copy = official_copy(minutes)
    return copy.data if copy is not None else _unsigned(meeting, minutes)


def _store(minutes: Minutes, data: bytes, *, source: str, restricted: bool, actor: User, signers: list[str],
           signed_at: datetime) -> SignedMinutes:
    copy = SignedMinutes(
        minutes_id=minutes.id, revision=minutes.revision_count, source=source, restricted=restricted,
        signers="; ".join(signers), signatures=len(signers), signed_at=signed_at,
        sha256=hashlib.sha256(data).hexdigest(), data=data, created_by_id=actor.id,
        created_by_label=person_label(actor.name, actor.email),
    )
    db.session.add(copy)
    db.session.flush()
    return copy


def sign_minutes(meeting: Meeting, *, actor: User) -> SignedMinutes:
    """Sign the finalised minutes of `meeting` with the office's key (the SIGNING_* settings), on top of the
    signatures they already carry, and keep the result as the official copy. Raises Forbidden (not one of the
    unit's signers), Conflict (not final), SigningFailed (the key could not sign)."""
    minutes = _final_minutes(meeting, actor)
    restricted = _restricted(meeting, minutes)
    if restricted and not reads_restricted_records(actor):
        raise Forbidden(_l("These minutes print issues only managers read: a manager signs them."))
    original = document_to_sign(meeting, minutes)
    try:
        signed = signing.sign_pdf(original, key_settings(), _seal(meeting))
    except signing.SigningRefused as refusal:
        raise SigningFailed(refusal) from None
    return _store(minutes, signed.data, source="office", restricted=restricted, actor=actor,
                  signers=[*_previous_signers(minutes), signed.signer], signed_at=signed.signed_at)


def _previous_signers(minutes: Minutes) -> list[str]:
    copy = official_copy(minutes)
    return [name for name in copy.signers.split("; ") if name] if copy is not None else []


def store_signed_upload(meeting: Meeting, *, actor: User, data: bytes) -> SignedMinutes:
    """Keep `data`, the finalised minutes signed elsewhere (a person's token), as the official copy when it is
    exactly the document Dialogue printed (or its latest signed copy) with valid signatures added and nothing
    else; else UploadRefused saying why, and nothing is kept. Raises Forbidden and Conflict as sign_minutes."""
    minutes = _final_minutes(meeting, actor)
    if len(data) > MAX_PDF_BYTES:
        raise UploadRefused(signing.SigningRefused("too_large", _l(
            "The file is larger than %(mb)d MB: it is not the signed minutes.", mb=MAX_PDF_BYTES // 2**20)))
    copy = official_copy(minutes)
    if copy is not None:
        # Signatures already made stay: the next one goes on the official copy as it is now.
        original = copy.data
        if not data.startswith(original) and data.startswith(_unsigned(meeting, minutes)):
            raise UploadRefused(signing.SigningRefused("missing_signatures", _l(
                "This copy leaves out the signatures already made (%(signers)s): download the PDF again, which "
                "now carries them, and sign that.", signers=copy.signers)))
    else:
        original = _unsigned(meeting, minutes)
    try:
        reports = signing.check_signed_copy(original, data, trust_roots())
    except signing.SigningRefused as refusal:
        raise UploadRefused(refusal) from None
    restricted = copy.restricted if copy is not None else _restricted(meeting, minutes)
    signed_at = max((r.signed_at for r in reports if r.signed_at), default=None) or utcnow()
    return _store(minutes, data, source="upload", restricted=restricted, actor=actor,
                  signers=[r.signer for r in reports], signed_at=signed_at)


def verify(data: bytes) -> list[signing.SignatureReport]:
    """The signatures of any PDF, checked against the trust roots. Raises UploadRefused for a file that is
    not a readable, unencrypted PDF of at most MAX_PDF_BYTES, or that holds no signature."""
    if len(data) > MAX_PDF_BYTES:
        raise UploadRefused(signing.SigningRefused("too_large", _l(
            "The file is larger than %(mb)d MB.", mb=MAX_PDF_BYTES // 2**20)))
    try:
        reports = signing.verify_pdf(data, trust_roots())
    except signing.SigningRefused as refusal:
        raise UploadRefused(refusal) from None
    return reports
