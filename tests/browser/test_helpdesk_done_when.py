"""Issue #8's "done when", end to end in a real chromium, through the screens only.

"In the browser: create a team with auto-assignment and two agents (one on leave), open tickets
from the public form, see them assigned to the available agent, move a ticket to a stage with
an SMS template and see the SMS in the outbox, merge two tickets, and start a return from a
ticket of a shipped order."

Only what the scenario takes for granted is made with the engine: the users (``world``), a
registered sender number, a ticket SMS template and an order that has shipped. Selectors use
ids, names, classes and data attributes only, never visible UI text.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from engine import orders
from engine.models import (
    Leave, Message, MessageTemplate, Pickup, SenderNumber, Stage, Team, Ticket, TicketPickup,
)
from engine.order_core import Context
from tests.conftest import NOW, new_order

pytestmark = pytest.mark.browser


def settled(page):
    """Wait until htmx has swapped and wired what it fetched (its hx- attributes live)."""
    page.wait_for_function(
        "!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')")


@pytest.fixture
def shop(world):
    """What a running shop already has: a sender number, a ticket SMS text, a shipped order."""
    SenderNumber.create(number="0212345678", label="대표", registered=True)
    MessageTemplate.create(name="처리 안내", kind="sms", context="ticket",
                           body="#{고객명}님, 문의 #{티켓번호} 처리 중입니다.")
    world.shipped = new_order(world, buyer_name="최구매", buyer_mobile="010-7777-8888")
    agent = Context(world.agent, NOW)
    orders.perform("invoice", world.shipped.id,
                   {"courier": "CJ대한통운", "tracking_no": "612345678"}, agent)
    orders.perform("ship", world.shipped.id, {}, agent)
    return world


def new_stage(page, name, team, sms_template=None):
    page.click("[data-action=new-stage]")
    form = page.locator("dialog[open] form[data-dialog=stage]")
    expect(form).to_be_visible()
    settled(page)
    form.locator("#f-name").fill(name)
    form.locator(f"#st-team-{team.id}").check()
    if sms_template:
        form.locator("#f-sms_template").select_option(sms_template)
    form.locator("footer button.primary").click()
    expect(page.locator(f'#stages tr[data-stage="{name}"]')).to_be_visible()
    expect(page.locator("#dialog")).to_be_hidden()
    settled(page)
    return Stage.get(Stage.name == name)


def send_public_form(page, team, name, phone, subject, text):
    form = page.locator(f"form[data-public-form='{team.id}']")
    expect(form).to_be_visible()
    page.fill("#f-customer_name", name)
    page.fill("#f-customer_phone", phone)
    page.fill("#f-subject", subject)
    page.fill("#f-description", text)
    form.locator("button[data-submit]").click()
    number = page.locator("[data-ticket-number]")
    expect(number).to_be_visible()
    ticket = Ticket.get(Ticket.subject == subject)
    expect(number).to_have_text(f"#{ticket.id}")
    return ticket


def test_done_when_team_public_form_assignment_sms_stage_merge_and_return(shop, page, log_in):
    w = shop
    base = page.base_url
    today = dt.datetime.now(ZoneInfo("Asia/Seoul")).date()

    # --- the admin sets up the team, its pipeline and the leave -------------------------------
    log_in("admin")
    page.goto(base + "/helpdesk/settings/teams")
    page.click("[data-action=new-team]")
    page.wait_for_url("**/helpdesk/settings/teams/new")
    page.fill("#f-name", "고객 지원")
    page.fill("#f-description", "배송, 교환, 반품 문의를 남겨 주세요.")
    page.check("#vis-public")
    page.check("#f-auto_assign")
    page.check(f"#mem-{w.agent.id}")
    page.check(f"#mem-{w.agent2.id}")
    page.check("#as-return")
    page.click("[data-action=save-team]")
    page.wait_for_url("**/helpdesk/settings/teams?saved=*")
    row = page.locator('tr[data-team="고객 지원"]')
    expect(row.locator("[data-auto=on]")).to_have_count(1)
    expect(row.locator("[data-members]")).to_have_attribute("data-members", "2")
    team = Team.get(Team.name == "고객 지원")

    page.click("nav.subnav a[data-tab=stages]")
    page.wait_for_url("**/helpdesk/settings/stages")
    new = new_stage(page, "신규", team)
    doing = new_stage(page, "처리 중", team, sms_template="처리 안내")
    assert doing.sms_template.name == "처리 안내"

    page.click("nav.subnav a[data-tab=leave]")
    page.wait_for_url("**/helpdesk/settings/leave*")
    page.click('tr[data-user="agent2"] button.hd-add')
    leave_form = page.locator("dialog[open] form[data-dialog=leave]")
    expect(leave_form).to_be_visible()
    settled(page)
    expect(page.locator("#f-user")).to_have_value(str(w.agent2.id))
    page.fill("#f-start", today.isoformat())
    page.fill("#f-end", (today + dt.timedelta(days=1)).isoformat())   # past midnight too
    page.fill("#f-note", "연차")
    leave_form.locator("button.primary").click()
    expect(page.locator('tr[data-user="agent2"] td.bar-cell')).to_be_visible()
    expect(page.locator("#dialog")).to_be_hidden()
    assert Leave.get().user_id == w.agent2.id
    page.click("header.topbar form[action$='/logout'] button")
    page.wait_for_url("**/login*")

    # --- two customers write in through the public form ---------------------------------------
    page.goto(base + "/help/")
    page.click(f"a.team-card[data-team='{team.id}']")
    first = send_public_form(page, team, "김고객", "010-1234-5678", "택배가 오지 않았어요",
                             "주문한 지 일주일이 지났습니다.")
    page.click(f"section.sent a[href$='/help/{team.id}']")
    second = send_public_form(page, team, "김고객", "010-1234-5678", "택배 아직 안 왔어요 (재문의)",
                              "어제 문의했는데 답이 없어요.")

    # --- the available agent has both (agent2 is on leave) -------------------------------------
    log_in("agent")
    page.goto(base + "/helpdesk/")
    page.click("nav.subnav a[data-tab=mine]")
    page.wait_for_url("**/helpdesk/tickets/mine*")
    expect(page.locator(f"#ticket-row-{first.id}")).to_be_visible()
    expect(page.locator(f"#ticket-row-{second.id}")).to_be_visible()
    page.goto(base + f"/helpdesk/teams/{team.id}")
    for ticket in (first, second):
        card = page.locator(f"#kcol-{new.id} #kcard-{ticket.id}")
        expect(card).to_be_visible()
        expect(card.locator(".avatar")).to_have_attribute("title", w.agent.display_name)
    assert {t.assignee_id for t in Ticket.select()} == {w.agent.id}

    # --- the SMS stage: drag the card there, the text is in the outbox ------------------------
    expect(page.locator(f"#kcol-{doing.id} [data-sends]")).to_be_visible()
    settled(page)
    page.locator(f"#kcard-{first.id}").drag_to(page.locator(f"#kcol-{doing.id} .kcards"))
    expect(page.locator(f"#kcol-{doing.id} #kcard-{first.id}")).to_be_visible()
    expect(page.locator(f"#kcol-{doing.id} [data-count]")).to_have_text("1")
    expect(page.locator(f"#kcard-{first.id}.is-moving")).to_have_count(0)
    settled(page)
    assert Ticket.get_by_id(first.id).stage_id == doing.id
    page.click(f"#kcard-{first.id} a.kcard-subject")
    page.wait_for_url(f"**/helpdesk/tickets/{first.id}")
    page.click("#ticket a[data-outbox]")
    page.wait_for_url("**/messages/history**")
    rows = page.locator("#results tr.msg-row")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td.excerpt")).to_contain_text(f"김고객님, 문의 {first.id} 처리 중입니다.")
    sms = Message.get(Message.batch == f"ticket-{first.id}")
    assert (sms.kind, sms.to) == ("SMS", "01012345678")

    # --- merge the two tickets from the list -------------------------------------------------
    page.goto(base + "/helpdesk/tickets")
    page.check(f"#ticket-row-{first.id} input[name=ids]")
    page.check(f"#ticket-row-{second.id} input[name=ids]")
    page.click("#ticket-bulk button[data-merge]")
    merge = page.locator("#dialog form[data-dialog=merge]")
    expect(merge.locator("input[name=keep]")).to_have_count(2)
    settled(page)
    merge.locator(f"input[name=keep][value='{first.id}']").check()
    merge.locator("footer button.primary").click()
    expect(page.locator("#dialog")).to_be_hidden()
    expect(page.locator(f"#ticket-row-{second.id}")).to_have_count(0)
    expect(page.locator(f"#ticket-row-{first.id}")).to_be_visible()
    assert Ticket.get_by_id(second.id).merged_into_id == first.id
    page.goto(base + f"/helpdesk/tickets/{second.id}")
    expect(page.locator("#ticket [data-banner=merged]")).to_be_visible()
    page.click("#ticket [data-banner=merged] a")
    page.wait_for_url(f"**/helpdesk/tickets/{first.id}")
    expect(page.locator(f"#ticket a.mono[href$='/helpdesk/tickets/{second.id}']")).to_be_visible()
    # the duplicate's own request is now part of the kept ticket's conversation
    expect(page.locator("#ticket .conversation li[data-kind=request]")).to_contain_text(
        second.description)

    # --- a ticket of the shipped order, from its panel; a return from the ticket -------------
    order = w.shipped
    page.goto(base + f"/orders/?order={order.id}&q={order.id}")
    page.click(f"#order-row-{order.id} td:nth-child(7)")
    box = page.locator(f"#order-tickets-{order.id}")
    expect(box.locator("button[data-new-ticket]")).to_be_visible()
    settled(page)
    box.locator("button[data-new-ticket]").click()
    form = page.locator("#dialog form[data-dialog=new-ticket]")
    expect(form.locator("input[name=customer_name]")).to_have_value("최구매")
    settled(page)
    form.locator("select[name=team_id]").select_option(str(team.id))
    form.locator("input[name=subject]").fill("받은 상품이 불량이에요")
    form.locator("footer button.primary").click()
    expect(page.locator("#dialog")).to_be_hidden()
    ticket = Ticket.get(Ticket.order == order.id)
    expect(box.locator(f"#order-ticket-{ticket.id}")).to_be_visible()
    box.locator(f"#order-ticket-{ticket.id} a.mono").click()
    page.wait_for_url(f"**/helpdesk/tickets/{ticket.id}")
    expect(page.locator("#t-assignee")).to_have_value(str(w.agent.id))

    expect(page.locator("#aftersales [data-smart-link]")).to_have_count(0)
    page.locator("#aftersales button[data-aftersales='return']").click()
    dialog = page.locator("#dialog form[data-dialog='aftersales-return']")
    expect(dialog).to_be_visible()
    settled(page)
    dialog.locator("#f-reason").select_option("반품-불량")
    dialog.locator("#f-return_tracking_no").fill("880012345")
    dialog.locator("footer button.primary").click()
    link = page.locator("#aftersales a[data-smart-link='return']")
    expect(link).to_be_visible()
    expect(link.locator(".count")).to_have_text("1")
    expect(page.locator("#dialog")).to_be_hidden()
    pickup = Pickup.get(Pickup.order == order.id)
    assert TicketPickup.get(TicketPickup.pickup == pickup.id).ticket_id == ticket.id
    settled(page)
    link.click()
    expect(page.locator(f"#dialog tr[data-pickup='{pickup.id}']")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#dialog")).to_be_hidden()

    # the pickup is on the order too
    page.click("#ticket a[data-order-link]")
    page.wait_for_url("**/orders/**")
    pickups = page.locator("#order-panel table.pickups tbody tr")
    expect(pickups).to_have_count(1)
    expect(pickups.first).to_contain_text("880012345")
