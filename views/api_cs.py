"""JSON API for the CS history and the channel cancels (bearer tokens, like views/api.py).

    GET  /api/v1/cs-history                         the CS history search, paged (``total``)
    POST /api/v1/cs-history/complete                {"ids": [...]}: mark lines processed
    POST /api/v1/channels/<id>/cancel-uploads       multipart ``file``: read and plan → preview
    GET  /api/v1/cancel-uploads/<id>                the stored preview (or the applied rows)
    POST /api/v1/cancel-uploads/<id>/confirm        apply the good rows (all or nothing)
    POST /api/v1/channels/<id>/cancel-withdrawals   {"order_no", "withdrawn_at", "note"}
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from flask import current_app, g, request
from flask_babel import force_locale

from engine import cancels, clock, cs_history, paging
from engine.errors import ValidationError
from engine.models import utcnow
from engine.text import N_
from views.api import (
    _body, _json, _language, api_blueprint, api_requires, list_request,
)

bp = api_blueprint("api_cs", __name__, "/api/v1")


def _tz():
    return current_app.config["TZ"]


def _context():
    from engine.orders import Context
    return Context(g.api_user, utcnow(), _tz())


@bp.route("/cs-history", methods=["GET"])
@api_requires("read")
def cs_history_list():
    """The CS history lines matching the CS history page's filters, one page at a time."""
    filters, page, per_page = list_request(lambda: cs_history.parse_search(
        {f.name: request.args.get(f.name) for f in cs_history.SEARCH_FIELDS}, _tz()))
    rows, total, page, pages = paging.paginate(cs_history.search(filters, _tz()), page,
                                               per_page)
    return _json({"history": [cs_history.history_dict(h, _tz()) for h in rows],
                  "total": total, "page": page, "pages": pages, "per_page": per_page})


@bp.route("/cs-history/complete", methods=["POST"])
@api_requires("operate")
def cs_history_complete():
    """Mark the given CS lines processed (CS선택완료)."""
    ids = _body().get("ids")
    done = cs_history.complete(ids if isinstance(ids, list) else [], _context())
    return _json({"completed": done})


def _upload_json(up, status: int = 200):
    with force_locale(_language()):
        rows = []
        for row in up.rows:
            problems = [{"column": p.get("column"), "header": p.get("header"),
                         "field": p.get("field"), "message": _problem_text(p)}
                        for p in row.get("problems", [])]
            rows.append({
                "row": row["row"], "empty": bool(row.get("empty")),
                "order_no": row.get("order_no"), "order_id": row.get("order_id"),
                "state": row.get("state"), "cs_state": row.get("cs_state"),
                "quantity": row.get("quantity"), "product_code": row.get("product_code"),
                "line_id": row.get("line_id"), "reason": row.get("reason"),
                "reason_used": row.get("reason_used"), "requested_at": row.get("requested_at"),
                "return_waybill": row.get("return_waybill"),
                "withdrawal": bool(row.get("withdrawal")), "action": row.get("action"),
                "ok": cancels.is_good(row), "problems": problems})
    return _json({"id": up.id, "channel_id": up.channel_id, "filename": up.filename,
                  "status": up.status, "created_at": clock.iso(up.created_at, _tz()),
                  "applied_at": clock.iso(up.applied_at, _tz()),
                  "summary": cancels.summary(up.rows), "rows": rows}, status)


def _problem_text(problem: dict) -> str:
    from views.cancels import problem_text
    return problem_text(problem)


@bp.route("/channels/<int:channel_id>/cancel-uploads", methods=["POST"])
@api_requires("operate")
def cancel_upload(channel_id):
    """Upload a channel's cancel file (multipart ``file``): the preview, nothing applied."""
    storage = request.files.get("file")
    if storage is None or not storage.filename:
        raise ValidationError(N_("Send the cancel file as the multipart field \"file\"."),
                              "file")
    handle = tempfile.NamedTemporaryFile(prefix="ruledesk-cancel-", suffix=".xlsx",
                                         delete=False)
    with handle:
        storage.save(handle)
    try:
        up = cancels.upload(channel_id, handle.name, storage.filename, _context())
    finally:
        Path(handle.name).unlink(missing_ok=True)
    return _upload_json(up, 201)


@bp.route("/cancel-uploads/<int:upload_id>", methods=["GET"])
@api_requires("read")
def cancel_upload_get(upload_id):
    return _upload_json(cancels.get_upload(upload_id))


@bp.route("/cancel-uploads/<int:upload_id>/confirm", methods=["POST"])
@api_requires("operate")
def cancel_upload_confirm(upload_id):
    """Apply the good rows of the upload in one transaction."""
    cancels.confirm(upload_id, _context())
    return _upload_json(cancels.get_upload(upload_id))


@bp.route("/channels/<int:channel_id>/cancel-withdrawals", methods=["POST"])
@api_requires("operate")
def cancel_withdrawal(channel_id):
    """Record a cancel the customer withdrew (취소철회), so the order is not missed."""
    withdrawal = cancels.record_withdrawal(channel_id, _body(), _context())
    return _json({"id": withdrawal.id, "order_id": withdrawal.order_id,
                  "order_no": withdrawal.order_no,
                  "withdrawn_at": clock.iso(withdrawal.withdrawn_at, _tz()),
                  "received_at": clock.iso(withdrawal.received_at, _tz()),
                  "note": withdrawal.note, "confirmed": withdrawal.confirmed}, 201)
