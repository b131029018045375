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
    "set_payment_status": N_("Change payment status"),
    "set_payment_method": N_("Change payment method"),
    "mark_shipping_list_exported": N_("Mark shipping list exported"),
    "set_delivery_date": N_("Set delivery date"),
    "note": N_("CS note"),
    # CS operations (seed 002): 개별취소, 상품변경, 합포, 회수, 반품예정, 주문복사, 주문삭제, 우선순위
    "partial_cancel": N_("Cancel part"),
    "partial_restore": N_("Restore part"),
    "change_product": N_("Change product"),
    "add_product": N_("Add product"),
    "combine": N_("Combine"),
    "uncombine": N_("Leave combined shipment"),
    "delete_combine": N_("Dissolve combined shipment"),
    "forbid_combine": N_("Forbid combining"),
    "allow_combine": N_("Allow combining"),
    "pickup": N_("Request pickup"),
    "pickup_receive": N_("Pickup accepted"),
    "pickup_complete": N_("Complete pickup"),
    "mark_return_expected": N_("Mark return expected"),
    "unmark_return_expected": N_("Unmark return expected"),
    "mark_exchange_expected": N_("Mark exchange expected"),
    "unmark_exchange_expected": N_("Unmark exchange expected"),
    "copy": N_("Copy with another product"),
    "copy_all": N_("Copy whole order"),
    "delete": N_("Delete order"),
    "set_priority": N_("Set print priority"),
    "refund": N_("Refund (credit note)"),   # after-sales from a helpdesk ticket (seed 003)
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
