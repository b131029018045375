"""After-sales from a ticket (seed 003): each refusal the seed names, and each success, with
the log line and smart link it leaves on the ticket."""
from __future__ import annotations

import datetime as dt

import pytest

from engine import aftersales, orders, pickups, teams, tickets
from engine.errors import NotFound, PermissionDenied, StateError, ValidationError
from engine.models import (
    Coupon, CouponProgram, CreditNote, CsHistory, FieldTask, Message, Pickup, RepairOrder,
    TicketMessage, TicketPickup,
)
from engine.order_core import Context
from tests.conftest import NOW, make_user, new_order

ALL = ["refund", "coupon", "return", "repair", "field_service"]


def ctx(user, now=NOW):
    return Context(user, now)


@pytest.fixture
def shop(world):
    """A public support team offering every after-sales option, a team offering none, and a
    ticket linked to a received order (2 × 12,900 = 25,800)."""
    world.portal = make_user("kim@example.com", "portal", "김고객")
    world.support = teams.save_team(world.admin, {
        "name": "고객 지원", "visibility": "public", "after_sales": ALL})
    world.plain = teams.save_team(world.admin, {"name": "일반", "visibility": "company"})
    world.order = new_order(world)
    world.ticket = open_ticket(world, world.support, world.order)
    return world


def open_ticket(w, team, order=None, **raw):
    data = {"team_id": str(team.id), "subject": "불량 문의", "customer_name": "변다사",
            "customer_email": "kim@example.com"}
    data.update(raw)
    if order is not None:
        data["order_id"] = order.id
    return tickets.create_ticket(ctx(w.agent), data)


def invoice(w, order):
    return orders.perform("invoice", order.id, {"courier": "CJ대한통운",
                                                "tracking_no": str(600000 + order.id)},
                          ctx(w.agent))


def ship(w, order):
    invoice(w, order)
    return orders.perform("ship", order.id, {}, ctx(w.agent))


def logs(ticket):
    return [m.body for m in TicketMessage.select().where(
        (TicketMessage.ticket == ticket.id) & (TicketMessage.kind == "log")
        & TicketMessage.body.startswith("aftersales:")).order_by(TicketMessage.id)]


def links(ticket):
    return {kind: n for kind, _, n in aftersales.smart_links(ticket)}


# --- what every option needs ------------------------------------------------------------------

def test_options_only_where_the_team_enables_them(shop):
    ship(shop, shop.order)
    ticket = open_ticket(shop, shop.plain, shop.order)
    assert aftersales.offered(ticket) == []
    with pytest.raises(StateError) as refused:
        aftersales.refund(ctx(shop.agent), ticket.id, {"method": "full"})
    assert "is not offered by the team" in refused.value.message
    assert not CreditNote.select().exists()


def test_a_ticket_without_an_order_offers_nothing_usable(shop):
    ticket = open_ticket(shop, shop.support)
    for option, _, refused in aftersales.offered(ticket):
        assert refused is not None and refused.message == "Link the ticket to an order first."
    with pytest.raises(StateError):
        aftersales.create_field_task(ctx(shop.agent), ticket.id, {"title": "방문"})
    assert not FieldTask.select().exists()


def test_viewer_and_portal_user_cannot_use_after_sales(shop):
    ship(shop, shop.order)
    with pytest.raises(PermissionDenied):
        aftersales.refund(ctx(shop.viewer), shop.ticket.id, {"method": "full"})
    with pytest.raises((PermissionDenied, NotFound)):
        aftersales.refund(ctx(shop.portal), shop.ticket.id, {"method": "full"})
    assert not CreditNote.select().exists()


# --- refund -----------------------------------------------------------------------------------

def test_refund_refused_until_the_order_is_invoiced(shop):
    refused = aftersales.refusal(shop.ticket, "refund")
    assert refused.message.startswith("Only an invoiced order can be refunded")
    with pytest.raises(StateError):
        aftersales.refund(ctx(shop.agent), shop.ticket.id, {"method": "full"})
    invoice(shop, shop.order)
    assert aftersales.refusal(tickets.get(shop.ticket.id), "refund") is None


def test_partial_then_full_then_refused_once_fully_refunded(shop):
    invoice(shop, shop.order)
    note = aftersales.refund(ctx(shop.agent), shop.ticket.id,
                             {"method": "partial", "amount": "12,000", "reason": "불량"})
    assert (note.method, note.amount) == ("partial", 12000)
    assert aftersales.refund_summary(shop.order) == {"total": 25800, "refunded": 12000,
                                                     "left": 13800}
    full = aftersales.refund(ctx(shop.agent), shop.ticket.id, {"method": "full"})
    assert (full.method, full.amount) == ("full", 13800)
    with pytest.raises(StateError) as refused:
        aftersales.refund(ctx(shop.agent), shop.ticket.id, {"method": "partial", "amount": "1"})
    assert refused.value.message.startswith("Order %(id)s is fully refunded already")
    assert aftersales.refusal(tickets.get(shop.ticket.id), "refund") is not None
    assert CreditNote.select().count() == 2
    assert logs(shop.ticket) == ["aftersales:refund 12,000", "aftersales:refund 13,800"]
    assert links(shop.ticket) == {"refund": 2}
    from engine.models import CsHistory
    lines = [(h.operation, h.detail, h.text) for h in CsHistory.select().where(
        (CsHistory.order == shop.order.id) & (CsHistory.operation == "refund"))
        .order_by(CsHistory.id)]
    assert lines == [("refund", f"[환불 : 12,000, 티켓 #{shop.ticket.id}]", "불량"),
                     ("refund", f"[환불 : 13,800, 티켓 #{shop.ticket.id}]", "")]


def test_partial_refund_amount_must_fit_what_is_left(shop):
    invoice(shop, shop.order)
    for amount, message in (("", "%(label)s is required."),
                            ("0", "%(label)s must be at least %(n)d."),
                            ("25801", "At most %(left)s is left to refund on this order."),
                            ("abc", "%(label)s must be a whole number.")):
        with pytest.raises(ValidationError) as bad:
            aftersales.refund(ctx(shop.agent), shop.ticket.id,
                              {"method": "partial", "amount": amount})
        assert (bad.value.field, bad.value.message) == ("amount", message), amount
    with pytest.raises(ValidationError) as bad:
        aftersales.refund(ctx(shop.agent), shop.ticket.id, {"method": "all"})
    assert bad.value.field == "method"
    assert not CreditNote.select().exists() and logs(shop.ticket) == []


def test_refund_follows_a_partly_cancelled_order_total(shop):
    ship(shop, shop.order)
    line = shop.order.lines[0]
    orders.perform("partial_cancel", shop.order.id,
                   {"line_id": line.id, "quantity": "1", "reason": "반품-불량"}, ctx(shop.agent))
    note = aftersales.refund(ctx(shop.agent), shop.ticket.id, {"method": "full"})
    assert note.amount == 12900


# --- coupons ----------------------------------------------------------------------------------

def test_coupon_programme_schema_refuses_bad_input_and_changes_nothing(shop):
    with pytest.raises(ValidationError) as bad:
        aftersales.save_program(shop.admin, {"name": "", "discount_kind": "percent",
                                             "discount": "150", "valid_days": "0",
                                             "product_codes": "P100, NOPE"})
    assert set(bad.value.errors) >= {"name", "valid_days", "product_codes"}
    with pytest.raises(ValidationError) as pct:
        aftersales.save_program(shop.admin, {"name": "반값", "discount_kind": "percent",
                                             "discount": "150", "valid_days": "30"})
    assert pct.value.field == "discount"
    with pytest.raises(PermissionDenied):
        aftersales.save_program(shop.agent, {"name": "x", "discount": "1", "valid_days": "1"})
    assert not CouponProgram.select().exists()


def test_coupon_programme_crud_and_round_trip(shop):
    program = aftersales.save_program(shop.admin, {
        "name": "사과 쿠폰", "discount_kind": "amount", "discount": "3,000",
        "min_order_total": "20000", "valid_days": "30", "product_codes": "P100\n30003, P100",
        "active": "1"})
    data = aftersales.program_as_data(program)
    assert data == {"name": "사과 쿠폰", "discount_kind": "amount", "discount": 3000,
                    "min_order_total": 20000, "valid_days": 30,
                    "product_codes": ["P100", "30003"], "active": True}
    again = aftersales.save_program(shop.admin, {**data, "name": "사과 쿠폰 2"}, program.id)
    assert again.id == program.id and again.name == "사과 쿠폰 2"
    with pytest.raises(ValidationError):
        aftersales.save_program(shop.admin, {**data, "name": "사과 쿠폰 2"})  # same name
    aftersales.delete_program(shop.admin, program.id)
    assert not CouponProgram.select().exists()


def test_coupon_generated_with_code_and_local_expiry(shop):
    program = aftersales.save_program(shop.admin, {"name": "감사 쿠폰", "discount": "5000",
                                                   "valid_days": "30"})
    late = dt.datetime(2026, 3, 31, 16, 0)   # 01:00 on 4/1 in Seoul
    coupon = aftersales.generate_coupon(ctx(shop.agent, late), shop.ticket.id,
                                        {"program_id": str(program.id)})
    assert coupon.expires_on == dt.date(2026, 5, 1)
    assert len(coupon.code) == 14 and coupon.code.count("-") == 2
    assert not set(coupon.code.replace("-", "")) & set("01OIL")
    other = aftersales.generate_coupon(ctx(shop.agent), shop.ticket.id,
                                       {"program_id": str(program.id)})
    assert other.code != coupon.code
    assert logs(shop.ticket)[0] == f"aftersales:coupon {coupon.code} (감사 쿠폰)"
    assert links(shop.ticket) == {"coupon": 2}
    with pytest.raises(StateError):   # a programme with coupons is kept
        aftersales.delete_program(shop.admin, program.id)


def test_coupon_refused_when_the_order_misses_the_conditions(shop):
    rich = aftersales.save_program(shop.admin, {"name": "5만원 이상", "discount": "5000",
                                                "min_order_total": "50000", "valid_days": "7"})
    citrus = aftersales.save_program(shop.admin, {"name": "감귤 전용", "discount_kind": "percent",
                                                  "discount": "10", "valid_days": "7",
                                                  "product_codes": "P200"})
    off = aftersales.save_program(shop.admin, {"name": "종료", "discount": "1000",
                                               "valid_days": "7", "active": ""})
    tee = aftersales.save_program(shop.admin, {"name": "티셔츠", "discount": "1000",
                                               "valid_days": "7", "product_codes": "30001"})
    for program, start in ((rich, "The order total %(total)s is below the minimum"),
                           (citrus, "The order has none of the products"),
                           (off, "The coupon programme %(name)s is not active.")):
        with pytest.raises(StateError) as refused:
            aftersales.generate_coupon(ctx(shop.agent), shop.ticket.id,
                                       {"program_id": str(program.id)})
        assert refused.value.message.startswith(start)
    assert not Coupon.select().exists()
    assert aftersales.generate_coupon(ctx(shop.agent), shop.ticket.id,
                                      {"program_id": str(tee.id)}).program_id == tee.id


def test_coupon_email_is_sent_once_and_refused_without_an_address(shop):
    program = aftersales.save_program(shop.admin, {"name": "감사 쿠폰", "discount": "5000",
                                                   "valid_days": "30"})
    coupon = aftersales.generate_coupon(ctx(shop.agent), shop.ticket.id,
                                        {"program_id": str(program.id)})
    mail = {"subject": "쿠폰을 보내드립니다", "body": f"쿠폰 코드: {coupon.code}"}
    with pytest.raises(ValidationError) as no_code:
        aftersales.send_coupon(ctx(shop.agent), coupon.id, {**mail, "body": "쿠폰입니다"})
    assert no_code.value.field == "body"
    first = aftersales.send_coupon(ctx(shop.agent), coupon.id, mail)
    second = aftersales.send_coupon(ctx(shop.agent), coupon.id, mail)   # the double click
    assert (len(first.stored), len(second.stored), second.duplicates) == (1, 0, 1)
    sent = list(Message.select())
    assert len(sent) == 1 and sent[0].to == "kim@example.com" and coupon.code in sent[0].body
    assert Coupon.get_by_id(coupon.id).sent_at == NOW
    assert logs(shop.ticket)[-1] == f"aftersales:coupon_sent {coupon.code} → kim@example.com"

    anonymous = open_ticket(shop, shop.support, shop.order, customer_email="")
    anonymous.customer_email = ""
    anonymous.save()
    other = aftersales.generate_coupon(ctx(shop.agent), anonymous.id,
                                       {"program_id": str(program.id)})
    with pytest.raises(StateError) as refused:
        aftersales.send_coupon(ctx(shop.agent), other.id,
                               {**mail, "body": f"쿠폰 코드: {other.code}"})
    assert "no customer email" in refused.value.message
    assert Message.select().count() == 1


# --- return -----------------------------------------------------------------------------------

RETURN = {"courier": "CJ대한통운", "reason": "반품-불량", "register_inbound": "1"}


def test_return_only_for_a_shipped_order(shop):
    assert aftersales.refusal(shop.ticket, "return").message == \
        "Only a shipped order can be returned."
    invoice(shop, shop.order)
    with pytest.raises(StateError):
        aftersales.start_return(ctx(shop.agent), shop.ticket.id, RETURN)
    assert not Pickup.select().exists() and logs(shop.ticket) == []


def test_return_of_a_shipped_order_creates_the_pickup_through_the_console_operation(shop):
    ship(shop, shop.order)
    pickup = aftersales.start_return(ctx(shop.agent), shop.ticket.id,
                                     {**RETURN, "return_tracking_no": "12-34"})
    assert (pickup.order_id, pickup.status, pickup.reason, pickup.return_tracking_no) == \
        (shop.order.id, pickups.REQUESTED, "반품-불량", "1234")
    assert TicketPickup.get(TicketPickup.pickup == pickup.id).ticket_id == shop.ticket.id
    assert pickups.registered_inbound(shop.order.id).pickup_id == pickup.id
    assert CsHistory.select().where((CsHistory.order == shop.order.id)
                                    & (CsHistory.operation == "pickup")).count() == 1
    assert logs(shop.ticket) == [f"aftersales:return #{pickup.id} 반품-불량"]
    assert links(shop.ticket) == {"return": 1}
    assert [p.id for p in aftersales.records(shop.ticket, "return")] == [pickup.id]


def test_return_with_bad_fields_changes_nothing(shop):
    ship(shop, shop.order)
    with pytest.raises(ValidationError) as bad:
        aftersales.start_return(ctx(shop.agent), shop.ticket.id, {"courier": "없는택배"})
    assert bad.value.field in ("courier", "reason")
    assert not Pickup.select().exists() and not TicketPickup.select().exists()
    assert logs(shop.ticket) == []


# --- repair and field service -----------------------------------------------------------------

def test_repair_order_for_a_line_of_the_order(shop):
    line = shop.order.lines[0]
    with pytest.raises(ValidationError) as bad:
        aftersales.create_repair(ctx(shop.agent), shop.ticket.id,
                                 {"line_id": "999", "description": "지퍼 고장",
                                  "invoice_method": "after"})
    assert bad.value.field == "line_id"
    with pytest.raises(ValidationError) as method:
        aftersales.create_repair(ctx(shop.agent), shop.ticket.id,
                                 {"line_id": str(line.id), "description": "x",
                                  "invoice_method": "later"})
    assert method.value.field == "invoice_method"
    repair = aftersales.create_repair(ctx(shop.agent), shop.ticket.id, {
        "line_id": str(line.id), "description": "지퍼 고장", "invoice_method": "after"})
    assert (repair.product_name, repair.invoice_method, repair.order_line_id) == \
        ("순면 티셔츠 화이트-M", "after", line.id)
    assert logs(shop.ticket) == [f"aftersales:repair #{repair.id} 순면 티셔츠 화이트-M"]
    assert RepairOrder.select().count() == 1 and links(shop.ticket) == {"repair": 1}


def test_repair_may_point_only_at_a_return_of_the_ticket(shop):
    ship(shop, shop.order)
    other = new_order(shop)
    ship(shop, other)
    foreign = orders.perform("pickup", other.id, RETURN, ctx(shop.agent))
    foreign_pickup = pickups.for_order(foreign.id)[0]
    line = shop.order.lines[0]
    with pytest.raises(ValidationError) as bad:
        aftersales.create_repair(ctx(shop.agent), shop.ticket.id, {
            "line_id": str(line.id), "description": "x", "invoice_method": "none",
            "pickup_id": str(foreign_pickup.id)})
    assert bad.value.field == "pickup_id"
    mine = aftersales.start_return(ctx(shop.agent), shop.ticket.id, RETURN)
    repair = aftersales.create_repair(ctx(shop.agent), shop.ticket.id, {
        "line_id": str(line.id), "description": "x", "invoice_method": "none",
        "pickup_id": str(mine.id)})
    assert repair.pickup_id == mine.id


def test_field_service_task_planned_from_the_ticket(shop):
    with pytest.raises(ValidationError) as bad:
        aftersales.create_field_task(ctx(shop.agent), shop.ticket.id,
                                     {"title": "", "planned_on": "4월 3일"})
    assert set(bad.value.errors) == {"title", "planned_on"}
    with pytest.raises(ValidationError) as nobody:
        aftersales.create_field_task(ctx(shop.agent), shop.ticket.id,
                                     {"title": "방문 설치", "assignee": str(shop.viewer.id)})
    assert nobody.value.field == "assignee"
    task = aftersales.create_field_task(ctx(shop.agent), shop.ticket.id, {
        "title": "방문 설치", "planned_on": "2026-04-03", "assignee": str(shop.agent2.id),
        "note": "오후 2시"})
    assert (task.planned_on, task.assignee_id, task.status) == \
        (dt.date(2026, 4, 3), shop.agent2.id, "planned")
    assert logs(shop.ticket) == [f"aftersales:field_service #{task.id} 방문 설치"]


def test_merged_ticket_takes_no_after_sales(shop):
    keep = open_ticket(shop, shop.support, shop.order)
    tickets.merge(ctx(shop.agent), keep.id, [shop.ticket.id])
    with pytest.raises(StateError):
        aftersales.create_field_task(ctx(shop.agent), shop.ticket.id, {"title": "x"})
    assert aftersales.create_field_task(ctx(shop.agent), keep.id, {"title": "x"}).ticket_id \
        == keep.id


def test_log_lines_parse_back_to_their_kind(shop):
    assert aftersales.log_line("aftersales:refund 12,000") == ("refund", "12,000")
    assert aftersales.log_line("stage:신규 → 해결") is None
    assert aftersales.log_line("aftersales:nope x") is None


# --- the ticket page block and its dialogs ----------------------------------------------------

HX = {"HX-Request": "true"}


def page(client, ticket) -> str:
    return client.get(f"/helpdesk/tickets/{ticket.id}").get_data(as_text=True)


def test_ticket_page_shows_the_buttons_and_why_one_is_disabled(app, shop, login):
    client = login("agent")
    body = page(client, shop.ticket)
    assert 'id="aftersales"' in body
    for option in ALL:
        assert f'data-aftersales="{option}"' in body
    refund = re_button(body, "refund")
    assert "disabled" in refund and "송장이 발행된 주문만 환불할 수 있습니다" in body
    assert "disabled" in re_button(body, "return")
    assert "배송된 주문만 반품할 수 있습니다." in body
    assert "disabled" not in re_button(body, "repair")
    viewer = page(login("viewer"), shop.ticket)
    assert 'data-aftersales="repair"' not in viewer          # viewers read, never act


def re_button(body: str, option: str) -> str:
    start = body.index(f'data-aftersales="{option}"')
    return body[start:body.index(">", start)]


def test_refund_dialog_refuses_then_issues_a_credit_note(app, shop, login):
    client = login("agent")
    url = f"/helpdesk/tickets/{shop.ticket.id}/aftersales/refund"
    dialog = client.get(url, headers=HX).get_data(as_text=True)
    assert "data-refused" in dialog and 'name="amount"' not in dialog
    invoice(shop, shop.order)
    dialog = client.get(url, headers=HX).get_data(as_text=True)
    assert "25,800" in dialog and 'name="amount"' in dialog
    bad = client.post(url, data={"method": "partial", "amount": "99999"}, headers=HX)
    assert bad.status_code == 200 and "환불 가능 잔액은 25,800" in bad.get_data(as_text=True)
    assert not CreditNote.select().exists()
    done = client.post(url, data={"method": "partial", "amount": "12000"}, headers=HX)
    assert "ruledesk:aftersalesChanged" in done.headers["HX-Trigger"]
    assert CreditNote.get().amount == 12000
    body = page(client, shop.ticket)
    assert 'data-smart-link="refund"' in body
    records = client.get(f"/helpdesk/tickets/{shop.ticket.id}/aftersales/refund/records",
                         headers=HX).get_data(as_text=True)
    assert "12,000" in records and "13,800" not in records


def test_coupon_dialog_generates_a_code_to_copy_and_email_once(app, shop, login):
    aftersales.save_program(shop.admin, {"name": "감사 쿠폰", "discount": "5000",
                                         "valid_days": "30"})
    aftersales.save_program(shop.admin, {"name": "10만원 이상", "discount": "9000",
                                         "valid_days": "30", "min_order_total": "100000"})
    client = login("agent")
    url = f"/helpdesk/tickets/{shop.ticket.id}/aftersales/coupon"
    dialog = client.get(url, headers=HX).get_data(as_text=True)
    assert "감사 쿠폰" in dialog and "최소 주문금액" in dialog
    rich = CouponProgram.get(CouponProgram.name == "10만원 이상")
    refused = client.post(url, data={"program_id": str(rich.id)}, headers=HX)
    assert "최소 주문금액" in refused.get_data(as_text=True)
    assert not Coupon.select().exists()
    program = CouponProgram.get(CouponProgram.name == "감사 쿠폰")
    made = client.post(url, data={"program_id": str(program.id)}, headers=HX)
    coupon = Coupon.get()
    shown = made.get_data(as_text=True)
    assert coupon.code in shown and f'data-copy="{coupon.code}"' in shown
    assert "ruledesk:aftersalesChanged" in made.headers["HX-Trigger"]
    subject = re_value(shown, "subject")
    body = shown[shown.index('name="body"'):]
    body = body[body.index(">") + 1:body.index("</textarea>")]
    send = f"/helpdesk/coupons/{coupon.id}/send"
    first = client.post(send, data={"subject": subject, "body": body}, headers=HX)
    second = client.post(send, data={"subject": subject, "body": body}, headers=HX)
    import json
    toast = lambda r: json.loads(r.headers["HX-Trigger"])["ruledesk:toast"]  # noqa: E731
    assert "kim@example.com" in toast(first) and "보냈습니다" in toast(first)
    assert "두 번 보내지 않습니다" in toast(second)          # already sent: not sent twice
    assert Message.select().count() == 1 and coupon.code in Message.get().body


def re_value(body: str, name: str) -> str:
    start = body.index(f'name="{name}"')
    start = body.index('value="', start) + len('value="')
    return body[start:body.index('"', start)]


def test_return_dialog_on_a_shipped_order_creates_the_pickup_smart_link(app, shop, login):
    ship(shop, shop.order)
    client = login("agent")
    url = f"/helpdesk/tickets/{shop.ticket.id}/aftersales/return"
    dialog = client.get(url, headers=HX).get_data(as_text=True)
    assert 'name="courier"' in dialog and 'name="reason"' in dialog
    missing = client.post(url, data={"courier": "CJ대한통운"}, headers=HX)
    assert 'has-error' in missing.get_data(as_text=True) and not Pickup.select().exists()
    done = client.post(url, data=RETURN, headers=HX)
    assert "closeDialog" in done.headers["HX-Trigger"]
    pickup = Pickup.get()
    body = page(client, shop.ticket)
    assert 'data-smart-link="return"' in body
    records = client.get(f"/helpdesk/tickets/{shop.ticket.id}/aftersales/return/records",
                         headers=HX).get_data(as_text=True)
    assert f'data-pickup="{pickup.id}"' in records


def test_viewer_cannot_post_after_sales(app, shop, login):
    ship(shop, shop.order)
    viewer = login("viewer")
    for option in ALL:
        url = f"/helpdesk/tickets/{shop.ticket.id}/aftersales/{option}"
        assert viewer.post(url, data=RETURN, headers=HX).status_code == 403
    assert not (Pickup.select().exists() or CreditNote.select().exists())


def test_unknown_option_and_invisible_ticket_are_404(app, shop, login):
    client = login("agent")
    assert client.get(f"/helpdesk/tickets/{shop.ticket.id}/aftersales/gift",
                      headers=HX).status_code == 404
    assert client.post("/helpdesk/tickets/9999/aftersales/refund",
                       data={"method": "full"}, headers=HX).status_code == 404


def test_coupon_programmes_page_for_settings_users(app, shop, login):
    agent = login("agent")
    assert agent.get("/helpdesk/coupon-programs").status_code == 200
    assert agent.get("/helpdesk/coupon-programs/new", headers=HX).status_code == 403
    admin = login("admin")
    bad = admin.post("/helpdesk/coupon-programs/new", data={"name": "x", "discount": "0",
                                                            "valid_days": "30"}, headers=HX)
    assert 'has-error' in bad.get_data(as_text=True) and not CouponProgram.select().exists()
    saved = admin.post("/helpdesk/coupon-programs/new", data={
        "name": "감사 쿠폰", "discount_kind": "percent", "discount": "10", "valid_days": "14",
        "product_codes": "P100", "active": "1"}, headers=HX)
    assert "ruledesk:couponProgramsChanged" in saved.headers["HX-Trigger"]
    program = CouponProgram.get()
    listing = admin.get("/helpdesk/coupon-programs").get_data(as_text=True)
    assert "감사 쿠폰" in listing and "P100" in listing
    admin.post(f"/helpdesk/coupon-programs/{program.id}", data={
        "name": "감사 쿠폰", "discount_kind": "percent", "discount": "10", "valid_days": "14"},
        headers=HX)
    assert not CouponProgram.get_by_id(program.id).active     # unticked = inactive
    admin.post(f"/helpdesk/coupon-programs/{program.id}/delete", headers=HX)
    assert not CouponProgram.select().exists()


# --- the status of repairs and field tasks ----------------------------------------------------

def make_repair(w):
    return aftersales.create_repair(ctx(w.agent), w.ticket.id, {
        "line_id": str(w.order.lines[0].id), "description": "지퍼 고장",
        "invoice_method": "after"})


def make_task(w):
    return aftersales.create_field_task(ctx(w.agent), w.ticket.id, {"title": "방문 설치"})


def test_repair_goes_draft_confirmed_done_and_back_one_step(shop):
    repair = make_repair(shop)
    assert repair.status == "draft"
    assert [to for to, _ in aftersales.steps(repair)] == ["confirmed"]
    for status in ("confirmed", "done", "confirmed", "draft"):
        moved = aftersales.set_repair_status(ctx(shop.agent), repair.id, status)
        assert moved.status == status == RepairOrder.get_by_id(repair.id).status
    assert logs(shop.ticket)[1:] == [
        f"aftersales:repair_status #{repair.id} draft → confirmed",
        f"aftersales:repair_status #{repair.id} confirmed → done",
        f"aftersales:repair_status #{repair.id} done → confirmed",
        f"aftersales:repair_status #{repair.id} confirmed → draft"]


def test_repair_cannot_skip_a_step_or_stay_where_it_is(shop):
    repair = make_repair(shop)
    with pytest.raises(StateError) as skip:
        aftersales.set_repair_status(ctx(shop.agent), repair.id, "done")
    assert skip.value.field == "status"
    assert skip.value.render() == (f"Repair order #{repair.id} is Draft: it can only go to "
                                   "Confirmed (one step forward or back).")
    with pytest.raises(StateError) as same:
        aftersales.set_repair_status(ctx(shop.agent), repair.id, "draft")
    assert same.value.render() == f"Repair order #{repair.id} is Draft already."
    aftersales.set_repair_status(ctx(shop.agent), repair.id, "confirmed")
    aftersales.set_repair_status(ctx(shop.agent), repair.id, "done")
    with pytest.raises(StateError) as back_two:
        aftersales.set_repair_status(ctx(shop.agent), repair.id, "draft")
    assert "can only go to Confirmed" in back_two.value.render()
    with pytest.raises(ValidationError) as bad:
        aftersales.set_repair_status(ctx(shop.agent), repair.id, "broken")
    assert bad.value.field == "status"
    assert RepairOrder.get_by_id(repair.id).status == "done"
    assert len(logs(shop.ticket)) == 3          # created, confirmed, done: nothing refused


def test_field_task_done_and_planned_again(shop):
    task = make_task(shop)
    with pytest.raises(StateError):
        aftersales.set_task_status(ctx(shop.agent), task.id, "planned")
    assert aftersales.set_task_status(ctx(shop.agent), task.id, "done").status == "done"
    assert [to for to, _ in aftersales.steps(FieldTask.get_by_id(task.id))] == ["planned"]
    with pytest.raises(StateError) as twice:
        aftersales.set_task_status(ctx(shop.agent), task.id, "done")
    assert twice.value.render() == f"Field-service task #{task.id} is Done already."
    assert aftersales.set_task_status(ctx(shop.agent), task.id, "planned").status == "planned"
    with pytest.raises(ValidationError):
        aftersales.set_task_status(ctx(shop.agent), task.id, "confirmed")
    assert logs(shop.ticket)[1:] == [f"aftersales:task_status #{task.id} planned → done",
                                     f"aftersales:task_status #{task.id} done → planned"]


def test_status_moves_need_operate_and_a_visible_ticket(shop):
    repair, task = make_repair(shop), make_task(shop)
    with pytest.raises(PermissionDenied):
        aftersales.set_repair_status(ctx(shop.viewer), repair.id, "confirmed")
    with pytest.raises((PermissionDenied, NotFound)):
        aftersales.set_task_status(ctx(shop.portal), task.id, "done")
    private = teams.save_team(shop.admin, {"name": "VIP", "visibility": "private",
                                           "members": ["agent"], "after_sales": ALL})
    hidden = open_ticket(shop, private, shop.order)
    secret = aftersales.create_field_task(ctx(shop.agent), hidden.id, {"title": "VIP 방문"})
    with pytest.raises(NotFound):
        aftersales.set_task_status(ctx(shop.agent2), secret.id, "done")
    with pytest.raises(NotFound):
        aftersales.set_repair_status(ctx(shop.agent), 999999, "confirmed")
    assert RepairOrder.get_by_id(repair.id).status == "draft"
    assert {t.status for t in FieldTask.select()} == {"planned"}


def test_work_started_is_finished_after_the_team_drops_the_option(shop):
    task = make_task(shop)
    teams.save_team(shop.admin, {"name": "고객 지원", "visibility": "public",
                                 "after_sales": ["refund"]}, shop.support.id)
    assert aftersales.set_task_status(ctx(shop.agent), task.id, "done").status == "done"


def test_ticket_history_words_the_status_lines(app, shop, login):
    repair = make_repair(shop)
    aftersales.set_repair_status(ctx(shop.agent), repair.id, "confirmed")
    body = page(login("agent"), shop.ticket)
    assert f"수리 주문 #{repair.id} 상태 변경: 초안 → 확인" in body   # words and labels translated
    assert "aftersales:repair_status" not in body and "draft → confirmed" not in body


def test_records_list_moves_a_repair_with_buttons_and_rerenders(app, shop, login):
    repair = make_repair(shop)
    client = login("agent")
    url = f"/helpdesk/tickets/{shop.ticket.id}/aftersales/repair/records"
    listing = client.get(url, headers=HX).get_data(as_text=True)
    assert f'data-repair="{repair.id}" data-status="draft"' in listing
    assert 'data-step="confirmed"' in listing and 'data-step="done"' not in listing
    post = f"/helpdesk/repairs/{repair.id}/status"
    moved = client.post(post, data={"status": "confirmed"}, headers=HX)
    assert moved.status_code == 200
    shown = moved.get_data(as_text=True)
    assert 'class="dialog-form wide aftersales-records"' in shown
    assert f'data-repair="{repair.id}" data-status="confirmed"' in shown
    assert 'data-step="done"' in shown and 'data-step="draft"' in shown
    assert "ruledesk:aftersalesChanged" in moved.headers["HX-Trigger"]
    client.post(post, data={"status": "done"}, headers=HX)
    skipped = client.post(post, data={"status": "draft"}, headers=HX)   # two steps back
    assert skipped.status_code == 200 and "HX-Trigger" not in skipped.headers
    refused = skipped.get_data(as_text=True)
    assert "data-refused" in refused and 'data-status="done"' in refused
    assert "확정" in refused or "확인" in refused         # where it may go instead
    assert RepairOrder.get_by_id(repair.id).status == "done"


def test_records_list_marks_a_field_task_done(app, shop, login):
    task = make_task(shop)
    client = login("agent")
    listing = client.get(f"/helpdesk/tickets/{shop.ticket.id}/aftersales/field_service/records",
                         headers=HX).get_data(as_text=True)
    assert f'data-task="{task.id}" data-status="planned"' in listing and "예정" in listing
    done = client.post(f"/helpdesk/field-tasks/{task.id}/status", data={"status": "done"},
                       headers=HX)
    import json
    assert "완료" in json.loads(done.headers["HX-Trigger"])["ruledesk:toast"]
    assert 'data-step="planned"' in done.get_data(as_text=True)
    assert FieldTask.get_by_id(task.id).status == "done"


def test_viewer_sees_statuses_but_no_buttons_and_cannot_post(app, shop, login):
    repair, task = make_repair(shop), make_task(shop)
    viewer = login("viewer")
    listing = viewer.get(f"/helpdesk/tickets/{shop.ticket.id}/aftersales/repair/records",
                         headers=HX).get_data(as_text=True)
    assert 'data-status="draft"' in listing and "data-step" not in listing
    assert viewer.post(f"/helpdesk/repairs/{repair.id}/status", data={"status": "confirmed"},
                       headers=HX).status_code == 403
    assert viewer.post(f"/helpdesk/field-tasks/{task.id}/status", data={"status": "done"},
                       headers=HX).status_code == 403
    agent = login("agent")
    for missing in (999999, 2**40):                 # past a PostgreSQL integer too
        assert agent.post(f"/helpdesk/field-tasks/{missing}/status", data={"status": "done"},
                          headers=HX).status_code == 404
    assert RepairOrder.get_by_id(repair.id).status == "draft"
    assert FieldTask.get_by_id(task.id).status == "planned"


def test_portal_shows_a_task_done_once_the_agent_marks_it(app, shop, login):
    task = make_task(shop)
    portal = login("kim@example.com")
    before = portal.get(f"/portal/tickets/{shop.ticket.id}").get_data(as_text=True)
    visit = before[before.index(f'data-visit="{task.id}"'):]
    assert "예정" in visit[:visit.index("</li>")]
    aftersales.set_task_status(ctx(shop.agent), task.id, "done")
    after = portal.get(f"/portal/tickets/{shop.ticket.id}").get_data(as_text=True)
    visit = after[after.index(f'data-visit="{task.id}"'):]
    assert "완료" in visit[:visit.index("</li>")]
