"""A page that shows the API's own OpenAPI document to people, without any script from elsewhere."""

from flask import Blueprint, current_app, render_template

bp = Blueprint("api_reference", __name__)


@bp.route("/help/api")
def page():
    spec = current_app.extensions["dialogue-api"].spec.to_dict()
    return render_template("api/reference.html", spec=spec)
