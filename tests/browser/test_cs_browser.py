"""The CS operations in a real browser: combining proposed orders from the panel, a partial
cancel through its dialog, placing a print priority, completing pickups on the returns page.

Selectors use ids, names, classes and data attributes only, never visible text.
"""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from engine import orders, pickups
from engine.models import CsHistory, Order, OrderLine, Pickup
from tests.conftest import NOW, new_order

pytestmark = pytest.mark.browser

NO_RELOAD = "window.__marker = 'still the same page'"


def open_panel(page, order_id):
    page.click(f"#order-row-{order_id} td:nth-child(7)")
    expect(page.locator("#order-panel .panel-head")).to_contain_text(f"#{order_id}")
    return page.locator("#order-panel")


def twin(world, **fields):
    raw = dict(recipient_name="이창희", buyer_name="이창희", recipient_mobile="010-4139-1550",
               zip_code="31514", address="충청남도 아산시 송죽길 167")
    raw.update(fields)
    return new_order(world, **raw)


def test_combining_two_proposed_orders_from_the_panel(world, page, log_in):
    first, second = twin(world), twin(world)
    other = new_order(world)
    log_in("agent")
    page.evaluate(NO_RELOAD)
    panel = open_panel(page, first.id)
    proposal = panel.locator(".combine-proposal")
    expect(proposal).to_be_visible()
    expect(proposal).to_contain_text(f"#{second.id}")
    expect(proposal).not_to_contain_text(f"#{other.id}")

    proposal.locator("button[data-combine-all]").click()

    expect(panel.locator(".combine-proposal")).to_have_count(0)
    expect(panel.locator(".panel-head .badge.combined")).to_be_visible()
    expect(panel.locator("dd.group-members")).to_contain_text(f"#{second.id}")
    expect(panel.locator(f"#history-{first.id} > li").first.locator(".detail")).to_have_text(
        f"[합포추가 : {second.id}]")
    # the list refreshed itself: both rows carry the combined badge
    expect(page.locator(f"#order-row-{first.id} .badge.combined")).to_be_visible()
    expect(page.locator(f"#order-row-{second.id} .badge.combined")).to_be_visible()
    expect(page.locator(f"#order-row-{other.id} .badge.combined")).to_have_count(0)
    expect(page.locator("#dialog")).to_be_hidden()
    assert page.evaluate("window.__marker") == "still the same page"
    assert {Order.get_by_id(o.id).combine_group for o in (first, second)} == {first.id}
    assert Order.get_by_id(other.id).combine_group is None

    # the group then takes one invoice for both
    page.click("#order-panel [data-op=invoice]")
    dialog = page.locator("#dialog form[data-dialog=invoice]")
    dialog.locator("input[name=tracking_no]").fill("5555-0001")
    dialog.locator("footer button.primary").click()
    expect(page.locator("#dialog")).to_be_hidden()
    expect(page.locator(f"#order-row-{second.id} .badge.state-송장")).to_be_visible()
    assert Order.get_by_id(second.id).tracking_no == "55550001"


def test_partial_cancel_through_its_dialog(world, page, log_in):
    order = new_order(world, lines=[{"option_id": world.tee_m.id, "quantity": 3},
                                    {"option_id": world.citrus_5.id, "quantity": 1}],
                      shipping_fee="3000")
    tee = OrderLine.select().where(OrderLine.order == order.id).order_by(OrderLine.id).first()
    log_in("agent")
    page.evaluate(NO_RELOAD)
    panel = open_panel(page, order.id)
    line = panel.locator(f"#line-{tee.id}")
    expect(line.locator("td.amount")).to_have_text("38,700")
    expect(panel.locator(".badge.cs-정상")).to_be_visible()

    line.locator("button[data-line-op=partial_cancel]").click()
    form = page.locator("#dialog form[data-dialog=partial_cancel]")
    expect(form).to_be_visible()
    expect(form.locator("select[name=line_id]")).to_have_value(str(tee.id))
    form.locator("input[name=quantity]").fill("5")          # more than ordered: refused
    form.locator("select[name=reason]").select_option("반품-불량")
    form.locator("footer button.primary").click()
    expect(form.locator("label[for=f-quantity] small.error")).to_be_visible()
    assert OrderLine.get_by_id(tee.id).cancelled_qty == 0

    form.locator("input[name=quantity]").fill("2")
    form.locator("textarea[name=cs_text]").fill("두 장 불량")
    form.locator("footer button.primary").click()

    expect(page.locator("#dialog")).to_be_hidden()
    line = page.locator(f"#order-panel #line-{tee.id}")
    expect(line.locator("td.cancelled-qty")).to_have_text("−2")
    expect(line.locator("td.amount")).to_have_text("12,900")
    expect(page.locator("#order-panel .panel-head .badge.cs-부분취소")).to_be_visible()
    expect(page.locator("#order-panel td.order-total")).to_have_text("31,800")  # 12,900+15,900+3,000
    expect(page.locator(f"#order-row-{order.id} .badge.cs-부분취소")).to_be_visible()
    history = page.locator(f"#history-{order.id} > li").first
    expect(history.locator(".detail")).to_have_text("[상품코드 : 30001, 수량 : 2, 취소사유 : 반품-불량]")
    expect(history.locator(".text")).to_have_text("두 장 불량")
    assert page.evaluate("window.__marker") == "still the same page"
    saved = Order.get_by_id(order.id)
    assert (saved.cs_state, saved.total) == ("부분취소", 12900 + 15900 + 3000)


def test_placing_a_print_priority_after_another_order(world, page, log_in):
    first, target = new_order(world), new_order(world, recipient_name="함정리")
    last = new_order(world, recipient_name="최성훈")
    for o in (first, last):
        orders.perform("set_priority", o.id, {"position": "top"}, orders.Context(world.agent2, NOW))
    log_in("agent")
    open_panel(page, target.id)
    page.click("#order-panel [data-op=set_priority]")
    form = page.locator("#dialog form[data-dialog=set_priority]")
    expect(form.locator("button[data-after]")).to_have_count(2)
    form.locator(f"button[data-after='{last.id}']").click()
    expect(form.locator("input[name=position][value=after]")).to_be_checked()
    expect(form.locator("input[name=after]")).to_have_value(str(last.id))
    form.locator("footer button.primary").click()
    expect(page.locator("#dialog")).to_be_hidden()
    expect(page.locator("#order-panel .panel-head .badge.priority")).to_be_visible()
    assert [Order.get_by_id(o.id).priority for o in (last, target, first)] == [3, 2, 1]


def test_completing_selected_pickups_on_the_returns_page(world, page, log_in):
    made = []
    for number in ("1", "2"):
        order = new_order(world)
        c = orders.Context(world.agent, NOW)
        orders.perform("invoice", order.id, {"courier": "CJ대한통운", "tracking_no": number}, c)
        orders.perform("ship", order.id, {}, c)
        orders.perform("pickup", order.id, {"courier": "CJ대한통운", "reason": "반품-불량",
                                            "expected_card": 1000}, c)
        made.append(pickups.for_order(order.id)[0])
    log_in("agent")
    page.goto(page.base_url + "/returns/")
    page.evaluate(NO_RELOAD)
    expect(page.locator("#results tr.pickup-row")).to_have_count(2)
    page.check(f"#pickup-{made[0].id} input[name=ids]")
    page.click("#complete-selected")
    expect(page.locator(f"#pickup-{made[0].id} .pill.pickup-완료")).to_be_visible()
    expect(page.locator(f"#pickup-{made[1].id} .pill.pickup-요청")).to_be_visible()
    expect(page.locator("#toasts .toast")).to_have_count(1)
    assert page.evaluate("window.__marker") == "still the same page"
    assert [Pickup.get_by_id(p.id).status for p in made] == ["완료", "요청"]
    assert CsHistory.select().where(CsHistory.operation == "pickup_complete").count() == 1
