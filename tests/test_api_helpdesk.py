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
