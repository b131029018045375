"""Demo data of the messages area: sender numbers, templates, macros and a year of sends.

Loaded once: each sender list, template and macro only when missing, the history only into
an empty message store. Templates
and macros are saved through ``message_templates`` and the sends go through the one message
path (``sending.send`` then ``deliver_due`` with the outbox provider), so the demo history,
usage log and chart read exactly like real use — including the carrier's refusal of the
unregistered 070 number.
"""
from __future__ import annotations

import datetime as dt
import random

from engine import clock, message_templates, sending
from engine.errors import EngineError
from engine.models import (
    Macro, Message, MessageTemplate, Order, SenderNumber, User, db, utcnow,
)

SENDERS = [("15881234", "대표번호", True), ("07047548135", "CS팀 직통 (등록 대기)", False)]

TEMPLATES = [
    {"name": "발송안내 (SMS)", "kind": "sms",
     "body": "#{수령자}님, 주문(#{주문번호}) 상품이 발송되었습니다. #{택배사} #{송장번호}"},
    {"name": "발송안내 (알림톡)", "kind": "alimtalk", "alimtalk_code": "SHIP_001",
     "approval": "approved",
     "body": "#{수령자}님, 주문하신 상품이 발송되었습니다.\n\n주문번호: #{주문번호}\n택배사: #{택배사}\n"
             "송장번호: #{송장번호}\n\n배송 조회는 아래 버튼을 눌러 주세요.",
     "buttons": [{"name": "배송 조회", "type": "DS", "url": ""}],
     "fallback_text": "[발송안내] #{수령자}님 주문 상품 발송: #{택배사} #{송장번호}"},
    {"name": "주문확인 (메일)", "kind": "email",
     "subject": "[#{판매처}] 주문이 접수되었습니다 (#{주문번호})",
     "body": "#{구매자}님, 주문해 주셔서 감사합니다.\n\n주문번호: #{주문번호}\n상품: #{상품명}\n"
             "결제금액: #{주문금액}원\n\n상품이 발송되면 다시 알려 드리겠습니다.",
     "html_body": "<p><b>#{구매자}</b>님, 주문해 주셔서 감사합니다.</p>"
                  "<p>주문번호: #{주문번호}<br>상품: #{상품명}<br>결제금액: #{주문금액}원</p>"},
    {"name": "입고지연 안내", "kind": "sms",
     "body": "#{수령자}님, 주문하신 #{상품명} 상품이 입고 지연으로 2~3일 늦게 발송될 예정입니다. "
             "불편을 드려 죄송합니다."},
    {"name": "고객센터 운영시간", "kind": "sms",
     "body": "[고객센터] 평일 09:00~18:00 (점심 12:00~13:00) 운영합니다. 문의: 1588-1234"},
    {"name": "봄맞이 세일 (광고)", "kind": "sms", "is_ad": True,
     "subject": "봄맞이 세일",
     "body": "(광고) [ruledesk몰] 봄맞이 전 품목 20% 할인!\n쿠폰코드 SPRING20, 이번 주 일요일까지.\n"
             "무료수신거부 080-123-4567"},
]

MACROS = [
    ("배송지연 사과", "택배사 사정으로 배송이 1~2일 지연되고 있습니다. 불편을 드려 죄송합니다."),
    ("주소 확인 요청", "배송지 주소가 확인되지 않아 연락드렸습니다. 정확한 주소를 회신 부탁드립니다."),
]

SINGLE_TEXTS = [
    "고객님, 요청하신 교환 접수가 완료되었습니다.",
    "반품 회수 기사님이 내일 방문 예정입니다. 문 앞에 상품을 놓아 주세요.",
    "주문하신 상품이 품절되어 연락드렸습니다. 고객센터 1588-1234로 연락 부탁드립니다.",
    "환불 처리가 완료되었습니다. 카드사 사정에 따라 3~5일 소요됩니다.",
    "문의하신 상품은 다음 주 화요일 재입고 예정입니다.",
]


def load_message_demo(now: dt.datetime | None = None, actor: User | None = None,
                      seed: int = 20260331, history: bool = True) -> None:
    """Sender numbers, templates and macros (each only when missing); with ``history`` and an
    empty message store, a year of delivered sends."""
    now = now or utcnow()
    with db.atomic():
        if not SenderNumber.select().exists():
            for number, label, registered in SENDERS:
                SenderNumber.create(number=number, label=label, registered=registered)
        for raw in TEMPLATES:
            if not MessageTemplate.select().where(MessageTemplate.name == raw["name"]).exists():
                message_templates.save_template(None, {"active": True, **raw}, now=now)
        owner = actor or User.get_or_none(User.role == "master")
        for name, body in MACROS:
            if not Macro.select().where(Macro.name == name).exists():
                Macro.create(name=name, body=body, created_by=owner)
    if history and not Message.select().exists():
        _load_history(random.Random(seed), now, actor)


def _operators(actor):
    agents = list(User.select().where(User.role == "agent").order_by(User.id))
    return agents or ([actor] if actor else [None])


def _load_history(rng, now, actor) -> None:
    tz = clock.zone()
    providers = sending.Providers()
    operators = _operators(actor)
    templates = {t.name: t for t in MessageTemplate.select()}
    sends = []  # (when, raw, order_ids, to)
    # typed-number sends (개별문자) over the last 12 months, growing towards today
    for days_back in range(360, 0, -1):
        if rng.random() > 0.12 + 0.5 * (360 - days_back) / 360:
            continue
        when = now - dt.timedelta(days=days_back, minutes=rng.randint(0, 480))
        text = rng.choice(SINGLE_TEXTS)
        sender = "07047548135" if rng.random() < 0.08 else "15881234"
        numbers = ["010%04d%04d" % (rng.randint(2000, 9999), rng.randint(0, 9999))
                   for _ in range(rng.choice([1, 1, 1, 2, 3]))]
        sends.append((when, {"channel": "sms", "sender": sender, "text": text,
                             "subject": "교환/반품 안내" if rng.random() < 0.15 else ""},
                      None, numbers))
    # order sends: shipping notices for shipped orders (AlimTalk or SMS), order mails
    shipped = list(Order.select().where(Order.tracking_no.is_null(False))
                   .order_by(Order.id).limit(80))
    for order in shipped:
        when = ((order.shipped_at or order.invoiced_at or order.received_at)
                + dt.timedelta(minutes=5))
        when = min(when, now - dt.timedelta(minutes=1))
        pick = rng.random()
        if pick < 0.55:
            template = templates["발송안내 (알림톡)"]
            raw = {"channel": "alimtalk", "sender": "15881234", "template": str(template.id)}
        elif pick < 0.85:
            template = templates["발송안내 (SMS)"]
            raw = {"channel": "sms", "sender": "15881234", "template": str(template.id)}
        else:
            template = templates["입고지연 안내"]
            raw = {"channel": "sms", "sender": "15881234", "template": str(template.id)}
        sends.append((when, raw, [order.id], None))
    sends.sort(key=lambda item: item[0])
    for index, (when, raw, order_ids, to) in enumerate(sends):
        operator = rng.choice(operators)
        try:
            sending.send(raw, operator, when, tz, f"demo-{index:05d}", order_ids=order_ids,
                         to=to)
        except EngineError:  # a demo send that does not fit is simply left out
            continue
        sending.deliver_due(when + dt.timedelta(seconds=rng.randint(5, 50)), providers)
