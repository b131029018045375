"""JSON API for rules under /api/v1/rules.

A rule's body is the schema of the TOML files (``rules.rule_as_data``: name, enabled, order,
trigger {record, event, field, value}, when, actions[], stop), so what the API returns can be
sent back, loaded from a file or exported unchanged. Bearer tokens only (``views.api``), so
the blueprint is exempt from CSRF like the orders API. Reading needs "read", changing
"automation"; every refusal is the API's ``{"error": …}`` body (422 names each bad field,
e.g. ``when`` with the position, or ``actions-0-status``).
"""
from __future__ import annotations

from flask import current_app, g, request
from peewee import fn

from engine import clock, paging, rules
from engine.errors import ConflictError, NotFound
from engine.models import Rule, RuleChange, RuleRun, utcnow
from engine.schema import Field, parse
from engine.text import N_
from views.api import api_requires, list_request
from views.api import api_blueprint, json_body as _body, json_response as _json

bp = api_blueprint("api_rules", __name__, "/api/v1/rules")

OUTCOMES = ("done", "failed", "loop", "no_match")
LOG_FIELDS = [
    Field("rule_id", N_("Rule"), kind="int", min=1),
    Field("outcome", N_("Outcome"), kind="choice", choices=lambda: [(o, o) for o in OUTCOMES]),
    Field("record_id", N_("Order no."), kind="int", min=1),
]
CHANGE_FIELDS = [Field("rule_id", N_("Rule"), kind="int", min=1)]
DRY_RUN_FIELDS = [Field("order_id", N_("Order no."), kind="int", required=True, min=1)]
TICKET_DRY_RUN_FIELDS = [Field("ticket_id", N_("Ticket no."), kind="int", required=True, min=1)]
VERSION_FIELD = Field("version", N_("Version"), kind="int", min=1)


def _tz():
    return current_app.config["TZ"]


def _get_rule(rule_id: int) -> Rule:
    rule = Rule.get_or_none(Rule.id == rule_id)
    if rule is None:
        raise NotFound(N_("No such rule."))
    return rule


def _warnings(rule: Rule) -> list[str]:
    from flask_babel import force_locale, gettext
    values = {"name": rule.name, "enabled": rule.enabled, "trigger_record": rule.trigger_record,
              "trigger_event": rule.trigger_event, "trigger_field": rule.trigger_field,
              "trigger_value": rule.trigger_value, "actions": rule.actions}
    user = g.get("api_user")
    with force_locale((user.language if user is not None else None) or "ko"):
        return [gettext(message, **params)
                for message, params in rules.warnings_for(values, rule.id)]


def rule_dict(rule: Rule, warnings: bool = False) -> dict:
    data = {"id": rule.id, "version": rule.version, **rules.rule_as_data(rule),
            "updated_at": clock.iso(rule.updated_at, _tz())}
    if warnings:
        data["warnings"] = _warnings(rule)
    return data


def _paging(raw_filters: dict, fields: list) -> tuple[dict, int, int]:
    return list_request(lambda: parse(fields, raw_filters, _tz()))


# --- rules ------------------------------------------------------------------------------------

@bp.route("", methods=["GET"])
@api_requires("read")
def list_rules():
    """Every rule in run order, in the declared (TOML) form with its id and version."""
    found = list(Rule.select().order_by(Rule.sequence, Rule.id))
    return _json({"rules": [rule_dict(r) for r in found], "total": len(found)})


@bp.route("", methods=["POST"])
@api_requires("automation")
def create_rule():
    """Create a rule from the TOML schema; 201 with the rule and any warnings."""
    rule = rules.save_rule(g.api_user, _body(), now=utcnow())
    return _json(rule_dict(rule, warnings=True), 201)


@bp.route("/<int:rule_id>", methods=["GET"])
@api_requires("read")
def get_rule(rule_id):
    return _json(rule_dict(_get_rule(rule_id), warnings=True))


@bp.route("/<int:rule_id>", methods=["PUT"])
@api_requires("automation")
def update_rule(rule_id):
    """Replace a rule with the body (the whole declared rule); ``version`` optional: when
    given and not the rule's current version, 409 and nothing changes."""
    rule = _get_rule(rule_id)
    body = _body()
    version = parse([VERSION_FIELD], {"version": body.pop("version", None)}, _tz())["version"]
    body.pop("id", None)
    body.pop("updated_at", None)
    body.pop("warnings", None)
    if version is not None and version != rule.version:
        raise ConflictError(N_("The rule changed since version %(version)d (it is at version "
                               "%(current)d now); read it again."), "version",
                            version=version, current=rule.version)
    rule = rules.save_rule(g.api_user, body, rule.id, now=utcnow())
    return _json(rule_dict(rule, warnings=True))


@bp.route("/<int:rule_id>", methods=["DELETE"])
@api_requires("automation")
def delete_rule(rule_id):
    """Delete a rule (its change history keeps it; revert the deletion to bring it back)."""
    rule = _get_rule(rule_id)
    rules.delete_rule(g.api_user, rule.id, now=utcnow())
    change = (RuleChange.select().where(RuleChange.rule_id == rule_id)
              .order_by(RuleChange.id.desc()).first())
    return _json({"id": rule_id, "deleted": True, "change_id": change.id if change else None})


@bp.route("/<int:rule_id>/dry-run", methods=["POST"])
@api_requires("automation")
def dry_run(rule_id):
    """Try a saved rule on one order (``order_id``), or one ticket for a ticket rule
    (``ticket_id``): what it would change and send; nothing is done."""
    rule = _get_rule(rule_id)
    body = _body()
    if rule.trigger_record == "ticket":
        ticket_id = parse(TICKET_DRY_RUN_FIELDS, {"ticket_id": body.get("ticket_id")},
                          _tz())["ticket_id"]
        return _json(rules.dry_run(rule, ticket_id, utcnow()))
    order_id = parse(DRY_RUN_FIELDS, {"order_id": body.get("order_id")}, _tz())["order_id"]
    return _json(rules.dry_run(rule, order_id, utcnow()))


# --- run log and change history -------------------------------------------------------------------

def run_dict(run: RuleRun) -> dict:
    return {"id": run.id, "at": clock.iso(run.at, _tz()), "rule_id": run.rule_id,
            "rule": run.rule_name, "rule_version": run.rule_version, "record": run.record,
            "record_id": run.record_id, "event": run.event, "outcome": run.outcome,
            "detail": run.detail, "actions": run.actions, "cascade": run.cascade,
            "depth": run.depth}


@bp.route("/log", methods=["GET"])
@api_requires("read")
def run_log():
    """The run log, newest first; filters ``rule_id``, ``outcome``, ``record_id``."""
    filters, page, per_page = _paging({f.name: request.args.get(f.name) for f in LOG_FIELDS},
                                      LOG_FIELDS)
    query = RuleRun.select().order_by(RuleRun.at.desc(), RuleRun.id.desc())
    if filters.get("rule_id"):
        query = query.where(RuleRun.rule == filters["rule_id"])
    if filters.get("outcome"):
        query = query.where(RuleRun.outcome == filters["outcome"])
    if filters.get("record_id"):
        query = query.where(RuleRun.record_id == filters["record_id"])
    rows, total, page, pages = paging.paginate(query, page, per_page, clamp=False)
    return _json({"runs": [run_dict(r) for r in rows], "total": total, "page": page,
                  "pages": pages, "per_page": per_page})


def change_dict(change: RuleChange) -> dict:
    return {"id": change.id, "at": clock.iso(change.at, _tz()), "rule_id": change.rule_id,
            "rule": change.rule_name, "version": change.version, "change": change.change,
            "actor": change.actor.username if change.actor_id else None,
            "before": change.before, "after": change.after}


@bp.route("/changes", methods=["GET"])
@api_requires("read")
def changes():
    """The change history of rules, newest first; filter ``rule_id``. ``actor`` is null for
    changes made by a config file load."""
    filters, page, per_page = _paging({"rule_id": request.args.get("rule_id")}, CHANGE_FIELDS)
    query = RuleChange.select().order_by(RuleChange.at.desc(), RuleChange.id.desc())
    if filters.get("rule_id"):
        query = query.where(RuleChange.rule_id == filters["rule_id"])
    rows, total, page, pages = paging.paginate(query, page, per_page, clamp=False)
    return _json({"changes": [change_dict(c) for c in rows], "total": total, "page": page,
                  "pages": pages, "per_page": per_page})


@bp.route("/changes/<int:change_id>/revert", methods=["POST"])
@api_requires("automation")
def revert(change_id):
    """Put a rule back as it was before one change; the revert is a new change itself.
    ``rule`` is null when the change was a creation (undoing it deletes the rule)."""
    last = RuleChange.select(fn.MAX(RuleChange.id)).scalar() or 0
    rule = rules.revert_change(g.api_user, change_id, utcnow())
    change = (RuleChange.select().where(RuleChange.id > last).order_by(RuleChange.id.desc())
              .first())
    return _json({"rule": rule_dict(rule, warnings=True) if rule else None,
                  "change": change_dict(change) if change else None})
