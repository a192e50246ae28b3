from flask import Blueprint, render_template, request

from ..audit import services
from ..extensions import paginate
from ..scope import requires

bp = Blueprint("audit", __name__)


@bp.route("/admin/audit")
@requires("audit")
def entries():
    object_type = request.args.get("object_type", "").strip()
    page = paginate(services.entries_statement(object_type or None), per_page=50)
    return render_template("audit/entries.html", page=page, object_type=object_type)
