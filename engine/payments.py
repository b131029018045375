"""Payment gateway adapters: re-authorise or cancel an order's payment.

The built-in ``simulated`` gateway gives deterministic outcomes, so the ecforce rules can be
tried on demo data: re-authorising succeeds unless the order's 관리번호 is divisible by 7;
cash on delivery (代金引換) ends in 入金待ち, other methods in 仮売上完了; a failure sets
与信審査エラー. Cancelling always succeeds with 取消完了. The outcome is written through the
``set_payment_status`` operation, so it raises the same events as a person's change.
"""
from __future__ import annotations

from dataclasses import dataclass

from engine import orders
from engine.errors import ValidationError
from engine.models import Order
from engine.text import N_

COD = "代金引換"


@dataclass
class Outcome:
    ok: bool
    payment_status: str
    message: str


class SimulatedGateway:
    name = "simulated"

    def reauthorize(self, order: Order) -> Outcome:
        if order.id % 7 == 0:
            return Outcome(False, "与信審査エラー", "simulated decline (관리번호 divisible by 7)")
        status = "入金待ち" if order.payment_method == COD else "仮売上完了"
        return Outcome(True, status, "simulated approval")

    def cancel(self, order: Order) -> Outcome:
        return Outcome(True, "取消完了", "simulated cancellation")


GATEWAY = SimulatedGateway()


def run_process(order_id: int, process: str, ctx: orders.Context, note: str = "",
                gateway=None) -> str:
    """Run ``reauthorize`` or ``cancel`` at the gateway and record the new payment status."""
    gateway = gateway or GATEWAY
    if process not in ("reauthorize", "cancel"):
        raise ValidationError(N_("Unknown payment process %(name)s."), "process", name=process)
    order = orders.get(order_id)
    outcome = getattr(gateway, process)(order)
    if outcome.payment_status != (order.payment_status or ""):
        orders.perform("set_payment_status", order_id,
                       {"payment_status": outcome.payment_status,
                        "cs_text": f"{note} {gateway.name}: {outcome.message}".strip()}, ctx)
    return f"{process}: {'ok' if outcome.ok else 'declined'} → {outcome.payment_status}"
