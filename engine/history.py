"""CS history (CS 이력): the line every operation writes in its own transaction."""
from __future__ import annotations

from peewee import JOIN

from engine.models import CsHistory, Order, User
from engine.text import N_

# operation code → label (seed 002 names); the codes are what the API and filters use
OPERATION_LABELS = {
    "create": N_("Order created"),
    "hold": N_("Hold"),
    "release": N_("Release hold"),
    "change_shipping": N_("Change shipping info"),
    "invoice": N_("Enter invoice"),
    "delete_invoice": N_("Delete invoice"),
    "ship": N_("Ship"),
    "unship": N_("Cancel shipping"),
    "cancel": N_("Cancel order"),
    "restore": N_("Restore order"),
    "set_handling_status": N_("Change handling status"),
    "note": N_("CS note"),
}


def record(order: Order, operation: str, actor: User | None, now, detail: str = "",
           text: str = "") -> CsHistory:
    """Write one history line; call inside the transaction of the change it records."""
    return CsHistory.create(order=order, operation=operation, operator=actor, created_at=now,
                            detail=detail, text=text or "")


def for_order(order_id: int):
    return (CsHistory.select(CsHistory, User).join(User, on=(CsHistory.operator == User.id),
                                                     join_type=JOIN.LEFT_OUTER)
            .where(CsHistory.order == order_id)
            .order_by(CsHistory.created_at.desc(), CsHistory.id.desc()))
