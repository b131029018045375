"""Subscriptions (定期受注): status 有効 / 停止 / キャンセル, changed by people or by rules."""
from __future__ import annotations

from engine import events
from engine.errors import NotFound, ValidationError
from engine.models import Subscription, db
from engine.text import N_

STATUSES = ("有効", "停止", "キャンセル")


def set_status(subscription_id: int, status: str, ctx) -> Subscription:
    """Change a subscription's status in one transaction and raise its change event."""
    if status not in STATUSES:
        raise ValidationError(N_("A subscription status is one of %(statuses)s."), "status",
                              statuses=", ".join(STATUSES))
    with events.collecting(), db.atomic():
        subscription = Subscription.get_or_none(Subscription.id == subscription_id)
        if subscription is None:
            raise NotFound(N_("No such subscription."))
        old = subscription.status
        if old == status:
            return subscription
        (Subscription.update(status=status, updated_at=ctx.now, version=Subscription.version + 1)
         .where(Subscription.id == subscription_id).execute())
        subscription.status = status
        events.raise_event(events.Event("subscription", subscription_id, events.CHANGED,
                                        ctx.now, ctx.actor.id if ctx.actor else None,
                                        {"status": (old, status)},
                                        key=f"v{subscription.version + 1}"))
    return subscription
