"""Minutes through the API: read, write (each PUT is a revision), finalise, send, sign.

`PUT /api/v1/meetings/{id}/minutes` {body} → 200 {body, updated_at} is the contract (API.md); the other
fields and calls are additions. The PDF is `GET /meetings/{id}/minutes.pdf` (dialogue_app.minutes.views),
which takes the same bearer token.
"""

from flask import request
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_smorest import Blueprint, abort
from marshmallow import fields

from ..extensions import db
from ..minutes import services, signed
from ..minutes.models import Minutes, SignedMinutes
from ..scheduling.models import Meeting
from ..scope import get_visible
from ..web import external_url
from .access import staff_only
from .schemas import MAX_ID, Instant, Schema, StrictBoolean, length, number_range

blp = Blueprint("minutes_api", __name__, url_prefix="/api/v1/meetings",
                description="Minutes of meetings: append-only revisions, finalised and amended")


class AmendmentSchema(Schema):
    revision = fields.Integer(required=True)
    at = Instant(required=True)
    note = fields.String(required=True)


class MinutesSchema(Schema):
    body = fields.String(required=True, metadata={"description": "What was said: the minutes' own text, Markdown."})
    updated_at = Instant(allow_none=True, metadata={"description": "When the latest revision was saved."})
    revision = fields.Integer(required=True, metadata={"description": "The latest revision's number (0: none)."})
    status = fields.String(required=True, metadata={"enum": ["draft", "final"]})
    chair = fields.String()
    secretary = fields.String()
    place_name = fields.String(metadata={"description": "The place name printed before the date."})
    closing_time = fields.Time(format="%H:%M", allow_none=True,
                               metadata={"description": "Local time the meeting closed, HH:MM."})
    agenda = fields.String(metadata={"description": "Markdown."})
    conclusions = fields.String(metadata={"description": "Markdown."})
    finalised_at = Instant(allow_none=True)
    amendments = fields.List(fields.Nested(AmendmentSchema), metadata={"description": "Since finalised."})
    pdf_url = fields.String()


def _text(description: str, max_length: int = services.MAX_TEXT, **kwargs):
    return fields.String(validate=length(max=max_length), metadata={"description": description}, **kwargs)


class MinutesPutSchema(Schema):
    body = _text("What was said, Markdown.", required=True)
    chair = _text("The chair: name, then position after a comma.", services.MAX_LINE, allow_none=True)
    secretary = _text("The secretary: name, then position after a comma.", services.MAX_LINE, allow_none=True)
    place_name = _text("The place name printed before the date.", services.MAX_LINE, allow_none=True)
    closing_time = fields.Time(format="%H:%M", allow_none=True, metadata={"description": "HH:MM, local time."})
    agenda = _text("Markdown.", allow_none=True)
    conclusions = _text("Markdown.", allow_none=True)
    base_revision = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=number_range(0, MAX_ID),
        metadata={"description": "The revision this change was made on; 409 when a newer one exists. "
                                 "`If-Match` with the minutes' ETag does the same."})
    amendment_note = _text("Required once the minutes are final: what the amendment changes, and why.",
                           services.MAX_NOTE, allow_none=True)


class FinaliseSchema(Schema):
    base_revision = fields.Integer(load_default=None, allow_none=True, strict=True, validate=number_range(0, MAX_ID))


class SendSchema(Schema):
    again = StrictBoolean(load_default=False, metadata={
        "description": "Send this revision again although it was sent already (otherwise 409 names who has it)."})


class SentSchema(Schema):
    recipients = fields.Integer(required=True, metadata={"description": "Addresses the minutes were mailed to."})


class SignedCopySchema(Schema):
    signed_at = Instant(required=True, metadata={"description": "When the latest signature was made."})
    signer = fields.String(required=True, metadata={"description": "Who made the latest signature."})
    signers = fields.List(fields.String(), metadata={"description": "Every signer of the copy, in order."})
    revision = fields.Integer(metadata={"description": "The revision of the minutes the copy prints."})
    source = fields.String(metadata={"enum": ["office", "upload"]})
    pdf_url = fields.String(metadata={"description": "This signed copy, for good (also after amendments)."})


class SignedUploadSchema(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary",
                                               "description": "The finalised PDF, signed elsewhere."})


def _signed_copy(meeting: Meeting, copy: SignedMinutes) -> dict:
    signers = [name for name in copy.signers.split("; ") if name]
    return {"signed_at": copy.signed_at, "signer": signers[-1] if signers else "", "signers": signers,
            "revision": copy.revision, "source": copy.source,
            "pdf_url": external_url("signatures.signed_copy", meeting_id=meeting.id, copy_id=copy.id)}


def _meeting(meeting_id: int) -> Meeting:
    return get_visible(current_user, Meeting, meeting_id) or abort(404)


def _etag(meeting: Meeting, minutes: Minutes | None) -> str:
    return f'"minutes-{meeting.id}-r{minutes.revision_count if minutes else 0}"'


def _payload(meeting: Meeting, minutes: Minutes | None) -> dict:
    latest = services.latest_revision(minutes)
    return {
        "body": latest.body if latest else "", "updated_at": latest.created_at if latest else None,
        "revision": latest.number if latest else 0, "status": minutes.status if minutes else "draft",
        "chair": latest.chair if latest else "", "secretary": latest.secretary if latest else "",
        "place_name": latest.place_name if latest else services.suggested_place_name(meeting.unit),
        "closing_time": latest.closing_time if latest else None,
        "agenda": latest.agenda if latest else "", "conclusions": latest.conclusions if latest else "",
        "finalised_at": minutes.finalised_at if minutes else None,
        "amendments": [{"revision": a.number, "at": a.created_at, "note": a.note}
                       for a in services.amendments(minutes)],
        "pdf_url": external_url("minutes.minutes_pdf", meeting_id=meeting.id),
    }


def _answer(meeting: Meeting, minutes: Minutes | None):
    return _payload(meeting, minutes), 200, {"ETag": _etag(meeting, minutes)}


def _base_from_if_match(meeting: Meeting) -> int | None:
    if not request.if_match or request.if_match.star_tag:
        return None
    prefix = f"minutes-{meeting.id}-r"
    for tag in request.if_match.as_set():
        if tag.startswith(prefix) and tag[len(prefix):].isdigit():
            return int(tag[len(prefix):])
    abort(409, message=str(_l("The If-Match header names no version of these minutes.")))


@blp.route("/<int:meeting_id>/minutes")
class MeetingMinutes(MethodView):
    @blp.response(200, MinutesSchema)
    def get(self, meeting_id):
        """The minutes of a meeting as their latest revision says. A business reads them once final."""
        meeting = _meeting(meeting_id)
        minutes = services.get_minutes(meeting)
        if not services.can_read(current_user, minutes):
            abort(404)
        return _answer(meeting, minutes)

    @blp.arguments(MinutesPutSchema)
    @blp.response(200, MinutesSchema)
    def put(self, data, meeting_id):
        """Save the minutes: a new revision (append-only). Fields left out keep their current value.

        With `base_revision` (or `If-Match`), a save on top of a newer revision is refused with 409. Final
        minutes change only by an amendment, with `amendment_note`.
        """
        meeting = _meeting(meeting_id)
        staff_only()
        base = data.pop("base_revision")
        if base is None:
            base = _base_from_if_match(meeting)
        note = data.pop("amendment_note", None)
        services.save_minutes(meeting, actor=current_user, base_revision=base, amendment_note=note, **data)
        db.session.commit()
        return _answer(meeting, services.get_minutes(meeting))


@blp.route("/<int:meeting_id>/minutes/finalise")
class FinaliseMinutes(MethodView):
    @blp.arguments(FinaliseSchema)
    @blp.response(200, MinutesSchema)
    def post(self, data, meeting_id):
        """Finalise the minutes: locked from now on; a later change is an amendment."""
        meeting = _meeting(meeting_id)
        staff_only()
        services.finalise_minutes(meeting, actor=current_user, base_revision=data["base_revision"])
        db.session.commit()
        return _answer(meeting, services.get_minutes(meeting))


@blp.route("/<int:meeting_id>/minutes/send")
class SendMinutes(MethodView):
    @blp.arguments(SendSchema)
    @blp.response(200, SentSchema)
    def post(self, data, meeting_id):
        """Mail the final minutes (PDF attached) to the attendees present and the unit's managers. The same
        revision a second time only with `again: true`: otherwise 409, whose `fields.again` lists who has it."""
        meeting = _meeting(meeting_id)
        staff_only()
        count = services.send_minutes(meeting, actor=current_user, again=data["again"])
        db.session.commit()
        return {"recipients": count}


@blp.route("/<int:meeting_id>/minutes/sign")
class SignMinutes(MethodView):
    @blp.response(201, SignedCopySchema)
    def post(self, meeting_id):
        """Sign the final minutes with the office's key (PAdES B-LT; timestamped when a TSA is set). From then
        `GET /meetings/{id}/minutes.pdf` serves the signed copy. 409 when not final or the key cannot sign."""
        meeting = _meeting(meeting_id)
        staff_only()
        copy = signed.sign_minutes(meeting, actor=current_user)
        db.session.commit()
        return _signed_copy(meeting, copy)


@blp.route("/<int:meeting_id>/minutes/signed")
class SignedUpload(MethodView):
    @blp.arguments(SignedUploadSchema, location="files")
    @blp.response(201, SignedCopySchema)
    def post(self, data, meeting_id):
        """Upload the final minutes signed elsewhere (a person's token): kept as the official copy when they
        are that very document with valid signatures added and nothing else; 422 saying why otherwise."""
        meeting = _meeting(meeting_id)
        staff_only()
        copy = signed.store_signed_upload(meeting, actor=current_user, data=data["file"].read())
        db.session.commit()
        return _signed_copy(meeting, copy)
