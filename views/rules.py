"""Automation: rules (event → condition → actions), dry run, run log, change history."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("rules", __name__, url_prefix="/rules")
