"""`POST /api/v1/signatures/verify`: the digital signatures of any PDF, each checked (shared/brief/API.md)."""

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from ..minutes import signed
from .schemas import Instant

blp = Blueprint("signatures_api", __name__, url_prefix="/api/v1/signatures",
                description="Digital signatures of PDF documents")


class VerifyUploadSchema(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary", "description": "Any PDF."})


class SignatureSchema(Schema):
    signer = fields.String(required=True, metadata={"description": "The certificate's holder."})
    signed_at = Instant(allow_none=True, metadata={"description": "The timestamp's time, else the signer's clock."})
    valid = fields.Boolean(required=True, metadata={"description": "Sound, by a trusted certificate valid then."})
    intact = fields.Boolean(required=True, metadata={
        "description": "Unchanged since signed: later updates only add signatures and validation data."})
    covers_whole_document = fields.Boolean(required=True, metadata={
        "description": "Signs every byte of the file (validation data added after a B-LT signature aside)."})
    trusted = fields.Boolean(metadata={"description": "The certificate chains to a configured trust root."})
    timestamped = fields.Boolean(metadata={"description": "Carries an RFC 3161 timestamp."})
    field = fields.String(metadata={"description": "The signature field's name."})
    problems = fields.List(fields.String(), metadata={"description": "What is wrong, in the reader's language."})


class VerifySchema(Schema):
    signatures = fields.List(fields.Nested(SignatureSchema), required=True)


@blp.route("/verify")
class Verify(MethodView):
    @blp.arguments(VerifyUploadSchema, location="files")
    @blp.response(200, VerifySchema)
    def post(self, data):
        """Check every signature of a PDF: who, when, valid, unchanged since, covering the whole file. Nothing
        is kept. 422 for a file that is not a readable, unencrypted PDF."""
        reports = signed.verify(data["file"].read())
        return {"signatures": [{
            "signer": r.signer, "signed_at": r.signed_at, "valid": r.valid, "intact": r.intact,
            "covers_whole_document": r.covers_whole_document, "trusted": r.trusted, "timestamped": r.timestamped,
            "field": r.field_name, "problems": [str(p) for p in r.problems]} for r in reports]}
