"""CS history search and completion (seed 002, CS내역조회).

Every operation writes a CS history line; here they are searched across orders (date,
operator, channel, supplier, order and CS state, processed or not, operation, cancel and
exchange type, keyword), completed one by one or in bulk (CS선택완료 / CS일괄완료), and a new
line can be added to the orders of the selected lines (CS선택중복).
"""
from __future__ import annotations

from peewee import JOIN

from engine import clock, history, orders
from engine.errors import ValidationError
from engine.models import (
    CancelReason, Channel, ChannelGroup, CsHistory, Order, OrderLine, Product, ProductOption,
    Supplier, User, db,
)
from engine.schema import Field, parse
from engine.text import N_
from engine.users import require

# operations whose history line records a cancel reason ("[취소사유 : …]")
CANCEL_OPERATIONS = ("cancel", "partial_cancel")
# 교환타입 (seed 002, 반품통계)
EXCHANGE_TYPES = ("단순교환", "불량교환", "오배송교환", "품질교환", "상품교환")
NOTE = "note"
NOTE_FIELD = Field("text", N_("CS text"), kind="textarea", required=True, max_length=2000)


def _operator_choices():
    return [(str(u.id), u.display_name) for u in User.select().order_by(User.display_name)]


def _group_choices():
    return [(str(g.id), g.name) for g in ChannelGroup.select().order_by(ChannelGroup.name)]


def _channel_choices():
    return [(str(c.id), c.name) for c in Channel.select().order_by(Channel.name)]


def _supplier_choices():
    return [(str(s.id), s.name) for s in Supplier.select().order_by(Supplier.name)]


def _operation_choices():
    # read at call time: the order operations may register more labels
    return list(history.OPERATION_LABELS.items())


def _cancel_type_choices():
    return [(r.name, r.name) for r in CancelReason.ordered()]


def _exchange_type_choices():
    return [(name, name) for name in EXCHANGE_TYPES]


def _processed_choices():
    return [("0", N_("Not processed")), ("1", N_("Processed"))]


SEARCH_FIELDS = [
    Field("date_from", N_("From"), kind="date"),
    Field("date_to", N_("To"), kind="date"),
    Field("operator", N_("Operator"), kind="choice", choices=_operator_choices),
    Field("group", N_("Channel group"), kind="choice", choices=_group_choices),
    Field("channel", N_("Channel"), kind="choice", choices=_channel_choices),
    Field("supplier", N_("Supplier"), kind="choice", choices=_supplier_choices),
    Field("state", N_("Order state"), kind="choice",
          choices=lambda: list(orders.STATE_LABELS.items())),
    Field("cs_state", N_("CS state"), kind="choice",
          choices=lambda: list(orders.CS_STATE_LABELS.items())),
    Field("processed", N_("Processed"), kind="choice", choices=_processed_choices),
    Field("operation", N_("Operation"), kind="choice", choices=_operation_choices),
    Field("cancel_type", N_("Cancel type"), kind="choice", choices=_cancel_type_choices),
    Field("exchange_type", N_("Exchange type"), kind="choice", choices=_exchange_type_choices),
    Field("q", N_("Keyword"), max_length=100,
          placeholder=N_("Order no., our order no., recipient, CS text")),
]


def parse_search(raw: dict, tz) -> dict:
    """Parse the page's or the API's filters; empty values mean "any"."""
    return parse(SEARCH_FIELDS, {k: v for k, v in raw.items() if v not in (None, "")}, tz)


def search(filters: dict, tz):
    """The history lines matching parsed ``filters``, newest first, with order and channel."""
    operator = User.alias()
    query = (CsHistory.select(CsHistory, Order, Channel, operator)
             .join(Order).join(Channel).switch(CsHistory)
             .join(operator, JOIN.LEFT_OUTER, on=(CsHistory.operator == operator.id)))
    return _filtered(query, filters, tz).order_by(CsHistory.created_at.desc(),
                                                   CsHistory.id.desc())


def _filtered(query, filters: dict, tz):
    if filters.get("date_from"):
        query = query.where(CsHistory.created_at
                            >= clock.local_day_bounds(filters["date_from"], tz)[0])
    if filters.get("date_to"):
        query = query.where(CsHistory.created_at
                            < clock.local_day_bounds(filters["date_to"], tz)[1])
    if filters.get("operator"):
        query = query.where(CsHistory.operator == int(filters["operator"]))
    if filters.get("group"):
        query = query.where(Channel.group == int(filters["group"]))
    if filters.get("channel"):
        query = query.where(Order.channel == int(filters["channel"]))
    if filters.get("supplier"):
        supplied = (OrderLine.select(OrderLine.order).join(ProductOption).join(Product)
                    .where(Product.supplier == int(filters["supplier"])))
        query = query.where(CsHistory.order.in_(supplied))
    if filters.get("state"):
        query = query.where(Order.state == filters["state"])
    if filters.get("cs_state"):
        query = query.where(Order.cs_state == filters["cs_state"])
    if filters.get("processed"):
        query = query.where(CsHistory.processed == (filters["processed"] == "1"))
    if filters.get("operation"):
        query = query.where(CsHistory.operation == filters["operation"])
    if filters.get("cancel_type"):
        query = query.where(CsHistory.operation.in_(CANCEL_OPERATIONS)
                            & (CsHistory.detail.contains(filters["cancel_type"])))
    if filters.get("exchange_type"):
        kind = filters["exchange_type"]
        clause = CsHistory.detail.contains(kind) | CsHistory.text.contains(kind)
        if hasattr(Order, "exchange_type"):  # the order's own 교환타입, when the store has it
            clause |= Order.exchange_type == kind
        query = query.where(clause)
    keyword = (filters.get("q") or "").strip()
    if keyword:
        like = f"%{keyword}%"
        clause = ((Order.order_no ** like) | (Order.recipient_name ** like)
                  | (CsHistory.text ** like) | (CsHistory.detail ** like))
        digits = keyword.replace("-", "")
        if digits.isascii() and digits.isdigit() and len(digits) <= 12:
            clause |= Order.id == int(digits)
        query = query.where(clause)
    return query




def for_order(order_id: int) -> list[CsHistory]:
    """Every history line of one order, newest first (the "+" of a row)."""
    return list(history.for_order(order_id))


# --- completion ---------------------------------------------------------------------------------

def _ids(values) -> list[int]:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        return []
    return sorted({int(v) for v in values if str(v).isdigit() and int(v) < 2**31})


def complete(history_ids, ctx) -> int:
    """CS선택완료: mark the selected lines processed; returns how many changed."""
    require(ctx.actor, "operate")
    ids = _ids(history_ids)
    if not ids:
        raise ValidationError(N_("Select at least one CS line."), "ids")
    with db.atomic():
        return (CsHistory.update(processed=True, processed_at=ctx.now, processed_by=ctx.actor)
                .where(CsHistory.id.in_(ids) & (CsHistory.processed == False))  # noqa: E712
                .execute())


def matching_ids(filters: dict, tz):
    """The ids of the lines a search finds (a subquery, no ordering)."""
    query = CsHistory.select(CsHistory.id).join(Order).join(Channel)
    return _filtered(query, filters, tz)


def count_open(filters: dict, tz) -> int:
    return (matching_ids(filters, tz).where(CsHistory.processed == False)  # noqa: E712
            .count())


def complete_matching(filters: dict, ctx) -> int:
    """CS일괄완료: mark every unprocessed line the search finds processed."""
    require(ctx.actor, "operate")
    subquery = matching_ids(filters, ctx.tz).where(CsHistory.processed == False)  # noqa: E712
    with db.atomic():
        ids = [row.id for row in subquery]
        done = 0
        for start in range(0, len(ids), 500):
            done += (CsHistory.update(processed=True, processed_at=ctx.now,
                                      processed_by=ctx.actor)
                     .where(CsHistory.id.in_(ids[start:start + 500])
                            & (CsHistory.processed == False))  # noqa: E712
                     .execute())
        return done


def add_note(history_ids, raw: dict, ctx) -> list[int]:
    """CS선택중복: a new (unprocessed) CS line with the text on each order of the selected lines.

    Goes through the order operation ``note`` when the console has one, so the line is
    written exactly as the order panel writes it; returns the order ids.
    """
    require(ctx.actor, "operate")
    ids = _ids(history_ids)
    if not ids:
        raise ValidationError(N_("Select at least one CS line."), "ids")
    text = parse([NOTE_FIELD], raw, ctx.tz)["text"]
    order_ids = sorted({row.order_id for row in
                        CsHistory.select(CsHistory.order).where(CsHistory.id.in_(ids))})
    if not order_ids:
        raise ValidationError(N_("Select at least one CS line."), "ids")
    write_note(order_ids, text, ctx)
    return order_ids


def write_note(order_ids: list[int], text: str, ctx, detail: str = "") -> None:
    """One ``note`` line per order, all in one transaction."""
    from engine import events

    operation = orders.OPERATIONS.get(NOTE)
    with events.collecting(), db.atomic():
        for order_id in order_ids:
            if operation is not None and not detail:
                orders.perform(NOTE, order_id, {"cs_text": text, "text": text}, ctx)
            else:
                history.record(orders.get(order_id), NOTE, ctx.actor, ctx.now, detail, text)


def history_dict(entry: CsHistory, tz) -> dict:
    """One line of the search as the API shows it."""
    order = entry.order
    return {
        "id": entry.id, "at": clock.iso(entry.created_at, tz),
        "order_id": entry.order_id, "order_no": order.order_no, "channel": order.channel.name,
        "recipient": order.recipient_name, "order_state": order.state,
        "order_cs_state": order.cs_state,
        "operator": entry.operator.display_name if entry.operator_id else None,
        "operation": entry.operation, "detail": entry.detail, "text": entry.text,
        "processed": entry.processed, "processed_at": clock.iso(entry.processed_at, tz),
    }
