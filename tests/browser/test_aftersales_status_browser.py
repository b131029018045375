"""A field-service task's status in a real browser: an agent marks it done from the ticket's
smart link (the list re-renders in the dialog, the ticket's history says so), and the customer
then sees it 완료 in the portal.

Selectors use ids, names, classes and data attributes only, never visible text (but the
portal's status word is what the customer reads, so it is checked as text).
"""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from engine import aftersales, teams, tickets
from engine.models import FieldTask
from engine.order_core import Context
from tests.conftest import NOW, PASSWORD, make_user, new_order

pytestmark = pytest.mark.browser


def test_agent_marks_a_field_task_done_and_the_customer_sees_it(world, page, log_in):
    make_user("kim@example.com", "portal", "김고객")
    support = teams.save_team(world.admin, {"name": "고객 지원", "visibility": "public",
                                            "after_sales": ["field_service", "repair"]})
    agent = Context(world.agent, NOW)
    ticket = tickets.create_ticket(agent, {
        "team_id": str(support.id), "subject": "에어컨 설치", "customer_name": "김고객",
        "customer_email": "kim@example.com", "order_id": new_order(world).id})
    task = aftersales.create_field_task(agent, ticket.id, {"title": "방문 설치",
                                                           "planned_on": "2026-04-03"})
    base = page.base_url

    log_in("agent")
    page.goto(f"{base}/helpdesk/tickets/{ticket.id}")
    page.locator("#aftersales a[data-smart-link='field_service']").click()
    row = page.locator(f"#dialog tr[data-task='{task.id}']")
    expect(row).to_have_attribute("data-status", "planned")
    expect(row.locator("button[data-step]")).to_have_count(1)
    page.screenshot(path="/tmp/aftersales_tasks_planned.png")
    row.locator("button[data-step='done']").click()

    expect(row).to_have_attribute("data-status", "done")          # the list re-rendered
    expect(row.locator("button[data-step='planned']")).to_be_visible()
    expect(page.locator("#dialog")).to_be_visible()
    assert FieldTask.get_by_id(task.id).status == "done"
    page.screenshot(path="/tmp/aftersales_tasks_done.png")

    page.context.clear_cookies()
    page.goto(base + "/login")
    page.fill("input[name=username]", "kim@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("form.login-card button.primary")
    page.wait_for_url(base + "/portal/")
    page.goto(f"{base}/portal/tickets/{ticket.id}")
    visit = page.locator(f"[data-visits] li[data-visit='{task.id}']")
    expect(visit.locator(".pill")).to_have_text("완료")
    page.screenshot(path="/tmp/portal_visit_done.png", full_page=True)
