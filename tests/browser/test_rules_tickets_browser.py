"""A ticket rule in a real browser: switching the record to tickets swaps the events, the
actions offered and the condition's fields; "enters a stage" offers the stages."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from engine import rules, stages, teams
from engine.models import Rule

pytestmark = pytest.mark.browser


def settled(page):
    page.wait_for_function("!document.querySelector('.htmx-request, .htmx-settling, "
                           ".htmx-swapping, .htmx-added')")


def test_admin_builds_a_stage_entered_rule_on_tickets(world, page, log_in, live_server):
    rules.forget_index()
    teams.save_team(None, {"name": "고객 지원", "members": ["agent"]})
    stages.save_stage(None, {"name": "진행 중", "teams": ["고객 지원"]})
    log_in("admin")
    page.goto(live_server.url + "/rules/new")
    expect(page.locator("#new-action-type option[value=hold]")).to_have_count(1)
    page.select_option("#f-record", "ticket")
    expect(page.locator("#new-action-type option[value=move_ticket_stage]")).to_have_count(1)
    settled(page)
    expect(page.locator("#new-action-type option[value=hold]")).to_have_count(0)
    expect(page.locator("#cond-fields [data-insert=days_open]")).to_have_count(1)
    page.select_option("#f-event", "stage_entered")
    expect(page.locator("#trigger-fields")).to_have_attribute("data-event", "stage_entered")
    settled(page)
    page.fill("#f-name", "진행 중 → 자동 배정")
    page.fill("#f-value", "진행 중")
    page.select_option("#new-action-type", "assign_ticket")
    page.click("[data-action=add-action]")
    user = page.locator("#action-list select[name$='-user']")
    expect(user).to_be_visible()
    settled(page)
    user.select_option("auto")
    page.click("[data-action=save]")
    page.wait_for_url(live_server.url + "/rules/*")
    rule = Rule.get(Rule.name == "진행 중 → 자동 배정")
    assert (rule.trigger_record, rule.trigger_event, rule.trigger_value) == (
        "ticket", "stage_entered", "진행 중")
    assert rule.actions == [{"type": "assign_ticket", "user": "auto"}]
