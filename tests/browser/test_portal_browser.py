"""Customers and after-sales in a real browser: a customer sends the public form of a public
team, then logs in to the portal and sees only that ticket; an agent starts a return from a
ticket of a shipped order and sees the pickup's smart link.

Selectors use ids, names, classes and data attributes only, never visible text.
"""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from engine import orders, teams, tickets
from engine.models import Pickup, Ticket, TicketPickup
from engine.order_core import Context
from tests.conftest import NOW, PASSWORD, make_user, new_order

pytestmark = pytest.mark.browser


@pytest.fixture
def support(world):
    world.portal = make_user("kim@example.com", "portal", "김고객")
    return teams.save_team(world.admin, {
        "name": "고객 지원", "visibility": "public",
        "description": "배송, 교환, 반품 문의를 남겨 주세요.\n평일 09:00–18:00에 답변드립니다.",
        "after_sales": ["refund", "coupon", "return", "repair", "field_service"]})


def portal_log_in(page, base, username):
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.login-card button.primary")
    page.wait_for_url(base + "/portal/")


def test_public_form_then_the_portal_shows_only_that_ticket(world, support, page, live_server):
    base = live_server.url
    someone_else = tickets.create_ticket(Context(world.agent, NOW), {
        "team_id": str(support.id), "subject": "다른 고객의 문의",
        "customer_email": "lee@example.com"})

    page.goto(base + "/help/")
    page.screenshot(path="/tmp/help_teams.png", full_page=True)
    page.click(f"a.team-card[data-team='{support.id}']")
    form = page.locator(f"form[data-public-form='{support.id}']")
    expect(form.locator("[data-description]")).to_contain_text("평일 09:00–18:00")
    form.locator("button[data-submit]").click()          # empty: every required field marked
    expect(page.locator("form.public-form .field.has-error")).not_to_have_count(0)
    page.screenshot(path="/tmp/help_form_errors.png", full_page=True)
    assert not Ticket.select().where(Ticket.source == "form").exists()

    page.fill("#f-customer_name", "김고객")
    page.fill("#f-customer_email", "kim@example.com")
    page.fill("#f-customer_phone", "010-1234-5678")
    page.fill("#f-subject", "주문한 티셔츠 사이즈 교환")
    page.fill("#f-description", "M 사이즈를 L로 교환하고 싶어요.\n택은 그대로 있습니다.")
    page.screenshot(path="/tmp/help_form.png", full_page=True)
    page.locator("form.public-form button[data-submit]").click()
    number = page.locator("[data-ticket-number]")
    expect(number).to_be_visible()
    ticket = Ticket.get(Ticket.source == "form")
    expect(number).to_have_text(f"#{ticket.id}")
    page.screenshot(path="/tmp/help_sent.png", full_page=True)

    portal_log_in(page, base, "kim@example.com")
    rows = page.locator(".portal-tickets li[data-ticket]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-ticket", str(ticket.id))
    expect(page.locator(f"[data-ticket='{someone_else.id}']")).to_have_count(0)
    expect(page.locator("header.topbar nav a[href^='/orders']")).to_have_count(0)
    page.screenshot(path="/tmp/portal_home.png", full_page=True)

    tickets.add_message(Context(world.agent, NOW), ticket.id,
                        {"body": "L 사이즈로 교환해 드리겠습니다.", "kind": "reply"})
    tickets.add_message(Context(world.agent, NOW), ticket.id,
                        {"body": "재고 확인 필요 (내부)", "kind": "note"})
    rows.first.locator("a").click()
    messages = page.locator(".portal-messages .msg")
    expect(messages).to_have_count(2)                    # the request and the reply, no note
    page.fill("#p-body", "감사합니다. 회수는 언제 오나요?")
    page.locator("form[data-reply] button.primary").click()
    expect(page.locator(".portal-messages .msg")).to_have_count(3)
    expect(page.locator(".portal-messages .msg.from-customer").last).to_contain_text("회수는")
    page.screenshot(path="/tmp/portal_ticket.png", full_page=True)

    page.goto(base + "/orders/")
    expect(page.locator("section.error-page h1")).to_have_text("403")


def test_start_a_return_from_a_ticket_of_a_shipped_order(world, support, page, log_in):
    order = new_order(world)
    agent = Context(world.agent, NOW)
    orders.perform("invoice", order.id, {"courier": "CJ대한통운", "tracking_no": "612345678"},
                   agent)
    orders.perform("ship", order.id, {}, agent)
    received = new_order(world)
    ticket = tickets.create_ticket(agent, {"team_id": str(support.id), "subject": "불량 반품",
                                           "order_id": order.id})
    waiting = tickets.create_ticket(agent, {"team_id": str(support.id), "subject": "미배송",
                                            "order_id": received.id})
    log_in("agent")

    page.goto(f"{page.base_url}/helpdesk/tickets/{waiting.id}")
    button = page.locator("#aftersales button[data-aftersales='return']")
    expect(button).to_be_disabled()
    expect(page.locator("#aftersales #why-return")).to_be_visible()

    page.goto(f"{page.base_url}/helpdesk/tickets/{ticket.id}")
    expect(page.locator("#aftersales [data-smart-link]")).to_have_count(0)
    page.locator("#aftersales button[data-aftersales='return']").click()
    dialog = page.locator("#dialog form[data-dialog='aftersales-return']")
    expect(dialog).to_be_visible()
    dialog.locator("#f-reason").select_option("반품-불량")
    dialog.locator("#f-return_tracking_no").fill("880012345")
    page.screenshot(path="/tmp/aftersales_return_dialog.png")
    dialog.locator("footer button.primary").click()

    link = page.locator("#aftersales a[data-smart-link='return']")
    expect(link).to_be_visible()
    expect(link.locator(".count")).to_have_text("1")
    expect(page.locator("#dialog")).to_be_hidden()
    pickup = Pickup.get(Pickup.order == order.id)
    assert TicketPickup.get(TicketPickup.pickup == pickup.id).ticket_id == ticket.id
    assert pickup.return_tracking_no == "880012345"
    page.screenshot(path="/tmp/aftersales_ticket.png", full_page=True)

    link.click()
    expect(page.locator(f"#dialog tr[data-pickup='{pickup.id}']")).to_be_visible()
    page.screenshot(path="/tmp/aftersales_pickups.png")


def test_coupon_from_a_ticket_copied_and_emailed_once(world, support, page, log_in):
    from engine import aftersales
    from engine.models import Coupon, Message

    aftersales.save_program(world.admin, {"name": "감사 쿠폰", "discount": "5000",
                                          "valid_days": "30"})
    order = new_order(world)
    ticket = tickets.create_ticket(Context(world.agent, NOW), {
        "team_id": str(support.id), "subject": "배송 지연", "order_id": order.id,
        "customer_email": "kim@example.com"})
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    log_in("agent")
    page.goto(f"{page.base_url}/helpdesk/tickets/{ticket.id}")
    page.locator("#aftersales button[data-aftersales='coupon']").click()
    page.locator("#dialog form[data-dialog='aftersales-coupon'] footer button.primary").click()
    code = page.locator("#dialog [data-code]")
    expect(code).to_be_visible()
    coupon = Coupon.get()
    expect(code).to_have_text(coupon.code)
    page.locator("#dialog .coupon-code button[data-copy]").click()
    assert page.evaluate("navigator.clipboard.readText()") == coupon.code
    expect(page.locator("#aftersales a[data-smart-link='coupon'] .count")).to_have_text("1")
    page.screenshot(path="/tmp/aftersales_coupon.png")
    send = page.locator("#dialog button[data-send-coupon]")
    send.dblclick()
    expect(page.locator("#dialog")).to_be_hidden()
    assert Message.select().count() == 1 and coupon.code in Message.get().body
