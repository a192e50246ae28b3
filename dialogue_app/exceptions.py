"""Errors the services raise when asked for something the data does not allow.

Views turn them into a form message, the API into its error shape: a service never knows which.
Messages are lazy translations, rendered in the language of whoever reads them.
"""


class ServiceError(Exception):
    """Base: `message` for people, `fields` maps a field name to its messages (may be empty)."""

    code = "bad_request"
    status = 400

    def __init__(self, message, fields: dict[str, list] | None = None):
        super().__init__(str(message))
        self.message = message
        self.fields = fields or {}


class InvalidData(ServiceError):
    code = "validation_error"
    status = 422

    @classmethod
    def on(cls, field: str, message) -> "InvalidData":
        return cls(message, {field: [message]})


class Conflict(ServiceError):
    code = "conflict"
    status = 409

    @classmethod
    def on(cls, field: str, message) -> "Conflict":
        return cls(message, {field: [message]})


class Forbidden(ServiceError):
    code = "forbidden"
    status = 403


class NotFound(ServiceError):
    code = "not_found"
    status = 404
