"""Helpdesk settings screens (seed 004, 헬프데스크 ‣ 환경 설정): the team form, the stage dialog
with drag-to-reorder, the leave calendar. Bad input shows next to its field and changes
nothing; the engine decides, the pages only hide what it would refuse."""
from __future__ import annotations

import re

import pytest

from engine import leaves, stages, teams, tickets
from engine.models import (
    Leave, MessageTemplate, Stage, StageTeam, Team, TeamFollower, TeamMember, TicketFollower,
)
from engine.order_core import Context
from tests.conftest import NOW, make_user

HX = {"HX-Request": "true"}
URL = "/helpdesk/settings"


@pytest.fixture
def desk(world):
    world.portal = make_user("kim@example.com", "portal", "김고객")
    world.sms = MessageTemplate.create(name="접수 안내", kind="sms", context="ticket",
                                       body="#{고객명}님, 문의 #{티켓번호} 처리 중입니다.")
    world.mail = MessageTemplate.create(name="해결 메일", kind="email", context="ticket",
                                        subject="해결되었습니다", body="#{고객명}님, 해결되었습니다.")
    world.job_sms = MessageTemplate.create(name="작업 결과", kind="sms", context="job",
                                           body="작업 결과 알림")
    world.support = teams.save_team(world.admin, {
        "name": "고객 지원", "visibility": "public", "auto_assign": True,
        "assign_method": "tickets", "members": ["agent", "agent2"],
        "description": "배송 및 상품 문의"})
    world.finance = teams.save_team(world.admin, {"name": "금융 서비스", "visibility": "private",
                                                  "members": ["agent"]})
    names = ["고객 지원", "금융 서비스"]
    world.new = stages.save_stage(world.admin, {"name": "신규", "teams": names})
    world.doing = stages.save_stage(world.admin, {"name": "진행 중", "teams": names,
                                                   "sms_template": "접수 안내"})
    world.done = stages.save_stage(world.admin, {"name": "해결", "folded": True,
                                                  "teams": names})
    return world


def open_ticket(w, team, **raw):
    data = {"team_id": str(team.id), "subject": "배송 문의", "customer_name": "김고객",
            "customer_phone": "010-1234-5678", "customer_email": "kim@example.com"}
    data.update(raw)
    return tickets.create_ticket(Context(w.agent, NOW), data)


def text(response) -> str:
    return response.get_data(as_text=True)


def team_form(**changes) -> dict:
    """The team form as the browser posts it (lists as repeated fields)."""
    form = {"name": "배송 문의팀", "description": "배송 관련 문의를 받습니다.",
            "visibility": "company", "auto_assign": "1", "assign_method": "open_tickets",
            "members": ["agent", "agent2"], "followers": ["admin"],
            "after_sales": ["refund", "return"], "active": "1", "order": ""}
    form.update(changes)
    return form


def order_of_stages() -> list[str]:
    return [s.name for s in stages.ordered()]


# --- teams ------------------------------------------------------------------------------------

def test_team_list_shows_visibility_assignment_members_and_open_tickets(desk, login):
    open_ticket(desk, desk.support)
    open_ticket(desk, desk.support)
    page = text(login("viewer").get(f"{URL}/teams"))
    row = re.search(r'<tr[^>]*data-team="고객 지원".*?</tr>', page, re.S).group(0)
    assert 'data-visibility="public"' in row and 'data-auto="on"' in row
    assert 'data-members="2"' in row and 'data-open="2"' in row
    # a viewer reads; editing is not offered
    assert 'data-action="new-team"' not in page and 'data-action="delete-team"' not in page


def test_create_team_with_auto_assignment_members_followers_and_after_sales(desk, login):
    client = login("admin")
    assert 'name="visibility"' in text(client.get(f"{URL}/teams/new"))
    response = client.post(f"{URL}/teams/new", data=team_form(), headers=HX)
    assert response.status_code == 200
    assert response.headers["HX-Redirect"].startswith(f"{URL}/teams?saved=")
    team = Team.get(Team.name == "배송 문의팀")
    assert teams.team_as_data(team) == {
        "name": "배송 문의팀", "description": "배송 관련 문의를 받습니다.",
        "visibility": "company", "auto_assign": True, "assign_method": "open_tickets",
        "order": 0, "active": True, "after_sales": ["refund", "return"],
        "members": ["agent", "agent2"], "followers": ["admin"]}
    listing = text(client.get(response.headers["HX-Redirect"]))
    assert "data-saved" in listing and 'data-team="배송 문의팀"' in listing


def test_edit_form_shows_the_team_as_saved_and_saves_changes(desk, login):
    client = login("admin")
    page = text(client.get(f"{URL}/teams/{desk.support.id}"))
    assert re.search(r'id="vis-public"[^>]*checked', page)
    assert re.search(r'value="agent2"[^>]*checked', page)
    assert "data-was-public" in page          # the seed warning is armed for a switch
    response = client.post(f"{URL}/teams/{desk.support.id}", headers=HX, data=team_form(
        name="고객 지원", visibility="public", auto_assign="", members=["agent"]))
    assert "HX-Redirect" in response.headers
    team = Team.get_by_id(desk.support.id)
    assert not team.auto_assign and team.version == desk.support.version + 1
    assert [m.user.username for m in team.members] == ["agent"]


def test_team_form_errors_show_beside_their_fields_and_nothing_is_saved(desk, login):
    client = login("admin")
    before = (Team.select().count(), TeamMember.select().count())
    response = client.post(f"{URL}/teams/new", headers=HX, data=team_form(
        name="", members=["agent", "nobody"], after_sales=["refund", "teleport"]))
    assert response.status_code == 200 and "HX-Redirect" not in response.headers
    page = text(response)
    for field in ("name", "members", "after_sales"):
        assert f'data-error="{field}"' in page, field
    assert "nobody" in page and "data-errors" in page
    # what was ticked stays ticked
    assert re.search(r'id="mem-%d"[^>]*checked' % desk.agent.id, page)
    assert not re.search(r'id="mem-%d"[^>]*checked' % desk.agent2.id, page)
    assert (Team.select().count(), TeamMember.select().count()) == before
    # a name taken by another team, on edit: the team keeps its data
    response = client.post(f"{URL}/teams/{desk.finance.id}", headers=HX,
                           data=team_form(name="고객 지원", visibility="company"))
    assert 'data-error="name"' in text(response)
    finance = Team.get_by_id(desk.finance.id)
    assert (finance.name, finance.visibility, finance.version) == ("금융 서비스", "private", 1)


def test_switching_a_public_team_to_company_drops_its_portal_followers(desk, login):
    """Seed 004 warning: portal users stop following the team and each of its tickets."""
    teams.save_team(desk.admin, {**teams.team_as_data(desk.support),
                                 "followers": ["admin", "kim@example.com"]}, desk.support.id)
    ticket = open_ticket(desk, desk.support)               # kim's email → she follows it
    assert TicketFollower.select().where(TicketFollower.user == desk.portal.id).count() == 1
    client = login("admin")
    page = text(client.get(f"{URL}/teams/{desk.support.id}"))
    assert re.search(r'value="kim@example.com"[^>]*checked', page)
    # the form posts what the page holds: the portal follower is still ticked
    response = client.post(f"{URL}/teams/{desk.support.id}", headers=HX, data=team_form(
        name="고객 지원", visibility="company", followers=["admin", "kim@example.com"]))
    assert "HX-Redirect" in response.headers, text(response)
    assert Team.get_by_id(desk.support.id).visibility == "company"
    assert [f.user.username for f in TeamFollower.select().where(
        TeamFollower.team == desk.support.id)] == ["admin"]
    assert not TicketFollower.select().where(TicketFollower.user == desk.portal.id).exists()
    assert not tickets.can_see(desk.portal, ticket)


def test_portal_follower_of_a_team_that_was_never_public_is_refused(desk, login):
    response = login("admin").post(f"{URL}/teams/{desk.finance.id}", headers=HX, data=team_form(
        name="금융 서비스", visibility="private", followers=["kim@example.com"]))
    assert 'data-error="followers"' in text(response)
    assert not TeamFollower.select().where(TeamFollower.team == desk.finance.id).exists()


def test_team_with_tickets_cannot_be_deleted_and_one_without_can(desk, login):
    open_ticket(desk, desk.support)
    client = login("admin")
    response = client.post(f"{URL}/teams/{desk.support.id}/delete", headers=HX)
    assert response.status_code == 200
    assert 'role="alert"' in text(response) and "고객 지원" in text(response)
    assert Team.get_or_none(Team.id == desk.support.id) is not None
    response = client.post(f"{URL}/teams/{desk.finance.id}/delete", headers=HX)
    assert "ruledesk:toast" in response.headers["HX-Trigger"]
    assert Team.get_or_none(Team.id == desk.finance.id) is None


def test_agents_cannot_change_teams(desk, login):
    client = login("agent")
    assert client.get(f"{URL}/teams").status_code == 200
    assert client.get(f"{URL}/teams/new").status_code == 403
    assert client.post(f"{URL}/teams/new", data=team_form(), headers=HX).status_code == 403
    assert client.post(f"{URL}/teams/{desk.finance.id}/delete", headers=HX).status_code == 403
    assert Team.select().count() == 2


# --- stages -----------------------------------------------------------------------------------

def test_stage_list_is_in_pipeline_order_with_drag_handles(desk, login):
    page = text(login("admin").get(f"{URL}/stages"))
    assert re.findall(r'data-stage="([^"]+)"', page) == ["신규", "진행 중", "해결"]
    assert 'data-reorder-url="/helpdesk/settings/stages/reorder"' in page
    assert page.count("data-reorder-handle") == 3
    viewer = text(login("viewer").get(f"{URL}/stages"))
    assert "data-reorder-handle" not in viewer and "data-reorder-url" not in viewer


def test_create_stage_with_teams_templates_and_folded(desk, login):
    client = login("admin")
    dialog = text(client.get(f"{URL}/stages/new", headers=HX))
    assert 'value="접수 안내"' in dialog and 'value="해결 메일"' in dialog
    assert 'value="작업 결과"' not in dialog       # a job-result template is not for customers
    response = client.post(f"{URL}/stages/new", headers=HX, data={
        "name": "취소", "description": "고객이 취소한 문의", "teams": ["고객 지원"],
        "email_template": "해결 메일", "sms_template": "접수 안내", "folded": "1"})
    assert "ruledesk:closeDialog" in response.headers["HX-Trigger"]
    assert "ruledesk:stagesChanged" in response.headers["HX-Trigger"]
    stage = Stage.get(Stage.name == "취소")
    assert stages.stage_as_data(stage) == {
        "name": "취소", "description": "고객이 취소한 문의", "order": 40, "folded": True,
        "email_template": "해결 메일", "sms_template": "접수 안내", "teams": ["고객 지원"]}
    assert order_of_stages()[-1] == "취소"


def test_edit_stage_unfolds_and_drops_a_team(desk, login):
    client = login("admin")
    dialog = text(client.get(f"{URL}/stages/{desk.done.id}", headers=HX))
    assert re.search(r'id="f-folded"[^>]*checked', dialog)
    client.post(f"{URL}/stages/{desk.done.id}", headers=HX, data={
        "name": "해결", "teams": ["고객 지원"], "email_template": "", "sms_template": ""})
    stage = Stage.get_by_id(desk.done.id)
    assert not stage.folded
    assert [link.team.name for link in StageTeam.select().where(StageTeam.stage == stage.id)] \
        == ["고객 지원"]


def test_stage_errors_show_in_the_dialog_and_nothing_changes(desk, login):
    client = login("admin")
    response = client.post(f"{URL}/stages/{desk.doing.id}", headers=HX, data={
        "name": "", "teams": ["없는 팀"], "sms_template": "접수 안내"})
    page = text(response)
    assert "HX-Trigger" not in response.headers
    for field in ("name", "teams"):
        assert f'data-error="{field}"' in page, field
    response = client.post(f"{URL}/stages/{desk.doing.id}", headers=HX, data={
        "name": "진행 중", "sms_template": "작업 결과"})
    page = text(response)
    assert 'data-error="sms_template"' in page
    assert re.search(r'value="작업 결과" selected', page)   # the bad choice stays visible
    stage = Stage.get_by_id(desk.doing.id)
    assert (stage.name, stage.sms_template_id, stage.version) == ("진행 중", desk.sms.id, 1)
    response = client.post(f"{URL}/stages/new", headers=HX, data={"name": "신규"})
    assert 'data-error="name"' in text(response)
    assert Stage.select().count() == 3


def test_reorder_endpoint_saves_the_dragged_order(desk, login):
    client = login("admin")
    ids = [desk.done.id, desk.new.id, desk.doing.id]
    response = client.post(f"{URL}/stages/reorder", data={"ids": ids}, headers=HX)
    assert response.status_code == 200
    assert "ruledesk:stagesChanged" in response.headers["HX-Trigger"]
    assert re.findall(r'data-stage="([^"]+)"', text(response)) == ["해결", "신규", "진행 중"]
    assert order_of_stages() == ["해결", "신규", "진행 중"]


def test_reorder_with_unknown_or_repeated_ids_changes_nothing(desk, login):
    client = login("admin")
    for bad in ([desk.new.id, 99999], [desk.new.id, desk.new.id], ["x"]):
        response = client.post(f"{URL}/stages/reorder", data={"ids": bad}, headers=HX)
        assert response.status_code == 200 and 'role="alert"' in text(response), bad
    assert order_of_stages() == ["신규", "진행 중", "해결"]


def test_only_settings_users_reorder_stages(desk, login):
    ids = [desk.done.id, desk.new.id, desk.doing.id]
    for role in ("viewer", "agent"):
        assert login(role).post(f"{URL}/stages/reorder", data={"ids": ids},
                                headers=HX).status_code == 403
    assert order_of_stages() == ["신규", "진행 중", "해결"]


def test_stage_with_tickets_cannot_be_deleted(desk, login):
    open_ticket(desk, desk.support)                       # lands in 신규
    client = login("admin")
    response = client.post(f"{URL}/stages/{desk.new.id}/delete", headers=HX)
    assert 'role="alert"' in text(response) and Stage.get_or_none(Stage.id == desk.new.id)
    response = client.post(f"{URL}/stages/{desk.doing.id}/delete", headers=HX)
    assert "ruledesk:toast" in response.headers["HX-Trigger"]
    assert order_of_stages() == ["신규", "해결"]


# --- leave ------------------------------------------------------------------------------------

def leave_form(user, start="2026-04-06", end="2026-04-08", note="연차") -> dict:
    return {"user": str(user.id), "start": start, "end": end, "note": note}


def test_agent_books_own_leave_and_sees_it_as_a_bar(desk, login):
    client = login("agent")
    dialog = text(client.get(f"{URL}/leave/new", headers=HX))
    assert 'type="hidden" name="user" value="%d"' % desk.agent.id in dialog
    assert "<select" not in dialog.split('name="start"')[0]   # no choice of whose leave
    response = client.post(f"{URL}/leave/new", data=leave_form(desk.agent), headers=HX)
    assert "ruledesk:leaveChanged" in response.headers["HX-Trigger"]
    leave = Leave.get()
    assert (leave.user_id, str(leave.start), str(leave.end)) == (desk.agent.id, "2026-04-06",
                                                                  "2026-04-08")
    page = text(client.get(f"{URL}/leave?month=2026-04"))
    row = re.search(r'<tr data-user="agent".*?</tr>', page, re.S).group(0)
    assert re.search(r'colspan="3" class="bar-cell" data-leave="%d"' % leave.id, row)
    assert row.count("<td") == 30 - 3 + 1                     # April: 27 days + one bar


def test_agent_cannot_book_or_delete_leave_of_someone_else(desk, login):
    client = login("agent")
    response = client.post(f"{URL}/leave/new", data=leave_form(desk.agent2), headers=HX)
    assert 'role="alert"' in text(response) and "HX-Trigger" not in response.headers
    assert not Leave.select().exists()
    theirs = leaves.add_leave(desk.agent2, leave_form(desk.agent2))
    page = text(client.get(f"{URL}/leave?month=2026-04"))
    row = re.search(r'<tr data-leave-row="%d".*?</tr>' % theirs.id, page, re.S).group(0)
    assert 'data-action="delete-leave"' not in row
    # no "+" to book for agent2 in the grid, one for the agent's own row
    assert re.search(r'<tr data-user="agent2".*?</tr>', page, re.S).group(0).count("hd-add") == 0
    assert re.search(r'<tr data-user="agent".*?</tr>', page, re.S).group(0).count("hd-add") == 1
    response = client.post(f"{URL}/leave/{theirs.id}/delete", data={"month": "2026-04"},
                           headers=HX)
    assert 'role="alert"' in text(response)
    assert Leave.get_or_none(Leave.id == theirs.id)


def test_admin_books_and_deletes_anybodys_leave(desk, login):
    client = login("admin")
    dialog = text(client.get(f"{URL}/leave/new?user={desk.agent2.id}", headers=HX))
    assert re.search(r'<option value="%d" selected' % desk.agent2.id, dialog)
    client.post(f"{URL}/leave/new", data=leave_form(desk.agent2), headers=HX)
    leave = Leave.get()
    assert leave.user_id == desk.agent2.id
    response = client.post(f"{URL}/leave/{leave.id}/delete", data={"month": "2026-04"},
                           headers=HX)
    assert "ruledesk:toast" in response.headers["HX-Trigger"]
    assert not Leave.select().exists()


def test_bad_leave_dates_show_beside_the_field(desk, login):
    client = login("agent")
    response = client.post(f"{URL}/leave/new", headers=HX,
                           data=leave_form(desk.agent, start="2026-04-08", end="2026-04-06"))
    assert 'data-error="end"' in text(response)
    response = client.post(f"{URL}/leave/new", headers=HX,
                           data=leave_form(desk.agent, start="4월 6일", end=""))
    page = text(response)
    assert 'data-error="start"' in page and 'data-error="end"' in page
    assert not Leave.select().exists()


def test_viewers_read_the_calendar_but_book_nothing(desk, login):
    client = login("viewer")
    page = text(client.get(f"{URL}/leave"))
    assert 'data-action="new-leave"' not in page and "hd-add" not in page
    assert client.get(f"{URL}/leave/new", headers=HX).status_code == 403
    assert client.post(f"{URL}/leave/new", data=leave_form(desk.viewer),
                       headers=HX).status_code == 403


@pytest.mark.parametrize("month", ["2026-13", "x", "1999-01", "2026-02-30", ""])
def test_a_bad_month_shows_the_current_one(desk, login, month):
    response = login("agent").get(f"{URL}/leave?month={month}")
    assert response.status_code == 200
    assert 'data-month="' in text(response)


def test_leave_calendar_month_has_its_days_and_marks_holidays(desk, login):
    page = text(login("agent").get(f"{URL}/leave?month=2026-05"))
    days = re.findall(r'data-day="(2026-05-\d\d)"', page)
    assert len(days) == 31
    # 5월 5일 어린이날 is a public holiday
    assert re.search(r'class="day [^"]*holiday[^"]*"\s+title="[^"]+" data-day="2026-05-05"', page)
