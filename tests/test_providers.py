"""Providers end to end: email through a real local SMTP server, SMS/LMS/AlimTalk through the
official SOLAPI SDK against a local fake of its HTTP API, and the outbox (nothing leaves).

Every server binds 127.0.0.1 on an OS-chosen port and is stopped by its fixture.
"""
import datetime as dt
import email
import socket
from email import policy

import pytest

from engine import sending
from engine.models import Message, MessageTemplate, Order, SenderNumber
from engine.providers import (
    OutboxProvider, PermanentError, SmtpProvider, SolapiProvider, TransientError,
    UNREGISTERED_SENDER, UncertainError,
)
from engine.schema import parse
from tests.conftest import NOW, new_order
from tests.fakes.smtp import LocalSmtp, free_port
from tests.fakes.solapi import SEND_PATH, FakeSolapi

TZ = sending.clock.zone("Asia/Seoul")
SUBJECT = "[ruledesk] 주문 발송 안내"
BODY = ("#{수령자}님, 주문하신 상품을 발송했습니다.\n"
        "주문번호: #{주문번호}\n택배사: #{택배사} / 송장번호: #{송장번호}\n감사합니다.")
RETRY_AT = NOW + sending.backoff(1)


@pytest.fixture
def sender(world):
    return SenderNumber.create(number="15881234", label="대표번호")


def shipped_order(world, name="장유리", tracking_no="6543210987", **fields):
    order = new_order(world, recipient_name=name, **fields)
    (Order.update(buyer_email="yuri@example.com", courier="CJ대한통운", tracking_no=tracking_no)
     .where(Order.id == order.id).execute())
    return Order.get_by_id(order.id)


def queue(world, orders, batch="b", **raw) -> list[Message]:
    """Compose and store through the real path; return the stored messages."""
    raw.setdefault("channel", "sms")
    if raw["channel"] != "email":
        raw.setdefault("sender", "15881234")
    values = parse(sending.SEND_FIELDS, raw)
    recipients = sending.recipients_for_orders([o.id for o in orders], values["channel"])
    drafts = sending.compose(values, recipients, NOW, TZ)
    assert all(d.ok for d in drafts), [d.problems for d in drafts]
    template_id = int(values["template"]) if values.get("template") else None
    result = sending.enqueue(drafts, batch, world.agent, NOW, sender=values.get("sender") or "",
                             template_id=template_id)
    assert len(result.stored) == len(orders)
    return result.stored


def reload(message: Message) -> Message:
    return Message.get_by_id(message.id)


# --- email through a real SMTP server -----------------------------------------------------

def email_template(**fields):
    data = dict(name="발송안내 메일", kind="email", subject=SUBJECT, body=BODY,
                html_body="<p><b>#{수령자}</b>님, 주문 <code>#{주문번호}</code> 발송 완료</p>")
    data.update(fields)
    return MessageTemplate.create(**data)


def parts(raw: bytes):
    parsed = email.message_from_bytes(raw, policy=policy.default)
    return parsed, {p.get_content_type(): p.get_content() for p in parsed.walk()
                    if not p.is_multipart()}


def test_email_arrives_with_korean_subject_body_and_html(world, sender):
    order = shipped_order(world)
    [message] = queue(world, [order], channel="email", template=str(email_template().id))
    with LocalSmtp() as smtp:
        providers = sending.Providers(email=SmtpProvider("127.0.0.1", smtp.port))
        assert sending.deliver_due(NOW, providers) == 1
        assert sending.deliver_due(NOW, providers) == 0   # never twice
    [(mail_from, rcpt_tos, raw)] = smtp.received
    assert (mail_from, rcpt_tos) == ("ruledesk@localhost", ["yuri@example.com"])
    assert raw.isascii()   # no BODY=8BITMIME was declared, so the data must be 7-bit
    parsed, contents = parts(raw)
    assert parsed["Subject"] == SUBJECT
    assert parsed["To"] == "yuri@example.com"
    assert parsed.get_content_type() == "multipart/alternative"
    assert contents["text/plain"].rstrip("\n") == message.body
    assert "장유리님, 주문하신 상품을 발송했습니다." in contents["text/plain"]
    assert "송장번호: 6543210987" in contents["text/plain"]
    assert "<b>장유리</b>님" in contents["text/html"] and order.order_no in contents["text/html"]
    message = reload(message)
    assert (message.status, message.provider, message.sent_at) == ("sent", "smtp", NOW)
    # a well-formed Message-ID (the idempotency key holds "@" and ":") is the provider id
    assert message.provider_id == parsed["Message-ID"]
    assert not parsed["Message-ID"].defects
    assert message.provider_id.count("@") == 1 and message.provider_id.endswith("@ruledesk>")


def test_email_without_html_is_one_plain_part(world, sender):
    order = shipped_order(world)
    [message] = queue(world, [order], channel="email", subject=SUBJECT,
                      text="#{수령자}님, 발송했습니다. 송장 #{송장번호}")
    with LocalSmtp() as smtp:
        sending.deliver_due(NOW, sending.Providers(email=SmtpProvider("127.0.0.1", smtp.port)))
    parsed, contents = parts(smtp.received[0][2])
    assert parsed.get_content_type() == "text/plain"
    assert parsed["Subject"] == SUBJECT
    assert contents == {"text/plain": "장유리님, 발송했습니다. 송장 6543210987\n"}
    assert reload(message).status == "sent"


def test_email_refused_recipient_fails_with_the_servers_code(world, sender):
    [message] = queue(world, [shipped_order(world)], channel="email",
                      template=str(email_template().id))
    with LocalSmtp(rcpt_reply="550 5.1.1 <yuri@example.com>: Recipient address rejected") as smtp:
        sending.deliver_due(NOW, sending.Providers(email=SmtpProvider("127.0.0.1", smtp.port)))
    assert smtp.received == []
    message = reload(message)
    assert message.status == "failed"
    assert message.carrier_result.startswith("550 ")
    assert "Recipient address rejected" in message.carrier_result
    assert message.attempts == 1


@pytest.mark.parametrize("replies", [
    {"rcpt_reply": "450 4.2.1 Mailbox busy, try later"},
    {"data_reply": "451 4.3.0 Temporary local problem"},
])
def test_email_4xx_reply_is_retried_later(world, sender, replies):
    [message] = queue(world, [shipped_order(world)], channel="email",
                      template=str(email_template().id))
    with LocalSmtp(**replies) as smtp:
        sending.deliver_due(NOW, sending.Providers(email=SmtpProvider("127.0.0.1", smtp.port)))
    assert smtp.received == []
    message = reload(message)
    assert (message.status, message.send_after, message.attempts) == ("queued", RETRY_AT, 1)
    assert message.error.startswith("45") and message.carrier_result == ""


def test_email_server_down_is_retried_later(world, sender):
    [message] = queue(world, [shipped_order(world)], channel="email",
                      template=str(email_template().id))
    provider = SmtpProvider("127.0.0.1", free_port(), timeout=2)
    with pytest.raises(TransientError):
        provider.send(message)
    sending.deliver_due(NOW, sending.Providers(email=provider))
    message = reload(message)
    assert (message.status, message.send_after, message.attempts) == ("queued", RETRY_AT, 1)
    assert message.error


# --- SMS / LMS / AlimTalk through the SOLAPI SDK ------------------------------------------

@pytest.fixture
def solapi():
    with FakeSolapi() as fake:
        yield fake


def solapi_providers(fake) -> sending.Providers:
    return sending.Providers(text=SolapiProvider("KEY123", "SECRET456", pf_id="KA01PF_FAKE",
                                                 base_url=fake.url + "/"))


def test_sms_and_lms_requests_carry_type_from_to_text_and_subject(world, sender, solapi):
    [sms] = queue(world, [shipped_order(world)], batch="b1",
                  text="#{수령자}님, 송장 #{송장번호}")
    [lms] = queue(world, [shipped_order(world, name="변다사", tracking_no="6543210988")], batch="b2",
                  subject="[발송안내]", text=BODY)
    assert (sms.kind, lms.kind) == ("SMS", "LMS")
    assert sending.deliver_due(NOW, solapi_providers(solapi)) == 2
    assert [r.path for r in solapi.requests] == [SEND_PATH, SEND_PATH]
    for request in solapi.requests:
        assert request.authorization.startswith("HMAC-SHA256 ApiKey=KEY123, Date=")
        assert "signature=" in request.authorization and "SECRET456" not in request.authorization
    first, second = solapi.messages
    assert first["type"] == "SMS" and "subject" not in first
    assert (first["to"], first["from"], first["text"]) == (
        "01089856279", "15881234", "장유리님, 송장 6543210987")
    assert (second["type"], second["subject"], second["from"]) == ("LMS", "[발송안내]", "15881234")
    assert second["text"] == lms.body and "변다사님, 주문하신 상품을 발송했습니다." in second["text"]
    assert "kakaoOptions" not in first and "kakaoOptions" not in second
    for message in (sms, lms):
        message = reload(message)
        assert (message.status, message.provider, message.provider_id,
                message.carrier_result) == ("sent", "solapi", solapi.group_id, "접수완료")


def alimtalk_template(**fields):
    data = dict(name="발송안내", kind="alimtalk", alimtalk_code="SHIP_001",
                body="#{수령자}님, 주문하신 상품이 발송되었습니다. 송장번호: #{송장번호} 감사합니다.",
                fallback_text="[발송안내] #{수령자}님 송장 #{송장번호}")
    data.update(fields)
    return MessageTemplate.create(**data)


def test_alimtalk_request_carries_kakao_options(world, sender, solapi):
    template = alimtalk_template()
    [message] = queue(world, [shipped_order(world)], channel="alimtalk",
                      template=str(template.id))
    assert message.kind == "ALIMTALK"
    sending.deliver_due(NOW, solapi_providers(solapi))
    [sent] = solapi.messages
    assert sent["type"] == "ATA"
    assert sent["kakaoOptions"]["pfId"] == "KA01PF_FAKE"
    assert sent["kakaoOptions"]["templateId"] == "SHIP_001"
    assert sent["kakaoOptions"]["disableSms"] is True   # our own fallback, not SOLAPI's
    assert (sent["to"], sent["from"]) == ("01089856279", "15881234")
    assert sent["text"] == "장유리님, 주문하신 상품이 발송되었습니다. 송장번호: 6543210987 감사합니다."
    assert reload(message).status == "sent"
    assert Message.select().count() == 1


def test_solapi_400_fails_with_the_error_text(world, sender, solapi):
    solapi.mode = "http400"
    [message] = queue(world, [shipped_order(world)], text="안내")
    sending.deliver_due(NOW, solapi_providers(solapi))
    message = reload(message)
    assert message.status == "failed"
    assert message.carrier_result == "ValidationError 수신번호(to)가 올바르지 않습니다."
    assert len(solapi.requests) == 1


def test_solapi_500_is_retried_later(world, sender, solapi):
    solapi.mode = "http500"
    [message] = queue(world, [shipped_order(world)], text="안내")
    sending.deliver_due(NOW, solapi_providers(solapi))
    message = reload(message)
    assert (message.status, message.send_after, message.attempts) == ("queued", RETRY_AT, 1)
    assert message.error.startswith("UnknownError")
    assert len(solapi.requests) == 1          # the SDK does not retry status codes itself
    solapi.mode = "ok"
    sending.deliver_due(RETRY_AT, solapi_providers(solapi))
    assert reload(message).status == "sent" and len(solapi.requests) == 2


def test_solapi_refused_sms_fails_without_fallback(world, sender, solapi):
    solapi.mode = "failed"
    solapi.status_code, solapi.status_message = "1062", "발신번호 미등록"
    [message] = queue(world, [shipped_order(world)], text="안내")
    sending.deliver_due(NOW, solapi_providers(solapi))
    message = reload(message)
    assert (message.status, message.carrier_result) == ("failed", "1062 발신번호 미등록")
    assert Message.select().count() == 1


def test_refused_alimtalk_queues_the_sms_fallback_once(world, sender, solapi):
    solapi.mode = "failed"
    template = alimtalk_template()
    [alimtalk] = queue(world, [shipped_order(world)], channel="alimtalk",
                       template=str(template.id))
    providers = solapi_providers(solapi)
    sending.deliver_due(NOW, providers)      # AlimTalk refused → fallback queued and sent
    solapi.mode = "ok"
    sending.deliver_due(NOW, providers)
    sending.deliver_due(NOW + dt.timedelta(hours=1), providers)
    alimtalk = reload(alimtalk)
    assert alimtalk.status == "failed"
    assert alimtalk.carrier_result == "3059 변수 내용이 템플릿과 일치하지 않습니다."
    [fallback] = Message.select().where(Message.fallback_of == alimtalk)
    assert (fallback.kind, fallback.status, fallback.provider_id) == (
        "SMS", "sent", solapi.group_id)
    assert Message.select().count() == 2
    assert [m["type"] for m in solapi.messages] == ["ATA", "SMS"]
    assert solapi.messages[1]["text"] == "[발송안내] 장유리님 송장 6543210987"
    assert "kakaoOptions" not in solapi.messages[1]


def test_unparseable_success_is_uncertain_not_retried(world, sender, solapi):
    """A 2xx we cannot read may have been accepted: neither retry nor fall back."""
    solapi.mode = "garbage"
    [message] = queue(world, [shipped_order(world)], text="안내")
    provider = solapi_providers(solapi).text
    with pytest.raises(UncertainError) as err:
        provider.send(message)
    assert not isinstance(err.value, (TransientError, PermanentError))
    assert len(solapi.requests) == 1


def test_solapi_unreachable_is_transient(world, sender):
    [message] = queue(world, [shipped_order(world)], text="안내")
    provider = SolapiProvider("KEY123", "SECRET456", base_url="http://127.0.0.1:%d"
                              % free_port())
    with pytest.raises(TransientError) as err:
        provider.send(message)
    assert "ConnectError" in err.value.reason


# --- outbox: nothing leaves the machine ---------------------------------------------------

@pytest.fixture
def no_network(monkeypatch):
    """Any outgoing connection fails the test (SQLite needs none)."""
    attempts = []

    def refuse(sock, address):
        attempts.append(address)
        raise AssertionError(f"the outbox opened a connection to {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


def test_outbox_refuses_an_unregistered_sender(world, sender, no_network):
    SenderNumber.create(number="0318115500", registered=False)
    [message] = queue(world, [shipped_order(world)], text="안내", sender="0318115500")
    with pytest.raises(PermanentError) as err:
        OutboxProvider().send(message)
    assert err.value.reason == UNREGISTERED_SENDER
    sending.deliver_due(NOW, sending.Providers())
    message = reload(message)
    assert (message.status, message.carrier_result) == ("failed", UNREGISTERED_SENDER)
    SenderNumber.delete().where(SenderNumber.number == "0318115500").execute()
    with pytest.raises(PermanentError):   # not on the list at all
        OutboxProvider().send(message)
    assert no_network == []


def test_outbox_email_is_sent_and_nothing_leaves(world, sender, no_network):
    [message] = queue(world, [shipped_order(world)], channel="email",
                      template=str(email_template().id))
    assert sending.deliver_due(NOW, sending.Providers()) == 1
    message = reload(message)
    assert (message.status, message.provider, message.carrier_result) == (
        "sent", "outbox", "전송완료")
    assert message.provider_id.startswith("outbox-")
    assert no_network == []
