from flask import Blueprint, render_template, request
from sqlalchemy import select

from ..audit.models import AuditEntry
from ..auth.access import roles_required
from ..auth.models import Role
from ..extensions import db

bp = Blueprint("audit", __name__)


@bp.route("/admin/audit")
@roles_required(Role.ADMIN)
def entries():
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc())
    object_type = request.args.get("object_type", "").strip()
    if object_type:
        stmt = stmt.where(AuditEntry.object_type == object_type)
    page = db.paginate(stmt, per_page=50, error_out=False)
    return render_template("audit/entries.html", page=page, object_type=object_type)
