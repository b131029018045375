"""JSON API for messages under /api/v1/messages: preview, send, history.

Same bearer tokens, roles and error bodies as ``views.api``; the same engine path as the
console (``sending.prepare`` for a preview, ``sending.send`` to store), so the API cannot send
what the screens refuse. ``Idempotency-Key`` is the send's batch key: a retried request with
the same key stores nothing again and answers 200 with the number of duplicates.
"""
from __future__ import annotations

import re

from flask import g, request
from flask_babel import force_locale, gettext

from engine import clock, message_log, paging, sending
from engine.errors import ValidationError
from engine.models import utcnow
from engine.schema import Field, parse
from engine.text import N_
from views.api import (
    _body, _json, _language, _tz, api_blueprint, api_requires, error_response,
)

bp = api_blueprint("api_messages", __name__, "/api/v1/messages")

KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
TYPE_ALIASES = {"알림톡": "ALIMTALK", "KAKAO": "ALIMTALK", "MAIL": "EMAIL"}
LIST_FIELDS = [
    Field("from", N_("From"), kind="date"),
    Field("to_date", N_("To"), kind="date"),
    Field("status", N_("Status"), kind="choice",
          choices=lambda: list(message_log.STATUS_LABELS.items())),
    Field("type", N_("Type"), kind="choice", choices=lambda: list(message_log.KIND_LABELS.items())),
    Field("q", N_("Keyword"), max_length=100),
    Field("order_id", N_("Order"), kind="int", min=1),
    Field("page", N_("Page"), kind="int", min=1),
    Field("per_page", N_("Per page"), kind="int", min=1, max=200),
]


def _text(value):
    """Strings and numbers pass as strings; anything else is left for the schema to refuse."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, (int, str)):
        return str(value)
    return value


def _request(body: dict) -> tuple[dict, dict]:
    """(SEND_FIELDS raw values, recipients) of a preview or send body."""
    channel = body.get("channel", body.get("kind"))
    sender = body.get("sender")
    if isinstance(sender, str):
        sender = re.sub(r"[\s-]", "", sender)
    raw = {"channel": _text(channel), "sender": _text(sender),
           "template": _text(body.get("template")), "subject": _text(body.get("subject")),
           "text": _text(body.get("text")),
           "is_ad": "1" if body.get("is_ad") in (True, 1, "1", "true") else ""}
    ids = body.get("order_ids")
    if ids is None and body.get("order_id") is not None:
        ids = [body["order_id"]]
    to = body.get("to")
    if ids is not None and to not in (None, [], ""):
        raise ValidationError(N_("Give either order ids or \"to\" numbers, not both."), "to")
    if ids is not None:
        if not isinstance(ids, list) or not all(
                isinstance(i, int) and not isinstance(i, bool) and i > 0
                or isinstance(i, str) and i.isascii() and i.isdigit() for i in ids):
            raise ValidationError(N_("order_ids must be a list of order ids."), "order_ids")
        if len(ids) > message_log.MAX_RECIPIENTS:
            raise ValidationError(N_("At most %(max)s orders can be sent to at once."),
                                  "order_ids", max=f"{message_log.MAX_RECIPIENTS:,}")
        return raw, {"order_ids": [int(i) for i in ids]}
    if isinstance(to, str):
        to = [part for part in re.split(r"[\n,;]+", to) if part.strip()]
    if to is not None and (not isinstance(to, list) or not all(isinstance(t, str) for t in to)):
        raise ValidationError(N_("\"to\" must be a list of phone numbers or email addresses."),
                              "to")
    if to is not None and len(to) > message_log.MAX_RECIPIENTS:
        raise ValidationError(N_("At most %(max)s orders can be sent to at once."), "to",
                              max=f"{message_log.MAX_RECIPIENTS:,}")
    return raw, {"to": to or []}


def _translate(items) -> list[str]:
    result = []
    for text, params in items:
        text = gettext(text)
        result.append(text % params if params else text)
    return result


def _draft_dict(draft) -> dict:
    fallback = None
    if draft.fallback is not None:
        fallback = {"type": draft.fallback.kind, "bytes": draft.fallback.bytes,
                    "text": draft.fallback.body}
    return {"to": draft.recipient.to,
            "order_id": draft.recipient.order.id if draft.recipient.order else None,
            "type": draft.kind, "channel": draft.channel, "bytes": draft.bytes,
            "subject": draft.subject, "text": draft.body, "is_ad": draft.is_ad,
            "ok": draft.ok, "problems": _translate(draft.problems),
            "notes": _translate(draft.notes), "fallback": fallback,
            "send_after": clock.iso(draft.send_after, _tz())}


@bp.route("/preview", methods=["POST"])
@api_requires("operate")
def preview():
    """What each recipient would get, after placeholders, with every problem; stores nothing."""
    raw, recipients = _request(_body())
    _, drafts = sending.prepare(raw, utcnow(), _tz(), **recipients)
    with force_locale(_language()):
        items = [_draft_dict(d) for d in drafts]
    return _json({"recipients": items, "total": len(items),
                  "sendable": sum(1 for d in drafts if d.ok)})


@bp.route("", methods=["POST"])
@api_requires("operate")
def send():
    """Store the messages of one send; the scheduler delivers them."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if key and not KEY.match(key):
        raise ValidationError(N_("The Idempotency-Key header must be 1 to 64 letters, digits "
                                 "or . _ : -"), "Idempotency-Key")
    raw, recipients = _request(_body())
    batch = key or sending.new_batch_key()
    now = utcnow()
    result = sending.send(raw, g.api_user, now, _tz(), batch, **recipients)
    with force_locale(_language()):
        skipped = [_draft_dict(d) for d in result.skipped]
        if not result.stored and not result.duplicates:
            response = error_response(ValidationError(
                N_("Nothing was sent: every recipient has a problem."), None))
            body = response.get_json()
            body["error"]["skipped"] = skipped
            return _json(body, 422)
    return _json({"batch": batch, "stored": [m.id for m in result.stored],
                  "messages": [message_log.message_dict(m, _tz()) for m in result.stored],
                  "duplicates": result.duplicates, "skipped": skipped},
                 201 if result.stored else 200)


@bp.route("", methods=["GET"])
@api_requires("read")
def history():
    """The send history with the usage-log fields, newest first, one page at a time."""
    raw = {f.name: request.args.get(f.name) for f in LIST_FIELDS}
    if raw.get("type"):
        kind = raw["type"].strip().upper()
        raw["type"] = TYPE_ALIASES.get(kind, TYPE_ALIASES.get(raw["type"].strip(), kind))
    values = parse(LIST_FIELDS, {k: v for k, v in raw.items() if v not in (None, "")}, _tz())
    if values.get("from") and values.get("to_date") and values["to_date"] < values["from"]:
        raise ValidationError(N_("The end date is before the start date."), "to_date")
    filters = {"date_from": values.get("from"), "date_to": values.get("to_date"),
               "status": values.get("status"), "kind": values.get("type"),
               "q": values.get("q"), "order_id": values.get("order_id")}
    per_page = values.get("per_page") or 50
    rows, total, page, pages = paging.paginate(message_log.history(filters, _tz()),
                                                    values.get("page") or 1, per_page)
    return _json({"messages": [message_log.message_dict(m, _tz()) for m in rows],
                  "total": total, "page": page, "pages": pages, "per_page": per_page})


@bp.route("/<int:message_id>", methods=["GET"])
@api_requires("read")
def get_message(message_id):
    """One message with its usage-log fields."""
    return _json(message_log.message_dict(message_log.get(message_id), _tz()))
