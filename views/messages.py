"""Messages: bulk and single sends, templates, macros, sender numbers, history and usage."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("messages", __name__, url_prefix="/messages")
