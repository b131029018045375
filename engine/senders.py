"""Sender numbers (발신번호): only pre-registered numbers may send (발신번호 사전등록제)."""
from __future__ import annotations

from engine import messaging
from engine.errors import NotFound, ValidationError
from engine.models import SenderNumber, User, db
from engine.schema import Field, parse
from engine.text import N_
from engine.users import require

SENDER_FIELDS = [
    Field("number", N_("Sender number"), required=True, max_length=20),
    Field("label", N_("Label"), max_length=60),
    Field("registered", N_("Registered with the carriers"), kind="bool"),
]


def save_sender(actor: User | None, raw: dict, sender_id: int | None = None) -> SenderNumber:
    """Add or change a sender number after the pre-registration number rules."""
    if actor is not None:
        require(actor, "settings")
    values = parse(SENDER_FIELDS, raw)
    values["number"] = messaging.normalise_sender(values["number"])
    with db.atomic():
        clash = SenderNumber.select().where(SenderNumber.number == values["number"])
        if sender_id is not None:
            clash = clash.where(SenderNumber.id != sender_id)
        if clash.exists():
            raise ValidationError(N_("%(number)s is registered already."), "number",
                                  number=values["number"])
        if sender_id is None:
            return SenderNumber.create(**values)
        sender = SenderNumber.get_or_none(SenderNumber.id == sender_id)
        if sender is None:
            raise NotFound(N_("No such sender number."))
        for name, value in values.items():
            setattr(sender, name, value)
        sender.save()
        return sender


def delete_sender(actor: User, sender_id: int) -> None:
    """Remove a sender number; messages keep the number they were sent from."""
    require(actor, "settings")
    with db.atomic():
        sender = SenderNumber.get_or_none(SenderNumber.id == sender_id)
        if sender is None:
            raise NotFound(N_("No such sender number."))
        sender.delete_instance()
