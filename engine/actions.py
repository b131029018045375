"""What a rule can do: a registry of actions, each one registered function with its fields.

Built-ins register through ``register`` exactly like a new action would. Every action acts
through the same engine operation a person uses (so history, locks and events are the
same) and returns a short result; a failure is returned, logged in the run log and written
on the record's CS history (or the ticket's log), never swallowed.

An action declares the records it works on (``records``): an order action on a ticket rule
is refused when the rule is saved, not first when it fires.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Callable

from engine import history, orders, sending
from engine.errors import EngineError, ValidationError
from engine.models import (
    HandlingStatus, MessageTemplate, Order, Rule, SenderNumber, db,
)
from engine.schema import Field, parse
from engine.text import N_

log = logging.getLogger("ruledesk.actions")

@dataclass(frozen=True)
class ActionType:
    type: str
    label: str
    fields: list
    run: Callable            # run(params, run_context) -> str
    sets: str | None = None  # the record field it sets, for conflict warnings
    describe: Callable | None = None  # what a dry run says it would do
    records: tuple = ("order",)       # the rule records (engine.rules.RECORD_TYPES) it acts on
    check: Callable | None = None     # check(values, record, field prefix): save-time checks


@dataclass
class RunContext:
    rule: Rule
    event: object
    record: dict
    now: dt.datetime
    dry_run: bool = False

    @property
    def ctx(self) -> orders.Context:
        return orders.Context(None, self.now)

    @property
    def note(self) -> str:
        return f"[자동화] {self.rule.name}"

    def order(self) -> Order:
        return orders.get(self.event.record_id)

    def ticket(self):
        from engine import tickets
        return tickets.get(self.event.record_id)


ACTIONS: dict[str, ActionType] = {}


def register(type_: str, label: str, fields: list, sets: str | None = None,
             describe: Callable | None = None, records: tuple = ("order",),
             check: Callable | None = None):
    """Register an action; the decorated function does it: ``fn(params, run) -> str``."""
    def decorate(fn):
        ACTIONS[type_] = ActionType(type_, label, fields, fn, sets, describe, records, check)
        return fn
    return decorate


def for_record(record: str) -> list[ActionType]:
    """The actions a rule on ``record`` may use (the rule form offers only these)."""
    return [a for a in ACTIONS.values() if record in a.records]


def _status_names():
    return [(s.name, s.name) for s in HandlingStatus.ordered()]


def _template_names():
    return [(t.name, t.name) for t in MessageTemplate.select().order_by(MessageTemplate.name)]


def _sender_numbers():
    return [(s.number, s.number) for s in SenderNumber.select()]


SUBSCRIPTION_STATUSES = [("有効", "有効"), ("停止", "停止"), ("キャンセル", "キャンセル")]


@register("set_handling_status", N_("Set handling status"), [
    Field("status", N_("Handling status"), kind="choice", required=True, choices=_status_names),
], sets="handling_status")
def set_handling_status(params, run: RunContext) -> str:
    status = HandlingStatus.get(HandlingStatus.name == params["status"])
    order = run.order()
    if order.handling_status_id == status.id:
        return f"already {status.name}"
    orders.perform("set_handling_status", order.id,
                   {"handling_status": str(status.id), "cs_text": run.note}, run.ctx)
    return f"handling status → {status.name}"


@register("hold", N_("Hold the order"), [], sets="hold")
def hold(params, run: RunContext) -> str:
    if run.order().hold:
        return "already held"
    orders.perform("hold", run.event.record_id, {"cs_text": run.note}, run.ctx)
    return "held"


@register("release", N_("Release the hold"), [], sets="hold")
def release(params, run: RunContext) -> str:
    if not run.order().hold:
        return "not held"
    orders.perform("release", run.event.record_id, {"cs_text": run.note}, run.ctx)
    return "released"


@register("set_subscription_status", N_("Set subscription status"), [
    Field("status", N_("Subscription status"), kind="choice", required=True,
          choices=lambda: SUBSCRIPTION_STATUSES),
], sets="subscription_status")
def set_subscription_status(params, run: RunContext) -> str:
    from engine import subscriptions
    order = run.order()
    if not order.subscription_id:
        return "no subscription"
    subscriptions.set_status(order.subscription_id, params["status"], run.ctx)
    return f"subscription → {params['status']}"


def _check_template_context(values: dict, record: str, prefix: str) -> None:
    """A template's placeholders must be ones the rule's record fills: an order rule sends
    order templates; a ticket rule sends ticket templates or order ones (a ticket knows its
    order's values); job-result templates belong to jobs."""
    template = MessageTemplate.get_or_none(MessageTemplate.name == values.get("template"))
    if template is None:
        return
    if template.context == "job":
        raise ValidationError(N_("The template %(name)s is written for job results; a rule "
                                 "cannot send it."), f"{prefix}-template", name=template.name)
    if template.context == "ticket" and record != "ticket":
        raise ValidationError(N_("The template %(name)s is written for tickets; an order rule "
                                 "cannot send it."), f"{prefix}-template", name=template.name)


@register("send_template", N_("Send a template"), [
    Field("template", N_("Template"), kind="choice", required=True, choices=_template_names),
    Field("sender", N_("Sender number"), kind="choice", choices=_sender_numbers),
], records=("order", "ticket"), check=_check_template_context)
def send_template(params, run: RunContext) -> str:
    """Send once per (event, rule, template, recipient): the idempotency key says so.

    On an order rule it goes to the order's recipient; on a ticket rule to the ticket's
    customer (email address or phone, by the template's kind), filled from the ticket."""
    template = MessageTemplate.get(MessageTemplate.name == params["template"])
    sender = params.get("sender") or (SenderNumber.select().where(SenderNumber.registered == True)  # noqa: E712
                                      .order_by(SenderNumber.id).first() or SenderNumber()).number
    channel = template.kind
    raw = {"channel": channel, "template": str(template.id), "sender": sender or ""}
    values = parse(sending.SEND_FIELDS, raw)
    if run.event.record == "ticket":
        ticket = run.ticket()
        to = ticket.customer_email if channel == "email" else ticket.customer_phone
        if not to:
            raise ValidationError(N_("The ticket has no customer email address.")
                                  if channel == "email" else
                                  N_("The ticket has no customer phone number."), "template")
        recipients = [sending.Recipient(to, ticket.order if ticket.order_id else None,
                                        sending.ticket_variables(ticket))]
    else:
        recipients = sending.recipients_for_orders([run.event.record_id], channel)
    drafts = sending.compose(values, recipients, run.now, run.ctx.tz)
    problems = [d.problems[0] for d in drafts if not d.ok]
    if problems:
        message, params_ = problems[0]
        raise ValidationError(message, "template", **params_)
    event = run.event
    stem = f"rule:{run.rule.id}:{event.record}:{event.record_id}:{event.key or event.at}"
    result = sending.enqueue(drafts, f"rule-{run.rule.id}", None, run.now, sender=sender or "",
                             template_id=template.id,
                             key=lambda d: f"{stem}:{template.id}:{d.recipient.to}")
    if result.duplicates and not result.stored:
        return f"{template.name}: already sent for this event"
    return f"{template.name} → {', '.join(m.to for m in result.stored)}"


@register("payment_process", N_("Run a payment process"), [
    Field("process", N_("Process"), kind="choice", required=True,
          choices=lambda: [("reauthorize", N_("Re-authorisation")), ("cancel", N_("Cancel"))]),
], sets="payment_status")
def payment_process(params, run: RunContext) -> str:
    from engine import payments
    return payments.run_process(run.event.record_id, params["process"], run.ctx, run.note)


@register("write_cs_line", N_("Write a CS history line"), [
    Field("text", N_("Text"), kind="textarea", required=True, max_length=2000),
])
def write_cs_line(params, run: RunContext) -> str:
    with db.atomic():
        history.record(run.order(), "note", None, run.now, run.note, params["text"])
    return "CS line written"


@register("call_webhook", N_("Call a webhook"), [
    Field("url", N_("URL"), required=True, max_length=500),
    Field("secret", N_("Signing secret"), max_length=200),
    Field("timeout", N_("Timeout (seconds)"), kind="int", min=1, max=30),
], records=("order", "ticket"))
def call_webhook(params, run: RunContext) -> str:
    """POST the event and record as JSON, signed with HMAC-SHA256 when a secret is set."""
    if run.dry_run:
        return f"would POST to {params['url']}"
    body = json.dumps({
        "rule": run.rule.name, "event": {"record": run.event.record,
                                         "id": run.event.record_id, "kind": run.event.kind,
                                         "changes": {k: [str(a) if a is not None else None,
                                                         str(b) if b is not None else None]
                                                     for k, (a, b) in run.event.changes.items()}},
        "record": {k: (v.isoformat() if isinstance(v, dt.datetime) else v)
                   for k, v in run.record.items()},
    }, ensure_ascii=False, default=str).encode()
    request = urllib.request.Request(params["url"], data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    if params.get("secret"):
        digest = hmac.new(params["secret"].encode(), body, hashlib.sha256).hexdigest()
        request.add_header("X-Ruledesk-Signature", f"sha256={digest}")
    try:
        with urllib.request.urlopen(request, timeout=params.get("timeout") or 5) as response:
            return f"webhook {response.status}"
    except urllib.error.HTTPError as exc:
        raise ValidationError(N_("The webhook answered %(code)s."), "url", code=exc.code)
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise ValidationError(N_("The webhook could not be reached: %(error)s"), "url",
                              error=str(getattr(exc, "reason", exc)))


# --- helpdesk tickets (seed 004) ------------------------------------------------------------

def _team_names():
    from engine.models import Team
    return [(t.name, t.name) for t in Team.select().where(Team.active == True)  # noqa: E712
            .order_by(Team.sort_order, Team.name)]


def _stage_names():
    from engine import stages
    return [(s.name, s.name) for s in stages.ordered()]


def _assignees():
    from engine.models import User
    from engine.users import rank
    people = [(u.username, u.display_name) for u in User.select().where(User.active == True)  # noqa: E712
              .order_by(User.display_name) if rank(u.role) >= rank("agent")]
    return [("auto", N_("Automatic assignment"))] + people


def _check_ticket_subject(values: dict, record: str, prefix: str) -> None:
    """The subject's #{…} placeholders are the order's (#{주문번호}…), checked at save time."""
    from engine import messaging
    for name in ("subject", "description"):
        messaging.check_placeholders(values.get(name) or "", list(sending.ORDER_VARIABLES),
                                     f"{prefix}-{name}")


@register("create_ticket", N_("Open a helpdesk ticket"), [
    Field("team", N_("Team"), kind="choice", required=True, choices=_team_names),
    Field("subject", N_("Subject"), required=True, max_length=200,
          placeholder=N_("e.g. Cancel after shipping #{주문번호}")),
    Field("description", N_("Description"), kind="textarea", max_length=2000),
], records=("order",), check=_check_ticket_subject)
def create_ticket(params, run: RunContext) -> str:
    """A ticket on the order's customer, linked to the order, once per event: a re-fired
    event (same rule, order and event key) finds the ticket it made and makes none."""
    from engine import messaging, tickets
    from engine.models import Team, Ticket, TicketMessage

    order = run.order()
    event = run.event
    marker = f"rule:{run.rule.name} [{run.rule.id}:{event.kind}:{event.key or event.at}]"
    with db.atomic():
        made = (Ticket.select(Ticket.id).join(TicketMessage)
                .where((Ticket.order == order.id) & (TicketMessage.body == marker)).first())
        if made is not None:
            return f"ticket #{made.id} already opened for this event"
        team = Team.get_or_none((Team.name == params["team"]) & (Team.active == True))  # noqa: E712
        if team is None:
            raise ValidationError(N_("Unknown team %(name)s."), "team", name=params["team"])
        variables = sending.order_variables(order)
        raw = {"team_id": str(team.id), "order_id": order.id,
               "subject": messaging.substitute(params["subject"], variables)[:200],
               "description": messaging.substitute(params.get("description") or "", variables)}
        ctx = orders.Context(None, run.now)
        ticket = tickets.create_ticket(ctx, raw, source="rule")
        tickets.log(ticket, ctx, marker)
    return f"ticket #{ticket.id} opened in {team.name}"


@register("assign_ticket", N_("Assign the ticket"), [
    Field("user", N_("Assignee"), kind="choice", required=True, choices=_assignees),
], records=("ticket",), sets="assignee")
def assign_ticket(params, run: RunContext) -> str:
    """Give the ticket to a person, or to the team's automatic assignment (only when nobody
    has it yet: an assigned ticket keeps its person)."""
    from engine import tickets
    from engine.models import User

    ticket = run.ticket()
    ctx = orders.Context(None, run.now)
    if params["user"] == "auto":
        if ticket.assignee_id:
            return f"already assigned to {ticket.assignee.display_name}"
        ticket = tickets.assign(ctx, ticket.id, "auto")
        return f"assigned to {ticket.assignee.display_name} (auto)"
    user = User.get_or_none(User.username == params["user"])
    if user is None:
        raise ValidationError(N_("Unknown user %(name)s."), "user", name=params["user"])
    if ticket.assignee_id == user.id:
        return f"already assigned to {user.display_name}"
    tickets.assign(ctx, ticket.id, user.id)
    return f"assigned to {user.display_name}"


@register("move_ticket_stage", N_("Move the ticket to a stage"), [
    Field("stage", N_("Stage"), kind="choice", required=True, choices=_stage_names),
], records=("ticket",), sets="stage")
def move_ticket_stage(params, run: RunContext) -> str:
    """Move the ticket to a stage of its team (sending that stage's templates)."""
    from engine import tickets
    from engine.models import Stage

    ticket = run.ticket()
    stage = Stage.get_or_none(Stage.name == params["stage"])
    if stage is None:
        raise ValidationError(N_("Unknown stage %(name)s."), "stage", name=params["stage"])
    if ticket.stage_id == stage.id:
        return f"already in {stage.name}"
    tickets.move_stage(orders.Context(None, run.now), ticket.id, stage.id)
    return f"stage → {stage.name}"


def _check_webhook_url(values: dict, field_name: str) -> None:
    url = values.get("url") or ""
    if not url.startswith(("http://", "https://")):
        raise ValidationError(N_("A webhook URL starts with http:// or https://."), field_name)


EXTRA_CHECKS = {"call_webhook": _check_webhook_url}


RECORD_WORDS = {"order": N_("orders"), "ticket": N_("tickets")}


def parse_actions(raw_actions, record: str = "order") -> list[dict]:
    """Validate a rule's action list (form, TOML or API) for a rule on ``record``; errors
    name the action and field."""
    if raw_actions is None or raw_actions == []:
        raise ValidationError(N_("A rule needs at least one action."), "actions")
    if not isinstance(raw_actions, list):
        raise ValidationError(N_("Actions must be a list."), "actions")
    parsed, errors = [], {}
    for index, raw in enumerate(raw_actions):
        prefix = f"actions-{index}"
        if not isinstance(raw, dict) or raw.get("type") not in ACTIONS:
            errors[f"{prefix}-type"] = ValidationError(
                N_("Action %(n)d: unknown type; use one of: %(types)s"), f"{prefix}-type",
                n=index + 1, types=", ".join(ACTIONS))
            continue
        action = ACTIONS[raw["type"]]
        if record not in action.records:
            errors[f"{prefix}-type"] = ValidationError(
                N_("Action %(n)d: %(label)s works on %(state)s, not on this rule's records; "
                   "use one of: %(types)s"), f"{prefix}-type", n=index + 1, label=action.label,
                state=RECORD_WORDS.get(action.records[0], action.records[0]),
                types=", ".join(a.type for a in for_record(record)))
            continue
        known = [f.name for f in action.fields]
        unknown = [key for key in raw if key != "type" and key not in known]
        for key in unknown:  # a misspelt optional parameter would otherwise be dropped silently
            errors[f"{prefix}-{key}"] = ValidationError(
                N_("Action %(n)d: unknown parameter %(name)s; use: %(fields)s"),
                f"{prefix}-{key}", n=index + 1, name=key, fields=", ".join(known) or "-")
        try:
            values = parse(action.fields, raw)
            if action.type in EXTRA_CHECKS:
                EXTRA_CHECKS[action.type](values, f"{prefix}-url")
            if action.check is not None:
                action.check(values, record, prefix)
        except ValidationError as exc:
            for name, err in (exc.errors or {exc.field: exc}).items():
                key = name if name.startswith(prefix) else f"{prefix}-{name}"
                errors[key] = ValidationError(N_("Action %(n)d: %(problem)s"), key, n=index + 1,
                                              problem=err.render())
            continue
        if unknown:
            continue
        parsed.append({"type": action.type,
                       **{k: v for k, v in values.items() if v not in (None, "")}})
    if errors:
        first = next(iter(errors.values()))
        raise ValidationError(first.message, first.field, errors=errors, **first.params)
    return parsed


def run_actions(rule: Rule, event, record: dict, now: dt.datetime,
                dry_run: bool = False) -> list[dict]:
    """Run a matched rule's actions in order; each result says ok or the error."""
    run = RunContext(rule, event, record, now, dry_run)
    results = []
    for params in rule.actions:
        action = ACTIONS.get(params.get("type"))
        try:
            if action is None:
                raise ValidationError(N_("Unknown action %(type)s."), type=params.get("type"))
            outcome = action.run(params, run)
            results.append({"type": params.get("type"), "ok": True, "result": outcome})
        except EngineError as exc:
            results.append({"type": params.get("type"), "ok": False, "error": exc.render()})
        except Exception as exc:  # an action's bug must show in the log, not stop the cascade
            results.append({"type": params.get("type"), "ok": False,
                            "error": f"{exc.__class__.__name__}: {exc}"})
    failed = [r for r in results if not r["ok"]]
    if failed and event.record == "ticket":
        try:
            from engine import tickets
            from engine.models import Ticket
            with db.atomic():
                ticket = Ticket.get_or_none(Ticket.id == event.record_id)
                if ticket is not None:
                    tickets.log(ticket, orders.Context(None, now),
                                f"rule_failed:{rule.name}: " + "; ".join(
                                    f"{r['type']}: {r['error']}" for r in failed))
        except Exception:
            log.exception("could not write the failure of rule %s on ticket %s", rule.name,
                          event.record_id)
    if failed and event.record == "order":
        try:
            with db.atomic():
                order = Order.get_or_none(Order.id == event.record_id)
                if order is not None:
                    history.record(order, "note", None, now, f"[자동화 실패] {rule.name}",
                                   "; ".join(f"{r['type']}: {r['error']}" for r in failed))
        except Exception:  # the run log still has the failure; say why this line is missing
            log.exception("could not write the failure of rule %s on order %s", rule.name,
                          event.record_id)
    return results


def describe_actions(rule_actions: list[dict]) -> list[str]:
    """What a dry run says the actions would do."""
    lines = []
    for params in rule_actions:
        action = ACTIONS.get(params.get("type"))
        shown = ", ".join(f"{k}={v}" for k, v in params.items() if k not in ("type", "secret"))
        lines.append(f"{params.get('type')}({shown})" if action else f"? {params}")
    return lines
