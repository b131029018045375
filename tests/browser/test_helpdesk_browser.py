"""The helpdesk in a real browser (seed 004): open tickets from the dashboard, drag a card on
the kanban into the stage that texts the customer and find the SMS in the send history, fold a
column for now (closes nothing), merge two tickets from the list, and open a ticket from an
order's panel in the console.

Selectors use ids, names, classes and data attributes only, never visible text.
"""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from engine import stages, teams, tickets
from engine.models import Message, MessageTemplate, SenderNumber, Ticket
from engine.order_core import Context
from tests.conftest import NOW, new_order

pytestmark = pytest.mark.browser

SHOTS = "/tmp"


@pytest.fixture
def desk(world):
    SenderNumber.create(number="0212345678", label="대표", registered=True)
    MessageTemplate.create(name="처리 안내", kind="sms", context="ticket",
                           body="#{고객명}님, 문의 #{티켓번호} 처리 중입니다.")
    world.support = teams.save_team(world.admin, {
        "name": "고객 지원", "visibility": "public", "auto_assign": True,
        "assign_method": "tickets", "members": ["agent", "agent2"]})
    world.new = stages.save_stage(world.admin, {"name": "신규", "teams": ["고객 지원"]})
    world.doing = stages.save_stage(world.admin, {"name": "처리 중", "teams": ["고객 지원"],
                                                   "sms_template": "처리 안내"})
    world.done = stages.save_stage(world.admin, {"name": "해결", "folded": True,
                                                  "teams": ["고객 지원"]})
    return world


def settled(page):
    """Wait until htmx has finished swapping and wiring the new content: acting within its
    settle delay would hit elements whose hx- attributes are not processed yet."""
    page.wait_for_function(
        "!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')")


def open_ticket(w, **raw):
    data = {"team_id": str(w.support.id), "subject": "배송 문의", "customer_name": "김고객",
            "customer_phone": "010-1234-5678"}
    data.update(raw)
    return tickets.create_ticket(Context(None, NOW), data)


def test_open_a_ticket_then_drag_it_to_the_stage_that_texts_the_customer(desk, page, log_in):
    open_ticket(desk, subject="포장 문의")
    log_in("agent")
    page.goto(page.base_url + "/helpdesk/")
    expect(page.locator(f"#team-card-{desk.support.id} [data-count=open]")).to_have_text("1")
    page.screenshot(path=f"{SHOTS}/hd_dashboard.png")
    page.click("button[data-new-ticket]")
    form = page.locator("#dialog form[data-dialog=new-ticket]")
    expect(form).to_be_visible()
    settled(page)
    form.locator("select[name=team_id]").select_option(str(desk.support.id))
    form.locator("input[name=subject]").fill("택배가 오지 않았어요")
    form.locator("textarea[name=description]").fill("주문한 지 일주일이 지났습니다.")
    form.locator("input[name=customer_name]").fill("이고객")
    form.locator("input[name=customer_phone]").fill("010-5555-6666")
    form.locator("footer button.primary").click()
    page.wait_for_url("**/helpdesk/tickets/*")
    ticket = Ticket.get(Ticket.subject == "택배가 오지 않았어요")
    expect(page.locator("#ticket .ticket-title h2")).to_have_text("택배가 오지 않았어요")
    expect(page.locator("#t-assignee")).to_have_value(str(desk.agent2.id))  # auto: agent2's turn
    page.screenshot(path=f"{SHOTS}/hd_ticket.png", full_page=True)

    # a second ticket from the public side, so the board has neighbours
    other = open_ticket(desk, subject="교환 문의", order_id=str(new_order(desk).id))
    page.goto(page.base_url + f"/helpdesk/teams/{desk.support.id}")
    card = page.locator(f"#kcard-{ticket.id}")
    expect(page.locator(f"#kcol-{desk.new.id} #kcard-{ticket.id}")).to_be_visible()
    expect(page.locator(f"#kcard-{other.id} .order-link")).to_be_visible()
    expect(page.locator(f"#kcol-{desk.doing.id} [data-sends]")).to_be_visible()
    expect(page.locator(f"#kcol-{desk.done.id} .kcards")).to_be_hidden()   # folded = closed
    page.screenshot(path=f"{SHOTS}/hd_kanban_before.png")

    card.drag_to(page.locator(f"#kcol-{desk.doing.id} .kcards"))
    expect(page.locator(f"#kcol-{desk.doing.id} #kcard-{ticket.id}")).to_be_visible()
    expect(page.locator(f"#kcol-{desk.doing.id} [data-count]")).to_have_text("1")
    expect(page.locator(f"#kcol-{desk.new.id} [data-count]")).to_have_text("2")
    expect(page.locator(f"#kcard-{ticket.id}.is-moving")).to_have_count(0)
    settled(page)
    assert Ticket.get_by_id(ticket.id).stage_id == desk.doing.id
    page.screenshot(path=f"{SHOTS}/hd_kanban_after.png")

    # the stage's SMS is in the send history, for this ticket's customer
    page.goto(page.base_url + f"/helpdesk/tickets/{ticket.id}")
    page.click("#ticket a[data-outbox]")
    page.wait_for_url("**/messages/history**")
    rows = page.locator("#results tr.msg-row")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td.excerpt")).to_contain_text("이고객님")
    sms = Message.get(Message.batch == f"ticket-{ticket.id}")
    assert sms.kind == "SMS" and sms.to == "01055556666"
    page.screenshot(path=f"{SHOTS}/hd_outbox.png")


def test_a_stale_card_snaps_back_with_a_toast_and_folding_for_now_closes_nothing(
        desk, page, log_in):
    ticket = open_ticket(desk)
    log_in("agent")
    page.goto(page.base_url + f"/helpdesk/teams/{desk.support.id}")
    expect(page.locator(f"#kcol-{desk.new.id} #kcard-{ticket.id}")).to_be_visible()
    # someone else changes the ticket meanwhile: the card on this screen is stale
    tickets.assign(Context(desk.agent2, NOW), ticket.id, desk.agent2.id)
    page.locator(f"#kcard-{ticket.id}").drag_to(page.locator(f"#kcol-{desk.doing.id} .kcards"))
    expect(page.locator("#toasts .toast.error")).to_be_visible()
    expect(page.locator(f"#kcol-{desk.new.id} #kcard-{ticket.id}")).to_be_visible()
    expect(page.locator(f"#kcol-{desk.doing.id} #kcard-{ticket.id}")).to_have_count(0)
    assert Ticket.get_by_id(ticket.id).stage_id == desk.new.id
    page.screenshot(path=f"{SHOTS}/hd_kanban_refused.png")

    # fold "신규" for now: its cards hide, the ticket stays open, the fold survives a reload
    page.click(f"#kcol-{desk.new.id} [data-tempfold]")
    expect(page.locator(f"#kcol-{desk.new.id}.is-tempfolded")).to_be_visible()
    expect(page.locator(f"#kcard-{ticket.id}")).to_be_hidden()
    page.reload()
    expect(page.locator(f"#kcol-{desk.new.id}.is-tempfolded")).to_be_visible()
    assert not Ticket.get_by_id(ticket.id).closed
    # a folded stage opens to look into it
    page.click(f"#kcol-{desk.done.id} [data-look]")
    expect(page.locator(f"#kcol-{desk.done.id} .kcards")).to_be_visible()
    page.screenshot(path=f"{SHOTS}/hd_kanban_folds.png")
    page.click(f"#kcol-{desk.new.id} [data-tempfold]")
    expect(page.locator(f"#kcard-{ticket.id}")).to_be_visible()


def test_merge_two_tickets_from_the_list(desk, page, log_in):
    keep = open_ticket(desk, subject="환불 문의")
    dupe = open_ticket(desk, subject="환불 문의 (재문의)")
    tickets.add_message(Context(desk.agent, NOW), dupe.id,
                        {"body": "아직 환불이 안 됐어요", "kind": "note"})
    other = open_ticket(desk, subject="다른 문의")
    log_in("agent")
    page.goto(page.base_url + "/helpdesk/tickets")
    page.check(f"#ticket-row-{keep.id} input[name=ids]")
    page.check(f"#ticket-row-{dupe.id} input[name=ids]")
    page.click("#ticket-bulk button[data-merge]")
    dialog = page.locator("#dialog form[data-dialog=merge]")
    expect(dialog.locator("input[name=keep]")).to_have_count(2)
    settled(page)
    dialog.locator(f"input[name=keep][value='{keep.id}']").check()
    page.screenshot(path=f"{SHOTS}/hd_merge_dialog.png")
    dialog.locator("footer button.primary").click()
    expect(page.locator("#dialog")).to_be_hidden()
    expect(page.locator(f"#ticket-row-{dupe.id}")).to_have_count(0)   # closed now: not open
    expect(page.locator(f"#ticket-row-{other.id}")).to_be_visible()
    assert Ticket.get_by_id(dupe.id).merged_into_id == keep.id
    page.screenshot(path=f"{SHOTS}/hd_list.png")

    page.click(f"#ticket-row-{keep.id} td.subject a")
    expect(page.locator("#ticket .conversation")).to_contain_text("아직 환불이 안 됐어요")
    page.goto(page.base_url + f"/helpdesk/tickets/{dupe.id}")
    expect(page.locator("#ticket [data-banner=merged]")).to_be_visible()
    page.click("#ticket [data-banner=merged] a")
    page.wait_for_url(f"**/helpdesk/tickets/{keep.id}")


def test_reply_and_note_on_the_ticket_page(desk, page, log_in):
    ticket = open_ticket(desk, customer_email="kim@example.com", description="상자가 찢어졌어요")
    log_in("agent")
    page.goto(page.base_url + f"/helpdesk/tickets/{ticket.id}")
    page.fill("#t-body", "내일 다시 보내드리겠습니다.")
    page.click("#reply-form button.primary")
    expect(page.locator("#ticket .msg.reply")).to_contain_text("내일 다시 보내드리겠습니다.")
    settled(page)
    page.click("#reply-form .kind-switch label:has(input[value=note])")
    page.fill("#t-body", "창고에 재고 확인 요청함")
    page.click("#reply-form button.primary")
    expect(page.locator("#ticket .msg.note")).to_contain_text("창고에 재고 확인 요청함")
    settled(page)
    page.select_option("#t-stage", str(desk.done.id))
    expect(page.locator("#ticket [data-banner=closed]")).to_be_visible()
    assert Ticket.get_by_id(ticket.id).closed
    page.screenshot(path=f"{SHOTS}/hd_ticket_conversation.png", full_page=True)


def test_open_a_ticket_from_an_orders_panel(desk, page, log_in):
    order = new_order(desk, buyer_name="최구매", buyer_mobile="010-7777-8888")
    log_in("agent")
    page.click(f"#order-row-{order.id} td:nth-child(7)")
    tickets_box = page.locator(f"#order-tickets-{order.id}")
    expect(tickets_box.locator("button[data-new-ticket]")).to_be_visible()
    settled(page)
    tickets_box.locator("button[data-new-ticket]").click()
    form = page.locator("#dialog form[data-dialog=new-ticket]")
    expect(form.locator("input[name=customer_name]")).to_have_value("최구매")
    settled(page)
    form.locator("select[name=team_id]").select_option(str(desk.support.id))
    form.locator("input[name=subject]").fill("사이즈 교환 요청")
    page.screenshot(path=f"{SHOTS}/hd_order_new_ticket.png")
    form.locator("footer button.primary").click()
    expect(page.locator("#dialog")).to_be_hidden()
    ticket = Ticket.get(Ticket.order == order.id)
    expect(tickets_box.locator(f"#order-ticket-{ticket.id}")).to_be_visible()
    assert ticket.source == "order" and ticket.customer_phone == "01077778888"
    page.screenshot(path=f"{SHOTS}/hd_order_panel.png", full_page=True)
    tickets_box.locator(f"#order-ticket-{ticket.id} a.mono").click()
    page.wait_for_url(f"**/helpdesk/tickets/{ticket.id}")
    expect(page.locator("#ticket [data-order-link]")).to_be_visible()
    page.screenshot(path=f"{SHOTS}/hd_ticket_with_order.png", full_page=True)


def test_admin_drags_a_column_to_reorder_the_stages(desk, page, log_in):
    teams.save_team(desk.admin, {"name": "사내", "visibility": "company"})
    # a stage of another team sits between ours in the one global order
    inside = stages.save_stage(desk.admin, {"name": "사내 검토", "teams": ["사내"]})
    ids = [desk.new.id, inside.id, desk.doing.id, desk.done.id]
    stages.reorder(desk.admin, ids)
    log_in("admin")
    page.goto(page.base_url + f"/helpdesk/teams/{desk.support.id}")
    columns = page.locator("#board > .kcol")
    expect(columns).to_have_count(3)
    grip = page.locator(f"#kcol-{desk.doing.id} [data-reorder-handle]")
    box = grip.bounding_box()
    target = page.locator(f"#kcol-{desk.new.id} .kcol-head").bounding_box()
    page.mouse.move(box["x"] + 4, box["y"] + 4)
    page.mouse.down()
    page.mouse.move(target["x"] + 10, target["y"] + 10, steps=8)
    page.mouse.up()
    expect(page.locator("#toasts .toast")).to_be_visible()
    assert [c.get_attribute("data-stage") for c in columns.all()] == \
        [str(desk.doing.id), str(desk.new.id), str(desk.done.id)]
    order = [s.id for s in stages.ordered()]
    assert order == [desk.doing.id, inside.id, desk.new.id, desk.done.id]
