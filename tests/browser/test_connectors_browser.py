"""Marketplace connectors in a real browser: connect a channel to the demo marketplace in the
channel form (the secret comes back only as a mask), answer an inquiry, retry a refused
tracking number. Selectors use ids, names, classes and data attributes only."""
from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from engine import jobs, orders
from engine.connectors import demo_market
from engine.models import Channel, Inquiry, InvoicePush
from tests.conftest import NOW, new_order

pytestmark = pytest.mark.browser


@pytest.fixture
def market(tmp_path):
    m = demo_market.DemoMarket(tmp_path / "market.json", clock=lambda: NOW,
                               backlog=dt.timedelta(0))
    server = demo_market.serve(m, "127.0.0.1", 0)
    m.url = "http://127.0.0.1:%d" % server.server_address[1]
    yield m
    server.shutdown()
    server.server_close()


def test_channel_form_connects_and_masks_the_key(world, page, log_in):
    log_in("admin")
    page.goto(page.base_url + "/channels")
    page.locator(f"tr[data-channel='{world.st11.id}'] .actions-cell button").click()
    dialog = page.locator("#dialog-body form[data-dialog=channel]")
    dialog.locator("#f-connector").select_option("demo")
    expect(dialog.locator("#f-setting_base_url")).to_be_visible()
    dialog.locator("#f-setting_base_url").fill("http://127.0.0.1:8765")
    dialog.locator("#f-secret_api_key").fill(demo_market.DEMO_KEY)
    dialog.locator("button.primary").click()
    expect(page.locator(f"tr[data-channel='{world.st11.id}'] [data-connector=demo]")).to_be_visible()
    assert Channel.get_by_id(world.st11.id).connector == "demo"

    page.goto(page.base_url + "/channels")
    page.locator(f"tr[data-channel='{world.st11.id}'] .actions-cell button").click()
    secret = page.locator("#dialog-body #f-secret_api_key")
    expect(secret).to_have_attribute("data-masked", "••••1a2b")
    expect(secret).to_have_value("")
    assert demo_market.DEMO_KEY not in page.content()


def test_answer_an_inquiry_and_retry_a_refused_invoice(world, page, log_in, market):
    from engine import channels
    channels.update_channel(world.admin, world.st11.id, {
        "name": "11번가", "active": "1", "connector": "demo",
        "setting_base_url": market.url, "secret_api_key": demo_market.DEMO_KEY})
    inquiry = Inquiry.create(channel=world.st11, external_id="Q-1", kind="urgent",
                             asked_at=NOW, title="배송지 변경", body="주소 바꿔 주세요")
    market.add_inquiry("Q-1", "urgent", NOW, "배송지 변경", "주소 바꿔 주세요")
    o = new_order(world, order_no="R-1")
    ctx = orders.Context(world.agent, NOW)
    orders.perform("invoice", o.id, {"courier": "CJ대한통운", "tracking_no": "3003"}, ctx)
    orders.perform("ship", o.id, {}, ctx)
    market.add_order("R-1", NOW - dt.timedelta(hours=1), [("30001", 1)])
    market.refusals["R-1"] = "일시 오류"
    job = jobs.save_job(world.admin, {"name": "운송장", "kind": "send_invoices",
                                      "weekdays": ["mon"], "start": "00:00", "end": "24:00",
                                      "every_hours": 1, "channels": ["11번가"]}, now=NOW)
    jobs.run_now(world.admin, job.id, NOW)
    assert InvoicePush.get().status == "failed"

    log_in("agent")
    page.goto(page.base_url + "/market/inquiries")
    card = page.locator(f"#inquiry-{inquiry.id}")
    card.locator("textarea[name=answer]").fill("출고 전에 변경해 드릴게요.")
    card.locator(".answer-form button").click()
    expect(page.locator(f"#inquiry-{inquiry.id}.ans-pending")).to_be_visible()
    page.locator(f"#inquiry-{inquiry.id} input[name=ids]").check()
    page.locator("#inquiries-select button").click()
    expect(page.locator(f"#inquiry-{inquiry.id}.ans-sent")).to_be_visible()
    assert market.status()["answers"]["Q-1"]["text"] == "출고 전에 변경해 드릴게요."

    market.refusals.clear()
    page.goto(page.base_url + "/market/invoice-failures")
    expect(page.locator("tr[data-order='R-1'] [data-error]")).to_contain_text("일시 오류")
    page.locator("tr[data-order='R-1'] input[name=ids]").check()
    page.locator("#failures-select button").first.click()
    expect(page.locator("tr[data-order='R-1']")).to_have_count(0)
    assert InvoicePush.get().status == "sent"
    assert market.status()["invoices"]["R-1"]["trackingNo"] == "3003"
