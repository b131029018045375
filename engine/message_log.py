"""Reading the message store: send history, recent single sends, the usage log and counts.

Nothing here changes a message; every list is a query over ``Message`` with the filters
declared once (``HISTORY_FIELDS``, ``USAGE_FIELDS``) for the pages and the JSON API alike.
Dates typed by people are local calendar days, turned into naive-UTC bounds here.
"""
from __future__ import annotations

import datetime as dt

from peewee import JOIN, fn

from engine import clock, sending
from engine.errors import ValidationError
from engine.models import Message, MessageTemplate, Order, User
from engine.schema import Field, parse
from engine.text import N_

STATUS_LABELS = {
    "queued": N_("Queued"), "held": N_("Held"), "sending": N_("Sending"), "sent": N_("Sent"),
    "failed": N_("Failed"), "unknown": N_("Unknown (check)"),
}
KIND_LABELS = {"SMS": "SMS", "LMS": "LMS", "MMS": "MMS", "ALIMTALK": N_("AlimTalk"),
               "EMAIL": N_("Email")}
KINDS = tuple(KIND_LABELS)
MAX_RECIPIENTS = 5000  # one bulk send; more must be narrowed down first


def _operator_choices():
    return [(str(u.id), u.display_name) for u in User.select().order_by(User.display_name)]


HISTORY_FIELDS = [
    Field("date_from", N_("From"), kind="date"),
    Field("date_to", N_("To"), kind="date"),
    Field("operator", N_("Operator"), kind="choice", choices=_operator_choices),
    Field("status", N_("Status"), kind="choice", choices=lambda: list(STATUS_LABELS.items())),
    Field("kind", N_("Type"), kind="choice", choices=lambda: list(KIND_LABELS.items())),
    Field("q", N_("Keyword"), max_length=100,
          placeholder=N_("Recipient, text or order no.")),
]

SINGLE_FIELDS = [f for f in HISTORY_FIELDS if f.name in ("date_from", "date_to", "operator", "q")]

USAGE_FIELDS = [
    Field("month", N_("Month"), max_length=7, placeholder="2026-03"),
    Field("q", N_("Keyword"), max_length=100, placeholder=N_("Destination or message id")),
]


def parse_history(raw: dict, tz, fields=None) -> dict:
    """Parse history filters; empty values mean "any"."""
    fields = fields or HISTORY_FIELDS
    values = parse(fields, {k: v for k, v in raw.items() if v not in (None, "")}, tz)
    start, end = values.get("date_from"), values.get("date_to")
    if start and end and end < start:
        raise ValidationError(N_("The end date is before the start date."), "date_to")
    return values


def _base():
    return (Message.select(Message, Order, User)
            .join(Order, JOIN.LEFT_OUTER, on=(Message.order == Order.id)).switch(Message)
            .join(User, JOIN.LEFT_OUTER, on=(Message.operator == User.id)))


def _keyword(query, keyword: str):
    keyword = (keyword or "").strip()
    if not keyword:
        return query
    like = f"%{keyword}%"
    clause = ((Message.to ** like) | (Message.body ** like) | (Message.subject ** like)
              | (Order.order_no ** like) | (Message.provider_id ** like))
    digits = keyword.replace("-", "").replace(" ", "")
    if digits.isdigit():
        clause |= Message.to ** f"%{digits}%"
        if len(digits) <= 12:
            clause |= (Message.order == int(digits)) | (Message.id == int(digits))
    return query.where(clause)


def history(filters: dict, tz, single: bool = False):
    """Messages matching parsed ``filters``, newest first.

    ``single`` keeps the typed-number sends of people (개별문자): no order, an operator, and
    not an automatic AlimTalk fallback.
    """
    query = _base()
    if filters.get("date_from"):
        query = query.where(Message.requested_at >=
                            clock.local_day_bounds(filters["date_from"], tz)[0])
    if filters.get("date_to"):
        query = query.where(Message.requested_at <
                            clock.local_day_bounds(filters["date_to"], tz)[1])
    if filters.get("operator"):
        query = query.where(Message.operator == int(filters["operator"]))
    if filters.get("status"):
        query = query.where(Message.status == filters["status"])
    if filters.get("kind"):
        query = query.where(Message.kind == filters["kind"])
    if filters.get("order_id"):
        query = query.where(Message.order == int(filters["order_id"]))
    if filters.get("batch"):
        query = query.where(Message.batch == filters["batch"])
    if single:
        query = query.where(Message.order.is_null() & Message.operator.is_null(False)
                            & Message.fallback_of.is_null())
    query = _keyword(query, filters.get("q"))
    return query.order_by(Message.requested_at.desc(), Message.id.desc())




def get(message_id: int) -> Message:
    message = _base().where(Message.id == message_id).first()
    if message is None:
        from engine.errors import NotFound
        raise NotFound(N_("No such message."))
    return message


# --- usage log (사용내역) -------------------------------------------------------------------

def parse_month(value: str | None, default: dt.date) -> tuple[int, int]:
    """"2026-03" → (2026, 3); empty → the month of ``default``."""
    value = (value or "").strip()
    if not value:
        return default.year, default.month
    try:
        year, month = (int(part) for part in value.split("-"))
        dt.date(year, month, 1)
    except (ValueError, TypeError):
        raise ValidationError(N_("%(label)s must be a month like 2026-03."), "month",
                              label=N_("Month"))
    if not 2000 <= year <= 2999:
        raise ValidationError(N_("%(label)s must be a month like 2026-03."), "month",
                              label=N_("Month"))
    return year, month


def month_bounds(year: int, month: int, tz) -> tuple[dt.datetime, dt.datetime]:
    """The naive-UTC [start, end) of a local calendar month."""
    start = dt.date(year, month, 1)
    end = dt.date(year + (month == 12), month % 12 + 1, 1)
    return clock.local_day_bounds(start, tz)[0], clock.local_day_bounds(end, tz)[0]


def usage(year: int, month: int, tz, keyword: str = ""):
    """The usage log of one local month, newest request first."""
    start, end = month_bounds(year, month, tz)
    query = _base().where((Message.requested_at >= start) & (Message.requested_at < end))
    return _keyword(query, keyword).order_by(Message.requested_at.desc(), Message.id.desc())


def previous_months(year: int, month: int, count: int = 12) -> list[tuple[int, int]]:
    """The ``count`` months ending with (year, month), oldest first."""
    result = []
    for back in range(count - 1, -1, -1):
        index = year * 12 + (month - 1) - back
        result.append((index // 12, index % 12 + 1))
    return result


def monthly_counts(year: int, month: int, tz, count: int = 12) -> list[dict]:
    """Messages per type for each of the ``count`` local months ending with (year, month).

    One grouped query per month keeps the month boundaries in the configured zone on
    SQLite and PostgreSQL alike.
    """
    rows = []
    for y, m in previous_months(year, month, count):
        start, end = month_bounds(y, m, tz)
        counts = {kind: 0 for kind in KINDS}
        for row in (Message.select(Message.kind, fn.COUNT(Message.id).alias("n"))
                    .where((Message.requested_at >= start) & (Message.requested_at < end))
                    .group_by(Message.kind).tuples()):
            counts[row[0]] = counts.get(row[0], 0) + row[1]
        rows.append({"year": y, "month": m, "label": f"{y}-{m:02d}", "counts": counts,
                     "total": sum(counts.values())})
    return rows


# --- progress of one send ------------------------------------------------------------------

def batch_status(batch: str, now: dt.datetime) -> dict:
    """Counts of one send for its progress bar; ``held`` = queued but not due yet (night ads,
    retry back-off), ``done`` once nothing is waiting to go out now."""
    counts = sending.batch_progress(batch)
    held = (Message.select().where((Message.batch == batch) & (Message.status == "queued")
                                   & (Message.send_after > now)).count())
    queued = counts.get("queued", 0) - held
    result = {"queued": queued, "held": held, "sending": counts.get("sending", 0),
              "sent": counts.get("sent", 0), "failed": counts.get("failed", 0),
              "unknown": counts.get("unknown", 0)}
    result["total"] = sum(result.values())
    result["done"] = result["queued"] + result["sending"] == 0
    return result


def order_message_counts(order_ids) -> dict[int, int]:
    """{order id: messages stored for it}, for a page of orders."""
    ids = [int(i) for i in order_ids]
    if not ids:
        return {}
    return dict(Message.select(Message.order, fn.COUNT(Message.id))
                .where(Message.order.in_(ids)).group_by(Message.order).tuples())


def single_templates():
    """Active templates a typed-number send can use: no order placeholders anywhere."""
    from engine import messaging
    return [t for t in MessageTemplate.select().where(MessageTemplate.active == True)  # noqa: E712
            .order_by(MessageTemplate.name)
            if t.kind != "alimtalk" and not messaging.placeholders(t.body)
            and not messaging.placeholders(t.subject)]


# --- the API's view of a message ------------------------------------------------------------

def message_dict(message: Message, tz) -> dict:
    return {
        "id": message.id, "provider_id": message.provider_id, "type": message.kind,
        "channel": message.channel, "status": message.status,
        "carrier_result": message.carrier_result or message.error or "",
        "requested_at": clock.iso(message.requested_at, tz),
        "sent_at": clock.iso(message.sent_at, tz), "to": message.to, "sender": message.sender,
        "subject": message.subject, "text": message.body, "bytes": message.bytes,
        "is_ad": message.is_ad, "order_id": message.order_id, "batch": message.batch,
        "template_id": message.template_id, "fallback_of": message.fallback_of_id,
        "operator": message.operator.username if message.operator_id else None,
    }
