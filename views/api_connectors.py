"""JSON API for what the marketplace connectors bring in: ``/api/v1/inquiries``.

``GET /api/v1/inquiries`` lists inquiries with the inquiry list's filters (channel id, kind,
answer_status, date_from, date_to, q) and paging; ``POST /api/v1/inquiries/<id>/answer``
with ``{"answer": "…"}`` writes the answer the next 문의답변 전송 run sends (the same function
as the page). Reading needs "read", answering "operate".
"""
from __future__ import annotations

from flask import current_app, g, request

from engine import clock, inquiries, paging
from engine.models import utcnow
from views.api import api_blueprint, api_requires, list_request
from views.api import json_body as _body, json_response as _json

bp = api_blueprint("api_connectors", __name__, "/api/v1/inquiries")


def _tz():
    return current_app.config["TZ"]


def inquiry_dict(i) -> dict:
    tz = _tz()
    return {"id": i.id, "channel": i.channel.name, "external_id": i.external_id,
            "kind": i.kind, "asked_at": clock.iso(i.asked_at, tz), "title": i.title,
            "body": i.body, "author": i.author, "order_no": i.order_no,
            "order_id": i.order_id, "product_code": i.product_code, "ticket_id": i.ticket_id,
            "answer": i.answer, "answer_status": i.answer_status,
            "answer_error": i.answer_error, "answered_at": clock.iso(i.answered_at, tz),
            "answer_sent_at": clock.iso(i.answer_sent_at, tz)}


@bp.route("", methods=["GET"])
@api_requires("read")
def list_inquiries():
    """List inquiries, newest question first, one page at a time."""
    filters, page, per_page = list_request(lambda: inquiries.parse_search(
        {f.name: request.args[f.name] for f in inquiries.SEARCH_FIELDS if f.name in request.args},
        _tz()))
    rows, total, page, pages = paging.paginate(inquiries.search(filters, _tz()), page, per_page)
    return _json({"inquiries": [inquiry_dict(i) for i in rows],
                  "total": total, "page": page, "pages": pages, "per_page": per_page})


@bp.route("/<int:inquiry_id>", methods=["GET"])
@api_requires("read")
def get_inquiry(inquiry_id):
    return _json(inquiry_dict(inquiries.get(inquiry_id)))


@bp.route("/<int:inquiry_id>/answer", methods=["POST"])
@api_requires("operate")
def answer(inquiry_id):
    """Write the answer; 문의답변 전송 sends it. An answer already sent is refused (409)."""
    body = _body()
    text = body.get("answer")
    saved = inquiries.answer(inquiry_id, text if isinstance(text, str) else "", g.api_user,
                             utcnow())
    return _json(inquiry_dict(saved))
