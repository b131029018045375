"""Advertising consent per recipient: who agreed to receive ads at night (21:00–08:00).

Without it an advertising message composed at night waits until 08:00 (engine.sending);
an agent records the consent the customer gave, with the date, and can withdraw it.
"""
from __future__ import annotations

from engine.errors import NotFound
from engine.models import RecipientConsent, User, db, utcnow
from engine.schema import Field, parse
from engine.text import N_
from engine.users import require

CONSENT_FIELDS = [
    Field("phone", N_("Mobile number"), kind="phone", required=True),
    Field("night_ads", N_("Agrees to advertising between 21:00 and 08:00"), kind="bool"),
]


def _digits(phone: str) -> str:
    return "".join(c for c in phone if c.isdigit())


def set_consent(actor: User | None, raw: dict, now=None) -> RecipientConsent:
    """Record (or change) one recipient's night-advertising consent."""
    if actor is not None:
        require(actor, "operate")
    values = parse(CONSENT_FIELDS, raw)
    phone = _digits(values["phone"])
    with db.atomic():
        consent = RecipientConsent.get_or_none(RecipientConsent.phone == phone)
        if consent is None:
            return RecipientConsent.create(phone=phone, night_ads=values["night_ads"],
                                           updated_at=now or utcnow())
        consent.night_ads, consent.updated_at = values["night_ads"], now or utcnow()
        consent.save()
        return consent


def withdraw(actor: User | None, consent_id: int) -> None:
    if actor is not None:
        require(actor, "operate")
    if not RecipientConsent.delete().where(RecipientConsent.id == consent_id).execute():
        raise NotFound(N_("No such consent."))
