"""The ``excel`` connector: a watched folder of the channel's xlsx files, imported by 주문수집
and applied by 클레임 동기화 through the import and the cancel upload's own code."""
from __future__ import annotations

import datetime as dt

import pytest

from engine import cancels, channels, imports, jobs, orders
from engine.models import CancelResult, ClaimReceipt, Order
from tests.conftest import NOW, new_order
from tests.test_cancels import COLUMNS as CANCEL_COLUMNS, HEADER as CANCEL_HEADER, make_xlsx
from tests.test_imports import FORMAT, HEADER, row

EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


@pytest.fixture
def folder(world, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    ctx = orders.Context(world.admin, NOW)
    imports.save_format(world.st11.id, dict(FORMAT), ctx)
    cancels.save_format(world.st11.id, dict(CANCEL_COLUMNS), ctx)
    channels.update_channel(world.admin, world.st11.id, {
        "name": "11번가", "active": "1", "connector": "excel", "setting_folder": str(inbox)})
    return inbox


def run(world, kind, at=NOW):
    job = jobs.Job.get_or_none(jobs.Job.name == kind) or jobs.save_job(world.admin, {
        "name": kind, "kind": kind, "weekdays": EVERY_DAY, "start": "00:00", "end": "24:00",
        "every_hours": 1, "channels": ["11번가"]}, now=NOW)
    return jobs.run_now(world.admin, job.id, at)[0]


def test_order_files_are_imported_once_and_moved(world, folder):
    new_order(world, order_no="DUP-1")
    make_xlsx(folder / "a.xlsx", [row("X-1"), row("X-2", "30003", 2), row("DUP-1")],
              header=HEADER)
    make_xlsx(folder / "b.xlsx", [row("X-3", "NOPE")], header=HEADER)
    (folder / "notes.txt").write_text("not an order file")
    result = run(world, "collect_orders")
    assert result.status == "done", result.error
    assert result.counts["collected"] == 2 and result.counts["duplicates"] == 1
    assert result.counts["failed"] == 1 and result.counts["files"] == 2
    assert "a.xlsx" in result.detail and "NOPE" in result.detail
    assert {o.order_no for o in Order.select()} == {"DUP-1", "X-1", "X-2"}
    assert sorted(p.name for p in (folder / "done").iterdir()) == ["a.xlsx", "b.xlsx"]
    assert (folder / "notes.txt").exists()
    # the same file dropped again (a crash before the move) imports nothing twice
    make_xlsx(folder / "a.xlsx", [row("X-1"), row("X-2", "30003", 2)], header=HEADER)
    again = run(world, "collect_orders", NOW + dt.timedelta(minutes=1))
    assert again.counts["collected"] == 0 and again.counts["duplicates"] == 2
    assert sorted(p.name for p in (folder / "done").iterdir())[0].startswith("a")
    assert len(list((folder / "done").iterdir())) == 3


def test_a_file_that_is_not_a_workbook_goes_to_failed_with_the_reason(world, folder):
    (folder / "broken.xlsx").write_bytes(b"this is not a zip")
    result = run(world, "collect_orders")
    assert result.status == "done" and result.counts["failed_files"] == 1
    assert "broken.xlsx" in result.detail
    assert (folder / "failed" / "broken.xlsx").exists()


def test_claim_files_are_applied_like_the_cancel_upload(world, folder):
    keep = new_order(world, order_no="K-1")
    late = new_order(world, order_no="K-2")
    orders.perform("invoice", late.id, {"courier": "CJ대한통운", "tracking_no": "4242"},
                   orders.Context(world.agent, NOW))
    (folder / "claims").mkdir()
    make_xlsx(folder / "claims" / "c.xlsx", [
        ["K-1", "", None, "취소-고객변심", "2026-03-31 10:00", "", ""],
        ["K-2", "", None, "취소-고객변심", "2026-03-31 10:00", "", ""],
    ], header=CANCEL_HEADER)
    result = run(world, "sync_claims")
    assert result.status == "done", result.error
    assert result.counts["synced"] == 1 and result.counts["held"] == 1
    assert Order.get_by_id(keep.id).cs_state == orders.CANCELLED
    assert Order.get_by_id(late.id).hold
    assert CancelResult.select().count() == 2 and ClaimReceipt.select().count() == 2
    assert (folder / "claims" / "done" / "c.xlsx").exists()


def test_a_folder_that_does_not_exist_fails_the_run(world, folder, tmp_path):
    channels.update_channel(world.admin, world.st11.id, {
        "name": "11번가", "active": "1", "connector": "excel",
        "setting_folder": str(tmp_path / "nowhere")})
    result = run(world, "collect_orders")
    assert result.status == "failed" and "nowhere" in result.error


def test_the_folder_cannot_push_invoices(world, folder):
    result = run(world, "send_invoices")
    assert result.status == "failed" and "does not support" in result.error
