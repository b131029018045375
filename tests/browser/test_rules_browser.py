"""Automation in a real browser: an admin builds a rule in the form and sees it fire.

Selectors use ids, names, classes and data attributes only, never visible text, so the
test holds whichever UI language is active.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from engine import rules
from engine.models import HandlingStatus, Order, Rule, RuleRun
from tests.conftest import new_order

pytestmark = pytest.mark.browser


def settled(page):
    """Wait until htmx has no request in flight and has settled what it swapped in."""
    page.wait_for_function("!document.querySelector('.htmx-request, .htmx-settling, "
                           ".htmx-swapping, .htmx-added')")


@pytest.fixture(autouse=True)
def fresh_index():
    rules.forget_index()
    yield
    rules.forget_index()


def test_admin_builds_a_rule_tries_it_and_sees_it_fire(world, page, log_in, live_server):
    # the demo choice lists (engine.demo.load_choice_lists) have these names
    assert HandlingStatus.get_or_none(HandlingStatus.name == "결제NG") is not None
    order = new_order(world)                        # 2 × 12,900 = 25,800
    base = live_server.url
    log_in("admin")

    # the nav link, then "new rule"
    page.click("header.topbar nav a[href='/rules/']")
    expect(page.locator("#rule-list")).to_be_visible()
    page.click("[data-action=new-rule]")
    page.wait_for_url(base + "/rules/new")

    page.fill("#f-name", "与信審査エラー → 결제NG")
    # the trigger sub-form follows the event: no value for "is set", a value for "becomes"
    page.select_option("#f-event", "is_set")
    expect(page.locator("#trigger-fields")).to_have_attribute("data-event", "is_set")
    settled(page)
    expect(page.locator("#f-value")).to_have_count(0)
    expect(page.locator("#f-field")).to_be_visible()
    page.select_option("#f-event", "becomes")
    expect(page.locator("#f-value")).to_be_visible()
    settled(page)
    page.select_option("#f-field", "payment_status")
    expect(page.locator("#trigger-fields")).to_have_attribute("data-event", "becomes")
    settled(page)
    page.fill("#f-value", "与信審査エラー")
    expect(page.locator("[data-trigger-words] .tw-value")).to_have_text("与信審査エラー")

    # the condition is checked as it is typed; a field chip inserts its name
    page.fill("#f-when", "totl > 10000")
    expect(page.locator("#condition-check")).to_have_attribute("data-ok", "false")
    page.fill("#f-when", "")
    page.click("button.fieldchip[data-insert=total]")
    page.locator("#f-when").press_sequentially(" > 10000")
    expect(page.locator("#condition-check")).to_have_attribute("data-ok", "true")
    expect(page.locator("#condition-check")).to_contain_text("total")

    # two actions; the second is moved up, then removed again
    page.select_option("#new-action-type", "set_handling_status")
    page.click("[data-action=add-action]")
    expect(page.locator("#action-list > .action-item")).to_have_count(1)
    page.locator("#action-list > .action-item select[name$='-status']").select_option("결제NG")
    page.select_option("#new-action-type", "hold")
    page.click("[data-action=add-action]")
    items = page.locator("#action-list > .action-item")
    expect(items).to_have_count(2)
    items.nth(1).locator("[data-move=up]").click()
    expect(items.nth(0)).to_have_attribute("data-action-type", "hold")
    items.nth(0).locator("[data-remove]").click()
    expect(items).to_have_count(1)
    expect(items.nth(0)).to_have_attribute("data-action-type", "set_handling_status")

    # a dry run on the order: it would set 결제NG, and nothing happens
    page.fill("#f-order_id", str(order.id))
    page.click("[data-action=dry-run]")
    result = page.locator("#dry-run-result")
    expect(result).to_have_attribute("data-matched", "true")
    expect(result.locator("[data-change=handling_status]")).to_contain_text("결제NG")
    assert Order.get_by_id(order.id).handling_status_id is None

    page.click("[data-action=save]")
    page.wait_for_url(re.compile(r".*/rules/\d+\?saved=1$"))
    expect(page.locator("[data-saved]")).to_be_visible()
    rule = Rule.get(Rule.name == "与信審査エラー → 결제NG")
    assert (rule.trigger_event, rule.trigger_field, rule.trigger_value, rule.condition) == (
        "becomes", "payment_status", "与信審査エラー", "total > 10000")
    assert rule.actions == [{"type": "set_handling_status", "status": "결제NG"}]

    # the rule is listed, in words
    page.goto(base + "/rules/")
    row = page.locator(f"#rule-{rule.id}")
    expect(row.locator(".tw-value")).to_have_text("与信審査エラー")
    expect(row.locator("input[role=switch]")).to_be_checked()

    # an agent-style change in the console: the payment status dialog of the order panel
    page.goto(base + f"/orders/?order={order.id}&q={order.id}")
    panel = page.locator("#order-panel")
    expect(panel.locator(".panel-head")).to_contain_text(f"#{order.id}")
    expect(panel.locator(".badges .chip")).to_have_count(0)
    page.click("#order-panel [data-op=set_payment_status]")
    dialog = page.locator("#dialog")
    expect(dialog.locator("form[data-dialog=set_payment_status]")).to_be_visible()
    dialog.locator("select[name=payment_status]").select_option("与信審査エラー")
    dialog.locator("footer button.primary").click()
    expect(dialog).to_be_hidden()
    # the rule fired: the order's handling status chip in the list changed at once, its line is
    # in the order's CS history, and the panel opened again shows the chip too (the panel
    # answering the operation shows it too: see the test below)
    expect(page.locator(f"#order-row-{order.id} .chip")).to_have_text("결제NG")
    expect(panel.locator(f"#history-{order.id}")).to_contain_text("[자동화] 与信審査エラー → 결제NG")
    assert Order.get_by_id(order.id).handling_status.name == "결제NG"
    page.click(f"#order-row-{order.id} td:nth-child(7)")
    expect(panel.locator(".badges .chip")).to_have_text("결제NG")

    # ... and the run log says so
    page.goto(base + "/rules/log")
    run = page.locator("tr.run").first
    expect(run).to_have_attribute("data-outcome", "done")
    expect(run.locator(f"a[data-record='{order.id}']")).to_be_visible()
    expect(run.locator(f"a[href='/rules/{rule.id}']")).to_be_visible()
    assert RuleRun.get(RuleRun.record_id == order.id).outcome == "done"

    # the enabled switch turns it off without a page load
    page.goto(base + "/rules/")
    page.evaluate("window.__marker = 'same page'")
    page.locator(f"#rule-{rule.id} input[role=switch]").uncheck()
    expect(page.locator(f"#rule-{rule.id}")).to_have_class(re.compile("is-inactive"))
    expect(page.locator("#toasts .toast")).to_have_count(1)
    assert page.evaluate("window.__marker") == "same page"
    assert not Rule.get_by_id(rule.id).enabled


def test_the_panel_shows_a_rules_change_without_reopening_the_order(world, page, log_in,
                                                                      live_server):
    rules.save_rule(world.admin, {"name": "与信 → 결제NG", "trigger": {
        "event": "becomes", "field": "payment_status", "value": "与信審査エラー"},
        "actions": [{"type": "set_handling_status", "status": "결제NG"}]})
    order = new_order(world)
    log_in("agent")
    page.goto(live_server.url + f"/orders/?order={order.id}&q={order.id}")
    expect(page.locator("#order-panel .panel-head")).to_contain_text(f"#{order.id}")
    page.click("#order-panel [data-op=set_payment_status]")
    dialog = page.locator("#dialog")
    dialog.locator("select[name=payment_status]").select_option("与信審査エラー")
    dialog.locator("footer button.primary").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(f"#order-row-{order.id} .chip")).to_have_text("결제NG")
    expect(page.locator(f"#history-{order.id}")).to_contain_text("[자동화]")
    expect(page.locator("#order-panel .badges .chip")).to_have_text("결제NG", timeout=2000)
