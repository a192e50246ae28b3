"""Marshmallow schemas: they validate what comes in and describe, in the OpenAPI document, what goes out."""

from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate

from ..auth.models import Role
from ..org.models import UnitLevel

OFFICE_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


# Validators with their messages in the reader's language (marshmallow formats them with str.format).
def one_of(choices) -> validate.OneOf:
    return validate.OneOf(list(choices), error=_l("Must be one of: {choices}."))


def length(min: int = 0, max: int | None = None) -> validate.Length:
    if max is None:
        return validate.Length(min=min, error=_l("Must have at least {min} characters."))
    return validate.Length(min=min, max=max, error=_l("Must have between {min} and {max} characters."))


def number_range(min: int, max: int | None = None) -> validate.Range:
    if max is None:
        return validate.Range(min=min, error=_l("Must be at least {min}."))
    return validate.Range(min=min, max=max, error=_l("Must be between {min} and {max}."))


class Instant(fields.DateTime):
    """An instant, written ISO 8601 with the office's offset (2027-01-25T08:00:00+07:00).

    Input must carry an offset: a wall time without one names no instant.
    """

    def _serialize(self, value: datetime | None, attr, obj, **kwargs):
        if value is None:
            return None
        return value.astimezone(OFFICE_ZONE).isoformat()

    def _deserialize(self, value, attr, data, **kwargs):
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if parsed.tzinfo is None:
            raise ValidationError(str(_l("An instant needs its UTC offset, e.g. 2027-01-25T08:00:00+07:00.")))
        return parsed


class ErrorBodySchema(Schema):
    code = fields.String(
        required=True,
        metadata={"enum": ["validation_error", "bad_request", "unauthorized", "forbidden", "not_found",
                           "conflict", "rate_limited"]},
    )
    message = fields.String(required=True)
    fields = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True)


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


class PageArgsSchema(Schema):
    page = fields.Integer(load_default=1, validate=number_range(1))
    per_page = fields.Integer(load_default=50, validate=number_range(1, 200))


_page_schemas: dict[type, type] = {}


def page_of(item_schema: type[Schema]) -> type[Schema]:
    """The list envelope {"items", "page", "per_page", "total"} around `item_schema`, one class per item."""
    if item_schema not in _page_schemas:
        name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
        _page_schemas[item_schema] = type(name, (Schema,), {
            "items": fields.List(fields.Nested(item_schema), required=True),
            "page": fields.Integer(required=True),
            "per_page": fields.Integer(required=True),
            "total": fields.Integer(required=True),
        })
    return _page_schemas[item_schema]


class TokenRequestSchema(Schema):
    email = fields.String(required=True, validate=length(min=1, max=254))
    password = fields.String(required=True, validate=length(min=1, max=1024),
                             load_only=True)


class TokenSchema(Schema):
    token = fields.String(required=True)
    expires_at = Instant(required=True)


class UnitSchema(Schema):
    code = fields.String(required=True, validate=[
        length(min=1, max=32),
        validate.Regexp(r"^[A-Za-z0-9_.-]+$", error=_l("Letters, digits, dot, dash and underscore only.")),
    ])
    name = fields.String(required=True, validate=length(min=1, max=255))
    level = fields.String(required=True, validate=one_of(level.value for level in UnitLevel))
    parent = fields.Method("_parent_code", deserialize="_load_parent", allow_none=True,
                           metadata={"type": ["string", "null"], "description": "The parent unit's code."})
    feed_url = fields.Method("_feed_url", dump_only=True,
                             metadata={"type": ["string", "null"],
                                       "description": "The unit's calendar feed, once calendar feeds exist."})

    def _parent_code(self, unit) -> str | None:
        return unit.parent.code if unit.parent else None

    def _load_parent(self, value):
        if value is not None and not isinstance(value, str):
            raise ValidationError(str(_l("Not a valid string.")))
        return value

    def _feed_url(self, unit) -> str | None:
        # Units get their feed token with the calendar feeds; until then there is no feed to point to.
        return None


class UserCreateSchema(Schema):
    email = fields.String(required=True, validate=length(min=3, max=254))
    name = fields.String(required=True, validate=length(min=1, max=255))
    password = fields.String(required=True, load_only=True, validate=length(min=1, max=1024))
    role = fields.String(required=True, validate=one_of(role.value for role in Role))
    unit = fields.String(load_default=None, allow_none=True, validate=length(max=32))
    business_id = fields.Integer(load_default=None, allow_none=True, strict=True)
    language = fields.String(load_default="vi", validate=one_of(["vi", "en"]))


class UserSchema(Schema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True)
    unit = fields.Function(lambda user: user.unit.code if user.unit else None,
                           metadata={"type": ["string", "null"]})
    business_id = fields.Integer(allow_none=True)
    active = fields.Boolean()
    language = fields.String()

