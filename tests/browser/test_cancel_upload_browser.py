"""Channel cancel upload in a real browser: choose the file, see the preview with its
problem row, confirm, see the orders cancelled and the late one held.

Selectors use ids, names, classes and data attributes only, never visible text.
"""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from engine import cancels, orders
from engine.models import CancelResult, CancelUpload, CsHistory, Order
from tests.conftest import NOW, new_order
from tests.test_cancels import COLUMNS, make_xlsx

pytestmark = pytest.mark.browser


def test_cancel_upload_preview_then_confirm(world, page, log_in, tmp_path):
    cancels.save_format(world.st11.id, dict(COLUMNS), orders.Context(world.admin, NOW))
    first = new_order(world, order_no="B-1")
    second = new_order(world, order_no="B-2", lines=[{"option_id": world.tee_m.id,
                                                      "quantity": 3}])
    late = new_order(world, order_no="B-3")
    orders.perform("invoice", late.id, {"courier": "CJ대한통운", "tracking_no": "8001"},
                   orders.Context(world.agent, NOW))
    path = make_xlsx(tmp_path / "11st-cancels.xlsx", [
        ["B-1", None, None, "취소-고객변심", "2026-03-31 09:10", None, None],
        ["B-2", "30001", 1, "취소-배송지연", None, None, None],
        ["B-3", None, None, "취소-고객변심", None, "123-456", None],
        ["B-404", None, None, None, None, None, None],
    ])

    log_in("agent")
    page.goto(page.base_url + "/cancels/upload")
    form = page.locator("#cancel-upload-form")
    form.locator("select[name=channel]").select_option(str(world.st11.id))
    form.locator("input[name=file]").set_input_files(str(path))
    form.locator("button.primary").click()

    preview = page.locator("#cancel-preview")
    expect(preview).to_have_attribute("data-status", "preview")
    expect(preview.locator("tr.xl-row")).to_have_count(4)
    expect(preview.locator("tr.xl-row.is-good")).to_have_count(3)
    bad = preview.locator("tr.xl-row.is-bad")
    expect(bad).to_have_count(1)
    expect(bad).to_have_attribute("data-row", "5")
    expect(bad.locator(".problem")).to_contain_text("B-404")
    expect(preview.locator("tr[data-row='2'] .act-cancel")).to_be_visible()
    expect(preview.locator("tr[data-row='3'] .act-partial_cancel")).to_be_visible()
    expect(preview.locator("tr[data-row='4'] .act-hold")).to_be_visible()
    expect(preview.locator("[data-count=bad] b")).to_have_text("1")
    # nothing is applied before the confirm
    assert Order.get_by_id(first.id).cs_state == "정상" and not Order.get_by_id(late.id).hold

    preview.locator("#confirm-cancels").click()
    expect(page.locator("#cancel-preview")).to_have_attribute("data-status", "applied")
    expect(page.locator("#cancel-preview .notice.ok")).to_be_visible()

    assert Order.get_by_id(first.id).cs_state == "취소"
    assert Order.get_by_id(second.id).cs_state == "부분취소"
    held = Order.get_by_id(late.id)
    assert (held.state, held.cs_state, held.hold) == ("송장", "정상", True)
    assert CsHistory.select().where((CsHistory.order == late.id)
                                    & (CsHistory.operation == "hold")).count() == 1
    assert CancelUpload.get().status == "applied" and CancelResult.select().count() == 3

    # the results list shows them, the held one among them
    page.goto(page.base_url + "/cancels/results?action=hold")
    expect(page.locator("#results tbody tr[id^=result-]")).to_have_count(1)
    expect(page.locator("#results tbody tr[id^=result-] .badge.hold")).to_be_visible()
    # and the order console shows the cancel and the hold
    page.goto(page.base_url + f"/orders/?q={first.id}")
    expect(page.locator(f"#order-row-{first.id} .badge.cs-취소")).to_be_visible()
    page.goto(page.base_url + f"/orders/?q={late.id}")
    expect(page.locator(f"#order-row-{late.id} .badge.hold")).to_be_visible()
