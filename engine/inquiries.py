"""Inquiries collected from the marketplaces (문의: product Q&A, urgent messages, reviews).

문의 수집 stores them (engine/connectors); an agent reads them here and writes the answer,
which waits as "pending" until 문의답변 전송 pushes it (or "retry now" does at once). An answer
already sent is never changed here: the marketplace has it.
"""
from __future__ import annotations

from peewee import JOIN

from engine import clock
from engine.connectors import (
    ANSWER_STATUSES, KIND_LABELS, _Report, adapter_for, push_answers,
)
from engine.errors import EngineError, NotFound, StateError, ValidationError
from engine.models import Channel, Inquiry, Order, User, db
from engine.schema import Field, parse
from engine.text import N_
from engine.users import require

MAX_ANSWER = 2000


def _channel_choices():
    return [(str(c.id), c.name) for c in
            Channel.select().where(Channel.connector.is_null(False)).order_by(Channel.name)]


SEARCH_FIELDS = [
    Field("channel", N_("Channel"), kind="choice", choices=_channel_choices),
    Field("kind", N_("Inquiry type"), kind="choice", choices=lambda: list(KIND_LABELS.items())),
    Field("answer_status", N_("Answer"), kind="choice",
          choices=lambda: list(ANSWER_STATUSES.items())),
    Field("date_from", N_("Asked from"), kind="date"),
    Field("date_to", N_("Asked to"), kind="date"),
    Field("q", N_("Keyword"), max_length=100,
          placeholder=N_("Title, text, author, order number")),
]
ANSWER_FIELDS = [Field("answer", N_("Answer"), kind="textarea", required=True,
                       max_length=MAX_ANSWER)]


def parse_search(raw: dict, tz=None) -> dict:
    return parse(SEARCH_FIELDS, {k: v for k, v in raw.items() if v not in (None, "")}, tz)


def search(filters: dict, tz=None):
    """Inquiries matching parsed ``filters``, newest question first."""
    tz = tz or clock.zone()
    answerer = User.alias()
    query = (Inquiry.select(Inquiry, Channel, Order, answerer)
             .join(Channel).switch(Inquiry)
             .join(Order, JOIN.LEFT_OUTER).switch(Inquiry)
             .join(answerer, JOIN.LEFT_OUTER, on=(Inquiry.answered_by == answerer.id))
             .order_by(Inquiry.asked_at.desc(), Inquiry.id.desc()))
    if filters.get("channel"):
        query = query.where(Inquiry.channel == int(filters["channel"]))
    if filters.get("kind"):
        query = query.where(Inquiry.kind == filters["kind"])
    if filters.get("answer_status"):
        query = query.where(Inquiry.answer_status == filters["answer_status"])
    if filters.get("date_from"):
        query = query.where(Inquiry.asked_at >= clock.local_day_bounds(filters["date_from"],
                                                                       tz)[0])
    if filters.get("date_to"):
        query = query.where(Inquiry.asked_at < clock.local_day_bounds(filters["date_to"], tz)[1])
    for word in (filters.get("q") or "").split():
        like = f"%{word}%"
        query = query.where((Inquiry.title ** like) | (Inquiry.body ** like)
                            | (Inquiry.author ** like) | (Inquiry.order_no ** like))
    return query


def get(inquiry_id) -> Inquiry:
    found = (Inquiry.get_or_none(Inquiry.id == int(inquiry_id))
             if str(inquiry_id).isdigit() and int(inquiry_id) < 2**31 else None)
    if found is None:
        raise NotFound(N_("Inquiry %(id)s does not exist."), id=inquiry_id)
    return found


def answer(inquiry_id, text, actor, now) -> Inquiry:
    """Write (or rewrite) the answer; the next 문의답변 전송 run pushes it."""
    require(actor, "operate")
    values = parse(ANSWER_FIELDS, {"answer": text})
    with db.atomic():
        inquiry = get(inquiry_id)
        if inquiry.answer_status == "sent":
            raise StateError(N_("This answer was already sent to the marketplace; it cannot "
                                "be changed here."))
        done = (Inquiry.update(answer=values["answer"], answer_status="pending",
                               answer_error="", answered_by=actor, answered_at=now)
                .where((Inquiry.id == inquiry.id) & (Inquiry.answer_status != "sent"))
                .execute())
        if done != 1:
            raise StateError(N_("This answer was already sent to the marketplace; it cannot "
                                "be changed here."))
    return get(inquiry.id)


def retry(inquiry_ids, actor, now) -> dict:
    """"Send now": push the chosen pending or failed answers at once, channel by channel; a
    channel whose marketplace fails does not stop the others. Returns the counts."""
    require(actor, "operate")
    if isinstance(inquiry_ids, (str, int)):
        inquiry_ids = [inquiry_ids]
    ids = sorted({int(i) for i in inquiry_ids or [] if str(i).isdigit() and int(i) < 2**31})
    if not ids:
        raise ValidationError(N_("Select at least one row."), "ids")
    chosen = list(Inquiry.select().where(Inquiry.id.in_(ids)
                                         & Inquiry.answer_status.in_(("pending", "failed")))
                  .order_by(Inquiry.id))
    if not chosen:
        raise StateError(N_("None of the chosen inquiries has an answer waiting to be sent."))
    report = _Report(sent=0, failed=0)
    by_channel: dict[int, list] = {}
    for inquiry in chosen:
        by_channel.setdefault(inquiry.channel_id, []).append(inquiry)
    for channel_id, items in by_channel.items():
        channel = Channel.get_by_id(channel_id)
        try:
            push_answers(adapter_for(channel), items, now, report)
        except EngineError as exc:
            report.line("%s: %s" % (channel.name, exc.render()))
    return report.result()
