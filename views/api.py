"""JSON API under /api/v1, bound by the same roles as the UI."""
from __future__ import annotations

from flask import Blueprint, jsonify

from engine.errors import EngineError

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def error_response(exc: EngineError):
    body = {"error": {"code": exc.code, "message": exc.render(), "field": exc.field}}
    return jsonify(body), exc.status
