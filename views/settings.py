"""Settings: handling statuses, couriers, cancel reasons, users."""
from __future__ import annotations

from flask import Blueprint

from views.web import render, requires

bp = Blueprint("settings", __name__, url_prefix="/settings")


@bp.route("/")
@requires("read")
def index():
    return render("settings/index.html")
