"""After-sales from a helpdesk ticket (seed 003): refund, coupon, return, repair, field service.

Each works on a ticket linked to an order, and only when the ticket's team offers that option
(``Team.after_sales``, set on the team form). Every operation is one transaction that writes
its record, links it to the ticket and writes one log line on the ticket
(``aftersales:<kind> <detail>``, kinds in ``LOG_KINDS``), so the ticket page shows it as a smart
link and its history says who did what. The view, the API and a rule action call the same
functions; ``refusal`` says why an option cannot be used now, so a disabled button can explain
itself with the very message the operation would raise.

- Refund: a credit note (대변전표) for an invoiced order (송장 or 배송): partial (1 … what is
  left) or full (what is left); refused once the credit notes add up to the order total.
- Coupon: generated from an active coupon programme whose conditions the order meets (minimum
  order total, products), with a random code and an expiry in local days; sent to the customer
  by email through ``engine.sending`` once per coupon and address.
- Return: a 회수 pickup through the order console's own ``pickup`` operation (same checks, CS
  history line and events), only for a shipped order, linked with ``TicketPickup``.
- Repair: a repair order for one of the order's lines; field service: a planned task. Both
  move through their statuses one step at a time (``set_repair_status``, ``set_task_status``).
"""
from __future__ import annotations

import datetime as dt
import secrets

from peewee import IntegrityError, fn

from engine import clock, events, history, sending, tickets
from engine.errors import NotFound, StateError, ValidationError
from engine.models import (
    Coupon, CouponProgram, CreditNote, FieldTask, Order, OrderLine, Pickup, Product,
    ProductOption, RepairOrder, Ticket, TicketPickup, User, db,
)
from engine.order_core import INVOICED, SHIPPED, STATE_LABELS, Context, line_of
from engine.schema import Field, parse
from engine.teams import AFTER_SALES
from engine.text import N_
from engine.users import rank, require

MAX_AMOUNT = 1_000_000_000

# the kinds of the ticket log lines this module writes: "aftersales:<kind> <detail>" (the
# ticket page words each kind as a sentence)
LOG_KINDS = ("refund", "coupon", "coupon_sent", "return", "repair", "field_service",
             "repair_status", "task_status")


def log_line(body: str) -> tuple[str, str] | None:
    """(kind, detail) of an after-sales log line, or None for any other line."""
    if not body.startswith("aftersales:"):
        return None
    kind, _, detail = body[len("aftersales:"):].partition(" ")
    return (kind, detail) if kind in LOG_KINDS else None


def _money(amount: int) -> str:
    return f"{amount:,}"


# --- the ticket and its order ----------------------------------------------------------------

def _usable(ticket: Ticket, option: str) -> StateError | None:
    """Why ``option`` cannot be used on ``ticket`` at all (team, merge, order), or None."""
    if option not in ticket.team.after_sales:
        return StateError(N_("%(label)s is not offered by the team %(team)s."),
                          label=AFTER_SALES[option], team=ticket.team.name)
    if ticket.merged_into_id:
        return StateError(N_("Ticket %(id)s was merged into %(into)s."), id=ticket.id,
                          into=ticket.merged_into_id)
    if not ticket.order_id:
        return StateError(N_("Link the ticket to an order first."))
    if ticket.order.deleted:
        return StateError(N_("Order %(id)s was deleted."), id=ticket.order_id)
    return None


def _ticket(ctx: Context, ticket_id, option: str) -> Ticket:
    """The ticket, when the actor may work it and the option is usable on it."""
    if ctx.actor is not None:
        require(ctx.actor, "operate")
    ticket = tickets.get(ticket_id, ctx.actor)
    refused = _usable(ticket, option)
    if refused:
        raise refused
    return ticket


def _lock(order_id: int) -> None:
    """Take the order's row lock before reading what was refunded.

    Two agents refunding the same order at once must not both see the same "left": an UPDATE
    that changes nothing locks the row until commit on PostgreSQL (SQLite transactions begin
    IMMEDIATE and are serialised already). The order's version is left alone, so no agent's
    open order panel goes stale.
    """
    Order.update(version=Order.version).where(Order.id == order_id).execute()


def refusal(ticket: Ticket, option: str) -> StateError | None:
    """Why ``option`` is refused on ``ticket`` now (the disabled button's reason), or None."""
    refused = _usable(ticket, option)
    if refused:
        return refused
    order = ticket.order
    if option == "refund":
        return _refund_refusal(order)
    if option == "return" and order.state != SHIPPED:
        return StateError(N_("Only a shipped order can be returned."))
    if option == "coupon" and not programs(active_only=True):
        return StateError(N_("There is no active coupon programme; add one in the settings."))
    if option == "repair" and not order.lines.exists():
        return StateError(N_("The order has no products to repair."))
    return None


def offered(ticket: Ticket) -> list[tuple[str, str, StateError | None]]:
    """The team's after-sales options for the ticket: (option, label, refusal or None)."""
    return [(option, label, refusal(ticket, option)) for option, label in AFTER_SALES.items()
            if option in ticket.team.after_sales]


# --- refund (credit note) --------------------------------------------------------------------

REFUND_METHODS = {"partial": N_("Partial refund"), "full": N_("Full refund")}

REFUND_FIELDS = [
    Field("method", N_("Credit method"), kind="choice", required=True,
          choices=lambda: list(REFUND_METHODS.items())),
    Field("amount", N_("Amount"), kind="int", min=1, max=MAX_AMOUNT),
    Field("reason", N_("Reason"), max_length=200),
]


def refunded(order_id: int) -> int:
    return (CreditNote.select(fn.COALESCE(fn.SUM(CreditNote.amount), 0))
            .where(CreditNote.order == order_id).scalar()) or 0


def refund_left(order: Order) -> int:
    """What is left to refund: the order total (cancelled quantities left out) minus the
    credit notes issued so far."""
    return max(0, order.total - refunded(order.id))


def _refund_refusal(order: Order) -> StateError | None:
    if order.state not in (INVOICED, SHIPPED):
        return StateError(N_("Only an invoiced order can be refunded (this one is %(state)s)."),
                          state=STATE_LABELS[order.state])
    if refund_left(order) <= 0:
        return StateError(N_("Order %(id)s is fully refunded already (%(amount)s)."),
                          id=order.id, amount=_money(refunded(order.id)))
    return None


def refund(ctx: Context, ticket_id, raw: dict) -> CreditNote:
    """Issue a credit note for the ticket's order: partial (an amount up to what is left) or
    full (what is left)."""
    values = parse(REFUND_FIELDS, raw, ctx.tz)
    with db.atomic():
        ticket = _ticket(ctx, ticket_id, "refund")
        _lock(ticket.order_id)
        order = Order.get_by_id(ticket.order_id)
        refused = _refund_refusal(order)
        if refused:
            raise refused
        left = refund_left(order)
        if values["method"] == "full":
            amount = left
        else:
            amount = values.get("amount")
            if amount is None:
                raise ValidationError(N_("%(label)s is required."), "amount", label=N_("Amount"))
            if amount > left:
                raise ValidationError(
                    N_("At most %(left)s is left to refund on this order."), "amount",
                    left=_money(left))
        note = CreditNote.create(ticket=ticket.id, order=order.id, method=values["method"],
                                 amount=amount, reason=values.get("reason") or "",
                                 created_at=ctx.now,
                                 created_by=ctx.actor.id if ctx.actor else None)
        tickets.log(ticket, ctx, f"aftersales:refund {_money(amount)}")
        # the order's CS history shows it too: the console and the helpdesk are one product
        history.record(order, "refund", ctx.actor, ctx.now,
                       detail=f"[환불 : {_money(amount)}, 티켓 #{ticket.id}]",
                       text=values.get("reason") or "")
    return note


# --- coupon programmes -----------------------------------------------------------------------

DISCOUNT_KINDS = {"amount": N_("Fixed amount (won)"), "percent": N_("Percentage")}

PROGRAM_FIELDS = [
    Field("name", N_("Programme name"), required=True, max_length=100),
    Field("discount_kind", N_("Discount type"), kind="choice", required=True,
          choices=lambda: list(DISCOUNT_KINDS.items())),
    Field("discount", N_("Discount"), kind="int", required=True, min=1, max=MAX_AMOUNT),
    Field("min_order_total", N_("Minimum order total"), kind="int", min=0, max=MAX_AMOUNT),
    Field("valid_days", N_("Valid for (days)"), kind="int", required=True, min=1, max=3650),
    Field("product_codes", N_("Product codes"), max_length=2000,
          placeholder=N_("Empty = any product; else codes separated by commas")),
    Field("active", N_("Active"), kind="bool"),
]


def _codes(raw) -> list[str]:
    """Product codes from a form (comma or newline separated text), TOML or JSON (a list)."""
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        raw = raw.replace("\n", ",").split(",")
    if not isinstance(raw, (list, tuple)) or not all(isinstance(v, str) for v in raw):
        raise ValidationError(N_("%(label)s must be a list of codes."), "product_codes",
                              label=N_("Product codes"))
    codes: list[str] = []
    for code in (v.strip() for v in raw):
        if code and code not in codes:
            codes.append(code)
    return codes


def validate_program(raw: dict) -> dict:
    """A coupon programme in its one schema (form, TOML, API) → the model's columns."""
    flat = {k: v for k, v in raw.items() if k != "product_codes"}
    flat.setdefault("discount_kind", "amount")
    if "active" not in flat:
        flat["active"] = True
    errors: dict = {}
    values: dict = {}
    try:
        values = parse([f for f in PROGRAM_FIELDS if f.name != "product_codes"], flat)
    except ValidationError as exc:
        errors.update(exc.errors)
    codes: list[str] = []
    try:
        codes = _codes(raw.get("product_codes"))
        known = ({p.code for p in Product.select(Product.code).where(Product.code.in_(codes))}
                 | {o.code for o in ProductOption.select(ProductOption.code)
                    .where(ProductOption.code.in_(codes))}) if codes else set()
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise ValidationError(N_("Unknown product code %(code)s."), "product_codes",
                                  code=unknown[0])
    except ValidationError as exc:
        errors["product_codes"] = exc
    if values.get("discount_kind") == "percent" and (values.get("discount") or 0) > 100:
        errors["discount"] = ValidationError(N_("A percentage discount is at most 100."),
                                             "discount")
    if errors:
        first = next(iter(errors.values()))
        raise ValidationError(first.message, first.field, errors=errors, **first.params)
    return {"name": values["name"], "discount_kind": values["discount_kind"],
            "discount": values["discount"], "min_order_total": values.get("min_order_total") or 0,
            "valid_days": values["valid_days"], "product_codes": codes,
            "active": bool(values.get("active"))}


def program_as_data(program: CouponProgram) -> dict:
    """The programme in its schema (what an export writes and the API reads back)."""
    return {"name": program.name, "discount_kind": program.discount_kind,
            "discount": program.discount, "min_order_total": program.min_order_total,
            "valid_days": program.valid_days, "product_codes": list(program.product_codes),
            "active": program.active}


def programs(active_only: bool = False) -> list[CouponProgram]:
    query = CouponProgram.select().order_by(CouponProgram.name)
    if active_only:
        query = query.where(CouponProgram.active == True)  # noqa: E712
    return list(query)


def get_program(program_id) -> CouponProgram:
    program = (CouponProgram.get_or_none(CouponProgram.id == int(program_id))
               if str(program_id).isdigit() and int(program_id) < 2**31 else None)
    if program is None:
        raise NotFound(N_("Coupon programme %(id)s does not exist."), id=program_id)
    return program


def save_program(actor: User | None, raw: dict, program_id=None) -> CouponProgram:
    """Create or change a coupon programme (settings)."""
    if actor is not None:
        require(actor, "settings")
    columns = validate_program(raw)
    with db.atomic():
        clash = CouponProgram.select().where(CouponProgram.name == columns["name"])
        if program_id is not None:
            clash = clash.where(CouponProgram.id != int(program_id))
        if clash.exists():
            raise ValidationError(N_("A coupon programme named %(name)s exists already."),
                                  "name", name=columns["name"])
        if program_id is None:
            return CouponProgram.create(**columns)
        program = get_program(program_id)
        for key, value in columns.items():
            setattr(program, key, value)
        program.save()
    return program


def delete_program(actor: User | None, program_id) -> None:
    """A programme that generated coupons is kept (they point at it): deactivate it instead."""
    if actor is not None:
        require(actor, "settings")
    with db.atomic():
        program = get_program(program_id)
        if Coupon.select().where(Coupon.program == program.id).exists():
            raise StateError(N_("The coupon programme %(name)s has coupons; deactivate it "
                                "instead."), name=program.name)
        program.delete_instance()


def describe(program: CouponProgram) -> tuple[str, dict]:
    """(message id, params) saying what a coupon of the programme is worth."""
    if program.discount_kind == "percent":
        return N_("%(n)s%% off"), {"n": program.discount}
    return N_("%(amount)s won off"), {"amount": _money(program.discount)}


# --- coupons ---------------------------------------------------------------------------------

COUPON_FIELDS = [
    Field("program_id", N_("Coupon programme"), kind="ref", required=True, max=2**31 - 1),
]
# no 0/O, 1/I/L: a code is read out on the phone and typed by hand
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def new_code() -> str:
    """A random coupon code like ``K7QM-2XPA-9RTD`` (secrets: codes must not be guessable)."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    return "-".join(raw[i:i + 4] for i in range(0, 12, 4))


def program_refusal(program: CouponProgram, order: Order) -> StateError | None:
    """Why the order does not meet the programme's conditions, or None."""
    if not program.active:
        return StateError(N_("The coupon programme %(name)s is not active."), name=program.name)
    total = order.total
    if total < program.min_order_total:
        return StateError(N_("The order total %(total)s is below the minimum of %(min)s for "
                             "%(name)s."), total=_money(total),
                          min=_money(program.min_order_total), name=program.name)
    if program.product_codes:
        wanted = set(program.product_codes)
        have = {code for line in OrderLine.select().where(OrderLine.order == order.id)
                for code in (line.product_code, line.option_code) if code}
        if not wanted & have:
            return StateError(N_("The order has none of the products of %(name)s (%(codes)s)."),
                              name=program.name, codes=", ".join(program.product_codes))
    return None


def generate_coupon(ctx: Context, ticket_id, raw: dict) -> Coupon:
    """Generate a coupon of a programme for the ticket's customer; it expires ``valid_days``
    local days from today."""
    values = parse(COUPON_FIELDS, raw, ctx.tz)
    with db.atomic():
        ticket = _ticket(ctx, ticket_id, "coupon")
        program = CouponProgram.get_or_none(CouponProgram.id == values["program_id"])
        if program is None:
            raise ValidationError(N_("Coupon programme %(id)s does not exist."), "program_id",
                                  id=values["program_id"])
        refused = program_refusal(program, ticket.order)
        if refused:
            raise refused
        today = clock.to_local(ctx.now, ctx.tz).date()
        coupon = None
        for _ in range(5):   # a clash among 31^12 codes is all but impossible; retry anyway
            try:
                with db.atomic():
                    coupon = Coupon.create(
                        program=program.id, code=new_code(), ticket=ticket.id,
                        expires_on=today + dt.timedelta(days=program.valid_days),
                        created_at=ctx.now, created_by=ctx.actor.id if ctx.actor else None)
                break
            except IntegrityError:
                continue
        if coupon is None:
            raise StateError(N_("No free coupon code was found; try again."))
        tickets.log(ticket, ctx, f"aftersales:coupon {coupon.code} ({program.name})")
    return coupon


def get_coupon(coupon_id, user: User | None = None) -> Coupon:
    """A coupon of a ticket ``user`` may see; else NotFound."""
    coupon = (Coupon.get_or_none(Coupon.id == int(coupon_id))
              if str(coupon_id).isdigit() and int(coupon_id) < 2**31 else None)
    if coupon is None or coupon.ticket_id is None:
        raise NotFound(N_("Coupon %(id)s does not exist."), id=coupon_id)
    tickets.get(coupon.ticket_id, user)
    return coupon


SEND_COUPON_FIELDS = [
    Field("subject", N_("Subject"), required=True, max_length=200),
    Field("body", N_("Message"), kind="textarea", required=True, max_length=4000),
]


def send_coupon(ctx: Context, coupon_id, raw: dict) -> sending.SendResult:
    """Email the coupon to the ticket's customer (the view prefills the text in the agent's
    language). Stored once per coupon and address: a double click sends one email."""
    if ctx.actor is not None:
        require(ctx.actor, "operate")
    values = parse(SEND_COUPON_FIELDS, raw, ctx.tz)
    with db.atomic():
        coupon = get_coupon(coupon_id, ctx.actor)
        ticket = _ticket(ctx, coupon.ticket_id, "coupon")
        to = (ticket.customer_email or "").strip()
        if not to:
            raise StateError(N_("The ticket has no customer email address to send the coupon "
                                "to."))
        if coupon.code not in values["body"]:
            raise ValidationError(N_("The message must contain the coupon code %(code)s."),
                                  "body", code=coupon.code)
        recipient = sending.Recipient(to, None, sending.ticket_variables(ticket))
        drafts = sending.compose({"channel": "email", "subject": values["subject"],
                                  "text": values["body"]}, [recipient], ctx.now, ctx.tz)
        bad = [d for d in drafts if not d.ok]
        if bad:
            message, params = bad[0].problems[0]
            raise ValidationError(message, "body", **params)
        result = sending.enqueue(drafts, f"ticket-{ticket.id}", ctx.actor, ctx.now,
                                 key=lambda d: f"coupon:{coupon.id}:email:{d.recipient.to}")
        if result.stored:
            coupon.sent_at = ctx.now
            coupon.save()
            tickets.log(ticket, ctx, f"aftersales:coupon_sent {coupon.code} → {to}")
    return result


# --- return (회수 pickup) ---------------------------------------------------------------------

def start_return(ctx: Context, ticket_id, raw: dict) -> Pickup:
    """Start a return: the order console's ``pickup`` operation (회수요청, with its checks,
    CS history line and events) on the ticket's shipped order, linked to the ticket."""
    from engine import orders   # the registry imports the concept modules

    with events.collecting(), db.atomic():
        ticket = _ticket(ctx, ticket_id, "return")
        refused = refusal(ticket, "return")
        if refused:
            raise refused
        orders.perform("pickup", ticket.order_id, raw, ctx)
        pickup = (Pickup.select().where(Pickup.order == ticket.order_id)
                  .order_by(Pickup.id.desc()).first())
        TicketPickup.create(ticket=ticket.id, pickup=pickup.id)
        tickets.log(ticket, ctx, f"aftersales:return #{pickup.id} {pickup.reason}")
    return pickup


def pickup_defaults(ticket: Ticket) -> dict:
    """The return dialog's starting values: the order's courier; register the goods as
    expected inbound stock unless a pickup of the order did already."""
    from engine import pickups
    return {"courier": ticket.order.courier or "",
            "register_inbound": not pickups.registered_inbound(ticket.order_id)}


# --- repair ----------------------------------------------------------------------------------

INVOICE_METHODS = {"before": N_("Before repair"), "after": N_("After repair"),
                   "none": N_("No invoice")}

REPAIR_FIELDS = [
    Field("line_id", N_("Product to repair"), kind="ref", required=True, max=2**31 - 1),
    Field("description", N_("Repair description"), kind="textarea", required=True,
          max_length=2000),
    Field("invoice_method", N_("Invoice method"), kind="choice", required=True,
          choices=lambda: list(INVOICE_METHODS.items())),
    Field("pickup_id", N_("Return"), kind="ref", max=2**31 - 1),
]


def create_repair(ctx: Context, ticket_id, raw: dict) -> RepairOrder:
    """A repair order for one product of the ticket's order, optionally tied to a return
    started from the ticket."""
    values = parse(REPAIR_FIELDS, raw, ctx.tz)
    with db.atomic():
        ticket = _ticket(ctx, ticket_id, "repair")
        line = line_of(ticket.order, values["line_id"], "line_id")
        pickup_id = values.get("pickup_id")
        if pickup_id and not TicketPickup.select().where(
                (TicketPickup.ticket == ticket.id) & (TicketPickup.pickup == pickup_id)).exists():
            raise ValidationError(N_("Pickup #%(id)s is not a return of this ticket."),
                                  "pickup_id", id=pickup_id)
        name = " ".join(p for p in (line.product_name, line.option_name) if p)
        repair = RepairOrder.create(
            ticket=ticket.id, order=ticket.order_id, order_line=line.id, product_name=name,
            description=values["description"], invoice_method=values["invoice_method"],
            pickup=pickup_id or None, created_at=ctx.now,
            created_by=ctx.actor.id if ctx.actor else None)
        tickets.log(ticket, ctx, f"aftersales:repair #{repair.id} {name}")
    return repair


# --- field service ---------------------------------------------------------------------------

def _assignee_choices():
    return [(str(u.id), u.display_name) for u in User.select().where(User.active == True)  # noqa: E712
            .order_by(User.display_name) if rank(u.role) >= rank("agent")]


FIELD_TASK_FIELDS = [
    Field("title", N_("Title"), required=True, max_length=200),
    Field("planned_on", N_("Planned date"), kind="date"),
    Field("assignee", N_("Assignee"), kind="choice", choices=_assignee_choices),
    Field("note", N_("Note"), kind="textarea", max_length=2000),
]


def create_field_task(ctx: Context, ticket_id, raw: dict) -> FieldTask:
    """Plan a field-service visit (현장 출동) from the ticket."""
    values = parse(FIELD_TASK_FIELDS, raw, ctx.tz)
    with db.atomic():
        ticket = _ticket(ctx, ticket_id, "field_service")
        task = FieldTask.create(
            ticket=ticket.id, title=values["title"], planned_on=values.get("planned_on"),
            assignee=int(values["assignee"]) if values.get("assignee") else None,
            note=values.get("note") or "", created_at=ctx.now,
            created_by=ctx.actor.id if ctx.actor else None)
        tickets.log(ticket, ctx, f"aftersales:field_service #{task.id} {task.title}")
    return task


# --- the status of a repair or a field task ----------------------------------------------------

REPAIR_STATUSES = {"draft": N_("Draft"), "confirmed": N_("Confirmed"), "done": N_("Done")}
TASK_STATUSES = {"planned": N_("Planned"), "done": N_("Done")}

# the allowed moves, (from, to) → the button that makes it: one step forward, or one back to
# undo a click made too early; never a jump (a draft repair is confirmed before it is done)
REPAIR_STEPS = {("draft", "confirmed"): N_("Confirm"), ("confirmed", "done"): N_("Mark done"),
                ("confirmed", "draft"): N_("Back to draft"), ("done", "confirmed"): N_("Reopen")}
TASK_STEPS = {("planned", "done"): N_("Mark done"), ("done", "planned"): N_("Reopen")}


def steps(record) -> list[tuple[str, str]]:
    """(status, button label) of every move allowed from the record's status now, forward
    first: the buttons of the records list."""
    table = REPAIR_STEPS if isinstance(record, RepairOrder) else TASK_STEPS
    return [(to, label) for (frm, to), label in table.items() if frm == record.status]


class StepRefused(StateError):
    """A status move that is not one step forward or back. ``allowed`` holds the status
    labels (message ids) it could go to; they are translated one by one, like ``state``."""

    def render(self, gettext=lambda s: s) -> str:
        params = dict(self.params)
        params["allowed"] = ", ".join(gettext(label) for label in params.get("allowed", ()))
        return StateError(self.message, self.field, **params).render(gettext)


REPAIR_TEXT = {
    "missing": N_("Repair order %(id)s does not exist."),
    "same": N_("Repair order #%(id)s is %(state)s already."),
    "step": N_("Repair order #%(id)s is %(state)s: it can only go to %(allowed)s (one step "
               "forward or back)."),
    "raced": N_("Repair order #%(id)s was changed by someone else meanwhile; reload the list."),
}
TASK_TEXT = {
    "missing": N_("Field-service task %(id)s does not exist."),
    "same": N_("Field-service task #%(id)s is %(state)s already."),
    "step": N_("Field-service task #%(id)s is %(state)s: it can only go to %(allowed)s."),
    "raced": N_("Field-service task #%(id)s was changed by someone else meanwhile; reload "
                "the list."),
}


def _set_status(ctx: Context, model, record_id, status, statuses: dict, table: dict,
                kind: str, text: dict):
    """Move a repair order or a field task to ``status`` along ``table``, in one transaction.

    Only the ticket's visibility and "operate" are asked for, not the team's after-sales
    options: work started on a ticket is finished even if the team stopped offering it since.
    The UPDATE names the status it read, so of two agents clicking at once one wins and the
    other is told the record changed (no lock held, the same on SQLite and PostgreSQL).
    """
    if ctx.actor is not None:
        require(ctx.actor, "operate")
    with db.atomic():
        record = (model.get_or_none(model.id == int(record_id))
                  if str(record_id).isdigit() and int(record_id) < 2**31 else None)
        if record is None:
            raise NotFound(text["missing"], id=record_id)
        ticket = tickets.get(record.ticket_id, ctx.actor)   # an invisible ticket: NotFound
        field = Field("status", N_("Status"), kind="choice", required=True,
                      choices=lambda: list(statuses.items()))
        new = parse([field], {"status": status}, ctx.tz)["status"]
        old = record.status
        if new == old:
            raise StateError(text["same"], "status", id=record.id,
                             state=statuses.get(old, old))
        if (old, new) not in table:
            raise StepRefused(text["step"], "status", id=record.id,
                              state=statuses.get(old, old),
                              allowed=[statuses[to] for (frm, to) in table if frm == old])
        changed = (model.update(status=new)
                   .where((model.id == record.id) & (model.status == old)).execute())
        if not changed:
            raise StateError(text["raced"], id=record.id)
        record.status = new
        tickets.log(ticket, ctx, f"aftersales:{kind} #{record.id} {old} → {new}")
    return record


def set_repair_status(ctx: Context, repair_id, status) -> RepairOrder:
    """Move a repair order draft → confirmed → done, or back one step."""
    return _set_status(ctx, RepairOrder, repair_id, status, REPAIR_STATUSES, REPAIR_STEPS,
                       "repair_status", REPAIR_TEXT)


def set_task_status(ctx: Context, task_id, status) -> FieldTask:
    """Mark a field-service task done (the customer sees it in the portal), or planned again."""
    return _set_status(ctx, FieldTask, task_id, status, TASK_STATUSES, TASK_STEPS,
                       "task_status", TASK_TEXT)


# --- what the ticket shows -------------------------------------------------------------------

def records(ticket: Ticket, kind: str) -> list:
    """The after-sales records of one kind on the ticket, oldest first (a smart link's list)."""
    if kind == "refund":
        return list(CreditNote.select().where(CreditNote.ticket == ticket.id)
                    .order_by(CreditNote.id))
    if kind == "coupon":
        return list(Coupon.select(Coupon, CouponProgram).join(CouponProgram)
                    .where(Coupon.ticket == ticket.id).order_by(Coupon.id))
    if kind == "return":
        return list(Pickup.select().join(TicketPickup)
                    .where(TicketPickup.ticket == ticket.id).order_by(Pickup.id))
    if kind == "repair":
        return list(RepairOrder.select().where(RepairOrder.ticket == ticket.id)
                    .order_by(RepairOrder.id))
    if kind == "field_service":
        return list(FieldTask.select().where(FieldTask.ticket == ticket.id)
                    .order_by(FieldTask.id))
    raise NotFound(N_("Unknown after-sales option %(name)s."), name=kind)


LINK_LABELS = {"refund": N_("Credit notes"), "coupon": N_("Coupons"), "return": N_("Returns"),
               "repair": N_("Repairs"), "field_service": N_("Field-service tasks")}


def smart_links(ticket: Ticket) -> list[tuple[str, str, int]]:
    """(kind, label, count) for every kind with at least one record on the ticket: the smart
    links (Odoo's smart buttons) at the top of the ticket."""
    counts = {
        "refund": CreditNote.select().where(CreditNote.ticket == ticket.id).count(),
        "coupon": Coupon.select().where(Coupon.ticket == ticket.id).count(),
        "return": TicketPickup.select().where(TicketPickup.ticket == ticket.id).count(),
        "repair": RepairOrder.select().where(RepairOrder.ticket == ticket.id).count(),
        "field_service": FieldTask.select().where(FieldTask.ticket == ticket.id).count(),
    }
    return [(kind, LINK_LABELS[kind], n) for kind, n in counts.items() if n]


def refund_summary(order: Order) -> dict:
    """Total, refunded and left of the ticket's order (the refund dialog shows them)."""
    done = refunded(order.id)
    return {"total": order.total, "refunded": done, "left": max(0, order.total - done)}

