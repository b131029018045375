"""What every order operation stands on: states, the ``Operation`` declaration, the context,
the optimistic-lock save and the CS-history-plus-event commit.

``engine.orders`` holds the registry (``OPERATIONS``) and ``perform``; the concept modules
(``combining``, ``order_lines``, ``copying``, ``priority``, ``pickups``) declare their
operations on top of this module only, so none of them imports ``engine.orders`` at import
time and the registry stays one dict.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable

from peewee import IntegrityError, fn

from engine import clock, events, history
from engine.errors import ConflictError, NotFound, StateError, ValidationError
from engine.models import (
    CancelReason, Channel, Courier, HandlingStatus, Order, ProductOption, Product, User, db,
)
from engine.schema import Field
from engine.text import N_
from engine.users import require

RECEIVED, INVOICED, SHIPPED = "접수", "송장", "배송"
STATES = (RECEIVED, INVOICED, SHIPPED)
NORMAL, PARTIAL, CANCELLED = "정상", "부분취소", "취소"
CS_STATES = (NORMAL, PARTIAL, CANCELLED)
STATE_LABELS = {RECEIVED: N_("Received"), INVOICED: N_("Invoiced"), SHIPPED: N_("Shipped")}
CS_STATE_LABELS = {NORMAL: N_("Normal"), PARTIAL: N_("Partly cancelled"),
                   CANCELLED: N_("Cancelled")}

CS_TEXT = Field("cs_text", N_("CS text"), kind="textarea", max_length=2000)

# The columns an operation saves (and whose changes raise events). ``priority`` is not
# among them: placing one order re-ranks others, which ``engine.priority`` writes itself.
ORDER_COLUMNS = ("channel", "order_no", "received_at", "buyer_name", "buyer_phone",
                 "buyer_mobile", "recipient_name", "recipient_phone", "recipient_mobile",
                 "zip_code", "address", "ship_memo", "shipping_fee", "state", "cs_state",
                 "cancel_reason", "hold", "hold_alarm_at", "handling_status", "courier",
                 "tracking_no", "invoiced_at", "shipped_at", "payment_status",
                 "payment_method", "shipping_list_exported", "delivery_date", "subscription",
                 "combine_group", "combine_forbidden", "priority_set_at", "priority_set_by",
                 "return_expected", "exchange_expected", "exchange_type", "deleted",
                 "deleted_at")


@dataclass
class Context:
    """Who acts, when, and in which zone: passed in, never read from globals.

    ``touched`` collects the ids of the other orders an operation changed (a combined
    group's members); ``result_id`` is the order an operation made (주문복사), which
    ``perform`` returns instead of the one it ran on.
    """

    actor: User | None
    now: dt.datetime
    tz: object = None
    touched: set = field(default_factory=set)
    result_id: int | None = None

    def __post_init__(self):
        self.tz = self.tz or clock.zone()


@dataclass(frozen=True)
class Operation:
    name: str
    label: str
    fields: list
    check: Callable
    apply: Callable
    bulk: bool = False
    danger: bool = False
    # the panel's button group: shipping | cancel | products | combine | returns | order |
    # payment (payments & fulfilment dates)
    group: str = "shipping"
    returns_new: bool = False   # the API answers with the order it made (ctx.result_id)


# --- choices ------------------------------------------------------------------------------

def courier_choices():
    return [(c.name, c.name) for c in Courier.ordered().where(Courier.active == True)]  # noqa: E712


def reason_choices():
    return [(r.name, r.name) for r in
            CancelReason.ordered().where(CancelReason.active == True)]  # noqa: E712


def channel_choices():
    return [(str(c.id), c.name) for c in Channel.active_ones()]


# --- reading -------------------------------------------------------------------------------

def require_operator(ctx: Context) -> None:
    """People need the "operate" capability; the system itself (actor None) always may."""
    if ctx.actor is not None:
        require(ctx.actor, "operate")


def get(order_id) -> Order:
    order = (Order.select(Order, Channel).join(Channel).where(Order.id == int(order_id)).first()
             if str(order_id).isdigit() and 0 < int(order_id) < 2**31 else None)
    if order is None:
        raise NotFound(N_("Order %(id)s does not exist."), id=order_id)
    return order


def refusal(op: Operation, order: Order) -> StateError | None:
    """The error saying why ``op`` is refused for ``order`` now, or None if it is allowed."""
    if order.deleted:
        return StateError(N_("Order %(id)s was deleted."), id=order.id,
                          state=STATE_LABELS[order.state])
    message = op.check(order)
    return StateError(message, id=order.id, state=STATE_LABELS[order.state]) if message else None


def option_for(option_id, field_name: str = "option_id") -> ProductOption:
    """An active product option, or a ValidationError on ``field_name``."""
    option = (ProductOption.select(ProductOption, Product).join(Product)
              .where((ProductOption.id == option_id) & (ProductOption.active == True)  # noqa: E712
                     & (Product.active == True)).first()  # noqa: E712
              if option_id else None)
    if option is None:
        raise ValidationError(N_("Choose an active product from the search."), field_name)
    return option


# --- saving -------------------------------------------------------------------------------

def snapshot(order: Order) -> dict:
    """The stored values of the order's columns (foreign keys as ids)."""
    return {name: order.__data__.get(name) for name in ORDER_COLUMNS}


def save(order: Order, ctx: Context, read_version: int) -> None:
    """Write the order if nobody saved it since ``read_version``; bump the version."""
    values = snapshot(order)  # raw column values: no lazy loads of related rows
    values.update(version=read_version + 1, updated_at=ctx.now, updated_by=ctx.actor)
    try:
        with db.atomic():
            done = (Order.update(**values)
                    .where((Order.id == order.id) & (Order.version == read_version)).execute())
    except IntegrityError:
        raise ValidationError(N_("Tracking number %(no)s is already used by another order."),
                              "tracking_no", no=order.tracking_no)
    if done != 1:
        raise conflict(order.id, ctx)
    order.version = read_version + 1
    order.updated_at, order.updated_by = ctx.now, ctx.actor


def conflict(order_id: int, ctx: Context) -> ConflictError:
    current = Order.get_by_id(order_id)
    who = current.updated_by.display_name if current.updated_by_id else "-"
    when = clock.to_local(current.updated_at, ctx.tz).strftime("%Y-%m-%d %H:%M:%S")
    return ConflictError(N_("This order was changed by %(who)s at %(when)s; reload it and try "
                            "again."), who=who, when=when)


def _event_value(name: str, value):
    """Rules speak of a handling status by its name, not its id."""
    if name == "handling_status" and value is not None:
        status = HandlingStatus.get_or_none(HandlingStatus.id == value)
        return status.name if status else None
    return value


def commit(order: Order, before: dict, read_version: int, operation: str, detail: str,
           cs_text: str, ctx: Context) -> None:
    """Save ``order``, write its CS history line and raise its change event."""
    save(order, ctx, read_version)
    history.record(order, operation, ctx.actor, ctx.now, detail, cs_text)
    after = snapshot(order)
    changes = {name: (_event_value(name, before[name]), _event_value(name, after[name]))
               for name in ORDER_COLUMNS if before[name] != after[name]}
    if changes:
        events.raise_event(events.Event("order", order.id, events.CHANGED, ctx.now,
                                        ctx.actor.id if ctx.actor else None, changes,
                                        key=f"v{order.version}"))


def change_other(other: Order, ctx: Context, operation: str, detail: str, cs_text: str,
                 change: Callable[[Order], None]) -> None:
    """Change another order inside the running operation (a group member), with its own
    optimistic lock, CS history line and event."""
    read_version = other.version
    before = snapshot(other)
    change(other)
    commit(other, before, read_version, operation, detail, cs_text, ctx)
    ctx.touched.add(other.id)


def generate_order_no(channel_id: int, ctx: Context) -> str:
    """M + local date + sequence, unique within the channel (seed: 미입력 시 자동생성)."""
    prefix = "M%s-" % clock.to_local(ctx.now, ctx.tz).strftime("%Y%m%d")
    taken = (Order.select(fn.COUNT(Order.id))
             .where((Order.channel == channel_id) & (Order.order_no.startswith(prefix))).scalar())
    n = taken + 1
    while Order.select().where((Order.channel == channel_id)
                               & (Order.order_no == f"{prefix}{n:04d}")).exists():
        n += 1
    return f"{prefix}{n:04d}"


def line_of(order: Order, line_id, field_name: str = "line_id"):
    """The order's line ``line_id``, or a ValidationError naming the field."""
    from engine.models import OrderLine
    line = (OrderLine.get_or_none((OrderLine.id == line_id) & (OrderLine.order == order.id))
            if line_id else None)
    if line is None:
        raise ValidationError(N_("Choose one of the order's lines."), field_name)
    return line
