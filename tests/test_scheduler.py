"""The ticking loop runs every duty; one failing duty does not stop the others."""
import threading

from engine.scheduler import Ticker


def test_failing_duty_does_not_stop_the_loop(monkeypatch):
    ticker = Ticker()
    calls = []
    ticker.every(1, "boom", lambda: 1 / 0)
    ticker.every(1, "count", lambda: calls.append(1))
    for job in ticker.clock.jobs:       # make both due now without waiting a second
        job.next_run = job.next_run.replace(year=2000)
    ticker.run_pending()
    assert calls == [1]


def test_app_delivers_queued_messages_in_its_own_thread(database_url, database, world):
    """python app.py = web + scheduler in one process: a queued SMS leaves the outbox."""
    import time
    from app import create_app
    from engine import sending
    from engine.models import Message, SenderNumber
    from engine.schema import parse
    from tests.conftest import NOW, new_order

    SenderNumber.create(number="15881234")
    order = new_order(world)
    values = parse(sending.SEND_FIELDS, {"channel": "sms", "sender": "15881234", "text": "안내"})
    drafts = sending.compose(values, sending.recipients_for_orders([order.id], "sms"), NOW,
                             sending.clock.zone())
    sending.enqueue(drafts, "b", None, NOW, sender="15881234")
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "DEMO": False,
                      "SECRET_KEY": "x", "SCHEDULER": True})
    stop = app.extensions["ruledesk.scheduler"]
    try:
        for _ in range(100):
            if Message.get().status == "sent":
                break
            time.sleep(0.1)
        assert Message.get().status == "sent"
    finally:
        stop.set()
