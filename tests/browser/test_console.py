"""The order console in a real browser: login, search, panel, htmx dialogs, bulk, roles.

Selectors use ids, names, classes and data attributes only, never visible text, so the
tests hold whichever UI language is active.
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from engine import orders
from engine.models import CsHistory, Order
from tests.conftest import NOW, new_order

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]

NO_RELOAD = "window.__marker = 'still the same page'"


def row_cell(order_id):
    """A plain cell of the order's row (the recipient): clicking it opens the panel."""
    return f"#order-row-{order_id} td:nth-child(7)"


def open_panel(page, order_id):
    page.click(row_cell(order_id))
    expect(page.locator("#order-panel .panel-head")).to_contain_text(f"#{order_id}")
    return page.locator("#order-panel")


def history_count(order_id):
    return CsHistory.select().where(CsHistory.order == order_id).count()


def test_agent_searches_opens_order_and_enters_invoice_without_reload(world, page, log_in):
    target = new_order(world, recipient_name="장유리", recipient_mobile="010-1111-2222")
    other = new_order(world)
    log_in("agent")
    expect(page.locator("#results tr[id^=order-row-]")).to_have_count(2)
    page.evaluate(NO_RELOAD)

    page.fill("#search-form [name=q]", "장유리")
    page.click("#search-form button.primary")
    expect(page.locator("#results tr[id^=order-row-]")).to_have_count(1)
    expect(page.locator(f"#order-row-{other.id}")).to_have_count(0)

    panel = open_panel(page, target.id)
    expect(panel.locator(".badge.state-접수")).to_be_visible()
    page.click("#order-panel [data-op=invoice]")
    dialog = page.locator("#dialog")
    expect(dialog.locator("form[data-dialog=invoice]")).to_be_visible()
    dialog.locator("select[name=courier]").select_option("한진택배")
    dialog.locator("input[name=tracking_no]").fill("5555-0001-2222")
    dialog.locator("textarea[name=cs_text]").fill("고객 요청으로 송장 입력")
    dialog.locator("footer button.primary").click()

    expect(dialog).to_be_hidden()
    expect(panel.locator(".badge.state-송장")).to_be_visible()
    expect(panel.locator(".badge.state-접수")).to_have_count(0)
    history = page.locator(f"#history-{target.id} > li")
    expect(history).to_have_count(2)
    expect(history.first.locator(".detail")).to_have_text("[택배사 : 한진택배, 송장번호 : 555500012222]")
    expect(history.first.locator(".text")).to_have_text("고객 요청으로 송장 입력")
    expect(panel.locator(".facts")).to_contain_text("555500012222")
    # the list refreshed itself too (ruledesk:ordersChanged)
    expect(page.locator(f"#order-row-{target.id} .badge.state-송장")).to_be_visible()
    expect(page.locator("#toasts .toast")).to_have_count(1)  # "done" (ruledesk:toast)
    assert page.evaluate("window.__marker") == "still the same page"  # no page load happened

    fresh = Order.get_by_id(target.id)
    assert (fresh.state, fresh.courier, fresh.tracking_no) == ("송장", "한진택배", "555500012222")
    assert fresh.version == target.version + 1
    assert Order.get_by_id(other.id).state == "접수"


def test_tracking_number_with_letters_shows_error_and_dialog_stays_open(world, page, log_in):
    target = new_order(world)
    log_in("agent")
    page.evaluate(NO_RELOAD)
    panel = open_panel(page, target.id)
    page.click("#order-panel [data-op=invoice]")
    dialog = page.locator("#dialog")
    dialog.locator("input[name=tracking_no]").fill("21330O12")
    dialog.locator("footer button.primary").click()

    error = dialog.locator("label[for=f-tracking_no] small.error")
    expect(error).to_be_visible()
    expect(dialog.locator("label[for=f-tracking_no]")).to_have_class(
        "field has-error kind-digits")
    expect(dialog).to_be_visible()
    expect(dialog.locator("input[name=tracking_no]")).to_have_value("21330O12")
    expect(panel.locator(".badge.state-접수")).to_be_visible()
    assert page.evaluate("window.__marker") == "still the same page"

    fresh = Order.get_by_id(target.id)
    assert (fresh.state, fresh.tracking_no, fresh.version) == ("접수", None, target.version)
    assert history_count(target.id) == 1  # only "create"

    # fixing the number in the same dialog then works
    dialog.locator("input[name=tracking_no]").fill("21330012")
    dialog.locator("footer button.primary").click()
    expect(dialog).to_be_hidden()
    expect(panel.locator(".badge.state-송장")).to_be_visible()


def test_agent_creates_order_by_hand_with_product_search(world, page, log_in):
    existing = new_order(world)
    log_in("agent")
    page.evaluate(NO_RELOAD)
    page.click("#search-form button[hx-get$='/orders/new']")
    form = page.locator("#dialog form[data-dialog=new-order]")
    expect(form).to_be_visible()
    expect(form.locator("button[data-pick]")).to_have_count(3)  # every option at first

    form.locator("select[name=channel]").select_option(str(world.coupang.id))
    form.locator("#product-search input[name=q]").fill("감귤")
    expect(form.locator("button[data-pick]")).to_have_count(1)
    form.locator(f"button[data-pick='{world.citrus_5.id}']").click()
    line = form.locator("#new-lines tr.line-row")
    expect(line).to_have_count(1)
    expect(line).to_contain_text("30003")
    expect(line.locator("input.price")).to_have_value("15900")
    line.locator("input.qty").fill("3")

    form.locator("input[name=buyer_name]").fill("김민준")
    form.locator("input[name=buyer_mobile]").fill("01012345678")
    form.locator("fieldset legend button.link").click()  # recipient = buyer
    expect(form.locator("input[name=recipient_name]")).to_have_value("김민준")
    form.locator("input[name=zip_code]").fill("06236")
    form.locator("input[name=address]").fill("서울특별시 강남구 테헤란로 152 12층")
    form.locator("footer button.primary").click()

    expect(page.locator("#dialog")).to_be_hidden()
    created = Order.get(Order.buyer_name == "김민준")
    panel = page.locator("#order-panel")
    expect(panel.locator(".panel-head")).to_contain_text(f"#{created.id}")
    expect(panel.locator(".panel-head")).to_contain_text(created.order_no)
    expect(panel.locator("table.lines tbody tr")).to_have_count(1)
    expect(page.locator(f"#order-row-{created.id}")).to_be_visible()
    expect(page.locator(f"#order-row-{existing.id}")).to_be_visible()
    assert page.evaluate("window.__marker") == "still the same page"

    assert created.channel_id == world.coupang.id
    assert (created.recipient_name, created.recipient_mobile) == ("김민준", "010-1234-5678")
    assert [(l.option_code, l.quantity, l.unit_price) for l in created.lines] == [
        ("30003", 3, 15900)]


def test_new_order_with_zero_quantity_marks_the_line(world, page, log_in):
    log_in("agent")
    page.click("#search-form button[hx-get$='/orders/new']")
    form = page.locator("#dialog form[data-dialog=new-order]")
    form.locator(f"button[data-pick='{world.tee_m.id}']").click()
    form.locator("#new-lines input.qty").fill("0")
    form.locator("input[name=buyer_name]").fill("김민준")
    form.locator("input[name=recipient_name]").fill("김민준")
    form.locator("input[name=address]").fill("서울")
    form.locator("footer button.primary").click()
    form = page.locator("#dialog form[data-dialog=new-order]")
    expect(form.locator("#new-lines small.error")).to_be_visible()
    expect(page.locator("#dialog")).to_be_visible()
    expect(form.locator("#new-lines input.qty")).to_have_value("0")
    assert Order.select().count() == 0


def test_bulk_hold_of_two_selected_rows(world, page, log_in):
    first, second, untouched = new_order(world), new_order(world), new_order(world)
    log_in("agent")
    page.evaluate(NO_RELOAD)
    page.check(f"#order-row-{first.id} input[name=ids]")
    page.check(f"#order-row-{second.id} input[name=ids]")
    expect(page.locator("#order-panel.empty-panel")).to_be_visible()  # ticking opened nothing
    page.click("#bulk-form button[hx-get$='/orders/bulk/hold']")

    form = page.locator("#dialog form[data-dialog=hold]")
    expect(form).to_be_visible()
    expect(form.locator("input[type=hidden][name=ids]")).to_have_count(2)
    form.locator("textarea[name=cs_text]").fill("일괄 보류")
    form.locator("footer button.primary").click()

    expect(page.locator("#dialog")).to_be_hidden()
    expect(page.locator(f"#order-row-{first.id} .badge.hold")).to_be_visible()
    expect(page.locator(f"#order-row-{second.id} .badge.hold")).to_be_visible()
    expect(page.locator(f"#order-row-{untouched.id} .badge.hold")).to_have_count(0)
    assert page.evaluate("window.__marker") == "still the same page"
    held = Order.select().where(Order.hold == True).order_by(Order.id)  # noqa: E712
    assert [o.id for o in held] == [first.id, second.id]
    assert CsHistory.select().where((CsHistory.operation == "hold")
                                    & (CsHistory.text == "일괄 보류")).count() == 2


@pytest.mark.parametrize("role, sees_operations", [("viewer", False), ("agent", True)])
def test_operation_buttons_only_for_those_who_may_operate(world, page, log_in, role,
                                                         sees_operations):
    order = new_order(world)
    log_in(role)
    open_panel(page, order.id)
    buttons = page.locator("#order-panel [data-op]")
    new_order_button = page.locator("#search-form button[hx-get$='/orders/new']")
    bulk_buttons = page.locator("#bulk-form button")
    if sees_operations:
        expect(buttons).to_have_count(len(orders.OPERATIONS))
        expect(page.locator("#order-panel [data-op=invoice]")).to_be_enabled()
        expect(page.locator("#order-panel [data-op=ship]")).to_be_disabled()  # not invoiced
        expect(new_order_button).to_have_count(1)
        expect(bulk_buttons).to_have_count(sum(op.bulk for op in orders.OPERATIONS.values()))
    else:
        expect(page.locator("#order-panel .facts")).to_be_visible()
        expect(buttons).to_have_count(0)
        expect(page.locator("#order-panel .opbar")).to_have_count(0)
        expect(new_order_button).to_have_count(0)
        expect(bulk_buttons).to_have_count(0)


def test_console_with_an_open_panel(world, page, log_in):
    """The console as a CS agent sees it mid-shift; with RULEDESK_SCREENSHOTS=1 it is saved
    as docs/screenshots/console.png for the README."""
    people = [("김서연", "서울특별시 강남구 테헤란로 152 (역삼동, 강남파이낸스센터) 12층", "06236"),
              ("이도윤", "경기도 성남시 분당구 판교역로 235 (삼평동, 에이치스퀘어) 1203호", "13529"),
              ("박하은", "부산광역시 해운대구 센텀중앙로 79 1502호", "48058"),
              ("최시우", "광주광역시 서구 내방로 111 (치평동) 305호", "61945"),
              ("정지우", "대전광역시 유성구 대학로 99 (궁동) 1101호", "34126"),
              ("강주원", "제주특별자치도 제주시 문연로 6 (연동) 402호", "63122"),
              ("조서윤", "대구광역시 수성구 달구벌대로 2450 (범어동) 907호", "42100"),
              ("윤예준", "경상남도 김해시 장유로 320 월산마을주공7단지아파트 707동 403호", "50969")]
    channels = [world.st11, world.coupang, world.mall]
    made = []
    for i, (name, address, zip_code) in enumerate(people):
        lines = [{"option_id": world.tee_m.id, "quantity": 1 + i % 3}]
        if i % 2:
            lines.append({"option_id": world.citrus_5.id, "quantity": 1})
        made.append(new_order(world, channel=channels[i % 3], now=NOW - dt.timedelta(hours=5 * i),
                              buyer_name=name, recipient_name=name,
                              recipient_mobile="010-%04d-%04d" % (2000 + 713 * i, 1000 + 377 * i),
                              address=address, zip_code=zip_code, lines=lines,
                              shipping_fee="3000" if i % 3 == 0 else "0"))

    def do(name, order, minutes, **raw):
        orders.perform(name, order.id, raw,
                       orders.Context(world.agent2, NOW + dt.timedelta(minutes=minutes)))

    do("invoice", made[1], 30, courier="CJ대한통운", tracking_no="563012345678")
    do("ship", made[1], 90)
    do("invoice", made[2], 40, courier="롯데택배", tracking_no="244598761203")
    do("cancel", made[3], 50, reason="취소-고객변심", cs_text="고객 변심으로 취소 요청")
    do("hold", made[4], 60, alarm_at="2026-04-01T10:00", cs_text="주소 확인 후 출고")
    focus = made[0]
    do("change_shipping", focus, 20, recipient_name=focus.recipient_name,
       recipient_mobile="010-2000-1000", zip_code=focus.zip_code, address=focus.address,
       ship_memo="부재 시 경비실에 맡겨 주세요", cs_text="배송메모 추가 (고객 전화)")

    log_in("agent")
    panel = open_panel(page, focus.id)
    expect(panel.locator("table.lines tbody tr")).to_have_count(1)
    expect(panel.locator(f"#history-{focus.id} > li")).to_have_count(2)
    expect(page.locator("#results tr[id^=order-row-]")).to_have_count(len(people))
    expect(page.locator("#results .badge.hold")).to_have_count(1)
    expect(page.locator("#results .badge.cs-취소")).to_have_count(1)
    # nothing is wider than the window
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    if os.environ.get("RULEDESK_SCREENSHOTS") == "1":
        target = ROOT / "docs" / "screenshots" / "console.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        page.evaluate("document.getElementById('toasts').innerHTML = ''")
        page.screenshot(path=str(target), full_page=True)
        assert target.stat().st_size > 10_000
