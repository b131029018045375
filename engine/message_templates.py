"""Message templates (SMS/LMS, AlimTalk, email) and macros (매크로): saved texts.

A template is declared data with one schema (``TEMPLATE_FIELDS``) used by the form, the API
and config files. Placeholders are checked when the template is saved, never first at send
time: every ``#{변수}`` must be one the sending context can fill. A template names its
``context`` (the record that fills it): an order, a helpdesk ticket (its own fields and its
order's) or a scheduled job's result, and is checked against that context's placeholders.
"""
from __future__ import annotations

import re

from engine import messaging
from engine.errors import NotFound, ValidationError
from engine.models import Macro, MessageTemplate, User, db, utcnow
from engine.schema import Field, parse
from engine.sending import context_variables
from engine.text import N_
from engine.users import require

KINDS = {"sms": N_("SMS / LMS"), "alimtalk": N_("AlimTalk"), "email": N_("Email")}
APPROVALS = {"approved": N_("Approved"), "pending": N_("Pending review"),
             "rejected": N_("Rejected")}
CONTEXTS = {"order": N_("Order"), "ticket": N_("Helpdesk ticket"),
            "job": N_("Scheduled job result")}
BUTTON_TYPES = {"WL": N_("Web link"), "AL": N_("App link"), "DS": N_("Delivery tracking"),
                "BK": N_("Bot keyword"), "MD": N_("Message delivery")}

TEMPLATE_FIELDS = [
    Field("name", N_("Name"), required=True, max_length=100),
    Field("kind", N_("Type"), kind="choice", required=True, choices=lambda: list(KINDS.items())),
    Field("context", N_("Written for"), kind="choice", required=True,
          choices=lambda: list(CONTEXTS.items())),
    Field("subject", N_("Subject"), max_length=200),
    Field("body", N_("Text"), kind="textarea", required=True, max_length=4000),
    Field("html_body", N_("HTML body (email)"), kind="textarea", max_length=20000),
    Field("is_ad", N_("Advertising"), kind="bool"),
    Field("alimtalk_code", N_("AlimTalk template code"), max_length=60),
    Field("approval", N_("AlimTalk approval"), kind="choice",
          choices=lambda: list(APPROVALS.items())),
    Field("fallback_text", N_("Fallback SMS/LMS text"), kind="textarea", max_length=2000),
    Field("active", N_("Active"), kind="bool"),
]

BUTTON_FIELDS = [
    Field("name", N_("Button name"), required=True, max_length=14),
    Field("type", N_("Button type"), kind="choice", required=True,
          choices=lambda: list(BUTTON_TYPES.items())),
    Field("url", N_("Link"), max_length=500),
]

MACRO_FIELDS = [
    Field("name", N_("Name"), required=True, max_length=60),
    Field("body", N_("Text"), kind="textarea", required=True, max_length=2000),
]

URL = re.compile(r"^https?://\S+$")


def known_placeholders(context: str = "order") -> list[str]:
    """The placeholders a template written for ``context`` may use."""
    return context_variables(context if context in CONTEXTS else "order")


def _parse_buttons(raw_buttons) -> list[dict]:
    buttons, errors = [], {}
    for index, raw in enumerate(raw_buttons or []):
        if not isinstance(raw, dict) or not any(str(v).strip() for v in raw.values()):
            continue  # an empty row of the form
        try:
            values = parse(BUTTON_FIELDS, raw)
        except ValidationError as exc:
            for name, err in exc.errors.items():
                errors[f"buttons-{index}-{name}"] = err
            continue
        if values["type"] in ("WL", "AL") and not URL.match(values.get("url") or ""):
            errors[f"buttons-{index}-url"] = ValidationError(
                N_("Button %(n)d needs a link starting with http:// or https://."),
                f"buttons-{index}-url", n=index + 1)
            continue
        buttons.append(values)
    if len(buttons) > messaging.ALIMTALK_MAX_BUTTONS:
        errors["buttons"] = ValidationError(N_("An AlimTalk template has at most %(n)d buttons."),
                                            "buttons", n=messaging.ALIMTALK_MAX_BUTTONS)
    if errors:
        first = next(iter(errors.values()))
        raise ValidationError(first.message, first.field, errors=errors, **first.params)
    return buttons


def validate_template(raw: dict) -> dict:
    """Parse and check a template; return the values to store or raise ValidationError."""
    errors = {}
    if raw.get("context") in (None, ""):   # templates older than contexts are order templates
        raw = {**raw, "context": "order"}
    try:
        values = parse(TEMPLATE_FIELDS, raw)
    except ValidationError as exc:
        values, errors = None, dict(exc.errors)
    try:
        buttons = _parse_buttons(raw.get("buttons"))
    except ValidationError as exc:
        buttons = []
        errors.update(exc.errors)
    if values is not None:
        known = known_placeholders(values["context"])
        for name in ("body", "subject", "fallback_text", "html_body"):
            try:
                messaging.check_placeholders(values.get(name) or "", known, name)
            except ValidationError as exc:
                errors.setdefault(name, exc)
        kind = values["kind"]
        if kind == "alimtalk":
            if not values.get("alimtalk_code"):
                errors.setdefault("alimtalk_code", ValidationError(
                    N_("An AlimTalk template needs its approved template code."),
                    "alimtalk_code"))
            if len(values["body"]) > messaging.ALIMTALK_MAX_CHARS:
                errors.setdefault("body", ValidationError(
                    N_("AlimTalk text is at most %(n)d characters."), "body",
                    n=messaging.ALIMTALK_MAX_CHARS))
        elif buttons:
            errors.setdefault("buttons", ValidationError(
                N_("Only AlimTalk templates have buttons."), "buttons"))
        if kind == "email" and values["context"] == "job":
            errors.setdefault("context", ValidationError(
                N_("A job result is sent by SMS or AlimTalk, not by email."), "context"))
        if kind == "email" and not values.get("subject"):
            errors.setdefault("subject", ValidationError(N_("An email needs a subject."),
                                                         "subject"))
        if kind == "sms":
            size = messaging.byte_length(values.get("subject") or "")
            if size > messaging.SUBJECT_MAX_BYTES:
                errors.setdefault("subject", ValidationError(
                    N_("The subject is %(n)d bytes; at most %(max)d are allowed."), "subject",
                    n=size, max=messaging.SUBJECT_MAX_BYTES))
        if values.get("is_ad"):
            for message, params in messaging.ad_problems(values["body"]):
                errors.setdefault("body", ValidationError(message, "body", **params))
    if errors:
        first = next(iter(errors.values()))
        raise ValidationError(first.message, first.field, errors=errors, **first.params)
    values["buttons"] = buttons
    values["approval"] = values.get("approval") or "approved"
    values["alimtalk_code"] = values.get("alimtalk_code") or None
    return values


def save_template(actor: User | None, raw: dict, template_id: int | None = None,
                  now=None) -> MessageTemplate:
    """Create (template_id None) or change a template, in one transaction."""
    if actor is not None:
        require(actor, "settings")
    values = validate_template(raw)
    with db.atomic():
        clash = MessageTemplate.select().where(MessageTemplate.name == values["name"])
        if template_id is not None:
            clash = clash.where(MessageTemplate.id != template_id)
        if clash.exists():
            raise ValidationError(N_("A template named %(name)s exists already."), "name",
                                  name=values["name"])
        values["updated_at"] = now or utcnow()
        if template_id is None:
            return MessageTemplate.create(**values)
        template = MessageTemplate.get_or_none(MessageTemplate.id == template_id)
        if template is None:
            raise NotFound(N_("No such template."))
        if template.context != values["context"]:
            _check_users(template, values["context"])
        for name, value in values.items():
            setattr(template, name, value)
        template.save()
        return template


def _check_users(template: MessageTemplate, context: str) -> None:
    """Refuse a new context that a stage, a job or a rule sending the template cannot fill."""
    from engine.models import Job, Rule, Stage

    if context == "job":
        stage = Stage.get_or_none((Stage.email_template == template.id)
                                  | (Stage.sms_template == template.id))
        if stage is not None:
            raise ValidationError(N_("The stage %(name)s sends this template to customers; "
                                     "it cannot be written for job results."), "context",
                                  name=stage.name)
    for job in Job.select():
        if (job.notify or {}).get("template") == template.name and context != "job":
            raise ValidationError(N_("The job %(name)s sends this template as its result; "
                                     "it must stay written for job results."), "context",
                                  name=job.name)
    for rule in Rule.select():
        if any(a.get("type") == "send_template" and a.get("template") == template.name
               for a in rule.actions or []):
            allowed = ("order", "ticket") if rule.trigger_record == "ticket" else ("order",)
            if context not in allowed:
                raise ValidationError(N_("The rule %(name)s sends this template; it cannot be "
                                         "written for this context."), "context",
                                      name=rule.name)


def save_macro(actor: User, raw: dict) -> Macro:
    """Save a text under a name (매크로 저장); the same name replaces the old text."""
    require(actor, "operate")
    values = parse(MACRO_FIELDS, raw)
    with db.atomic():
        macro = Macro.get_or_none(Macro.name == values["name"])
        if macro is None:
            return Macro.create(created_by=actor, **values)
        macro.body = values["body"]
        macro.save()
        return macro


def delete_macro(actor: User, macro_id: int) -> None:
    require(actor, "operate")
    if not Macro.delete().where(Macro.id == macro_id).execute():
        raise NotFound(N_("No such macro."))
