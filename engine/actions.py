"""What a rule can do: a registry of actions, each one registered function with its fields.

Built-ins register through ``register`` exactly like a new action would. Every action acts
through the same engine operation a person uses (so history, locks and events are the
same) and returns a short result; a failure is returned, logged in the run log and written
on the record's CS history, never swallowed.
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


ACTIONS: dict[str, ActionType] = {}


def register(type_: str, label: str, fields: list, sets: str | None = None,
             describe: Callable | None = None):
    """Register an action; the decorated function does it: ``fn(params, run) -> str``."""
    def decorate(fn):
        ACTIONS[type_] = ActionType(type_, label, fields, fn, sets, describe)
        return fn
    return decorate


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


@register("send_template", N_("Send a template"), [
    Field("template", N_("Template"), kind="choice", required=True, choices=_template_names),
    Field("sender", N_("Sender number"), kind="choice", choices=_sender_numbers),
])
def send_template(params, run: RunContext) -> str:
    """Send once per (event, rule, template, recipient): the idempotency key says so."""
    template = MessageTemplate.get(MessageTemplate.name == params["template"])
    sender = params.get("sender") or (SenderNumber.select().where(SenderNumber.registered == True)  # noqa: E712
                                      .order_by(SenderNumber.id).first() or SenderNumber()).number
    channel = template.kind
    raw = {"channel": channel, "template": str(template.id), "sender": sender or ""}
    values = parse(sending.SEND_FIELDS, raw)
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
])
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


def _check_webhook_url(values: dict, field_name: str) -> None:
    url = values.get("url") or ""
    if not url.startswith(("http://", "https://")):
        raise ValidationError(N_("A webhook URL starts with http:// or https://."), field_name)


EXTRA_CHECKS = {"call_webhook": _check_webhook_url}


def parse_actions(raw_actions) -> list[dict]:
    """Validate a rule's action list (form, TOML or API); errors name the action and field."""
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
