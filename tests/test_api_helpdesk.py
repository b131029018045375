"""The helpdesk API (/api/v1/teams, /stages, /tickets): the forms' schemas over JSON, the same
visibility and roles as the screens, errors as the API's error body, never a 500."""
from __future__ import annotations

import pytest

from engine import stages, teams
from engine.models import Message, MessageTemplate, SenderNumber, Ticket, User
from tests.conftest import PASSWORD, make_user, new_order


class Api:
    def __init__(self, client, token):
        self.client, self.token = client, token

    def open(self, method, path, json=None):
        kwargs = {"json": json} if json is not None else {}
        return self.client.open("/api/v1" + path, method=method,
                                headers={"Authorization": f"Bearer {self.token}"}, **kwargs)

    def get(self, path):
        return self.open("GET", path)

    def post(self, path, json=None):
        return self.open("POST", path, json if json is not None else {})

    def put(self, path, json):
        return self.open("PUT", path, json)


@pytest.fixture
def api(app, world):
    def as_user(username):
        client = app.test_client()
        response = client.post("/api/v1/token", json={"username": username,
                                                      "password": PASSWORD})
        assert response.status_code == 200, response.get_data(as_text=True)
        return Api(client, response.json["token"])
    return as_user


@pytest.fixture
def desk(world):
    world.outsider = make_user("agent3", "agent", "외부인")
    SenderNumber.create(number="0212345678", label="대표")
    MessageTemplate.create(name="진행 안내", kind="sms", context="ticket",
                           body="#{고객명}님, 문의 #{티켓번호} 처리 중입니다.")
    world.support = teams.save_team(world.admin, {
        "name": "고객 지원", "visibility": "company", "auto_assign": True,
        "members": ["agent", "agent2"]})
    world.finance = teams.save_team(world.admin, {"name": "정산/금융", "visibility": "private",
                                                  "members": ["agent"]})
    names = ["고객 지원", "정산/금융"]
    world.new = stages.save_stage(world.admin, {"name": "신규", "teams": names})
    world.doing = stages.save_stage(world.admin, {"name": "진행 중", "teams": ["고객 지원"],
                                                   "sms_template": "진행 안내"})
    world.done = stages.save_stage(world.admin, {"name": "해결", "folded": True,
                                                  "teams": names})
    return world


def ticket_body(team, **extra):
    return {"team_id": team.id, "subject": "배송 문의", "customer_name": "김고객",
            "customer_phone": "010-1234-5678", **extra}


# --- teams and stages ---------------------------------------------------------------------------

def test_teams_read_with_auto_assign_and_follow_visibility(desk, api):
    agent2 = api("agent2")
    listed = agent2.get("/teams").json
    assert [t["name"] for t in listed["teams"]] == ["고객 지원"]     # 정산/금융 is private
    team = listed["teams"][0]
    assert team["auto_assign"] is True and team["members"] == ["agent", "agent2"]
    assert agent2.get(f"/teams/{desk.finance.id}").status_code == 404
    assert api("agent").get(f"/teams/{desk.finance.id}").json["visibility"] == "private"


def test_teams_are_created_and_changed_with_the_form_schema_by_admins_only(desk, api):
    admin = api("admin")
    created = admin.post("/teams", {"name": "반품팀", "visibility": "public",
                                    "auto_assign": True, "assign_method": "open_tickets",
                                    "members": ["agent2"]})
    assert created.status_code == 201, created.get_data(as_text=True)
    team = created.json
    assert team["assign_method"] == "open_tickets" and team["members"] == ["agent2"]
    refused = admin.post("/teams", {"name": "유령팀", "members": ["nobody"]})
    assert refused.status_code == 422
    assert refused.json["error"]["field"] == "members" and "nobody" in \
        refused.json["error"]["message"]
    assert api("agent").post("/teams", {"name": "x"}).status_code == 403
    changed = admin.put(f"/teams/{team['id']}", {**team, "auto_assign": False})
    assert changed.status_code == 200 and changed.json["auto_assign"] is False
    stale = admin.put(f"/teams/{team['id']}", {**team, "version": team["version"]})
    assert stale.status_code == 409


def test_stages_round_trip_in_their_schema(desk, api):
    admin = api("admin")
    listed = admin.get("/stages").json["stages"]
    assert [s["name"] for s in listed] == ["신규", "진행 중", "해결"]
    assert listed[1]["sms_template"] == "진행 안내" and listed[2]["folded"] is True
    only = admin.get(f"/stages?team_id={desk.finance.id}").json["stages"]
    assert [s["name"] for s in only] == ["신규", "해결"]
    created = admin.post("/stages", {"name": "고객 회신 대기", "teams": ["고객 지원"],
                                     "order": 25})
    assert created.status_code == 201 and created.json["teams"] == ["고객 지원"]
    bad = admin.post("/stages", {"name": "x", "teams": ["없는 팀"]})
    assert bad.status_code == 422 and bad.json["error"]["field"] == "teams"
    put = admin.put(f"/stages/{created.json['id']}", {**created.json, "folded": True})
    assert put.status_code == 200 and put.json["folded"] is True
    assert api("agent").put(f"/stages/{created.json['id']}", created.json).status_code == 403


# --- tickets ------------------------------------------------------------------------------------

def test_a_ticket_is_created_assigned_automatically_and_read_back(desk, api):
    agent = api("agent")
    order = new_order(desk)
    created = agent.post("/tickets", ticket_body(desk.support, order_id=order.id,
                                                 customer_email="kim@example.com"))
    assert created.status_code == 201, created.get_data(as_text=True)
    ticket = created.json
    assert ticket["stage"]["name"] == "신규" and ticket["closed"] is False
    assert ticket["assignee"]["username"] in ("agent", "agent2")
    assert ticket["order_id"] == order.id and ticket["merged_into"] is None
    assert ticket["source"] == "api" and ticket["team"]["name"] == "고객 지원"
    assert [m["body"] for m in ticket["messages"]][0] == "created:api"
    assert "agent" in [f["username"] for f in ticket["followers"]]
    assert agent.get(f"/tickets/{ticket['id']}").json["subject"] == "배송 문의"


def test_creating_a_ticket_refuses_bad_input_by_field(desk, api):
    agent = api("agent")
    missing = agent.post("/tickets", {"team_id": desk.support.id})
    assert missing.status_code == 422 and missing.json["error"]["field"] == "subject"
    no_order = agent.post("/tickets", ticket_body(desk.support, order_id=999999))
    assert no_order.status_code == 422 and no_order.json["error"]["field"] == "order_id"
    hidden = api("agent2").post("/tickets", ticket_body(desk.finance))
    assert hidden.status_code == 422 and hidden.json["error"]["field"] == "team_id"
    assert api("viewer").post("/tickets", ticket_body(desk.support)).status_code == 403
    assert not Ticket.select().exists()


def test_ticket_lists_use_the_ui_filters_and_visibility(desk, api):
    agent = api("agent")
    support = agent.post("/tickets", ticket_body(desk.support, subject="택배 분실")).json
    finance = agent.post("/tickets", ticket_body(desk.finance, subject="환불 계좌")).json
    listed = agent.get("/tickets").json
    assert {t["id"] for t in listed["tickets"]} == {support["id"], finance["id"]}
    assert api("agent2").get("/tickets").json["total"] == 1        # private team hidden
    assert api("agent2").get(f"/tickets/{finance['id']}").status_code == 404
    only = agent.get(f"/tickets?team={desk.finance.id}").json["tickets"]
    assert [t["id"] for t in only] == [finance["id"]]
    assert [t["id"] for t in agent.get("/tickets?q=분실").json["tickets"]] == [support["id"]]
    bad = agent.get("/tickets?state=sometimes&per_page=0")
    assert bad.status_code == 422 and set(bad.json["error"]["fields"]) == {"state", "per_page"}


def test_moving_a_stage_sends_its_sms_and_a_folded_stage_closes(desk, api):
    agent = api("agent")
    ticket = agent.post("/tickets", ticket_body(desk.support)).json
    moved = agent.post(f"/tickets/{ticket['id']}/stage", {"stage_id": desk.doing.id})
    assert moved.status_code == 200 and moved.json["stage"]["name"] == "진행 중"
    assert Message.get(Message.to == "01012345678").body.startswith("김고객님")
    closed = agent.post(f"/tickets/{ticket['id']}/stage", {"stage_id": desk.done.id})
    assert closed.json["closed"] is True
    other_team = agent.post("/tickets", ticket_body(desk.finance)).json
    refused = agent.post(f"/tickets/{other_team['id']}/stage", {"stage_id": desk.doing.id})
    assert refused.status_code == 422 and refused.json["error"]["field"] == "stage"
    stale = agent.post(f"/tickets/{ticket['id']}/stage",
                       {"stage_id": desk.new.id, "version": 1})
    assert stale.status_code == 409
    assert agent.post(f"/tickets/{ticket['id']}/stage", {}).status_code == 422


def test_assign_to_a_person_nobody_or_automatic(desk, api):
    agent = api("agent")
    ticket = agent.post("/tickets", ticket_body(desk.support)).json
    path = f"/tickets/{ticket['id']}/assign"
    assert agent.post(path, {"user_id": desk.agent2.id}).json["assignee"]["username"] == "agent2"
    assert agent.post(path, {"user_id": None}).json["assignee"] is None
    assert agent.post(path, {"user_id": "auto"}).json["assignee"] is not None
    assert agent.post(path, {}).status_code == 422
    assert agent.post(path, {"user_id": [1]}).status_code == 422
    viewer = agent.post(path, {"user_id": desk.viewer.id})
    assert viewer.status_code == 422 and viewer.json["error"]["field"] == "assignee"


def test_merge_moves_messages_and_closes_the_duplicates(desk, api):
    agent = api("agent")
    keep = agent.post("/tickets", ticket_body(desk.support)).json
    dupe = agent.post("/tickets", ticket_body(desk.support, subject="같은 문의")).json
    agent.post(f"/tickets/{dupe['id']}/messages", {"body": "송장번호 알려주세요", "kind": "note"})
    merged = agent.post(f"/tickets/{keep['id']}/merge", {"ticket_ids": [dupe["id"]]})
    assert merged.status_code == 200
    assert "송장번호 알려주세요" in [m["body"] for m in merged.json["messages"]]
    gone = agent.get(f"/tickets/{dupe['id']}").json
    assert gone["merged_into"] == keep["id"] and gone["closed"] is True
    assert agent.post(f"/tickets/{keep['id']}/merge", {"ticket_ids": "12"}).status_code == 422
    assert agent.post(f"/tickets/{keep['id']}/merge", {"ticket_ids": []}).status_code == 422
    again = agent.post(f"/tickets/{keep['id']}/merge", {"ticket_ids": [dupe["id"]]})
    assert again.status_code == 409


def test_messages_are_written_and_read_back(desk, api):
    agent = api("agent")
    ticket = agent.post("/tickets", ticket_body(desk.support,
                                                customer_email="kim@example.com")).json
    reply = agent.post(f"/tickets/{ticket['id']}/messages", {"body": "확인해 보겠습니다."})
    assert reply.status_code == 201 and reply.json["kind"] == "reply"
    assert Message.get(Message.to == "kim@example.com").body == "확인해 보겠습니다."
    empty = agent.post(f"/tickets/{ticket['id']}/messages", {"body": ""})
    assert empty.status_code == 422 and empty.json["error"]["field"] == "body"
    assert api("viewer").post(f"/tickets/{ticket['id']}/messages",
                              {"body": "x"}).status_code == 403
    assert agent.get("/tickets/999999").status_code == 404


def test_portal_users_have_no_api(desk, api, app):
    make_user("kim@example.com", "portal", "김고객")
    response = app.test_client().post("/api/v1/token", json={"username": "kim@example.com",
                                                             "password": PASSWORD})
    if response.status_code == 200:
        token = response.json["token"]
        listed = app.test_client().get("/api/v1/tickets",
                                       headers={"Authorization": f"Bearer {token}"})
        assert listed.status_code == 403
    else:
        assert response.status_code in (401, 403)
    assert User.get(User.username == "kim@example.com").role == "portal"


# --- after-sales (seed 003) ---------------------------------------------------------------------

AFTER_SALES_ALL = ["refund", "coupon", "return", "repair", "field_service"]


@pytest.fixture
def shop(desk):
    """The support team offers every after-sales option; its ticket is linked to a received
    order (2 × 12,900 = 25,800). The private 정산/금융 team's ticket is one agent2 cannot see."""
    from engine import aftersales, tickets
    from engine.order_core import Context
    from tests.conftest import NOW

    for team in (desk.support, desk.finance):
        data = teams.team_as_data(team)
        teams.save_team(desk.admin, {**data, "after_sales": AFTER_SALES_ALL}, team.id)
    desk.order = new_order(desk)
    desk.ctx = Context(desk.agent, NOW)
    desk.ticket = tickets.create_ticket(desk.ctx, {
        "team_id": str(desk.support.id), "subject": "지퍼 불량", "customer_name": "김고객",
        "customer_email": "kim@example.com", "order_id": desk.order.id})
    desk.hidden = tickets.create_ticket(desk.ctx, {
        "team_id": str(desk.finance.id), "subject": "환불 계좌", "customer_name": "이고객",
        "customer_email": "lee@example.com", "order_id": desk.order.id})
    desk.program = aftersales.save_program(desk.admin, {"name": "감사 쿠폰", "discount": "5000",
                                                       "valid_days": "30"})
    desk.rich = aftersales.save_program(desk.admin, {"name": "10만원 이상", "discount": "9000",
                                                    "valid_days": "30",
                                                    "min_order_total": "100000"})
    return desk


def invoice(w):
    from engine import orders
    orders.perform("invoice", w.order.id, {"courier": "CJ대한통운", "tracking_no": "600001"},
                   w.ctx)


def ship(w):
    from engine import orders
    invoice(w)
    orders.perform("ship", w.order.id, {}, w.ctx)


def option(data, name):
    return next(o for o in data["options"] if o["option"] == name)


def test_aftersales_read_gives_each_option_or_its_refusal_and_the_records(shop, api):
    agent = api("agent")
    data = agent.get(f"/tickets/{shop.ticket.id}/aftersales").json
    assert [o["option"] for o in data["options"]] == AFTER_SALES_ALL
    refund = option(data, "refund")
    assert refund["enabled"] is False
    assert "송장이 발행된 주문만 환불할 수 있습니다" in refund["reason"]
    assert option(data, "return")["reason"] == "배송된 주문만 반품할 수 있습니다."
    assert option(data, "repair") == {"option": "repair", "label": "수리", "enabled": True,
                                      "reason": None}
    assert data["refund"] == {"total": 25800, "refunded": 0, "left": 25800}
    assert data["records"] == {kind: [] for kind in AFTER_SALES_ALL}
    ship(shop)
    agent.post(f"/tickets/{shop.ticket.id}/field-tasks", {"planned_on": "2026-04-03"})
    agent.post(f"/tickets/{shop.ticket.id}/refund", {"method": "partial", "amount": 1000})
    viewer = api("viewer").get(f"/tickets/{shop.ticket.id}/aftersales")
    assert viewer.status_code == 200                                 # reading is "read"
    records = viewer.json["records"]
    assert records["refund"][0]["amount"] == 1000 and records["refund"][0]["method"] == "partial"
    task = records["field_service"][0]
    assert (task["title"], task["planned_on"], task["status"], task["next"]) == \
        ("지퍼 불량", "2026-04-03", "planned", ["done"])
    assert option(viewer.json, "return")["enabled"] is True
    assert api("agent2").get(f"/tickets/{shop.hidden.id}/aftersales").status_code == 404
    assert agent.get("/tickets/999999/aftersales").status_code == 404


def test_api_refund_is_the_dialogs_credit_note(shop, api):
    from engine.models import CreditNote
    agent = api("agent")
    path = f"/tickets/{shop.ticket.id}/refund"
    early = agent.post(path, {"method": "full"})
    assert early.status_code == 409 and early.json["error"]["code"] == "state"
    invoice(shop)
    too_much = agent.post(path, {"method": "partial", "amount": 99999})
    assert too_much.status_code == 422 and too_much.json["error"]["field"] == "amount"
    assert "25,800" in too_much.json["error"]["message"]
    assert agent.post(path, {"amount": 1000}).json["error"]["field"] == "method"  # never assumed
    partial = agent.post(path, {"method": "partial", "amount": 12000, "reason": "불량"})
    assert partial.status_code == 201
    assert (partial.json["amount"], partial.json["reason"]) == (12000, "불량")
    assert partial.json["created_by"]["username"] == "agent"
    full = agent.post(path, {"method": "full"})
    assert full.status_code == 201 and full.json["amount"] == 13800
    again = agent.post(path, {"method": "full"})
    assert again.status_code == 409 and "이미" in again.json["error"]["message"]
    assert api("viewer").post(path, {"method": "full"}).status_code == 403
    assert api("agent2").post(f"/tickets/{shop.hidden.id}/refund",
                              {"method": "bogus"}).status_code == 404   # 404 before 422
    assert CreditNote.select().count() == 2


def test_api_coupon_generated_then_emailed_once(shop, api):
    from engine.models import Coupon, Message
    agent = api("agent")
    path = f"/tickets/{shop.ticket.id}/coupons"
    below = agent.post(path, {"program_id": shop.rich.id})
    assert below.status_code == 409 and "최소 주문금액" in below.json["error"]["message"]
    assert agent.post(path, {}).json["error"]["field"] == "program_id"
    assert agent.post(path, {"program_id": 999999}).status_code == 422
    made = agent.post(path, {"program_id": shop.program.id})
    assert made.status_code == 201, made.get_data(as_text=True)
    coupon = made.json
    import datetime as dt
    valid = dt.date.fromisoformat(coupon["expires_on"]) - dt.date.today()
    assert len(coupon["code"]) == 14 and 29 <= valid.days <= 31      # 30 local days
    assert coupon["program"]["name"] == "감사 쿠폰" and coupon["sent_at"] is None
    send = f"/coupons/{coupon['id']}/send"
    no_code = agent.post(send, {"body": "쿠폰을 드립니다"})
    assert no_code.status_code == 422 and no_code.json["error"]["field"] == "body"
    assert api("viewer").post(send).status_code == 403
    first = agent.post(send)                      # the dialog's text, in Korean
    assert first.status_code == 200 and first.json["sent"] is True
    assert first.json["to"] == "kim@example.com" and first.json["coupon"]["sent_at"]
    second = agent.post(send)
    assert second.status_code == 200 and second.json["sent"] is False
    assert Message.select().count() == 1 and coupon["code"] in Message.get().body
    hidden = agent.post(f"/tickets/{shop.hidden.id}/coupons", {"program_id": shop.program.id})
    assert api("agent2").post(f"/coupons/{hidden.json['id']}/send").status_code == 404
    assert api("agent2").post(f"/tickets/{shop.hidden.id}/coupons",
                              {"program_id": shop.program.id}).status_code == 404
    assert Coupon.select().count() == 2


def test_api_return_takes_the_dialogs_pickup_fields(shop, api):
    from engine.models import Pickup, TicketPickup
    agent = api("agent")
    path = f"/tickets/{shop.ticket.id}/return"
    early = agent.post(path, {"reason": "반품-불량"})
    assert early.status_code == 409
    ship(shop)
    bad = agent.post(path, {"reason": "반품-불량", "courier": "없는택배"})
    assert bad.status_code == 422 and bad.json["error"]["field"] == "courier"
    assert api("viewer").post(path, {"reason": "반품-불량"}).status_code == 403
    assert api("agent2").post(f"/tickets/{shop.hidden.id}/return",
                              {"reason": "반품-불량"}).status_code == 404
    assert not Pickup.select().exists()
    done = agent.post(path, {"reason": "반품-불량", "return_tracking_no": "12-34"})
    assert done.status_code == 201, done.get_data(as_text=True)
    pickup = done.json
    assert (pickup["courier"], pickup["return_tracking_no"], pickup["status"]) == \
        ("CJ대한통운", "1234", "요청")                   # the order's courier by default
    assert pickup["register_inbound"] is True
    assert TicketPickup.get().pickup_id == pickup["id"]


def test_api_repair_and_its_status_steps(shop, api):
    from engine import tickets
    agent = api("agent")
    line = shop.order.lines[0]
    path = f"/tickets/{shop.ticket.id}/repairs"
    bad = agent.post(path, {"line_id": 999999, "description": "지퍼 고장"})
    assert bad.status_code == 422 and bad.json["error"]["field"] == "line_id"
    orderless = tickets.create_ticket(shop.ctx, {"team_id": str(shop.support.id),
                                                 "subject": "주문 없음", "customer_name": "박"})
    refused = agent.post(f"/tickets/{orderless.id}/repairs",
                         {"line_id": line.id, "description": "x"})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "state"
    assert api("viewer").post(path, {"line_id": line.id, "description": "x"}).status_code == 403
    assert api("agent2").post(f"/tickets/{shop.hidden.id}/repairs",
                              {"line_id": line.id, "description": "x"}).status_code == 404
    made = agent.post(path, {"line_id": line.id, "description": "지퍼 고장"})
    assert made.status_code == 201
    repair = made.json
    assert (repair["invoice_method"], repair["status"], repair["next"]) == \
        ("none", "draft", ["confirmed"])
    status = f"/repairs/{repair['id']}/status"
    skip = agent.post(status, {"status": "done"})
    assert skip.status_code == 409 and skip.json["error"]["field"] == "status"
    assert "#%d" % repair["id"] in skip.json["error"]["message"]
    assert agent.post(status, {"status": "fixed"}).status_code == 422
    assert agent.post(status, {}).status_code == 422
    assert api("viewer").post(status, {"status": "confirmed"}).status_code == 403
    confirmed = agent.post(status, {"status": "confirmed"})
    assert confirmed.status_code == 200
    assert (confirmed.json["status"], confirmed.json["next"]) == ("confirmed", ["done", "draft"])
    assert agent.post(status, {"status": "done"}).json["status"] == "done"
    hidden = agent.post(f"/tickets/{shop.hidden.id}/repairs",
                        {"line_id": line.id, "description": "x"}).json
    assert api("agent2").post(f"/repairs/{hidden['id']}/status",
                              {"status": "confirmed"}).status_code == 404
    for missing in (999999, 2**40):
        assert agent.post(f"/repairs/{missing}/status", {"status": "x"}).status_code == 404


def test_api_field_task_planned_then_done(shop, api):
    from engine import tickets
    agent = api("agent")
    path = f"/tickets/{shop.ticket.id}/field-tasks"
    bad = agent.post(path, {"planned_on": "4월 3일", "assignee": shop.viewer.id})
    assert bad.status_code == 422
    assert set(bad.json["error"]["fields"]) == {"planned_on", "assignee"}
    orderless = tickets.create_ticket(shop.ctx, {"team_id": str(shop.support.id),
                                                 "subject": "주문 없음", "customer_name": "박"})
    assert agent.post(f"/tickets/{orderless.id}/field-tasks", {}).status_code == 409
    assert api("viewer").post(path, {}).status_code == 403
    assert api("agent2").post(f"/tickets/{shop.hidden.id}/field-tasks", {}).status_code == 404
    made = agent.post(path, {"title": "방문 수리", "planned_on": "2026-04-03",
                             "assignee": shop.agent2.id, "note": "오후 2시"})
    assert made.status_code == 201
    task = made.json
    assert (task["title"], task["assignee"]["username"], task["status"]) == \
        ("방문 수리", "agent2", "planned")
    status = f"/field-tasks/{task['id']}/status"
    assert api("viewer").post(status, {"status": "done"}).status_code == 403
    done = agent.post(status, {"status": "done"})
    assert done.status_code == 200 and done.json["next"] == ["planned"]
    twice = agent.post(status, {"status": "done"})
    assert twice.status_code == 409 and f"#{task['id']}" in twice.json["error"]["message"]
    assert agent.post(status, {"status": "confirmed"}).status_code == 422
    hidden = agent.post(f"/tickets/{shop.hidden.id}/field-tasks", {}).json
    assert api("agent2").post(f"/field-tasks/{hidden['id']}/status",
                              {"status": "done"}).status_code == 404
