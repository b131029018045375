"""JSON API for messages under /api/v1/messages."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api_messages", __name__, url_prefix="/api/v1/messages")
