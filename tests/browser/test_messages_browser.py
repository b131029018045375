"""Messages in a real browser: a bulk SMS to searched orders, previewed, sent, in the history.

Selectors use ids, names, classes and data attributes only, never visible text.
"""
from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from engine import sending
from engine.models import Message, SenderNumber, utcnow
from tests.conftest import new_order

pytestmark = pytest.mark.browser

TEXT = "#{수령자}님, 주문 #{주문번호} 상품을 발송했습니다."


def test_bulk_send_to_three_searched_orders_preview_send_history(world, page, log_in,
                                                                  live_server):
    SenderNumber.create(number="15881234", label="대표번호")
    address = "서울특별시 중구 세종대로 110 메시지테스트동"
    targets = [new_order(world, recipient_name="장유리", address=address,
                         recipient_mobile="010-1111-0001"),
               new_order(world, recipient_name="가" * 30, address=address,
                         recipient_mobile="010-1111-0002"),
               new_order(world, recipient_name="함정리", address=address,
                         recipient_mobile="010-1111-0003")]
    other = new_order(world, recipient_name="변다사")
    page.on("dialog", lambda dialog: dialog.accept())   # the "send now?" confirmation

    log_in("agent")
    page.goto(live_server.url + "/messages/send")
    expect(page.locator("#msg-results tr[id^=msg-order-]")).to_have_count(4)

    page.fill("#msg-search [name=q]", "메시지테스트동")
    page.click("#msg-search button.primary")
    expect(page.locator("#msg-results tr[id^=msg-order-]")).to_have_count(3)
    expect(page.locator(f"#msg-order-{other.id}")).to_have_count(0)
    page.check("#select-page")
    expect(page.locator("#selected-count")).to_have_text("3")

    page.fill("#msg-text", "가" * 45)                       # the live byte counter
    expect(page.locator("#byte-counter")).to_have_attribute("data-bytes", "90")
    expect(page.locator("#byte-counter")).to_have_attribute("data-kind", "SMS")
    page.locator("#msg-text").press("End")
    page.locator("#msg-text").type("a")
    expect(page.locator("#byte-counter")).to_have_attribute("data-kind", "LMS")
    page.fill("#msg-text", TEXT)

    page.click("#send-form [data-action=preview]")
    preview = page.locator("#send-output .msg-preview")
    expect(preview).to_have_attribute("data-total", "3")
    expect(preview.locator("tr.preview-row[data-kind=LMS]")).to_have_count(1)
    expect(preview.locator("tr.preview-row[data-kind=SMS]")).to_have_count(2)
    expect(preview.locator("tr.preview-row[data-ok='0']")).to_have_count(0)
    assert Message.select().count() == 0

    page.click("#send-form [data-action=send]")
    sent = page.locator("#send-output .msg-sent")
    expect(sent).to_have_attribute("data-stored", "3")
    progress = sent.locator(".msg-progress")
    expect(progress).to_have_attribute("data-done", "0")     # queued: it polls
    assert Message.select().count() == 3
    sending.deliver_due(utcnow() + dt.timedelta(minutes=1), sending.Providers())
    expect(sent.locator(".msg-progress")).to_have_attribute("data-done", "1", timeout=5000)
    expect(sent.locator(".msg-progress [data-status=sent] b")).to_have_text("3")

    page.click("#send-form [data-action=send]")              # the same form again: nothing new
    expect(page.locator("#send-output .msg-sent")).to_have_attribute("data-duplicates", "3")
    assert Message.select().count() == 3

    page.goto(live_server.url + "/messages/history")
    rows = page.locator("#results tr.msg-row")
    expect(rows).to_have_count(3)
    expect(page.locator("#results .kind.kind-lms")).to_have_count(1)
    lms = Message.get(Message.kind == "LMS")
    page.click(f"#msg-{lms.id}")
    detail = page.locator(f"#msg-detail-{lms.id}")
    expect(detail).to_have_class("msg-detail open")
    expect(detail.locator(".msg-bubble .body")).to_have_text(lms.body)
    expect(detail.locator("a.order-link")).to_have_attribute(
        "href", f"/orders/?order={targets[1].id}&q={targets[1].id}")
