"""Master data pages: products with options and price tiers, channels and groups, suppliers."""
from __future__ import annotations

from flask import Blueprint

from views.web import render, requires

bp = Blueprint("catalog", __name__)


@bp.route("/products")
@requires("read")
def products():
    return render("catalog/products.html")
