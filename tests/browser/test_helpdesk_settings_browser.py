"""The helpdesk settings in a real chromium: a manager sets up a team with auto-assignment and
two agents, books leave for one of them, and drags a stage to a new place in the pipeline."""
from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo

import pytest

from engine import stages
from engine.models import Leave, Team, User

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("RULEDESK_SHOTS")  # a folder: save screenshots of the pages there


def shot(page, name):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"hd_settings_{name}.png"), full_page=True)


@pytest.fixture
def pipeline(world):
    for name in ("신규", "진행 중", "고객 회신 대기", "해결"):
        stages.save_stage(world.admin, {"name": name, "folded": name == "해결"})
    return world


def test_manager_creates_a_team_with_auto_assignment_and_two_agents(page, log_in, world):
    log_in("admin")
    page.goto(page.base_url + "/helpdesk/settings/teams")
    page.click("[data-action=new-team]")
    page.wait_for_url("**/helpdesk/settings/teams/new")
    page.fill("#f-name", "고객 지원")
    page.fill("#f-description", "배송 및 상품 문의를 받습니다.")
    page.check("#vis-public")
    # method and members appear only with auto-assignment on
    assert not page.is_visible("#method-open_tickets")
    page.check("#f-auto_assign")
    assert page.is_visible("#method-open_tickets")
    page.check("#method-open_tickets")
    page.check(f"#mem-{world.agent.id}")
    page.check(f"#mem-{world.agent2.id}")
    page.check("#as-refund")
    shot(page, "team_form")
    page.click("[data-action=save-team]")
    page.wait_for_url("**/helpdesk/settings/teams?saved=*")
    row = page.locator('tr[data-team="고객 지원"]')
    assert row.locator("[data-auto=on]").count() == 1
    assert row.locator("[data-members]").get_attribute("data-members") == "2"
    shot(page, "teams")
    team = Team.get(Team.name == "고객 지원")
    assert (team.visibility, team.auto_assign, team.assign_method) == ("public", True,
                                                                       "open_tickets")
    assert sorted(m.user.username for m in team.members) == ["agent", "agent2"]

    # leaving public: the seed's warning appears before anything is saved
    row.get_by_role("link").first.click()
    page.wait_for_url(f"**/helpdesk/settings/teams/{team.id}")
    assert not page.is_visible("[data-warning=visibility]")
    page.check("#vis-company")
    assert page.is_visible("[data-warning=visibility]")
    page.check("#vis-public")
    assert not page.is_visible("[data-warning=visibility]")

    # a mistake is shown beside its field and nothing is saved
    page.fill("#f-name", "")
    page.click("[data-action=save-team]")
    page.wait_for_selector("[data-error=name]")
    assert Team.get_by_id(team.id).name == "고객 지원"


def test_admin_books_leave_for_an_agent_and_it_shows_as_a_bar(page, log_in, world):
    log_in("admin")
    month = dt.datetime.now(ZoneInfo("Asia/Seoul")).date().replace(day=1)
    page.goto(page.base_url + "/helpdesk/settings/leave")
    page.click('tr[data-user="agent2"] button.hd-add')
    page.wait_for_selector("dialog[open] form[data-dialog=leave]")
    assert page.input_value("#f-user") == str(world.agent2.id)
    start = month.replace(day=10)
    page.fill("#f-start", start.isoformat())
    page.fill("#f-end", (start + dt.timedelta(days=2)).isoformat())
    page.fill("#f-note", "연차")
    shot(page, "leave_dialog")
    page.click("dialog[open] button.primary")
    bar = page.locator('tr[data-user="agent2"] td.bar-cell')
    bar.wait_for()
    assert bar.get_attribute("colspan") == "3"
    assert "연차" in bar.inner_text()
    assert page.locator("#toasts .toast").count() >= 1
    page.wait_for_selector("#dialog", state="hidden")
    shot(page, "leave")
    leave = Leave.get()
    assert (leave.user_id, leave.start, leave.end) == (world.agent2.id, start,
                                                        start + dt.timedelta(days=2))

    # delete it again from the month's list
    page.on("dialog", lambda d: d.accept())
    page.click(f'tr[data-leave-row="{leave.id}"] [data-action=delete-leave]')
    page.locator('tr[data-user="agent2"] td.bar-cell').wait_for(state="detached")
    assert not Leave.select().exists()


def test_agent_books_only_their_own_leave(page, log_in, world):
    log_in("agent")
    page.goto(page.base_url + "/helpdesk/settings/leave")
    assert page.locator('tr[data-user="agent2"] button.hd-add').count() == 0
    page.click("[data-action=new-leave]")
    page.wait_for_selector("dialog[open] form[data-dialog=leave]")
    assert page.locator("dialog[open] select[name=user]").count() == 0
    assert page.input_value("#f-user") == User.get_by_id(world.agent.id).display_name
    page.click("dialog[open] button.primary")
    page.locator('tr[data-user="agent"] td.bar-cell').wait_for()
    page.wait_for_selector("#dialog", state="hidden")
    assert Leave.get().user_id == world.agent.id


def test_drag_a_stage_to_reorder_and_the_order_persists(page, log_in, pipeline):
    log_in("admin")
    page.goto(page.base_url + "/helpdesk/settings/stages")
    names = lambda: page.locator("#stages tr[data-stage]").evaluate_all(  # noqa: E731
        "rows => rows.map(r => r.dataset.stage)")
    assert names() == ["신규", "진행 중", "고객 회신 대기", "해결"]
    handle = page.locator('tr[data-stage="해결"] [data-reorder-handle]')
    target = page.locator('tr[data-stage="진행 중"]')
    box, goal = handle.bounding_box(), target.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    for step in range(1, 11):   # move in steps, as a hand does
        y = box["y"] + (goal["y"] + goal["height"] * 0.25 - box["y"]) * step / 10
        page.mouse.move(box["x"] + box["width"] / 2, y)
    page.mouse.up()
    page.wait_for_function(
        "() => document.querySelector('#stages tr[data-stage] .pos') &&"
        " document.querySelector('#stages tr[data-stage=\"해결\"] .pos').textContent.trim() === '2'")
    assert names() == ["신규", "해결", "진행 중", "고객 회신 대기"]
    assert [s.name for s in stages.ordered()] == ["신규", "해결", "진행 중", "고객 회신 대기"]
    shot(page, "stages")
    page.reload()
    assert names() == ["신규", "해결", "진행 중", "고객 회신 대기"]

    # the keyboard does the same: focus the handle, arrow down
    page.focus('tr[data-stage="신규"] [data-reorder-handle]')
    page.keyboard.press("ArrowDown")
    page.wait_for_function(
        "() => document.querySelector('#stages tr[data-stage=\"신규\"] .pos').textContent.trim()"
        " === '2'")
    assert [s.name for s in stages.ordered()] == ["해결", "신규", "진행 중", "고객 회신 대기"]


def test_new_stage_from_the_dialog_lands_at_the_end(page, log_in, pipeline):
    log_in("admin")
    page.goto(page.base_url + "/helpdesk/settings/stages")
    page.click("[data-action=new-stage]")
    page.wait_for_selector("dialog[open] form[data-dialog=stage]")
    page.fill("#f-name", "취소")
    page.check("#f-folded")
    shot(page, "stage_dialog")
    page.click("dialog[open] button.primary")
    page.locator('#stages tr[data-stage="취소"]').wait_for()
    page.wait_for_selector("#dialog", state="hidden")
    assert [s.name for s in stages.ordered()][-1] == "취소"
