"""Automation: rules (event → condition → actions), dry run, run log, change history.

Thin views over ``engine.rules``: the rule form posts the same declared schema the TOML files
and the API use (``rules.save_rule``), so a rule saved here exports and loads back unchanged.
Reading needs "read"; everything that changes a rule, and the editor's helper fragments,
need "automation".
"""
from __future__ import annotations

import dataclasses
import json
import re

from flask import (
    Blueprint, current_app, g, get_template_attribute, make_response, redirect, request,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user
from markupsafe import Markup, escape
from peewee import fn

from engine import actions as action_registry, paging
from engine import config, orders, rules, users
from engine.errors import EngineError, NotFound, ValidationError
from engine.models import (
    CancelReason, Courier, HandlingStatus, Order, PaymentMethod, PaymentStatus, Rule,
    RuleChange, RuleRun,
)
from engine.schema import Field, parse
from engine.text import N_
from views.web import field_errors, render, requires, translate

bp = Blueprint("rules", __name__, url_prefix="/rules")

PAGE_SIZE = 50
ACTION_KEY = re.compile(r"^actions-(\d+)-(\w+)$")
RULE_KEYS = ("name", "enabled", "order", "trigger", "when", "actions", "stop")

# what managers read instead of the field names conditions are written with
FIELD_LABELS = {
    "id": N_("No."), "order_no": N_("Order number"), "channel": N_("Channel"),
    "channel_group": N_("Channel group"), "state": N_("State"), "cs_state": N_("CS state"),
    "cancel_reason": N_("Cancel reason"), "hold": N_("On hold"),
    "handling_status": N_("Handling status"), "payment_status": N_("Payment status"),
    "payment_method": N_("Payment method"),
    "shipping_list_exported": N_("Shipping list exported"), "courier": N_("Courier"),
    "tracking_no": N_("Tracking number"), "delivery_date": N_("Delivery date"),
    "shipped_at": N_("Shipped at"), "total": N_("Total"), "shipping_fee": N_("Shipping fee"),
    "quantity": N_("Quantity"), "line_count": N_("Number of lines"),
    "product_codes": N_("Product codes"), "buyer_name": N_("Buyer"),
    "recipient_name": N_("Recipient"), "address": N_("Address"), "zip_code": N_("Zip code"),
    "subscription_status": N_("Subscription status"), "received_at": N_("Received at"),
    "days_since_received": N_("Days since received"),
    # tickets (seed 004)
    "team": N_("Team"), "stage": N_("Stage"), "subject": N_("Subject"),
    "description": N_("Description"), "customer_name": N_("Customer name"),
    "customer_phone": N_("Customer phone"), "customer_email": N_("Customer email"),
    "assignee": N_("Assignee"), "needs_assignment": N_("Waiting for assignment"),
    "closed": N_("Closed"), "merged": N_("Merged"), "source": N_("Source"),
    "has_order": N_("Has an order"), "order_state": N_("Order state"),
    "order_cs_state": N_("Order CS state"), "created_at": N_("Created at"),
    "days_open": N_("Days open"),
}
OUTCOMES = {"done": N_("Done"), "failed": N_("Failed"), "loop": N_("Loop stopped"),
            "no_match": N_("No match")}
CHANGE_LABELS = {"create": N_("Created"), "update": N_("Changed"), "delete": N_("Deleted"),
                 "revert": N_("Reverted")}
KEY_LABELS = {"name": N_("Name"), "enabled": N_("Enabled"), "order": N_("Run order"),
              "trigger": N_("Trigger"), "when": N_("Condition"), "actions": N_("Actions"),
              "stop": N_("Stop")}

# values a "becomes" trigger can watch for, offered as suggestions
VALUE_LISTS = {"payment_status": PaymentStatus, "payment_method": PaymentMethod,
               "handling_status": HandlingStatus, "courier": Courier,
               "cancel_reason": CancelReason}
FIXED_VALUES = {"state": list(orders.STATES), "cs_state": list(orders.CS_STATES),
                "hold": ["true", "false"], "shipping_list_exported": ["true", "false"]}


def _actor():
    return current_user._get_current_object()


def _tz():
    return current_app.config["TZ"]


def _can(capability: str) -> bool:
    return current_user.is_authenticated and users.can(current_user, capability)


def _trigger(response, **events):
    response.headers["HX-Trigger"] = json.dumps(events)   # ASCII: headers are latin-1 on the wire
    return response


# --- words -------------------------------------------------------------------------------------

def field_label(name: str | None) -> str:
    if not name:
        return ""
    return gettext(FIELD_LABELS[name]) if name in FIELD_LABELS else name


TYPE_LABELS = {"FLOAT": N_("number"), "STRING": N_("text"), "BOOLEAN": N_("true / false"),
               "DATETIME": N_("date and time"), "ARRAY": N_("list of text")}


def type_label(data_type) -> str:
    name = getattr(data_type, "name", "")
    return gettext(TYPE_LABELS[name]) if name in TYPE_LABELS else name.lower()


def trigger_words(record: str, event: str, field: str | None = None,
                  value: str | None = None) -> Markup:
    """"Order · Payment status becomes 与信審査エラー" (field names as a tooltip)."""
    record_type = rules.RECORD_TYPES.get(record)
    parts = {"record": gettext(record_type.label) if record_type else record,
             "field": Markup('<span class="tw-field" title="{}">{}</span>').format(
                 field or "", field_label(field)),
             "value": Markup('<b class="tw-value">{}</b>').format(value or "")}
    message = {"created": N_("%(record)s · is created"),
               "changed": N_("%(record)s · %(field)s changes"),
               "becomes": N_("%(record)s · %(field)s becomes %(value)s"),
               "is_set": N_("%(record)s · %(field)s is set"),
               "stage_entered": (N_("%(record)s · enters the stage %(value)s") if value
                                 else N_("%(record)s · enters a stage")),
               "batch": N_("%(record)s · scheduled batch")}.get(event)
    if message is None:
        return escape(f"{parts['record']} · {event}")
    return escape(gettext(message)) % parts


def rule_trigger_words(rule: Rule) -> Markup:
    return trigger_words(rule.trigger_record, rule.trigger_event, rule.trigger_field,
                         rule.trigger_value)


def _choice_label(f: Field, value) -> str:
    """The label of a choice value (e.g. reauthorize → Re-authorisation), cached per request."""
    cache = g.setdefault("rule_choice_labels", {})
    key = (id(f), f.name)
    if key not in cache:
        try:
            cache[key] = dict(f.choice_list())
        except Exception:  # noqa: BLE001 - a label is cosmetic; never fail a page on it
            cache[key] = {}
    label = cache[key].get(value, value)
    return gettext(label) if label != value else str(value)


def action_words(params: dict) -> Markup:
    """"Set handling status: 決済NG" — the action's label and its parameters."""
    action = action_registry.ACTIONS.get(params.get("type"))
    if action is None:
        return Markup('<span class="error">{}</span>').format(params.get("type") or "?")
    shown = []
    for f in action.fields:
        value = params.get(f.name)
        if value in (None, ""):
            continue
        if f.name == "secret":
            value = "••••"
        elif f.kind == "choice":
            value = _choice_label(f, value)
        elif f.kind == "textarea":
            text = str(value)
            value = "“" + (text[:40] + "…" if len(text) > 40 else text) + "”"
        shown.append(str(value))
    if not shown:
        return escape(gettext(action.label))
    return Markup('{}: <b>{}</b>').format(gettext(action.label), ", ".join(shown))


def warning_texts(warnings) -> list[str]:
    return [gettext(message, **params) for message, params in warnings]


def _rule_values(rule: Rule) -> dict:
    """The columns ``warnings_for`` compares, from a stored rule."""
    return {"name": rule.name, "enabled": rule.enabled, "trigger_record": rule.trigger_record,
            "trigger_event": rule.trigger_event, "trigger_field": rule.trigger_field,
            "trigger_value": rule.trigger_value, "actions": rule.actions}


def rule_warnings(rule: Rule) -> list[str]:
    return warning_texts(rules.warnings_for(_rule_values(rule), rule.id))


@bp.context_processor
def _helpers():
    """What the rules templates call (only in this blueprint's pages and fragments)."""
    return {"trigger_words": trigger_words, "rule_trigger_words": rule_trigger_words,
            "action_words": action_words, "field_label": field_label}


# --- the list ---------------------------------------------------------------------------------

def _trigger_filter_choices():
    record = rules.ORDER
    events = [(name, gettext(rules.EVENTS[name])) for name in record.events
              if name not in rules.EVENTS_WITH_FIELD]
    fields = [(name, field_label(name)) for name in record.trigger_fields]
    return events, fields


def _last_fired() -> dict:
    rows = (RuleRun.select(RuleRun.rule, fn.MAX(RuleRun.at))
            .where(RuleRun.outcome.in_(["done", "failed"]) & RuleRun.rule.is_null(False))
            .group_by(RuleRun.rule).tuples())
    return {rule_id: at for rule_id, at in rows}


def _list_context(notice=None):
    trigger = request.values.get("trigger", "")
    enabled = request.values.get("enabled", "")
    query = Rule.select().order_by(Rule.sequence, Rule.id)
    if trigger in rules.EVENTS:
        query = query.where(Rule.trigger_event == trigger)
    elif trigger:
        query = query.where(Rule.trigger_field == trigger)
    if enabled == "on":
        query = query.where(Rule.enabled == True)  # noqa: E712
    elif enabled == "off":
        query = query.where(Rule.enabled == False)  # noqa: E712
    rows = list(query)
    events, fields = _trigger_filter_choices()
    return dict(rows=rows, total=Rule.select().count(), last_fired=_last_fired(),
                warnings={rule.id: rule_warnings(rule) for rule in rows},
                trigger=trigger, enabled=enabled, trigger_events=events,
                trigger_fields=fields, editable=_can("automation"), notice=notice,
                filtered=bool(trigger or enabled))


@bp.route("/")
@requires("read")
def index():
    notice = None
    if request.args.get("deleted"):
        notice = gettext("Rule %(name)s deleted. Its change history keeps it; revert the "
                         "deletion there to bring it back.", name=request.args["deleted"])
    return render("rules/index.html", "rule_list", **_list_context(notice))


@bp.route("/<int:rule_id>/enabled", methods=["POST"])
@requires("automation")
def toggle(rule_id):
    """Switch a rule on or off (a new version, in the change history like any edit)."""
    rule = _get_rule(rule_id)
    enabled = request.form.get("on", "") in ("1", "true", "on")   # "enabled" is the list filter
    try:
        rule = rules.save_rule(_actor(), {**rules.rule_as_data(rule), "enabled": enabled},
                               rule.id, now=g.now)
    except EngineError as exc:
        response = make_response(render("rules/index.html", "rule_list", **_list_context()))
        return _trigger(response, **{"ruledesk:toast": translate(exc)})
    if not request.htmx:
        return redirect(url_for("rules.index"))
    toast = (gettext("Rule %(name)s is on.", name=rule.name) if rule.enabled
             else gettext("Rule %(name)s is off.", name=rule.name))
    response = make_response(render("rules/index.html", "rule_list", **_list_context()))
    return _trigger(response, **{"ruledesk:toast": toast})


@bp.route("/export.toml")
@requires("read")
def export():
    """The declared data as TOML (what ``flask config export`` writes): read only."""
    response = make_response(config.export())
    response.mimetype = "application/toml"
    response.headers["Content-Disposition"] = 'attachment; filename="ruledesk-config.toml"'
    return response


# --- the form ----------------------------------------------------------------------------------

def _get_rule(rule_id: int) -> Rule:
    rule = Rule.get_or_none(Rule.id == rule_id)
    if rule is None:
        raise NotFound(N_("No such rule."))
    return rule


def _values_of(rule: Rule | None) -> dict:
    """The form's flat values: of a stored rule, or a new rule's defaults."""
    if rule is None:
        top = Rule.select(fn.MAX(Rule.sequence)).scalar() or 0
        return {"name": "", "enabled": True, "order": (top // 10 + 1) * 10, "record": "order",
                "event": "becomes", "field": "payment_status", "value": "", "when": "",
                "stop": False, "actions": []}
    data = rules.rule_as_data(rule)
    trigger = data["trigger"]
    return {"name": data["name"], "enabled": data["enabled"], "order": data["order"],
            "record": trigger["record"], "event": trigger["event"],
            "field": trigger.get("field", ""), "value": trigger.get("value", ""),
            "when": data.get("when", ""), "stop": data.get("stop", False),
            "actions": [dict(a) for a in data["actions"]]}


def _posted_actions(form) -> list[dict]:
    """``actions-<n>-<param>`` inputs as a list, in the order the form sends them (so moving
    an action up or down in the page is its new position, whatever its n)."""
    by_index: dict[str, dict] = {}
    for key in form.keys():
        match = ACTION_KEY.match(key)
        if match:
            by_index.setdefault(match.group(1), {})[match.group(2)] = form.get(key)
    return list(by_index.values())


def _posted_rule(form) -> dict:
    raw = {name: form.get(name, "") for name in ("name", "order", "record", "event", "field",
                                                  "value", "when")}
    raw["record"] = raw["record"] or "order"
    raw["enabled"] = form.get("enabled", "")   # an unchecked box is not sent: off
    raw["stop"] = form.get("stop", "")
    raw["actions"] = _posted_actions(form)
    return raw


def _action_errors(actions: list[dict], errors: dict) -> dict:
    """Each action field's own (translated) message, to show beside it in the action's box."""
    errors = dict(errors)
    for index, raw in enumerate(actions):
        action = action_registry.ACTIONS.get(raw.get("type"))
        if action is None:
            continue
        try:
            values = parse(action.fields, raw, _tz())
            if action.type in action_registry.EXTRA_CHECKS:
                action_registry.EXTRA_CHECKS[action.type](values, "url")
        except ValidationError as exc:
            for name, err in exc.errors.items():
                errors[f"actions-{index}-{name}"] = translate(err)
    return errors


def _trigger_context(values: dict) -> dict:
    record = rules.RECORD_TYPES.get(values.get("record") or "order", rules.ORDER)
    event = values.get("event") or ""
    field = values.get("field") or ""
    suggestions = []
    if field in VALUE_LISTS:
        suggestions = [row.name for row in VALUE_LISTS[field].ordered()]
    elif field in FIXED_VALUES:
        suggestions = FIXED_VALUES[field]
    if event == "stage_entered":   # optionally one stage: its name
        from engine import stages
        suggestions = [s.name for s in stages.ordered()]
    return dict(record=record, event=event, needs_field=event in rules.EVENTS_WITH_FIELD,
                needs_value=event == "becomes", optional_value=event == "stage_entered",
                suggestions=suggestions,
                record_choices=[(name, gettext(t.label)) for name, t in rules.RECORD_TYPES.items()],
                event_choices=[(name, gettext(rules.EVENTS[name])) for name in record.events],
                field_choices=[(name, field_label(name)) for name in record.trigger_fields])


def _check_context(text: str, record_name: str = "order") -> dict:
    """The inline check of a condition: OK and the fields it uses, or the positioned error."""
    record = rules.RECORD_TYPES.get(record_name, rules.ORDER)
    text = text or ""
    try:
        compiled = rules.compile_condition(text, record)
    except ValidationError as exc:
        check = dict(ok=False, message=translate(exc))
        pos = exc.params.get("pos")
        if isinstance(pos, int) and text.strip():
            stripped = text.strip()
            at = max(0, min(pos - 1, len(stripped)))
            check.update(before=stripped[:at], at=stripped[at:at + 1], after=stripped[at + 1:])
        return check
    if compiled is None:
        return dict(ok=True, empty=True)
    names = sorted(compiled.context.symbols, key=lambda n: (text.find(n), n))
    return dict(ok=True, uses=[(name, field_label(name)) for name in names])


def _changes_of(rule_id: int | None, limit: int | None = None):
    query = RuleChange.select().order_by(RuleChange.at.desc(), RuleChange.id.desc())
    if rule_id is not None:
        query = query.where(RuleChange.rule_id == rule_id)
    if limit:
        query = query.limit(limit)
    return [_change_view(change) for change in query]


def _newest_record_id(record: str = "order"):
    """The dry run's default: the newest order, or the newest ticket for a ticket rule."""
    if record == "ticket":
        from engine.models import Ticket
        return Ticket.select(fn.MAX(Ticket.id)).scalar()
    return Order.select(fn.MAX(Order.id)).scalar()


def _record_fields(record) -> list[tuple[str, str, str]]:
    return [(name, field_label(name), type_label(t)) for name, t in record.fields.items()]


def _form_page(rule: Rule | None, values: dict, errors=None, message=None, status=200,
               saved=False, notice=None):
    editable = _can("automation")
    errors = errors or {}
    record = rules.RECORD_TYPES.get(values.get("record") or "order", rules.ORDER)
    fields = {f.name: f for f in rules.RULE_FIELDS}
    # "Order" is also the word for an order (주문): here it is the rule's place in the list
    fields["order"] = dataclasses.replace(fields["order"], label=N_("Run order"))
    warnings = rule_warnings(rule) if rule is not None and not errors else []
    context = dict(
        rule=rule, values=values, errors=errors, message=message, saved=saved, notice=notice,
        editable=editable, fields=fields, warnings=warnings,
        action_types=action_registry.for_record(record.name),
        action_map=action_registry.ACTIONS, record_fields=_record_fields(record),
        check=_check_context(values.get("when") or "", record.name),
        newest_order=_newest_record_id(record.name),
        last_fired=(RuleRun.select(fn.MAX(RuleRun.at))
                    .where((RuleRun.rule == rule.id)
                           & RuleRun.outcome.in_(["done", "failed"])).scalar()
                    if rule else None),
        changes=_changes_of(rule.id, 10) if rule else [],
        **_trigger_context(values))
    return render("rules/form.html", **context), status


@bp.route("/new")
@requires("automation")
def new():
    return _form_page(None, _values_of(None))


@bp.route("/new", methods=["POST"])
@requires("automation")
def create():
    raw = _posted_rule(request.form)
    try:
        rule = rules.save_rule(_actor(), raw, now=g.now)
    except EngineError as exc:
        errors = _action_errors(raw["actions"], field_errors(exc))
        return _form_page(None, raw, errors, _error_summary(exc), 422)
    return redirect(url_for("rules.edit", rule_id=rule.id, saved=1))


@bp.route("/<int:rule_id>")
@requires("read")
def edit(rule_id):
    rule = _get_rule(rule_id)
    reverted = request.args.get("reverted", "")
    notice = gettext("Change %(id)s reverted; the revert is the newest change.",
                     id=reverted) if reverted.isdigit() else None
    return _form_page(rule, _values_of(rule), saved=bool(request.args.get("saved")),
                      notice=notice)


@bp.route("/<int:rule_id>", methods=["POST"])
@requires("automation")
def update(rule_id):
    rule = _get_rule(rule_id)
    raw = _posted_rule(request.form)
    try:
        rule = rules.save_rule(_actor(), raw, rule.id, now=g.now)
    except EngineError as exc:
        errors = _action_errors(raw["actions"], field_errors(exc))
        return _form_page(rule, raw, errors, _error_summary(exc), 422)
    return redirect(url_for("rules.edit", rule_id=rule.id, saved=1))


def _error_summary(exc: EngineError) -> list[str]:
    errors = getattr(exc, "errors", None) or {}
    return [translate(err) for err in errors.values()] or [translate(exc)]


@bp.route("/<int:rule_id>/delete", methods=["POST"])
@requires("automation")
def delete(rule_id):
    rule = _get_rule(rule_id)
    name = rule.name
    rules.delete_rule(_actor(), rule.id, now=g.now)
    target = url_for("rules.index", deleted=name)
    if request.htmx:
        response = make_response("")
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


# --- the editor's fragments ---------------------------------------------------------------------

@bp.route("/trigger")
@requires("automation")
def trigger_fields():
    """The trigger sub-form for the chosen record and event (field and value only when the
    event needs them)."""
    values = {name: request.args.get(name, "") for name in ("record", "event", "field", "value")}
    record = rules.RECORD_TYPES.get(values["record"] or "order", rules.ORDER)
    if values["event"] and values["event"] not in record.events:
        values["event"] = record.events[0]   # e.g. "batch" when switching to tickets
    context = _trigger_context(values)
    if context["needs_field"] and values["field"] not in record.trigger_fields:
        values["field"] = context["field_choices"][0][0] if context["field_choices"] else ""
        context = _trigger_context(values)
    html = render("rules/_trigger.html", values=values, errors={}, editable=True, **context)
    # the actions and condition fields offered follow the record (out-of-band swaps)
    action_select = get_template_attribute("rules/_record_parts.html", "action_select")
    field_chips = get_template_attribute("rules/_record_parts.html", "field_chips")
    return (str(html) + str(action_select(action_registry.for_record(record.name), True))
            + str(field_chips(_record_fields(record), True)))


@bp.route("/action")
@requires("automation")
def action_row():
    """One more action's box: its fields (``field()`` macro) under ``actions-<index>-``."""
    action = action_registry.ACTIONS.get(request.args.get("type", ""))
    if action is None:
        response = make_response("", 204)
        return _trigger(response, **{"ruledesk:toast": gettext("Choose an action to add.")})
    index = request.args.get("index", "0")
    return render("rules/_action.html", action=action, params={"type": action.type},
                  index=int(index) if index.isdigit() else 0, errors={}, editable=True)


@bp.route("/check", methods=["POST"])
@requires("automation")
def check_condition():
    """The inline check of the condition textarea (htmx, as the user types)."""
    return render("rules/_check.html",
                  check=_check_context(request.form.get("when", ""),
                                       request.form.get("record") or "order"))


@bp.route("/dry-run", methods=["POST"])
@requires("automation")
def dry_run():
    """Try the rule as it stands in the form on one order; nothing is changed."""
    raw = _posted_rule(request.form)
    if not raw["name"].strip():
        raw["name"] = gettext("(unsaved rule)")
    order_id = request.form.get("order_id", "").strip().lstrip("#")
    context = dict(result=None, problems=[], order=None, order_id=order_id)
    if not order_id.isdigit():
        context["problems"] = [gettext("Enter the number of an order to try the rule on.")]
        return render("rules/_dry_run.html", **context)
    try:
        result = rules.dry_run(raw, int(order_id), g.now)
    except EngineError as exc:
        context["problems"] = _error_summary(exc)
        return render("rules/_dry_run.html", **context)
    clause, _, shown = (result["reason"] or "").partition("  ←  ")
    ticket = None
    if result.get("record") == "ticket":
        from engine.models import Ticket
        ticket = Ticket.get_or_none(Ticket.id == int(order_id))
    context.update(result=result, ticket=ticket,
                   order=Order.get_or_none(Order.id == int(order_id)) if ticket is None
                   else None,
                   actions=rules.validate_rule(raw)["actions"],
                   clause=clause, clause_values=shown,
                   trigger_text=trigger_words(raw["record"], raw["event"], raw["field"],
                                              raw["value"]))
    return render("rules/_dry_run.html", **context)


# --- run log --------------------------------------------------------------------------------------

def _rule_choices():
    return [(str(r.id), r.name) for r in Rule.select().order_by(Rule.sequence, Rule.id)]


LOG_FIELDS = [
    Field("rule_id", N_("Rule"), kind="choice", choices=_rule_choices),
    Field("outcome", N_("Outcome"), kind="choice",
          choices=lambda: [(k, v) for k, v in OUTCOMES.items() if k != "no_match"]),
    Field("record_id", N_("Order no."), kind="int", min=1),
]


def _page_number() -> int:
    page = request.args.get("page", "1")
    return int(page) if page.isdigit() and int(page) > 0 else 1


def runs_query(filters: dict):
    query = RuleRun.select().order_by(RuleRun.at.desc(), RuleRun.id.desc())
    if filters.get("rule_id"):
        query = query.where(RuleRun.rule == int(filters["rule_id"]))
    if filters.get("outcome"):
        query = query.where(RuleRun.outcome == filters["outcome"])
    if filters.get("record_id"):
        query = query.where(RuleRun.record_id == filters["record_id"])
    return query


@bp.route("/log")
@requires("read")
def log():
    raw = {f.name: request.args.get(f.name, "") for f in LOG_FIELDS}
    try:
        filters, errors = parse(LOG_FIELDS, raw, _tz()), {}
    except ValidationError as exc:
        filters, errors = {}, field_errors(exc)
    rows, total, page, pages = paging.paginate(runs_query(filters), _page_number(), PAGE_SIZE)
    existing = {r.id for r in Rule.select(Rule.id).where(
        Rule.id.in_([row.rule_id for row in rows if row.rule_id] or [0]))}
    labels = {t: gettext(a.label) for t, a in action_registry.ACTIONS.items()}
    return render("rules/log.html", "results", rows=rows, total=total, page=page, pages=pages,
                  raw=raw, errors=errors, fields=LOG_FIELDS, existing=existing,
                  query={k: v for k, v in raw.items() if v}, outcomes=OUTCOMES,
                  action_labels=labels)


# --- change history -------------------------------------------------------------------------------

def _pretty(value) -> str:
    """A declared value as compact JSON: a table on one line, a list one item per line."""
    if value is None:
        return "—"
    if isinstance(value, list):
        return "\n".join(json.dumps(item, ensure_ascii=False) for item in value) or "[]"
    return json.dumps(value, ensure_ascii=False)


def _change_view(change: RuleChange) -> dict:
    """A change as rows of (key, before, after, changed) over the declared rule's keys."""
    before, after = change.before or {}, change.after or {}
    keys = [k for k in RULE_KEYS if k in before or k in after]
    keys += sorted(k for k in set(before) | set(after) if k not in RULE_KEYS)
    rows = []
    for key in keys:
        old, new = before.get(key), after.get(key)
        rows.append({"key": key, "label": gettext(KEY_LABELS[key]) if key in KEY_LABELS else key,
                     "before": _pretty(old) if change.before is not None else "",
                     "after": _pretty(new) if change.after is not None else "",
                     "changed": old != new})
    rule_exists = Rule.select().where(Rule.id == change.rule_id).exists() and not (
        RuleChange.select().where((RuleChange.rule_id == change.rule_id)
                                  & (RuleChange.change == "delete")
                                  & (RuleChange.id >= change.id)).exists())
    both = change.before is not None and change.after is not None
    return {"change": change, "rows": rows, "rule_exists": rule_exists, "both": both,
            "changed": [row for row in rows if row["changed"] or not both],
            "same": [row for row in rows if not row["changed"] and both],
            "revertable": change.before is not None or rule_exists,
            "label": gettext(CHANGE_LABELS.get(change.change, change.change))}


@bp.route("/history")
@requires("read")
def history():
    rule_id = request.args.get("rule_id", "")
    query = RuleChange.select().order_by(RuleChange.at.desc(), RuleChange.id.desc())
    if rule_id.isdigit():
        query = query.where(RuleChange.rule_id == int(rule_id))
    rows, total, page, pages = paging.paginate(query, _page_number(), 20)
    changes = [_change_view(c) for c in rows]
    notice = None
    reverted = request.args.get("reverted", "")
    if reverted.isdigit():
        notice = gettext("Change %(id)s reverted; the revert is the newest change.", id=reverted)
    names = {}
    for c in RuleChange.select(RuleChange.rule_id, RuleChange.rule_name).order_by(
            RuleChange.id):
        names[c.rule_id] = c.rule_name
    return render("rules/history.html", "results", changes=changes, total=total, page=page,
                  pages=pages, rule_id=rule_id, rule_names=sorted(names.items(),
                                                                 key=lambda kv: kv[1]),
                  query={"rule_id": rule_id} if rule_id else {}, notice=notice,
                  editable=_can("automation"))


def _safe_next(default: str) -> str:
    target = request.form.get("next", "")
    if target.startswith("/rules") and not target.startswith("//"):
        return target
    return default


@bp.route("/history/<int:change_id>/revert", methods=["POST"])
@requires("automation")
def revert(change_id):
    """Put a rule back as it was before one change (one click; a new change itself)."""
    try:
        rule = rules.revert_change(_actor(), change_id, g.now)
    except EngineError as exc:
        if request.htmx:
            response = make_response("", exc.status)
            return _trigger(response, **{"ruledesk:toast": translate(exc)})
        raise
    default = url_for("rules.history")
    target = _safe_next(default)
    if re.match(r"^/rules/\d+(\?|$)", target):   # back to the rule's page: its id may differ
        target = url_for("rules.edit", rule_id=rule.id) if rule is not None else default
    separator = "&" if "?" in target else "?"
    target = f"{target}{separator}reverted={change_id}"
    if request.htmx:
        response = make_response("")
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)
