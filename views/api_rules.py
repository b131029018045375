"""JSON API for rules under /api/v1/rules."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api_rules", __name__, url_prefix="/api/v1/rules")
