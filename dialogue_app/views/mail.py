"""The outbox for administrators (in production too), and the development mail folder (/dev/mail, only when
DEV_MAIL_DIR is set, as `make run` sets it)."""

from flask import Blueprint, Response, abort, render_template, request

from ..extensions import paginate
from ..mail import reading
from ..scope import requires

bp = Blueprint("mail", __name__)
dev = Blueprint("devmail", __name__)


@bp.route("/admin/outbox")
@requires("outbox")
def outbox():
    status = request.args.get("status", "").strip()
    page = paginate(reading.outbox_statement(status or None), per_page=50)
    return render_template("outbox/list.html", page=page, status=status, statuses=reading.STATUSES)


@bp.route("/admin/outbox/<int:message_id>")
@requires("outbox")
def outbox_message(message_id: int):
    message = reading.outbox_message(message_id) or abort(404)
    return render_template("outbox/message.html", message=message,
                           shown=reading.shown(reading.outbox_email(message)),
                           eml_url=f"{request.path}.eml")


@bp.route("/admin/outbox/<int:message_id>.eml")
@requires("outbox")
def outbox_eml(message_id: int):
    message = reading.outbox_message(message_id) or abort(404)
    return _eml(reading.outbox_email(message).as_bytes(), f"outbox-{message_id}.eml")


@dev.route("/dev/mail")
# Every mail the app sent, to every business and branch, with the answer links that act for their contacts:
# the administrator's, as the outbox is (development only, yet the demo has business accounts).
@requires("outbox")
def received():
    return render_template("outbox/received.html", messages=reading.received())


@dev.route("/dev/mail/<key>")
# Every mail the app sent, to every business and branch, with the answer links that act for their contacts:
# the administrator's, as the outbox is (development only, yet the demo has business accounts).
@requires("outbox")
def received_message(key: str):
    raw = reading.received_bytes(key) or abort(404)
    return render_template("outbox/message.html", message=None, shown=reading.shown(reading.parse(raw)),
                           eml_url=f"{request.path}.eml")


@dev.route("/dev/mail/<key>.eml")
# Every mail the app sent, to every business and branch, with the answer links that act for their contacts:
# the administrator's, as the outbox is (development only, yet the demo has business accounts).
@requires("outbox")
def received_eml(key: str):
    return _eml(reading.received_bytes(key) or abort(404), f"{key}.eml")


def _eml(raw: bytes, filename: str) -> Response:
    """The message as a file a mail program opens."""
    return Response(raw, mimetype="message/rfc822",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
