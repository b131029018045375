"""Event → condition → action rules, interpreted at runtime (seed 001, ecforce 自動化設定).

A rule is declared data (``RULE_FIELDS``: one schema for the form, TOML files and the API).
Conditions are ``rule-engine`` expressions compiled once per (rule, version) with a typed
context built from the record's whitelisted fields, and evaluated on plain dicts only, so a
user's expression cannot reach Python objects. Expressions that could hang the process
(``$range``, non-literal or nested-quantifier regexes) are refused when the rule is saved.

Rules are indexed by trigger, so an event only evaluates rules that can match it. Actions
change records through the same operations as people do; the events those changes raise
run in the same *cascade*, where a rule fires at most once per record and the cascade stops
at depth 8 with a log line naming the rules that looped.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
import time
from collections import deque
from dataclasses import dataclass, field

import rule_engine
import rule_engine.errors
from peewee import fn
from rule_engine import DataType

from engine import events
from engine.errors import NotFound, ValidationError
from engine.models import Order, OrderLine, Rule, RuleChange, RuleRun, User, db, utcnow
from engine.schema import Field, parse
from engine.text import N_
from engine.users import require

log = logging.getLogger("ruledesk.rules")

MAX_DEPTH = 8
SLOW_SECONDS = 0.05

EVENTS = {
    "created": N_("is created"),
    "changed": N_("a field changes"),
    "becomes": N_("a field becomes a value"),
    "is_set": N_("a field is set"),
    "stage_entered": N_("enters a stage"),
    "batch": N_("scheduled batch"),
}
EVENTS_WITH_FIELD = {"changed", "becomes", "is_set"}


# --- records rules can see ------------------------------------------------------------------

@dataclass(frozen=True)
class RecordType:
    """What rules may read of one kind of record: typed, whitelisted fields only."""

    name: str
    label: str
    fields: dict                     # name → rule_engine DataType
    trigger_fields: tuple            # fields whose changes raise events
    events: tuple

    def context(self) -> rule_engine.Context:
        """A fresh typed context (fresh, so ``context.symbols`` lists one rule's fields)."""
        return rule_engine.Context(type_resolver=rule_engine.type_resolver_from_dict(self.fields),
                                   mapping_attribute_lookup=False)


ORDER = RecordType("order", N_("Order"), {
    "id": DataType.FLOAT, "order_no": DataType.STRING, "channel": DataType.STRING,
    "channel_group": DataType.STRING, "state": DataType.STRING, "cs_state": DataType.STRING,
    "cancel_reason": DataType.STRING, "hold": DataType.BOOLEAN,
    "handling_status": DataType.STRING, "payment_status": DataType.STRING,
    "payment_method": DataType.STRING, "shipping_list_exported": DataType.BOOLEAN,
    "courier": DataType.STRING, "tracking_no": DataType.STRING,
    "delivery_date": DataType.STRING, "total": DataType.FLOAT, "shipping_fee": DataType.FLOAT,
    "quantity": DataType.FLOAT, "line_count": DataType.FLOAT,
    "product_codes": DataType.ARRAY(DataType.STRING), "buyer_name": DataType.STRING,
    "recipient_name": DataType.STRING, "address": DataType.STRING, "zip_code": DataType.STRING,
    "subscription_status": DataType.STRING, "received_at": DataType.DATETIME,
    "days_since_received": DataType.FLOAT,
}, ("state", "cs_state", "hold", "handling_status", "payment_status", "payment_method",
    "shipping_list_exported", "tracking_no", "courier", "delivery_date", "shipped_at",
    "cancel_reason", "recipient_name", "address"),
    ("created", "changed", "becomes", "is_set", "batch"))

TICKET = RecordType("ticket", N_("Ticket"), {
    "id": DataType.FLOAT, "team": DataType.STRING, "stage": DataType.STRING,
    "subject": DataType.STRING, "description": DataType.STRING,
    "customer_name": DataType.STRING, "customer_phone": DataType.STRING,
    "customer_email": DataType.STRING, "assignee": DataType.STRING,
    "needs_assignment": DataType.BOOLEAN, "closed": DataType.BOOLEAN,
    "merged": DataType.BOOLEAN, "source": DataType.STRING, "has_order": DataType.BOOLEAN,
    "order_no": DataType.STRING, "order_state": DataType.STRING,
    "order_cs_state": DataType.STRING, "channel": DataType.STRING,
    "created_at": DataType.DATETIME, "days_open": DataType.FLOAT,
}, ("stage", "assignee", "closed"),
    ("created", "changed", "becomes", "is_set", "stage_entered"))

RECORD_TYPES = {ORDER.name: ORDER, TICKET.name: TICKET}


def order_record(order: Order, now: dt.datetime | None = None) -> dict:
    """The plain dict a condition is evaluated on (never the model itself)."""
    lines = list(OrderLine.select().where(OrderLine.order == order.id))
    received = order.received_at.replace(tzinfo=dt.timezone.utc)
    now = now or utcnow()
    return {
        "id": order.id, "order_no": order.order_no, "channel": order.channel.name,
        "channel_group": order.channel.group.name if order.channel.group_id else "",
        "state": order.state, "cs_state": order.cs_state,
        "cancel_reason": order.cancel_reason or "", "hold": bool(order.hold),
        "handling_status": order.handling_status.name if order.handling_status_id else "",
        "payment_status": order.payment_status or "",
        "payment_method": order.payment_method or "",
        "shipping_list_exported": bool(order.shipping_list_exported),
        "courier": order.courier or "", "tracking_no": order.tracking_no or "",
        "delivery_date": order.delivery_date.isoformat() if order.delivery_date else "",
        # what is still ordered: partly cancelled lines count their active quantity
        "total": sum(l.amount for l in lines) + order.shipping_fee,
        "shipping_fee": order.shipping_fee, "quantity": sum(l.active_qty for l in lines),
        "line_count": len(lines), "product_codes": tuple(l.option_code or l.product_code
                                                          for l in lines),
        "buyer_name": order.buyer_name, "recipient_name": order.recipient_name,
        "address": order.address, "zip_code": order.zip_code,
        "subscription_status": order.subscription.status if order.subscription_id else "",
        "received_at": received,
        "days_since_received": (now - order.received_at).total_seconds() / 86400,
    }


def ticket_record(ticket, now: dt.datetime | None = None) -> dict:
    """A ticket as conditions see it: its own fields, and its order's state when linked."""
    order = ticket.order if ticket.order_id else None
    now = now or utcnow()
    return {
        "id": ticket.id, "team": ticket.team.name,
        "stage": ticket.stage.name if ticket.stage_id else "", "subject": ticket.subject,
        "description": ticket.description, "customer_name": ticket.customer_name,
        "customer_phone": ticket.customer_phone, "customer_email": ticket.customer_email,
        # the display name, as the "assignee" change of the ticket's events carries it
        "assignee": ticket.assignee.display_name if ticket.assignee_id else "",
        "needs_assignment": bool(ticket.needs_assignment), "closed": bool(ticket.closed),
        "merged": ticket.merged_into_id is not None, "source": ticket.source,
        "has_order": order is not None, "order_no": order.order_no if order else "",
        "order_state": order.state if order else "",
        "order_cs_state": order.cs_state if order else "",
        "channel": order.channel.name if order else "",
        "created_at": ticket.created_at.replace(tzinfo=dt.timezone.utc),
        "days_open": (now - ticket.created_at).total_seconds() / 86400,
    }


def load_record(record: str, record_id: int, now=None) -> dict | None:
    if record == "order":
        order = Order.get_or_none(Order.id == record_id)
        return order_record(order, now) if order else None
    if record == "ticket":
        from engine.models import Ticket
        ticket = Ticket.get_or_none(Ticket.id == record_id)
        return ticket_record(ticket, now) if ticket else None
    return None


# --- conditions -------------------------------------------------------------------------------

NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*(?:[+*]|\{\d*,\d*\})(?:[^()\\]|\\.)*\)\s*(?:[+*]|\{\d*,?\d*\})")


def _nodes(node):
    """Every AST node below ``node`` (rule-engine nodes use __slots__)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        for cls in type(current).__mro__:
            for name in getattr(cls, "__slots__", ()):
                value = getattr(current, name, None)
                if hasattr(value, "evaluate"):
                    stack.append(value)
                elif isinstance(value, tuple):
                    stack.extend(v for v in value if hasattr(v, "evaluate"))
        for name in ("left", "right", "expression", "condition", "case_true", "case_false",
                     "container", "member", "object", "items"):
            value = current.__dict__.get(name) if hasattr(current, "__dict__") else None
            if hasattr(value, "evaluate"):
                stack.append(value)
            elif isinstance(value, tuple):
                stack.extend(v for v in value if hasattr(v, "evaluate"))


def _check_safe(compiled: rule_engine.Rule) -> None:
    """Refuse what could hang the process: $range, computed or catastrophic regexes."""
    from rule_engine import ast
    for node in _nodes(compiled.statement.expression):
        if isinstance(node, ast.SymbolExpression) and node.scope == "built-in" \
                and node.name == "range":
            raise ValidationError(N_("$range is not allowed in conditions."), "when")
        if isinstance(node, ast.FuzzyComparisonExpression):
            if not isinstance(node.right, ast.StringExpression):
                raise ValidationError(N_("A regular expression must be a literal \"…\" string."),
                                      "when")
            if NESTED_QUANTIFIER.search(node.right.value):
                raise ValidationError(
                    N_("The regular expression %(regex)s repeats a repetition (like (a+)+), "
                       "which can take forever; simplify it."), "when", regex=node.right.value)


def compile_condition(text: str, record: RecordType = ORDER) -> rule_engine.Rule | None:
    """Compile a condition or raise ValidationError with the position and a hint."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        compiled = rule_engine.Rule(text, context=record.context())
    except rule_engine.SymbolResolutionError as exc:
        if exc.suggestion:
            raise ValidationError(N_("Unknown field %(name)s. Did you mean %(suggestion)s?"),
                                  "when", name=exc.symbol_name, suggestion=exc.suggestion)
        raise ValidationError(N_("Unknown field %(name)s. Fields: %(fields)s"), "when",
                              name=exc.symbol_name, fields=", ".join(record.fields))
    except rule_engine.RuleSyntaxError as exc:
        token = exc.token
        position = getattr(token, "lexpos", None)
        where = (text[position:position + 20] if position is not None else "")
        raise ValidationError(N_("Syntax error at position %(pos)s (%(near)s)."), "when",
                              pos=(position + 1) if position is not None else len(text),
                              near=where or "end of the condition")
    except rule_engine.errors.RegexSyntaxError as exc:
        raise ValidationError(N_("Bad regular expression: %(error)s"), "when",
                              error=exc.error.msg if exc.error else exc.message)
    except rule_engine.EngineError as exc:
        raise ValidationError(N_("The condition cannot work: %(error)s"), "when",
                              error=exc.message)
    except RecursionError:  # e.g. hundreds of "not not …": refused, never a 500
        raise ValidationError(N_("The condition is nested too deeply; simplify it."), "when")
    _check_safe(compiled)
    return compiled


def top_level_clauses(text: str) -> list[str]:
    """Split a condition at its top-level ``and``s, respecting parentheses and strings."""
    clauses, depth, quote, start, i = [], 0, None, 0, 0
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and text[i:i + 5].lower() == " and " :
            clauses.append(text[start:i].strip())
            start = i + 5
            i += 4
        i += 1
    clauses.append(text[start:].strip())
    return [c for c in clauses if c]


_compiled: dict[tuple[str, str], rule_engine.Rule | None] = {}


def compiled_for(rule: Rule) -> rule_engine.Rule | None:
    """Compile once per process per condition text (what a rule's id and version stand for,
    without trusting ids: SQLite may reuse the id of a deleted rule)."""
    key = (rule.trigger_record, rule.condition)
    if key not in _compiled:
        _compiled[key] = compile_condition(rule.condition, RECORD_TYPES[rule.trigger_record])
    return _compiled[key]


# --- the rule schema ----------------------------------------------------------------------------

def _record_choices():
    return [(name, t.label) for name, t in RECORD_TYPES.items()]


RULE_FIELDS = [
    Field("name", N_("Name"), required=True, max_length=100),
    Field("enabled", N_("Enabled"), kind="bool"),
    Field("order", N_("Run order"), kind="int", min=0, max=100000),
    Field("record", N_("Record"), kind="choice", required=True, choices=_record_choices),
    Field("event", N_("Event"), kind="choice", required=True,
          choices=lambda: list(EVENTS.items())),
    Field("field", N_("Field"), max_length=40),
    Field("value", N_("Value"), max_length=100),
    Field("when", N_("Condition"), kind="textarea", max_length=2000),
    Field("stop", N_("Stop processing later rules for this event"), kind="bool"),
]


def validate_rule(raw: dict) -> dict:
    """Parse a rule in its one schema (form, TOML or API) into the columns to store."""
    from engine import actions as action_registry

    trigger = raw.get("trigger") if isinstance(raw.get("trigger"), dict) else {}
    flat = dict(raw)
    for key in ("record", "event", "field", "value"):
        if key in trigger and key not in flat:
            flat[key] = trigger[key]
    flat.setdefault("record", "order")
    if "enabled" not in raw:
        flat["enabled"] = True
    errors = {}
    try:
        values = parse(RULE_FIELDS, flat)
    except ValidationError as exc:
        values, errors = None, dict(exc.errors)
    parsed_actions = []
    record_name = flat["record"] if isinstance(flat.get("record"), str) \
        and flat["record"] in RECORD_TYPES else "order"
    try:
        parsed_actions = action_registry.parse_actions(raw.get("actions"), record_name)
    except ValidationError as exc:
        errors.update(exc.errors)
    if values is not None:
        record = RECORD_TYPES[values["record"]]
        event = values["event"]
        if event not in record.events:
            errors["event"] = ValidationError(N_("A %(record)s has no event %(event)s."),
                                              "event", record=values["record"], event=event)
        elif event in EVENTS_WITH_FIELD:
            if not values.get("field"):
                errors["field"] = ValidationError(N_("This event needs a field."), "field")
            elif values["field"] not in record.trigger_fields:
                errors["field"] = ValidationError(
                    N_("%(name)s cannot trigger rules; use one of: %(fields)s"), "field",
                    name=values["field"], fields=", ".join(record.trigger_fields))
            if event == "becomes" and not values.get("value"):
                errors["value"] = ValidationError(N_("This event needs the value to watch for."),
                                                  "value")
        elif event == "stage_entered" and values.get("value"):
            from engine.models import Stage
            if not Stage.select().where(Stage.name == values["value"]).exists():
                errors["value"] = ValidationError(N_("Unknown stage %(name)s."), "value",
                                                  name=values["value"])
        try:
            compile_condition(values.get("when") or "", record)
        except ValidationError as exc:
            errors["when"] = exc
    if errors:
        first = next(iter(errors.values()))
        raise ValidationError(first.message, first.field, errors=errors, **first.params)
    event = values["event"]
    return {
        "name": values["name"], "enabled": values["enabled"],
        "sequence": values["order"] if values.get("order") is not None else 100,
        "trigger_record": values["record"], "trigger_event": event,
        "trigger_field": values.get("field") or None if event in EVENTS_WITH_FIELD else None,
        "trigger_value": ((values.get("value") or None)
                          if event in ("becomes", "stage_entered") else None),
        "condition": (values.get("when") or "").strip(), "actions": parsed_actions,
        "stop_processing": values["stop"],
    }


def rule_as_data(rule: Rule) -> dict:
    """The rule in its declared form (what the API returns and TOML export writes)."""
    trigger = {"record": rule.trigger_record, "event": rule.trigger_event}
    if rule.trigger_field:
        trigger["field"] = rule.trigger_field
    if rule.trigger_value is not None:
        trigger["value"] = rule.trigger_value
    data = {"name": rule.name, "enabled": rule.enabled, "order": rule.sequence,
            "trigger": trigger, "actions": rule.actions}
    if rule.condition:
        data["when"] = rule.condition
    if rule.stop_processing:
        data["stop"] = True
    return data


def save_rule(actor: User | None, raw: dict, rule_id: int | None = None,
              now: dt.datetime | None = None, change: str | None = None) -> Rule:
    """Create or change a rule, keeping its change history; one transaction."""
    if actor is not None:
        require(actor, "automation")
    values = validate_rule(raw)
    now = now or utcnow()
    with db.atomic():
        clash = Rule.select().where(Rule.name == values["name"])
        if rule_id is not None:
            clash = clash.where(Rule.id != rule_id)
        if clash.exists():
            raise ValidationError(N_("A rule named %(name)s exists already."), "name",
                                  name=values["name"])
        if rule_id is None:
            rule = Rule.create(updated_at=now, updated_by=actor, **values)
            before = None
        else:
            rule = Rule.get_or_none(Rule.id == rule_id)
            if rule is None:
                raise NotFound(N_("No such rule."))
            before = rule_as_data(rule)
            for name, value in values.items():
                setattr(rule, name, value)
            rule.version += 1
            rule.updated_at, rule.updated_by = now, actor
            rule.save()
        RuleChange.create(rule_id=rule.id, rule_name=rule.name, version=rule.version,
                          change=change or ("create" if before is None else "update"),
                          before=before, after=rule_as_data(rule), actor=actor, at=now)
    forget_index()
    return rule


def delete_rule(actor: User | None, rule_id: int, now=None) -> None:
    if actor is not None:
        require(actor, "automation")
    with db.atomic():
        rule = Rule.get_or_none(Rule.id == rule_id)
        if rule is None:
            raise NotFound(N_("No such rule."))
        RuleChange.create(rule_id=rule.id, rule_name=rule.name, version=rule.version,
                          change="delete", before=rule_as_data(rule), after=None, actor=actor,
                          at=now or utcnow())
        rule.delete_instance()
    forget_index()


def revert_change(actor: User | None, change_id: int, now=None) -> Rule | None:
    """Put a rule back as it was before one change (undo a create by deleting)."""
    change = RuleChange.get_or_none(RuleChange.id == change_id)
    if change is None:
        raise NotFound(N_("No such change."))
    rule = Rule.get_or_none(Rule.id == change.rule_id)
    if rule is not None and RuleChange.select().where(
            (RuleChange.rule_id == change.rule_id) & (RuleChange.change == "delete")
            & (RuleChange.id >= change.id)).exists():
        rule = None  # that rule was deleted since; SQLite may have given its id to another
    if change.before is None:
        if rule is not None:
            delete_rule(actor, rule.id, now)
        return None
    if rule is None:
        return save_rule(actor, change.before, None, now, change="revert")
    return save_rule(actor, change.before, rule.id, now, change="revert")


# --- the index ------------------------------------------------------------------------------------

class RuleIndex:
    """Enabled rules by trigger, so an event only looks at rules that can match it."""

    def __init__(self, rules: list[Rule]):
        self.by_key: dict[tuple, list[Rule]] = {}
        for rule in sorted(rules, key=lambda r: (r.sequence, r.id)):
            if not rule.enabled:
                continue
            if rule.trigger_event == "becomes":
                key = (rule.trigger_record, "becomes", rule.trigger_field, rule.trigger_value)
            else:
                key = (rule.trigger_record, rule.trigger_event, rule.trigger_field)
            self.by_key.setdefault(key, []).append(rule)

    def candidates(self, event: events.Event) -> list[Rule]:
        """Rules whose trigger this event satisfies, in rule order."""
        if event.kind == events.CREATED:
            return list(self.by_key.get((event.record, "created", None), ()))
        if event.kind == events.BATCH:
            return list(self.by_key.get((event.record, "batch", None), ()))
        if event.kind == events.STAGE_ENTERED:   # any stage, or the one the rule names
            entered = _text(event.changes.get("stage", (None, ""))[1] or "")
            return [rule for rule in self.by_key.get((event.record, event.kind, None), ())
                    if rule.trigger_value is None or rule.trigger_value == entered]
        if event.kind != events.CHANGED:
            return list(self.by_key.get((event.record, event.kind, None), ()))
        found = []
        for name, (old, new) in event.changes.items():
            found += self.by_key.get((event.record, "changed", name), ())
            if _blank(old) and not _blank(new):
                found += self.by_key.get((event.record, "is_set", name), ())
            if not _blank(new) and _text(new) != _text(old):
                found += self.by_key.get((event.record, "becomes", name, _text(new)), ())
        seen, ordered = set(), []
        for rule in sorted(found, key=lambda r: (r.sequence, r.id)):
            if rule.id not in seen:
                seen.add(rule.id)
                ordered.append(rule)
        return ordered


def _blank(value) -> bool:
    return value is None or value == "" or value is False


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


_index_cache: dict = {"stamp": None, "index": None}


def forget_index() -> None:
    """Drop this process's index (other processes notice the change by its stamp)."""
    _index_cache.update(stamp=None, index=None)


def current_index() -> RuleIndex:
    """The index of enabled rules, rebuilt when any rule changed (in any process)."""
    stamp = tuple(Rule.select(fn.COUNT(Rule.id), fn.MAX(Rule.id), fn.SUM(Rule.version),
                              fn.MAX(Rule.updated_at)).tuples().first())
    if stamp != _index_cache["stamp"]:
        _index_cache["index"] = RuleIndex(list(Rule.select()))
        _index_cache["stamp"] = stamp
    return _index_cache["index"]


# --- running ---------------------------------------------------------------------------------------

@dataclass
class Firing:
    rule: Rule
    matched: bool
    reason: str = ""
    results: list = field(default_factory=list)
    error: str = ""


def describe(event: events.Event) -> str:
    if event.kind == events.CHANGED:
        parts = [f"{name}: {_text(old) if old is not None else '-'} → "
                 f"{_text(new) if new is not None else '-'}"
                 for name, (old, new) in event.changes.items()]
        return f"{event.record} #{event.record_id} " + ", ".join(parts)
    return f"{event.record} #{event.record_id} {event.kind}"


def evaluate(rule: Rule, record: dict, compiled=False,
             explain_failure: bool = False) -> tuple[bool, str]:
    """Whether the rule's condition holds, and (when asked: it costs a compile per clause)
    which clause failed."""
    compiled = compiled_for(rule) if compiled is False else compiled
    if compiled is None:
        return True, ""
    started = time.perf_counter()
    try:
        matched = compiled.matches(record)
    except rule_engine.EngineError as exc:
        return False, f"error: {exc.message}"
    finally:
        elapsed = time.perf_counter() - started
        if elapsed > SLOW_SECONDS:
            log.warning("rule %s (v%s) took %.0f ms to evaluate", rule.name, rule.version,
                        elapsed * 1000)
    if matched or not explain_failure:
        return matched, ""
    return False, explain(rule.condition, record, RECORD_TYPES[rule.trigger_record])


def explain(condition: str, record: dict, record_type: RecordType = ORDER) -> str:
    """Name the first top-level clause that is false for ``record``."""
    for clause in top_level_clauses(condition):
        try:
            if not rule_engine.Rule(clause, context=record_type.context()).matches(record):
                shown = {name: record.get(name) for name in
                         rule_engine.Rule(clause, context=record_type.context()).context.symbols}
                return f"{clause}  ←  " + ", ".join(f"{k} = {v!r}" for k, v in shown.items())
        except rule_engine.EngineError as exc:
            return f"{clause}  ←  {exc.message}"
    return condition


class Dispatcher:
    """Runs the rules for committed events, as cascades (the listener of engine.events)."""

    def __init__(self, clock=utcnow):
        self.clock = clock

    def __call__(self, raised: list[events.Event]) -> None:
        self.run_cascade(raised)

    def run_cascade(self, raised: list[events.Event], index: RuleIndex | None = None,
                    dry_run: bool = False, entry_rules: set | None = None) -> list[RuleRun]:
        """Run the rules for ``raised`` and every event their actions cause.

        ``entry_rules`` limits which rules may answer the raised events themselves (a job's
        rule batch names its rules); the events their actions cause reach every rule."""
        from engine import actions as action_registry

        index = index or current_index()
        cascade = secrets.token_hex(8)
        fired: dict[tuple, str] = {}
        runs = []
        queue = deque((event, 0, ()) for event in raised)
        while queue:
            event, depth, chain = queue.popleft()
            candidates = index.candidates(event)
            if depth == 0 and entry_rules is not None:
                candidates = [r for r in candidates if r.id in entry_rules]
            if not candidates:
                continue
            if depth >= MAX_DEPTH:
                names = " → ".join(chain)
                log.warning("cascade %s cut at depth %d: %s", cascade, depth, names)
                runs.append(self._log(candidates[0], event, "loop", cascade, depth,
                                      f"cascade cut at depth {MAX_DEPTH}: {names}"))
                continue
            record = load_record(event.record, event.record_id, self.clock())
            if record is None:
                continue
            for rule in candidates:
                key = (rule.id, event.record, event.record_id)
                if key in fired:
                    loop = " → ".join(chain + (rule.name,))
                    log.warning("rule %s already fired for %s #%s in this cascade (%s)",
                                rule.name, event.record, event.record_id, loop)
                    runs.append(self._log(rule, event, "loop", cascade, depth,
                                          f"already fired in this cascade: {loop}"))
                    continue
                matched, reason = evaluate(rule, record)
                if not matched:
                    if reason.startswith("error:"):
                        runs.append(self._log(rule, event, "failed", cascade, depth, reason))
                    continue
                fired[key] = rule.name
                with events.capturing() as caused:
                    results = action_registry.run_actions(rule, event, record, self.clock())
                failed = [r for r in results if not r["ok"]]
                runs.append(self._log(rule, event, "failed" if failed else "done", cascade,
                                      depth, "; ".join(r["error"] for r in failed), results))
                for new_event in caused:
                    queue.append((new_event, depth + 1, chain + (rule.name,)))
                if caused:
                    record = load_record(event.record, event.record_id, self.clock())
                    if record is None:
                        break
                if rule.stop_processing:
                    break
        return runs

    def _log(self, rule: Rule, event, outcome, cascade, depth, detail="", results=None):
        return RuleRun.create(at=self.clock(), rule=rule.id, rule_name=rule.name,
                              rule_version=rule.version, record=event.record,
                              record_id=event.record_id, event=describe(event)[:200],
                              outcome=outcome, detail=detail, actions=results or [],
                              cascade=cascade, depth=depth)


# --- dry run ---------------------------------------------------------------------------------------

class _Rollback(Exception):
    pass


def dry_run(rule_or_raw, order_id, now: dt.datetime | None = None) -> dict:
    """Try a rule (saved, or as typed in the form) on one record without changing anything:
    an order, or a ticket for a ticket rule (``order_id`` is then the ticket's number).

    The actions really run, inside a transaction that is rolled back, so the answer shows
    exactly the changes and messages they would make (webhooks are only described).
    """
    from engine import actions as action_registry
    from engine.models import Message

    now = now or utcnow()
    if isinstance(rule_or_raw, Rule):
        rule, compiled = rule_or_raw, compiled_for(rule_or_raw)
    else:
        values = validate_rule(rule_or_raw)
        rule = Rule(id=0, version=0, **values)
        compiled = compile_condition(rule.condition, RECORD_TYPES[rule.trigger_record])
    record = load_record(rule.trigger_record, int(order_id), now) \
        if str(order_id).isdigit() else None
    if record is None:
        if rule.trigger_record == "ticket":
            raise NotFound(N_("Ticket %(id)s does not exist."), id=order_id)
        raise NotFound(N_("Order %(id)s does not exist."), id=order_id)
    matched, reason = evaluate(rule, record, compiled, explain_failure=True)
    result = {"rule": rule.name, "record": rule.trigger_record,
              "record_id": int(order_id), "order_id": int(order_id), "matched": matched,
              "reason": reason, "trigger": _trigger_text(rule),
              "fields": {name: _plain(record.get(name)) for name in
                         (compiled.context.symbols if compiled else ())},
              "actions": action_registry.describe_actions(rule.actions),
              "results": [], "changes": {}, "messages": []}
    if not matched:
        return result
    kind = {"created": events.CREATED, "stage_entered": events.STAGE_ENTERED,
            "batch": events.BATCH}.get(rule.trigger_event, events.CHANGED)
    event = events.Event(rule.trigger_record, int(order_id), kind, now, None,
                         _trigger_changes(rule, record), key="dry-run")
    before = _plain_record(record)
    last_message = Message.select(fn.MAX(Message.id)).scalar() or 0
    try:
        with db.atomic():
            with events.capturing():
                result["results"] = action_registry.run_actions(rule, event, record, now,
                                                                dry_run=True)
            after = _plain_record(load_record(rule.trigger_record, int(order_id), now) or {})
            result["changes"] = {k: [before.get(k), v] for k, v in after.items()
                                 if before.get(k) != v
                                 and k not in ("days_since_received", "days_open")}
            result["messages"] = [{"type": m.kind, "to": m.to, "text": m.body}
                                  for m in Message.select().where(Message.id > last_message)]
            raise _Rollback()
    except _Rollback:
        pass
    return result


def _plain(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def _plain_record(record: dict) -> dict:
    return {k: _plain(v) for k, v in record.items()}


def _trigger_text(rule: Rule) -> str:
    parts = [rule.trigger_record, rule.trigger_event]
    if rule.trigger_field:
        parts.append(rule.trigger_field)
    if rule.trigger_value is not None:
        parts.append(f"= {rule.trigger_value}")
    return " ".join(parts)


def _trigger_changes(rule: Rule, record: dict | None = None) -> dict:
    if rule.trigger_event in EVENTS_WITH_FIELD and rule.trigger_field:
        return {rule.trigger_field: (None, rule.trigger_value)}
    if rule.trigger_event == "stage_entered":
        return {"stage": (None, rule.trigger_value or (record or {}).get("stage") or "")}
    return {}


# --- conflicts the form warns about ------------------------------------------------------------

def warnings_for(rule_values: dict, rule_id: int | None = None) -> list[tuple[str, dict]]:
    """Warn (seed 001) when one trigger gathers more than 2 actions across enabled rules, or
    two enabled rules on one trigger set the same field to different values."""
    from engine import actions as action_registry

    same_trigger = [r for r in Rule.select().where(
        (Rule.enabled == True) & (Rule.trigger_record == rule_values["trigger_record"])  # noqa: E712
        & (Rule.trigger_event == rule_values["trigger_event"])
        & (Rule.trigger_field == rule_values["trigger_field"]
           if rule_values["trigger_field"] else Rule.trigger_field.is_null())
        & (Rule.trigger_value == rule_values["trigger_value"]
           if rule_values["trigger_value"] is not None else Rule.trigger_value.is_null()))
        if r.id != rule_id]
    warnings = []
    total = len(rule_values["actions"]) + sum(len(r.actions) for r in same_trigger)
    if rule_values.get("enabled", True) and total > 2:
        warnings.append((N_("This trigger has %(n)d actions across enabled rules; more than 2 "
                            "on one event can collide (the seed recommends 1–2)."), {"n": total}))
    sets = {}
    for name, actions in [(rule_values["name"], rule_values["actions"])] + \
            [(r.name, r.actions) for r in same_trigger]:
        for params in actions:
            action = action_registry.ACTIONS.get(params.get("type"))
            if action and action.sets:
                value = (params.get("status") or params.get("process") or params.get("user")
                         or params.get("stage") or action.type)
                sets.setdefault(action.sets, []).append((name, value))
    for field_name, setters in sets.items():
        if len({value for _, value in setters}) > 1:
            warnings.append((N_("Rules on this trigger set %(field)s to different values: "
                                "%(setters)s"),
                             {"field": field_name,
                              "setters": ", ".join(f"{n} → {v}" for n, v in setters)}))
    return warnings


def install(clock=utcnow) -> Dispatcher:
    """Make committed events run the rules (the app does this once at start)."""
    dispatcher = Dispatcher(clock)
    for listener in list(events._listeners):
        if isinstance(listener, Dispatcher):
            events.unlisten(listener)
    events.listen(dispatcher)
    return dispatcher
