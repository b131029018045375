"""The messages pages (seed 002, 대량 SMS/알림톡): bulk and single sends, byte counter, macros,
templates, sender numbers, history and usage, and who may do what.

Assertions read ids, names and data attributes, never visible text, so they hold in every UI
language.
"""
from __future__ import annotations

import datetime as dt
import re

import pytest

from engine import message_log, sending
from engine.models import Macro, Message, MessageTemplate, SenderNumber, utcnow
from tests.conftest import NOW, new_order

TZ = sending.clock.zone("Asia/Seoul")
HX = {"HX-Request": "true"}
TEXT = "#{수령자}님, 주문 #{주문번호} 상품을 발송했습니다."


@pytest.fixture
def sender(world):
    return SenderNumber.create(number="15881234", label="대표번호")


@pytest.fixture
def three(world):
    """Three orders; the long recipient name makes one of them an LMS."""
    return [new_order(world, recipient_name="장유리", recipient_mobile="010-1111-0001"),
            new_order(world, recipient_name="가" * 30, recipient_mobile="010-1111-0002"),
            new_order(world, recipient_name="함정리", recipient_mobile="010-1111-0003")]


def compose(**fields):
    data = {"channel": "sms", "sender": "15881234", "text": TEXT, "subject": "",
            "template": "", "batch": "batch-0001"}
    data.update(fields)
    return data


def preview_kinds(html: str) -> list[str]:
    return re.findall(r'class="preview-row[^"]*" data-kind="(\w+)"', html)


def error_slot(html: str, name: str) -> str:
    match = re.search(r'<small id="err-%s" class="error"[^>]*>([^<]*)</small>' % re.escape(name),
                      html)
    assert match, f"no error slot for {name}"
    return match.group(1).strip()


# --- pages and permissions ---------------------------------------------------------------

PAGES = ["/messages/send", "/messages/single", "/messages/history", "/messages/usage",
         "/messages/templates", "/messages/senders"]


def test_every_page_renders_for_a_viewer(login, world, sender, three):
    template = MessageTemplate.create(name="발송안내", kind="sms", body=TEXT)
    client = login("viewer")
    for path in PAGES + [f"/messages/templates/{template.id}"]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert 'class="subnav"' in response.get_data(as_text=True)
    assert client.get("/messages/").status_code == 302
    page = client.get("/messages/send").get_data(as_text=True)
    assert 'id="send-form"' not in page and "data-readonly" in page   # no compose panel
    assert f'id="msg-order-{three[0].id}"' in page
    form = client.get(f"/messages/templates/{template.id}").get_data(as_text=True)
    assert "<fieldset class=\"bare\" disabled>" in form and 'data-action="save"' not in form


def test_pages_need_a_login(app, world):
    response = app.test_client().get("/messages/history")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


VIEWER_FORBIDDEN = [
    ("post", "/messages/counter"), ("get", "/messages/compose"), ("get", "/messages/compose/new"),
    ("post", "/messages/send/preview"), ("post", "/messages/send"),
    ("post", "/messages/single/preview"), ("post", "/messages/single"),
    ("get", "/messages/macros"), ("post", "/messages/macros/form"), ("post", "/messages/macros"),
    ("post", "/messages/macros/1/delete"),
]
SETTINGS_ONLY = [
    ("get", "/messages/templates/new"), ("post", "/messages/templates/new"),
    ("post", "/messages/templates/1"), ("post", "/messages/templates/preview"),
    ("get", "/messages/templates/button-row"), ("post", "/messages/senders"),
    ("post", "/messages/senders/1/delete"),
]


def test_viewer_cannot_send_or_change_anything(login, world, sender, three):
    client = login("viewer")
    for method, path in VIEWER_FORBIDDEN + SETTINGS_ONLY:
        response = getattr(client, method)(path, data=compose(ids=[three[0].id]))
        assert response.status_code == 403, (method, path)
    assert Message.select().count() == 0 and Macro.select().count() == 0


def test_agent_sends_but_cannot_change_templates_or_sender_numbers(login, world, sender):
    client = login("agent")
    for method, path in SETTINGS_ONLY:
        response = getattr(client, method)(path, data={"name": "x", "kind": "sms", "body": "x",
                                                       "number": "15889999"})
        assert response.status_code == 403, (method, path)
    assert MessageTemplate.select().count() == 0 and SenderNumber.select().count() == 1
    assert client.post("/messages/counter", data={"text": "안녕"}).status_code == 200


# --- bulk send ------------------------------------------------------------------------------

def test_bulk_search_lists_orders_with_checkboxes(login, world, sender, three):
    other = new_order(world, recipient_name="변다사", address="부산광역시 해운대구 1")
    client = login("agent")
    html = client.get("/messages/send/orders?q=장유리", headers=HX).get_data(as_text=True)
    assert f'value="{three[0].id}" form="send-form"' in html
    assert f'id="msg-order-{other.id}"' not in html
    assert '<input type="hidden" name="search-q" value="장유리" form="send-form">' in html
    kept = client.get(f"/messages/send/orders?ids={three[1].id}", headers=HX).get_data(as_text=True)
    assert f'value="{three[1].id}" form="send-form" aria-label="{three[1].id}" checked' in kept
    assert f'value="{three[0].id}" form="send-form" aria-label="{three[0].id}" >' in kept


def test_bulk_preview_shows_one_lms_and_two_sms(login, world, sender, three):
    client = login("agent")
    response = client.post("/messages/send/preview", headers=HX,
                           data=compose(ids=[o.id for o in three]))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert sorted(preview_kinds(html)) == ["LMS", "SMS", "SMS"]
    assert "장유리님, 주문 %s 상품을" % three[0].order_no in html      # substituted per recipient
    assert 'data-kind-count="LMS"' in html and 'data-ok="0"' not in html
    assert error_slot(html, "text") == "" and error_slot(html, "ids") == ""  # slots cleared
    assert Message.select().count() == 0                        # a preview stores nothing


def test_preview_lists_problems_per_recipient_and_refusals_beside_fields(login, world, sender,
                                                                         three):
    client = login("agent")
    no_phone = new_order(world, recipient_mobile="")
    html = client.post("/messages/send/preview", headers=HX,
                       data=compose(ids=[three[0].id, no_phone.id], text="배송 시작 🚚")
                       ).get_data(as_text=True)
    assert html.count('data-ok="0"') == 2 and "🚚" in html
    refused = client.post("/messages/send/preview", headers=HX,
                          data=compose(ids=[three[0].id], text="#{수령인}님")).get_data(as_text=True)
    assert 'data-state="refused"' in refused and "#{수령인}" in error_slot(refused, "text")
    nothing = client.post("/messages/send/preview", headers=HX,
                          data=compose()).get_data(as_text=True)
    assert error_slot(nothing, "ids")                                     # no order ticked


def test_send_stores_once_per_batch_key(login, world, sender, three):
    client = login("agent")
    data = compose(ids=[o.id for o in three], batch="form-key-1")
    first = client.post("/messages/send", headers=HX, data=data)
    html = first.get_data(as_text=True)
    assert first.status_code == 200 and 'data-stored="3"' in html
    assert "ruledesk:messagesChanged" in first.headers["HX-Trigger"]
    assert Message.select().count() == 3
    assert {m.kind for m in Message.select()} == {"SMS", "LMS"}
    assert {m.operator_id for m in Message.select()} == {world.agent.id}
    again = client.post("/messages/send", headers=HX, data=data).get_data(as_text=True)
    assert 'data-stored="0"' in again and 'data-duplicates="3"' in again
    assert Message.select().count() == 3                                  # nothing stored twice
    client.post("/messages/send", headers=HX, data=dict(data, batch="form-key-2"))
    assert Message.select().count() == 6                                  # a new form, a new send


def test_send_lists_skipped_recipients_with_the_reason(login, world, sender, three):
    client = login("agent")
    no_phone = new_order(world, recipient_mobile="")
    html = client.post("/messages/send", headers=HX,
                       data=compose(ids=[three[0].id, no_phone.id])).get_data(as_text=True)
    assert 'data-stored="1"' in html and 'data-skipped="1"' in html
    assert 'class="grid compact msg-skipped"' in html
    assert Message.select().count() == 1


def test_send_to_all_matching_orders_and_the_cap(login, world, sender, three, monkeypatch):
    client = login("agent")
    extra = new_order(world, recipient_name="변다사", address="부산광역시 해운대구 1")
    data = compose(scope="all", **{"search-q": "010-1111"})
    html = client.post("/messages/send/preview", headers=HX, data=data).get_data(as_text=True)
    assert len(preview_kinds(html)) == 3 and extra.order_no not in html
    monkeypatch.setattr(message_log, "MAX_RECIPIENTS", 2)
    refused = client.post("/messages/send", headers=HX, data=data).get_data(as_text=True)
    assert "2" in error_slot(refused, "ids") and Message.select().count() == 0
    page = client.get("/messages/send/orders?q=010-1111", headers=HX).get_data(as_text=True)
    assert 'data-cap="2"' in page and 'value="all" form="send-form"\n      disabled' in page


def test_progress_polls_until_nothing_waits(login, world, sender, three):
    client = login("agent")
    client.post("/messages/send", headers=HX, data=compose(ids=[o.id for o in three], batch="p-1"))
    html = client.get("/messages/progress/p-1", headers=HX).get_data(as_text=True)
    assert 'id="progress-p-1"' in html and 'hx-trigger="every 1s"' in html
    assert 'data-done="0"' in html
    assert re.search(r'data-status="queued"><span>[^<]+</span> <b>3</b>', html)
    sending.deliver_due(utcnow() + dt.timedelta(minutes=1), sending.Providers())
    html = client.get("/messages/progress/p-1", headers=HX).get_data(as_text=True)
    assert 'data-done="1"' in html and "hx-trigger" not in html
    assert re.search(r'data-status="sent"><span>[^<]+</span> <b>3</b>', html)
    assert client.get("/messages/progress/bad key!", headers=HX).status_code == 404


def test_unregistered_sender_fails_with_the_carriers_reason(login, world, sender, three):
    SenderNumber.create(number="07047548135", registered=False)
    client = login("agent")
    page = client.get("/messages/send").get_data(as_text=True)
    assert 'data-registered="0"' in page and 'id="sender-warning"' in page
    client.post("/messages/send", headers=HX,
                data=compose(ids=[three[0].id], sender="07047548135", batch="u-1"))
    sending.deliver_due(utcnow() + dt.timedelta(minutes=1), sending.Providers())
    html = client.get("/messages/progress/u-1", headers=HX).get_data(as_text=True)
    assert re.search(r'data-status="failed"><span>[^<]+</span> <b>1</b>', html)
    assert Message.get().carrier_result == "회신번호 사전 등록제 번호규칙 위반"


# --- compose helpers: counter, templates, macros ---------------------------------------------

def counter(client, **data):
    html = client.post("/messages/counter", headers=HX, data=data).get_data(as_text=True)
    return (re.search(r'data-bytes="(\d+)" data-kind="(\w+)" data-emoji="(\d)"', html).groups(),
            html)


def test_byte_counter_switches_to_lms_over_90_bytes_and_flags_emoji(login, world, sender):
    client = login("agent")
    (size, kind, emoji), html = counter(client, text="가" * 45, channel="sms")
    assert (size, kind, emoji) == ("90", "SMS", "0") and "<b>90</b>/90" in html
    (size, kind, emoji), html = counter(client, text="가" * 45 + "a", channel="sms")
    assert (size, kind, emoji) == ("91", "LMS", "0") and "<b>91</b>/2,000" in html
    (size, kind, emoji), html = counter(client, text="배송 시작 🚚", channel="sms")
    assert emoji == "1" and "🚚" in html
    (_, kind, _), _ = counter(client, text="짧은 글", subject="제목", channel="sms")
    assert kind == "LMS"                                                  # a subject makes an LMS
    (_, kind, _), _ = counter(client, text="메일", channel="email")
    assert kind == "EMAIL"


def test_choosing_a_template_fills_the_text(login, world, sender):
    template = MessageTemplate.create(
        name="발송안내 알림톡", kind="alimtalk", alimtalk_code="SHIP_001", body=TEXT)
    client = login("agent")
    html = client.get(f"/messages/compose?template={template.id}&channel=sms&sender=15881234",
                      headers=HX).get_data(as_text=True)
    assert html.startswith('\n<div id="compose-fields"') or 'id="compose-fields"' in html
    assert '<option value="alimtalk" selected>' in html and f">{TEXT}</textarea>" in html
    fresh = client.get("/messages/compose/new?mode=orders", headers=HX).get_data(as_text=True)
    key = re.search(r'name="batch" value="(\w+)"', fresh).group(1)
    again = client.get("/messages/compose/new?mode=orders", headers=HX).get_data(as_text=True)
    assert key != re.search(r'name="batch" value="(\w+)"', again).group(1)  # a new form, a new key


def test_empty_state_points_to_senders_and_templates(login, world):
    html = login("admin").get("/messages/send").get_data(as_text=True)
    assert 'data-empty="senders"' in html and 'data-empty="templates"' in html
    assert 'href="/messages/senders"' in html


def test_macros_save_list_insert_and_delete(login, world, sender):
    client = login("agent")
    form = client.post("/messages/macros/form", headers=HX, data={"text": "배송이 지연되어 죄송합니다."})
    assert ">배송이 지연되어 죄송합니다.</textarea>" in form.get_data(as_text=True)
    bad = client.post("/messages/macros", headers=HX, data={"name": "", "body": "x"})
    assert 'class="error"' in bad.get_data(as_text=True) and Macro.select().count() == 0
    saved = client.post("/messages/macros", headers=HX,
                        data={"name": "배송지연", "body": "배송이 지연되어 죄송합니다."})
    assert "ruledesk:closeDialog" in saved.headers["HX-Trigger"]
    macro = Macro.get()
    listing = client.get("/messages/macros", headers=HX).get_data(as_text=True)
    assert f'data-macro="{macro.id}"' in listing and 'data-body="배송이 지연되어 죄송합니다."' in listing
    client.post(f"/messages/macros/{macro.id}/delete", headers=HX)
    assert Macro.select().count() == 0


# --- single send ----------------------------------------------------------------------------

def test_single_send_to_typed_numbers_and_recent_list(login, world, sender):
    template = MessageTemplate.create(name="고객센터", kind="sms", body="운영시간 안내")
    MessageTemplate.create(name="발송안내", kind="sms", body=TEXT)
    client = login("agent")
    page = client.get("/messages/single").get_data(as_text=True)
    assert f'<option value="{template.id}"' in page and "발송안내" not in page  # no order fields
    data = compose(text="안녕하세요, 교환 접수되었습니다.", to="010-2222-3333, 010 4444 5555\n01066667777",
                   batch="single-1")
    preview = client.post("/messages/single/preview", headers=HX, data=data).get_data(as_text=True)
    assert preview_kinds(preview) == ["SMS", "SMS", "SMS"]
    html = client.post("/messages/single", headers=HX, data=data).get_data(as_text=True)
    assert 'data-stored="3"' in html
    assert sorted(m.to for m in Message.select()) == ["01022223333", "01044445555", "01066667777"]
    assert all(m.order_id is None and m.operator_id == world.agent.id for m in Message.select())
    recent = client.get("/messages/single/recent", headers=HX).get_data(as_text=True)
    assert recent.count("data-message=") == 3
    bad = client.post("/messages/single", headers=HX, data=dict(data, to="12", batch="single-2"))
    assert error_slot(bad.get_data(as_text=True), "to") and Message.select().count() == 3
    placeholders = client.post("/messages/single", headers=HX,
                               data=dict(data, text=TEXT, batch="single-3")).get_data(as_text=True)
    assert "#{수령자}" in error_slot(placeholders, "text")


# --- templates ------------------------------------------------------------------------------

def test_template_with_unknown_placeholder_shows_the_error_and_saves_nothing(login, world):
    client = login("admin")
    response = client.post("/messages/templates/new", data={
        "name": "발송안내", "kind": "sms", "body": "#{수령인}님, 발송되었습니다.", "active": "1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    body_field = re.search(r'for="f-body">.*?</label>', html, re.S).group(0)
    assert "has-error" in html and "#{수령인}" in body_field and 'class="error"' in body_field
    assert "data-refused" in html
    assert "#{수령인}님, 발송되었습니다.</textarea>" in html                 # the input is kept
    assert MessageTemplate.select().count() == 0


def test_template_saved_with_buttons_and_edited(login, world):
    client = login("admin")
    data = {"name": "발송안내", "kind": "alimtalk", "alimtalk_code": "SHIP_001",
            "approval": "approved", "active": "1", "body": TEXT,
            "fallback_text": "[발송] #{수령자}님",
            "buttons-1001-name": "배송 조회", "buttons-1001-type": "DS", "buttons-1001-url": "",
            "buttons-1005-name": "주문 보기", "buttons-1005-type": "WL",
            "buttons-1005-url": "javascript:alert(1)"}
    refused = client.post("/messages/templates/new", data=data)
    assert refused.status_code == 422 and 'name="buttons-1-url"' in refused.get_data(as_text=True)
    assert MessageTemplate.select().count() == 0
    data["buttons-1005-url"] = "https://shop.example.com/orders"
    saved = client.post("/messages/templates/new", data=data)
    assert saved.status_code == 302
    template = MessageTemplate.get()
    assert [b["name"] for b in template.buttons] == ["배송 조회", "주문 보기"] and template.active
    edited = client.post(f"/messages/templates/{template.id}", data=dict(data, name="발송안내 v2"))
    assert edited.status_code == 302 and MessageTemplate.get().name == "발송안내 v2"
    page = client.get(f"/messages/templates/{template.id}").get_data(as_text=True)
    assert 'name="buttons-1-url" value="https://shop.example.com/orders"' in page


def test_template_preview_and_button_rows(login, world):
    order = new_order(world, recipient_name="장유리")
    client = login("admin")
    html = client.post("/messages/templates/preview", headers=HX,
                       data={"kind": "sms", "body": TEXT}).get_data(as_text=True)
    assert 'data-type="SMS"' in html and f"장유리님, 주문 {order.order_no}" in html
    long = client.post("/messages/templates/preview", headers=HX,
                       data={"kind": "sms", "body": TEXT + "가" * 40}).get_data(as_text=True)
    assert 'data-type="LMS"' in long
    unknown = client.post("/messages/templates/preview", headers=HX,
                          data={"kind": "sms", "body": "#{수령인}"}).get_data(as_text=True)
    assert "data-unknown" in unknown and "#{수령인}" in unknown
    row = client.get("/messages/templates/button-row?index=1002&count=1", headers=HX)
    assert 'name="buttons-1002-name"' in row.get_data(as_text=True)
    full = client.get("/messages/templates/button-row?index=1003&count=5", headers=HX)
    assert full.status_code == 204 and "ruledesk:toast" in full.headers["HX-Trigger"]


def test_template_preview_without_orders_uses_sample_values(login, world):
    html = login("admin").post("/messages/templates/preview", headers=HX,
                               data={"kind": "alimtalk", "body": TEXT}).get_data(as_text=True)
    assert 'data-type="ALIMTALK"' in html and "서승원님, 주문 ord100072_1" in html


# --- sender numbers -------------------------------------------------------------------------

def test_sender_number_rules(login, world):
    client = login("admin")
    for number in ("050-1234-5678", "1588-12345", "02-12", "010-abcd-1234"):
        html = client.post("/messages/senders", headers=HX,
                           data={"number": number, "label": "x"}).get_data(as_text=True)
        assert re.search(r'for="f-number">.*?<small class="error"', html, re.S), number
        assert f'value="{number}"' in html                                # the input is kept
    assert SenderNumber.select().count() == 0
    html = client.post("/messages/senders", headers=HX,
                       data={"number": "1588-1234", "label": "대표번호", "registered": "1"}
                       ).get_data(as_text=True)
    sender = SenderNumber.get()
    assert (sender.number, sender.registered) == ("15881234", True) and "1588-1234" in html
    duplicate = client.post("/messages/senders", headers=HX, data={"number": "15881234"})
    assert 'class="error"' in duplicate.get_data(as_text=True)
    client.post("/messages/senders", headers=HX, data={"number": "070-4754-8135"})
    assert not SenderNumber.get(SenderNumber.number == "07047548135").registered
    client.post(f"/messages/senders/{sender.id}/delete", headers=HX)
    assert [s.number for s in SenderNumber.select()] == ["07047548135"]


# --- history and usage ----------------------------------------------------------------------

@pytest.fixture
def sent(world, sender, three):
    """Messages stored through the engine at fixed times, some delivered, one failed."""
    SenderNumber.create(number="07047548135", registered=False)
    raw = {"channel": "sms", "sender": "15881234", "text": TEXT}
    sending.send(raw, world.agent, NOW, TZ, "h-1", order_ids=[o.id for o in three])
    sending.send(dict(raw, text="교환 접수 안내", sender="07047548135"), world.agent2, NOW, TZ, "h-2",
                 to=["010-9999-8888"])
    template = MessageTemplate.create(name="알림톡", kind="alimtalk", alimtalk_code="S1", body=TEXT)
    sending.send({"channel": "alimtalk", "sender": "15881234", "template": str(template.id)},
                 world.agent, dt.datetime(2026, 1, 15, 3, 0), TZ, "h-3",
                 order_ids=[three[0].id])
    sending.deliver_due(NOW + dt.timedelta(seconds=30), sending.Providers())
    return three


def rows(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr id="msg-(\d+)" class="msg-row"', html)]


def test_history_filters(login, world, sent):
    client = login("viewer")
    everything = rows(client.get("/messages/history").get_data(as_text=True))
    assert len(everything) == 5
    failed = rows(client.get("/messages/history?status=failed").get_data(as_text=True))
    assert [Message.get_by_id(i).to for i in failed] == ["01099998888"]
    assert len(rows(client.get("/messages/history?kind=LMS").get_data(as_text=True))) == 1
    assert len(rows(client.get("/messages/history?kind=ALIMTALK").get_data(as_text=True))) == 1
    by_order = rows(client.get(f"/messages/history?q={sent[2].order_no}").get_data(as_text=True))
    assert [Message.get_by_id(i).order_id for i in by_order] == [sent[2].id]
    assert len(rows(client.get("/messages/history?q=교환 접수").get_data(as_text=True))) == 1
    assert len(rows(client.get("/messages/history?q=9999-8888").get_data(as_text=True))) == 1
    mine = rows(client.get(f"/messages/history?operator={world.agent2.id}").get_data(as_text=True))
    assert len(mine) == 1
    march = client.get("/messages/history?date_from=2026-03-31&date_to=2026-03-31")
    assert len(rows(march.get_data(as_text=True))) == 4
    assert rows(client.get("/messages/history?date_from=2026-04-01").get_data(as_text=True)) == []
    by_id = client.get(f"/messages/history?order_id={sent[0].id}").get_data(as_text=True)
    assert len(rows(by_id)) == 2
    assert len(rows(client.get("/messages/history?batch=h-1").get_data(as_text=True))) == 3
    bad = client.get("/messages/history?date_from=2026-13-01&status=nope")
    assert bad.status_code == 200 and bad.get_data(as_text=True).count('class="error"') >= 2


def test_history_row_expands_to_text_carrier_result_and_order(login, world, sent):
    client = login("viewer")
    message = Message.get((Message.order == sent[1].id))
    html = client.get(f"/messages/history/{message.id}", headers=HX).get_data(as_text=True)
    assert f'id="msg-detail-{message.id}" class="msg-detail open"' in html
    assert message.body in html and "전송완료" in html
    assert f'href="/orders/?order={sent[1].id}&amp;q={sent[1].id}"' in html
    failed = Message.get(Message.status == "failed")
    html = client.get(f"/messages/history/{failed.id}", headers=HX).get_data(as_text=True)
    assert "회신번호 사전 등록제 번호규칙 위반" in html
    closed = client.get(f"/messages/history/{message.id}?close=1",
                        headers=HX).get_data(as_text=True)
    assert "open" not in closed and "hidden" in closed
    assert client.get("/messages/history/999999", headers=HX).status_code == 404


def test_usage_month_and_chart_bars_per_type(login, world, sent):
    client = login("viewer")
    html = client.get("/messages/usage?month=2026-03").get_data(as_text=True)
    usage_rows = re.findall(r'<tr data-message="(\d+)">', html)
    assert len(usage_rows) == 4                                           # March only
    assert "회신번호 사전 등록제 번호규칙 위반" in html and "outbox-" in html
    svg = re.search(r"<svg.*?</svg>", html, re.S).group(0)
    bars = re.findall(r'<rect class="seg" data-kind="(\w+)" data-count="(\d+)"', svg)
    assert ("SMS", "3") in bars and ("LMS", "1") in bars and ("ALIMTALK", "1") in bars
    assert svg.count('<g class="bar"') == 12
    assert re.search(r'<g class="bar" data-month="2026-01">\s*'
                     r'<rect class="seg" data-kind="ALIMTALK"', svg)
    assert 'class="legend"' in html
    table = re.search(r'<tr class="current" data-month="2026-03">.*?</tr>', html, re.S).group(0)
    assert re.findall(r'data-kind="(\w+)">(\d+)<', table)[:2] == [("SMS", "3"), ("LMS", "1")]
    january = client.get("/messages/usage?month=2026-01").get_data(as_text=True)
    assert len(re.findall(r'<tr data-message="(\d+)">', january)) == 1
    bad = client.get("/messages/usage?month=2026-13")
    assert bad.status_code == 200 and 'class="error"' in bad.get_data(as_text=True)


def test_monthly_counts_follow_the_local_month(world, sender, three):
    # 2026-02-28 16:00 UTC is 2026-03-01 01:00 in Seoul: it counts for March
    sending.send({"channel": "sms", "sender": "15881234", "text": "안내"}, None,
                 dt.datetime(2026, 2, 28, 16, 0), TZ, "m-1", order_ids=[three[0].id])
    months = message_log.monthly_counts(2026, 3, TZ)
    assert [m["label"] for m in months][-2:] == ["2026-02", "2026-03"]
    assert (months[-2]["total"], months[-1]["counts"]["SMS"]) == (0, 1)


def test_night_consent_is_recorded_and_lets_ads_go_out_at_night(app, world, login):
    """Seed rule: ads wait out 21:00–08:00 unless the recipient agreed; agents record that."""
    import datetime as dt
    from engine import sending
    from engine.models import RecipientConsent, SenderNumber
    from engine.schema import parse
    from tests.conftest import new_order

    agent = login("agent")
    assert agent.post("/messages/consents", data={"phone": "010-3333-4444",
                                                  "night_ads": "1"}).status_code == 200
    assert RecipientConsent.get().phone == "01033334444"
    bad = agent.post("/messages/consents", data={"phone": "전화", "night_ads": "1"})
    assert "has-error" in bad.get_data(as_text=True) and RecipientConsent.select().count() == 1
    assert login("viewer").post("/messages/consents",
                                data={"phone": "01012345678"}).status_code == 403
    SenderNumber.create(number="15881234")
    order = new_order(world, recipient_mobile="010-3333-4444")
    values = parse(sending.SEND_FIELDS, {"channel": "sms", "sender": "15881234", "is_ad": "1",
                                         "text": "(광고) 세일\n무료수신거부 080-123-4567"})
    night = dt.datetime(2026, 3, 31, 13, 30)  # 22:30 in Seoul
    drafts = sending.compose(values, sending.recipients_for_orders([order.id], "sms"), night,
                             app.config["TZ"])
    assert drafts[0].send_after is None
    consent = RecipientConsent.get()
    assert agent.post(f"/messages/consents/{consent.id}/withdraw").status_code == 200
    assert RecipientConsent.select().count() == 0
