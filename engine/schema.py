"""Declared field schemas: one description of a payload's fields for forms, API and config.

An operation declares its fields once; the htmx dialog renders them, the form post and the
JSON API body are both parsed by ``parse`` against them, and every problem comes back as one
``ValidationError`` naming each bad field, before anything is changed.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field as dc_field
from typing import Any, Callable, Mapping

import phonenumbers

from engine import clock
from engine.errors import ValidationError
from engine.text import N_

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tab and newlines are fine
KINDS = ("text", "textarea", "int", "digits", "choice", "datetime", "date", "bool", "phone", "ref")


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "text"
    required: bool = False
    max_length: int | None = None
    min: int | None = None
    max: int | None = None
    choices: Callable[[], list[tuple[str, str]]] | None = dc_field(default=None, compare=False)
    placeholder: str = ""

    def __post_init__(self):
        assert self.kind in KINDS, self.kind

    def choice_list(self) -> list[tuple[str, str]]:
        return list(self.choices()) if self.choices else []


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _parse_one(f: Field, value: Any, tz) -> Any:
    """Return the typed value of one field or raise ValidationError for it."""
    if f.kind == "bool":
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in ("1", "true", "on", "yes", "y")
    if _blank(value):
        if f.required:
            raise ValidationError(N_("%(label)s is required."), f.name, label=f.label)
        return None if f.kind in ("int", "datetime", "date", "ref") else ""
    if f.kind in ("text", "textarea", "digits", "phone", "choice"):
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise ValidationError(N_("%(label)s must be text."), f.name, label=f.label)
        value = str(value).strip()
        if CONTROL.search(value):
            raise ValidationError(N_("%(label)s contains invisible control characters."),
                                  f.name, label=f.label)
        if f.max_length and len(value) > f.max_length:
            raise ValidationError(N_("%(label)s is too long (at most %(n)d characters)."),
                                  f.name, label=f.label, n=f.max_length)
    if f.kind == "digits":
        compact = value.replace("-", "").replace(" ", "")
        if not compact.isascii() or not compact.isdigit():
            raise ValidationError(N_("%(label)s may contain digits only."), f.name, label=f.label)
        return compact
    if f.kind == "phone":
        return normalise_phone(value, f)
    if f.kind == "choice":
        allowed = [key for key, _ in f.choice_list()]
        if value not in allowed:
            raise ValidationError(N_("%(label)s: choose one of the listed values."),
                                  f.name, label=f.label)
        return value
    if f.kind in ("int", "ref"):
        try:
            number = int(str(value).replace(",", "").strip()) if not isinstance(value, int) else value
        except ValueError:
            raise ValidationError(N_("%(label)s must be a whole number."), f.name, label=f.label)
        if isinstance(value, bool):
            raise ValidationError(N_("%(label)s must be a whole number."), f.name, label=f.label)
        if f.min is not None and number < f.min:
            raise ValidationError(N_("%(label)s must be at least %(n)d."), f.name,
                                  label=f.label, n=f.min)
        if f.max is not None and number > f.max:
            raise ValidationError(N_("%(label)s must be at most %(n)d."), f.name,
                                  label=f.label, n=f.max)
        return number
    if f.kind == "datetime":
        try:
            parsed = dt.datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise ValidationError(N_("%(label)s must be a date and time like 2026-03-31 17:00."),
                                  f.name, label=f.label)
        return clock.to_utc(parsed, tz)
    if f.kind == "date":
        try:
            return dt.date.fromisoformat(str(value).strip())
        except ValueError:
            raise ValidationError(N_("%(label)s must be a date like 2026-03-31."),
                                  f.name, label=f.label)
    return value


def normalise_phone(value: str, f: Field) -> str:
    """Korean phone numbers in their usual hyphenated national form (010-1234-5678)."""
    try:
        number = phonenumbers.parse(value, "KR")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_possible_number(number):
        raise ValidationError(N_("%(label)s is not a valid phone number."), f.name, label=f.label)
    if number.country_code == 82:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def parse(fields: list[Field], raw: Mapping[str, Any], tz=None, partial: bool = False) -> dict:
    """Parse ``raw`` (form strings or JSON values) against ``fields``.

    Returns ``{name: typed value}``; raises one ValidationError listing every bad field.
    With ``partial`` only the fields present in ``raw`` are parsed (an API PATCH).
    """
    tz = tz or clock.zone()
    values, errors = {}, {}
    for f in fields:
        if partial and f.name not in raw:
            continue
        try:
            values[f.name] = _parse_one(f, raw.get(f.name), tz)
        except ValidationError as exc:
            errors[f.name] = exc
    if errors:
        first = next(iter(errors.values()))
        raise ValidationError(first.message, first.field, errors=errors, **first.params)
    return values
