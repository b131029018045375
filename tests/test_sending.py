"""The message path: compose per recipient, store once, deliver once (seed 002 대량 SMS/알림톡)."""
import datetime as dt

import pytest

from engine import sending
from engine.errors import PermissionDenied, ValidationError
from engine.models import Message, MessageTemplate, RecipientConsent, SenderNumber
from engine.providers import PermanentError, Receipt, TransientError, UNREGISTERED_SENDER
from engine.schema import parse
from tests.conftest import NOW, new_order

TZ = sending.clock.zone("Asia/Seoul")


@pytest.fixture
def sender(world):
    return SenderNumber.create(number="15881234", label="대표번호")


def values(**raw):
    raw.setdefault("channel", "sms")
    raw.setdefault("sender", "15881234")
    return parse(sending.SEND_FIELDS, raw)


def drafts_for(orders, now=NOW, **raw):
    recipients = sending.recipients_for_orders([o.id for o in orders], values(**raw)["channel"])
    return sending.compose(values(**raw), recipients, now, TZ)


def test_one_text_becomes_sms_or_lms_per_recipient(world, sender):
    short = new_order(world, recipient_name="장유리")
    long_name = new_order(world, recipient_name="가" * 30)
    drafts = drafts_for([short, long_name], text="#{수령자}님, 주문 #{주문번호} 상품을 발송했습니다.")
    assert [d.kind for d in drafts] == ["SMS", "LMS"]
    assert drafts[0].body.startswith("장유리님, 주문 M20260331-0001")
    assert drafts[1].bytes > 90


def test_unknown_placeholder_is_refused_before_anything_is_stored(world, sender):
    order = new_order(world)
    with pytest.raises(ValidationError) as err:
        drafts_for([order], text="#{수령인}님 안녕하세요")
    assert err.value.field == "text" and "#{수령인}" in str(err.value)


def test_emoji_and_missing_phone_are_listed_per_recipient(world, sender):
    good = new_order(world)
    no_phone = new_order(world, recipient_mobile="")
    drafts = drafts_for([good, no_phone], text="배송 시작 🚚")
    assert not drafts[0].ok and "🚚" in drafts[0].problems[0][1]["chars"]
    assert any("phone" in p[0] for p in drafts[1].problems)


def test_double_click_stores_each_message_once(world, sender):
    order = new_order(world)
    drafts = drafts_for([order], text="안내 문자")
    first = sending.enqueue(drafts, "batch-1", world.agent, NOW, sender="15881234")
    again = sending.enqueue(drafts, "batch-1", world.agent, NOW, sender="15881234")
    assert (len(first.stored), first.duplicates) == (1, 0)
    assert (len(again.stored), again.duplicates) == (0, 1)
    assert Message.select().count() == 1


def test_outbox_sends_from_a_registered_number(world, sender):
    order = new_order(world)
    sending.enqueue(drafts_for([order], text="안내"), "b", world.agent, NOW, sender="15881234")
    assert sending.deliver_due(NOW, sending.Providers()) == 1
    message = Message.get()
    assert (message.status, message.carrier_result, message.sent_at) == ("sent", "전송완료", NOW)
    assert sending.deliver_due(NOW, sending.Providers()) == 0  # nothing sent twice


def test_unregistered_sender_fails_with_the_carriers_reason(world, sender):
    SenderNumber.create(number="0318115500", registered=False)
    order = new_order(world)
    drafts = drafts_for([order], text="안내", sender="0318115500")
    sending.enqueue(drafts, "b", world.agent, NOW, sender="0318115500")
    sending.deliver_due(NOW, sending.Providers())
    message = Message.get()
    assert (message.status, message.carrier_result) == ("failed", UNREGISTERED_SENDER)


class Flaky:
    name = "flaky"

    def __init__(self, failures, error=TransientError):
        self.failures, self.error, self.calls = failures, error, 0

    def send(self, message):
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error("503 Service Unavailable")
        return Receipt("ok-1", "전송완료")


def test_transient_errors_are_retried_with_backoff(world, sender):
    sending.enqueue(drafts_for([new_order(world)], text="안내"), "b", None, NOW,
                    sender="15881234")
    provider = Flaky(2)
    providers = sending.Providers(text=provider)
    sending.deliver_due(NOW, providers)
    message = Message.get()
    assert message.status == "queued" and message.send_after == NOW + dt.timedelta(seconds=30)
    assert sending.deliver_due(NOW + dt.timedelta(seconds=10), providers) == 0  # not yet due
    sending.deliver_due(NOW + dt.timedelta(seconds=30), providers)
    sending.deliver_due(NOW + dt.timedelta(minutes=5), providers)
    message = Message.get()
    assert (message.status, message.attempts, provider.calls) == ("sent", 3, 3)


def test_transient_errors_give_up_after_max_attempts(world, sender):
    sending.enqueue(drafts_for([new_order(world)], text="안내"), "b", None, NOW,
                    sender="15881234")
    providers = sending.Providers(text=Flaky(99))
    at = NOW
    for _ in range(sending.MAX_ATTEMPTS + 2):
        sending.deliver_due(at, providers)
        at += dt.timedelta(hours=1)
    message = Message.get()
    assert (message.status, message.attempts) == ("failed", sending.MAX_ATTEMPTS)


def test_crash_mid_send_is_never_resent(world, sender):
    sending.enqueue(drafts_for([new_order(world)], text="안내"), "b", None, NOW,
                    sender="15881234")
    assert sending._claim(Message.get().id, NOW)   # a process claims it, then dies
    provider = Flaky(0)
    sending.deliver_due(NOW + sending.LEASE + dt.timedelta(seconds=1),
                        sending.Providers(text=provider))
    message = Message.get()
    assert message.status == "unknown" and provider.calls == 0


def test_two_processes_never_send_one_message_twice(world, sender):
    sending.enqueue(drafts_for([new_order(world) for _ in range(5)], text="안내"), "b", None,
                    NOW, sender="15881234")
    ids = [m.id for m in Message.select()]
    assert [sending._claim(i, NOW) for i in ids] == [True] * 5
    assert [sending._claim(i, NOW) for i in ids] == [False] * 5


def alimtalk_template(**fields):
    data = dict(name="발송안내", kind="alimtalk", alimtalk_code="SHIP_001",
                body="#{수령자}님, 주문하신 상품이 발송되었습니다. 송장번호: #{송장번호} 감사합니다.",
                fallback_text="[발송안내] #{수령자}님 송장 #{송장번호}")
    data.update(fields)
    return MessageTemplate.create(**data)


def test_alimtalk_draft_keeps_an_sms_fallback(world, sender):
    template = alimtalk_template()
    drafts = drafts_for([new_order(world)], channel="alimtalk", template=str(template.id))
    assert drafts[0].kind == "ALIMTALK" and drafts[0].fallback.body.startswith("[발송안내]")


def test_edited_alimtalk_text_falls_back_to_sms(world, sender):
    template = alimtalk_template()
    drafts = drafts_for([new_order(world)], channel="alimtalk", template=str(template.id),
                        text="#{수령자}님, 오늘 발송했어요!")
    assert drafts[0].kind in ("SMS", "LMS") and drafts[0].notes


def test_unapproved_alimtalk_template_falls_back(world, sender):
    template = alimtalk_template(approval="pending")
    drafts = drafts_for([new_order(world)], channel="alimtalk", template=str(template.id))
    assert drafts[0].kind in ("SMS", "LMS")


def test_undeliverable_alimtalk_sends_the_fallback_once(world, sender):
    template = alimtalk_template()
    order = new_order(world)
    sending.enqueue(drafts_for([order], channel="alimtalk", template=str(template.id)), "b",
                    None, NOW, sender="15881234", template_id=template.id)
    failing = Flaky(1, error=PermanentError)
    sending.deliver_due(NOW, sending.Providers(text=failing))
    sending.deliver_due(NOW, sending.Providers(text=failing))
    kinds = {m.kind: m for m in Message.select()}
    assert kinds["ALIMTALK"].status == "failed"
    assert kinds["SMS"].status == "sent" and kinds["SMS"].fallback_of_id == kinds["ALIMTALK"].id
    assert Message.select().count() == 2


def test_ads_at_night_wait_for_8_unless_consented(world, sender):
    night = dt.datetime(2026, 3, 31, 13, 30)  # 22:30 in Seoul
    a = new_order(world, recipient_mobile="010-1111-2222")
    b = new_order(world, recipient_mobile="010-3333-4444")
    RecipientConsent.create(phone="01033334444", night_ads=True)
    text = "(광고) 봄 세일 30%\n무료수신거부 080-123-4567"
    drafts = drafts_for([a, b], now=night, text=text, is_ad="1")
    assert drafts[0].send_after == dt.datetime(2026, 3, 31, 23, 0)  # 08:00 KST next day
    assert drafts[1].send_after is None
    sending.enqueue(drafts, "ad", None, night, sender="15881234")
    assert sending.deliver_due(night, sending.Providers()) == 1
    assert sending.deliver_due(dt.datetime(2026, 3, 31, 23, 0), sending.Providers()) == 1


def test_ad_without_opt_out_line_is_not_sendable(world, sender):
    drafts = drafts_for([new_order(world)], text="(광고) 봄 세일", is_ad="1")
    assert not drafts[0].ok


def test_single_send_to_typed_numbers(world, sender):
    result = sending.send({"channel": "sms", "sender": "15881234", "text": "테스트문자4"},
                          world.agent, NOW, TZ, "single-1", to=["010-2615-7283", "01048557253"])
    assert [m.to for m in result.stored] == ["01026157283", "01048557253"]
    with pytest.raises(ValidationError) as err:
        sending.send({"channel": "sms", "sender": "15881234", "text": "x"}, world.agent, NOW,
                     TZ, "single-2", to=["전화번호"])
    assert err.value.field == "to"


def test_placeholders_need_an_order_context(world, sender):
    with pytest.raises(ValidationError):
        sending.send({"channel": "sms", "sender": "15881234", "text": "#{수령자}님"},
                     world.agent, NOW, TZ, "single-3", to=["01012345678"])


def test_viewer_cannot_send(world, sender):
    with pytest.raises(PermissionDenied):
        sending.send({"channel": "sms", "sender": "15881234", "text": "x"}, world.viewer, NOW,
                     TZ, "v", to=["01012345678"])
