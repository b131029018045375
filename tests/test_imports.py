"""Order import (a checked job, then a confirm, written in one transaction) and export; the
streaming xlsx reader itself."""
from __future__ import annotations

import datetime as dt
import io
import os
import socket
import time

import openpyxl
import pytest

from engine import events, excel, imports, orders
from engine.errors import PermissionDenied, StateError, ValidationError
from engine.models import Channel, CsHistory, ImportJob, Order, OrderLine
from engine.schema import Field, normalise_phone
from tests.conftest import NOW, new_order
from tests.test_cancels import make_xlsx, xlsx_rows

HX = {"HX-Request": "true"}
HEADER = ["주문번호", "주문일시", "구매자", "구매자휴대폰", "수령자", "수령자휴대폰", "우편번호",
          "주소", "배송메모", "옵션코드", "수량", "판매가", "배송비"]
FORMAT = {**imports.DEFAULTS, "shipping_fee": "배송비", "header_row": "1"}


def ctx(user, now=NOW):
    return orders.Context(user, now)


def row(no, code="30001", quantity=1, mobile="010-1234-5678", address="서울 중구 세종대로 110",
        price=None, fee=None, when=dt.datetime(2026, 3, 30, 9, 30), buyer="김구매"):
    return [no, when, buyer, mobile, "이수령", "01098765432", "04524", address, "", code,
            quantity, price, fee]


@pytest.fixture
def fmt(world):
    return imports.save_format(world.st11.id, dict(FORMAT), ctx(world.admin))


@pytest.fixture
def sample(world, fmt, tmp_path):
    """Good single and multi-line orders, a duplicate, and rows with errors."""
    new_order(world, order_no="DUP-1")                          # already in 11번가
    new_order(world, channel=world.coupang, order_no="ORD-X")   # same number, other channel
    return make_xlsx(tmp_path / "orders.xlsx", [
        row("ORD-1", price=9900, fee=3000),                     # 2
        row("ORD-2", "30001", 2),                               # 3 ┐ one order,
        row("ORD-2", "30003", 1),                               # 4 ┘ two lines
        row("DUP-1"),                                           # 5 duplicate
        row("ORD-3", "NOPE"),                                   # 6 unknown code
        row("ORD-4", quantity="두개"),                           # 7 letters in a number
        row("ORD-5", mobile="12"),                              # 8 not a phone
        row("ORD-6", address=""),                               # 9 empty required
        row("ORD-7"), row("ORD-7", quantity=0),                 # 10, 11: one bad row sinks it
        [None] * 13,                                            # 12 empty
        row("ORD-X", when="2026-03-29 14:00"),                  # 13 text date
    ], header=HEADER)


def problems(checked):
    return {(p["row"], p["kind"], p["column"], p["message"]) for p in checked.problems}


def test_check_lists_each_problem_by_row_and_column_and_writes_nothing(world, sample):
    before = Order.select().count()
    checked = imports.check(sample, world.st11, imports._format(world.st11), ctx(world.agent))
    assert Order.select().count() == before
    assert [o.order_no for o in checked.orders] == ["ORD-1", "ORD-2", "ORD-X"]
    assert [len(o.lines) for o in checked.orders] == [1, 2, 1]
    found = problems(checked)
    assert (5, "duplicate", None, "Order %(no)s is already in this channel: skipped.") in found
    assert (6, "error", "J", "no product or option has the code %(value)s") in found
    assert (7, "error", "K", "must be a whole number (found %(value)s)") in found
    assert (8, "error", "D", "is not a valid phone number (found %(value)s)") in found
    assert (9, "error", "H", "is empty") in found
    assert (11, "error", "K", "must be at least %(n)d (found %(value)s)") in found
    skipped = [p for p in checked.problems if p["kind"] == "skipped"]
    assert [(p["row"], p["params"]["bad"]) for p in skipped] == [(10, 11)]
    assert checked.counts == {
        "rows": 11, "empty_rows": 1, "error_rows": 5, "orders": 9, "good_orders": 3,
        "good_rows": 4, "duplicate_orders": 1, "duplicate_rows": 1, "skipped_rows": 1}


def test_import_creates_orders_like_the_console_and_raises_created_events(world, sample):
    seen = []
    events.listen(seen.extend)
    try:
        result = imports.run_import(sample, world.st11.id, ctx(world.agent), "orders.xlsx")
    finally:
        events.unlisten(seen.extend)
    assert result["imported"] == 3
    one = Order.get(Order.channel == world.st11.id, Order.order_no == "ORD-1")
    assert (one.buyer_name, one.buyer_mobile, one.recipient_mobile, one.zip_code) == (
        "김구매", "010-1234-5678", "010-9876-5432", "04524")
    assert (one.state, one.cs_state, one.hold, one.version, one.shipping_fee) == (
        "접수", "정상", False, 1, 3000)
    assert one.received_at == dt.datetime(2026, 3, 30, 0, 30)      # 09:30 in Seoul
    assert [(ln.option_code, ln.quantity, ln.unit_price) for ln in one.lines] == [
        ("30001", 1, 9900)]
    two = Order.get(Order.order_no == "ORD-2", Order.channel == world.st11.id)
    assert [(ln.option_code, ln.quantity, ln.unit_price, ln.product_name)
            for ln in two.lines.order_by(OrderLine.id)] == [
        ("30001", 2, 12900, "순면 티셔츠"), ("30003", 1, 15900, "제주 감귤")]
    assert Order.get(Order.channel == world.st11.id, Order.order_no == "ORD-X").lines.count() == 1
    (line,) = CsHistory.select().where(CsHistory.order == one.id)
    assert (line.operation, line.operator_id) == ("create", world.agent.id)
    assert line.detail == "[주문생성 : ORD-1] [엑셀 : orders.xlsx]"
    created = sorted(e.record_id for e in seen if e.kind == events.CREATED)
    assert created == sorted(o.id for o in Order.select().where(
        Order.order_no.in_(["ORD-1", "ORD-2", "ORD-X"]) & (Order.channel == world.st11.id)))
    # the orders work like any other: an operation on an imported order
    orders.perform("hold", two.id, {}, ctx(world.agent))
    assert Order.get_by_id(two.id).hold
    # importing the same file again: all duplicates now
    again = imports.run_import(sample, world.st11.id, ctx(world.agent))
    assert (again["imported"], again["duplicate_orders"]) == (0, 4)


def test_an_import_interrupted_mid_way_leaves_nothing(world, sample, monkeypatch):
    monkeypatch.setattr(imports, "BATCH", 1)
    calls = []

    def crash(done):
        calls.append(done)
        if done == 2:
            raise RuntimeError("power cut")
    monkeypatch.setattr(imports, "_checkpoint", crash)
    before = (Order.select().count(), OrderLine.select().count(), CsHistory.select().count())
    seen = []
    events.listen(seen.extend)
    try:
        with pytest.raises(RuntimeError):
            imports.run_import(sample, world.st11.id, ctx(world.agent))
    finally:
        events.unlisten(seen.extend)
    assert calls == [1, 2]      # the first order was written before the crash…
    assert (Order.select().count(), OrderLine.select().count(),
            CsHistory.select().count()) == before           # …and rolled back with the rest
    assert seen == []


def test_auto_combine_is_asked_for_each_new_order_when_the_channel_says_so(world, sample,
                                                                           monkeypatch):
    from engine import combining
    asked = []
    monkeypatch.setattr(combining, "auto_combine",
                        lambda order, c=None: asked.append(order.order_no) or [])
    imports.run_import(sample, world.st11.id, ctx(world.agent))
    assert asked == []
    if "auto_combine" in Channel._meta.fields:
        Channel.update(auto_combine=True).where(Channel.id == world.st11.id).execute()
        Order.delete().where(Order.order_no.in_(["ORD-1", "ORD-2", "ORD-X"])
                             & (Order.channel == world.st11.id)).execute()
        imports.run_import(sample, world.st11.id, ctx(world.agent))
        assert asked == ["ORD-1", "ORD-2", "ORD-X"]


# --- jobs ---------------------------------------------------------------------------------------

def test_job_checks_in_a_thread_then_imports_on_confirm(world, sample, tmp_path):
    with pytest.raises(PermissionDenied):
        imports.create_job(world.st11.id, sample, "o.xlsx", tmp_path / "jobs", ctx(world.viewer))
    job = imports.create_job(world.st11.id, sample, "orders.xlsx", tmp_path / "jobs",
                             ctx(world.agent))
    job = imports.wait(job.id)
    assert job.status == "ready" and job.summary["good_orders"] == 3
    assert {p["row"] for p in job.problems} == {5, 6, 7, 8, 9, 10, 11}
    assert Order.select().where(Order.order_no == "ORD-1").count() == 0   # not before confirm
    assert imports.progress(job.id)["status"] == "ready"
    job = imports.confirm(job.id, ctx(world.agent))
    with pytest.raises(StateError):
        imports.confirm(job.id, ctx(world.agent))          # once only
    job = imports.wait(job.id)
    assert job.status == "done" and job.summary["imported"] == 3
    assert Order.select().where(Order.order_no == "ORD-1").count() == 1
    assert not os.path.exists(job.path)                     # the kept upload is gone


def test_a_failed_import_job_says_nothing_was_imported(world, sample, tmp_path, monkeypatch):
    job = imports.wait(imports.create_job(world.st11.id, sample, "o.xlsx", tmp_path,
                                          ctx(world.agent)).id)
    monkeypatch.setattr(imports, "_checkpoint", lambda done: 1 / 0)
    before = Order.select().count()
    imports.confirm(job.id, ctx(world.agent))
    job = imports.wait(job.id)
    assert job.status == "failed" and Order.select().count() == before
    assert job.summary["error"]["message"] == "The import stopped on an unexpected error."


def test_wrong_file_is_refused_before_any_job(world, fmt, tmp_path):
    bad = tmp_path / "x.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ValidationError) as err:
        imports.create_job(world.st11.id, bad, "x.xlsx", tmp_path / "jobs", ctx(world.agent))
    assert err.value.field == "file"
    assert ImportJob.select().count() == 0 and list((tmp_path / "jobs").iterdir()) == []
    other = make_xlsx(tmp_path / "o.xlsx", [["A-1"]], header=["번호"])
    job = imports.wait(imports.create_job(world.st11.id, other, "o.xlsx", tmp_path / "jobs",
                                          ctx(world.agent)).id)
    assert job.status == "failed"
    assert "is not in the header row" in job.summary["error"]["message"]


def test_jobs_left_running_by_a_dead_process_are_marked_failed_at_start(world, fmt):
    host = socket.gethostname()
    dead = ImportJob.create(channel=world.st11, filename="a.xlsx", status="importing",
                            owner=f"{host}:999999999:dead", heartbeat_at=NOW)
    reused = ImportJob.create(channel=world.st11, filename="b.xlsx", status="checking",
                              owner=f"{host}:{os.getpid()}:another-token", heartbeat_at=NOW)
    mine = ImportJob.create(channel=world.st11, filename="c.xlsx", status="importing",
                            owner=imports.owner(), heartbeat_at=NOW)
    remote = ImportJob.create(channel=world.st11, filename="d.xlsx", status="importing",
                              owner="other-host:1:x", heartbeat_at=NOW)
    silent = ImportJob.create(channel=world.st11, filename="e.xlsx", status="importing",
                              owner="other-host:2:y", heartbeat_at=NOW - dt.timedelta(hours=1))
    done = ImportJob.create(channel=world.st11, filename="f.xlsx", status="done", owner="z")
    assert imports.fail_interrupted(NOW) == 3
    status = {j.filename: j.status for j in ImportJob.select()}
    assert status == {"a.xlsx": "failed", "b.xlsx": "failed", "c.xlsx": "importing",
                      "d.xlsx": "importing", "e.xlsx": "failed", "f.xlsx": "done"}
    failed = ImportJob.get_by_id(dead.id)
    assert failed.summary["error"]["message"].startswith("Interrupted; nothing was imported")
    assert failed.finished_at == NOW
    assert imports.fail_interrupted(NOW) == 0          # once only
    assert {ImportJob.get_by_id(j.id).status for j in (mine, remote)} == {"importing"}
    assert {ImportJob.get_by_id(j.id).status for j in (reused, silent)} == {"failed"}
    assert ImportJob.get_by_id(done.id).status == "done"


# --- HTTP ---------------------------------------------------------------------------------------

def wait_until(client, job_id, statuses, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = ImportJob.get_by_id(job_id)
        if job.status in statuses:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} stayed {job.status}")


def test_import_over_http_with_a_self_replacing_progress_block(app, world, sample, login):
    agent = login("agent")
    page = agent.get("/imports/")
    assert page.status_code == 200 and "import-form" in page.get_data(as_text=True)
    with open(sample, "rb") as handle:
        response = agent.post("/imports/", data={"channel": str(world.st11.id),
                                                 "file": (handle, "orders.xlsx")},
                              content_type="multipart/form-data")
    assert response.status_code == 303
    job_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    job = imports.wait(job_id)
    assert job.status == "ready"
    ready = agent.get(f"/imports/{job_id}/progress", headers=HX).get_data(as_text=True)
    assert ready.lstrip().startswith('<section id="import-job"')
    assert "every 1s" not in ready and "confirm-import" in ready   # polling stopped
    assert "J · 옵션코드" in ready                                  # row problems by column
    ImportJob.update(status="importing").where(ImportJob.id == job_id).execute()
    running = agent.get(f"/imports/{job_id}/progress", headers=HX).get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in running and 'role="progressbar"' in running
    ImportJob.update(status="ready").where(ImportJob.id == job_id).execute()
    assert agent.post(f"/imports/{job_id}/confirm").status_code == 303
    job = imports.wait(job_id)
    assert job.status == "done"
    done = agent.get(f"/imports/{job_id}").get_data(as_text=True)
    assert "every 1s" not in done and Order.select().where(Order.order_no == "ORD-2").count() == 1
    assert agent.post(f"/imports/{job_id}/confirm").status_code == 409


def test_import_format_page_and_wrong_upload(app, world, login):
    admin = login("admin")
    assert admin.get(f"/imports/format/{world.st11.id}").status_code == 200
    bad = admin.post(f"/imports/format/{world.st11.id}", data={**FORMAT, "address": ""})
    assert bad.status_code == 422
    assert admin.post(f"/imports/format/{world.st11.id}", data=FORMAT).status_code == 303
    agent = login("agent")
    assert agent.post(f"/imports/format/{world.st11.id}", data=FORMAT).status_code == 403
    response = agent.post("/imports/", data={"channel": str(world.st11.id),
                                             "file": (io.BytesIO(b"a,b\n1,2\n"), "o.csv")},
                          content_type="multipart/form-data")
    assert response.status_code == 422 and ImportJob.select().count() == 0


def test_viewer_gets_403_on_every_import_post(app, world, sample, login, tmp_path):
    job = imports.wait(imports.create_job(world.st11.id, sample, "o.xlsx", tmp_path,
                                          ctx(world.agent)).id)
    viewer = login("viewer")
    for url, data in [("/imports/", {"channel": world.st11.id}),
                      (f"/imports/{job.id}/confirm", {}), (f"/imports/{job.id}/discard", {}),
                      (f"/imports/format/{world.st11.id}", FORMAT)]:
        assert viewer.post(url, data=data, headers=HX).status_code == 403, url
    assert ImportJob.get_by_id(job.id).status == "ready"
    assert viewer.get(f"/imports/{job.id}").status_code == 200


def test_discard_a_checked_import(app, world, sample, login, tmp_path):
    job = imports.wait(imports.create_job(world.st11.id, sample, "o.xlsx", tmp_path,
                                          ctx(world.agent)).id)
    agent = login("agent")
    assert agent.post(f"/imports/{job.id}/discard").status_code == 303
    assert ImportJob.get_by_id(job.id).status == "discarded"
    with pytest.raises(StateError):
        imports.confirm(job.id, ctx(world.agent))


# --- export -------------------------------------------------------------------------------------

def test_export_of_a_console_search(app, world, login):
    a = new_order(world, order_no="EXP-1", lines=[{"option_id": world.tee_m.id, "quantity": 2},
                                                  {"option_id": world.citrus_5.id,
                                                   "quantity": 1}])
    new_order(world, channel=world.coupang, order_no="EXP-2")
    world.viewer.language = "en"
    world.viewer.save()
    viewer = login("viewer")
    response = viewer.get(f"/imports/export?channel={world.st11.id}")
    assert response.status_code == 200 and response.mimetype == excel.XLSX_MIMETYPE
    assert "attachment" in response.headers["Content-Disposition"]
    rows = xlsx_rows(response.data)
    assert rows[0][:3] == ("Our order no.", "Channel", "Order number")
    assert [(r[0], r[2], r[15], r[17]) for r in rows[1:]] == [
        (a.id, "EXP-1", "30001", 2), (a.id, "EXP-1", "30003", 1)]
    everything = xlsx_rows(viewer.get("/imports/export").data)
    assert sorted({r[2] for r in everything[1:]}) == ["EXP-1", "EXP-2"]
    assert viewer.get("/imports/export?state=nope").status_code == 422


def test_exported_file_imports_back_into_another_channel(world, tmp_path):
    new_order(world, order_no="RT-1", lines=[{"option_id": world.tee_m.id, "quantity": 2},
                                             {"option_id": world.citrus_5.id, "quantity": 1}])
    path = tmp_path / "export.xlsx"
    tz = orders.Context(None, NOW).tz
    imports.write_export(path, {}, tz)
    mapping = {"order_no": "C", "received_at": "D", "buyer_name": "E", "buyer_mobile": "G",
               "recipient_name": "H", "recipient_mobile": "J", "zip_code": "K", "address": "L",
               "option_code": "P", "quantity": "R", "price": "S", "header_row": "1"}
    imports.save_format(world.mall.id, mapping, ctx(world.admin))
    result = imports.run_import(path, world.mall.id, ctx(world.agent))
    assert (result["imported"], result["good_rows"], result["problem_total"]) == (1, 2, 0)
    copy = Order.get(Order.channel == world.mall.id, Order.order_no == "RT-1")
    assert sorted((ln.option_code, ln.quantity) for ln in copy.lines) == [("30001", 2),
                                                                          ("30003", 1)]


# --- the reader ---------------------------------------------------------------------------------

def test_reader_agrees_with_openpyxl(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["번호", "일시", "수량", "여부", "실수", None, "글"])
    sheet.append(["A-1", dt.datetime(2026, 3, 31, 17, 5), 2, True, 2.5, None, "  공백 "])
    sheet.append([12345678901, dt.date(2026, 4, 1), "3", False, 1e20, "x", "ｶﾅ"])
    sheet["B3"].number_format = 'yyyy"년" m"월" d"일"'
    sheet["C5"] = 7
    path = tmp_path / "t.xlsx"
    workbook.save(path)
    ours = {n: values for n, values in excel.open_sheet(path).rows()}
    theirs = list(openpyxl.load_workbook(path, read_only=True).worksheets[0]
                  .iter_rows(values_only=True))
    assert sorted(ours) == [1, 2, 3, 5]
    for number, values in ours.items():
        expected = list(theirs[number - 1])
        assert values == expected[:len(values)] and not any(expected[len(values):])
    assert excel.column_letter(0) == "A" and excel.column_letter(27) == "AB"
    assert excel.column_index("ab") == 27 and excel.column_index("XFD") == 16383


def test_phone_fast_path_agrees_with_the_console():
    field = Field("p", "P", kind="phone")
    for text in ["010-1234-5678", "01012345678", "010 1234 5678", "02-123-4567",
                 "0311234567", "1588-1234", "070-1234-5678", "+81 90-1234-5678"]:
        assert imports.phone(text) == normalise_phone(text, field), text
    with pytest.raises(ValidationError):
        imports.phone("12")
