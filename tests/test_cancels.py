"""Channel cancels (판매처취소): the column format, the upload preview, the confirm (all or
nothing, through the order operations), 취소결과조회 and 취소철회조회 — engine and HTTP."""
from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest

from engine import cancels, events, excel, orders
from engine.errors import PermissionDenied, StateError, ValidationError
from engine.models import (
    CancelResult, CancelUpload, CancelWithdrawal, CsHistory, ExcelFormat, Order, OrderLine,
)
from tests.conftest import NOW, new_order

HX = {"HX-Request": "true"}
HEADER = ["주문번호", "상품코드", "수량", "취소사유", "취소요청일", "반품송장번호", "철회"]
COLUMNS = {"order_no": "주문번호", "quantity": "수량", "product_code": "상품코드",
           "reason": "취소사유", "requested_at": "취소요청일", "return_waybill": "반품송장번호",
           "withdrawal": "G", "header_row": "1", "default_reason": "취소-고객변심"}


def make_xlsx(path, rows, header=HEADER, title="취소"):
    """Write an xlsx the way a channel's export would (header row, then the rows)."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = title
    if header is not None:
        sheet.append(header)
    for row in rows:
        sheet.append(list(row))
    workbook.save(path)
    return path


def xlsx_rows(data: bytes) -> list[tuple]:
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    return list(workbook.worksheets[0].iter_rows(values_only=True))


def ctx(user, now=NOW):
    return orders.Context(user, now)


@pytest.fixture
def fmt(world):
    return cancels.save_format(world.st11.id, dict(COLUMNS), ctx(world.admin))


def invoice(w, order, number):
    return orders.perform("invoice", order.id, {"courier": "CJ대한통운", "tracking_no": number},
                          ctx(w.agent))


@pytest.fixture
def mixed(world, fmt, tmp_path):
    """Orders in every state and a file with good and bad rows (see the row comments)."""
    w = world
    o = {
        "full": new_order(w, order_no="ORD-1"),                             # 접수 → cancel
        "part": new_order(w, order_no="ORD-2", lines=[
            {"option_id": w.tee_m.id, "quantity": 3}, {"option_id": w.citrus_5.id,
                                                         "quantity": 1}]),   # partial, by code
        "late": new_order(w, order_no="ORD-3"),                             # 송장 → hold
        "gone": new_order(w, order_no="ORD-4"),                             # 배송 → listed
        "back": new_order(w, order_no="ORD-5"),                             # withdrawal
        "many": new_order(w, order_no="ORD-6"),                             # quantity too big
        "other": new_order(w, channel=w.coupang, order_no="ORD-7"),         # other channel
    }
    invoice(w, o["late"], "1001")
    invoice(w, o["gone"], "1002")
    orders.perform("ship", o["gone"].id, {}, ctx(w.agent))
    path = make_xlsx(tmp_path / "cancels.xlsx", [
        ["ORD-1", None, None, "취소-고객변심", dt.datetime(2026, 3, 30, 10, 0), None, None],  # 2
        ["ORD-2", "30001", 2, "단순변심", "2026-03-30", "6012-3456", None],                 # 3
        ["ORD-3", None, None, "취소-배송지연", None, None, None],                            # 4
        [None] * 7,                                                                       # 5
        ["ORD-4", None, None, None, None, None, None],                                    # 6
        ["NOPE-9", None, None, None, None, None, None],                                   # 7
        ["ORD-6", None, "abc", None, None, None, None],                                   # 8
        ["ORD-6", None, 5, None, None, None, None],                                       # 9
        ["ORD-5", None, None, None, None, None, "Y"],                                     # 10
        ["ORD-7", None, None, None, None, None, None],                                    # 11
        [None] * 7, [None] * 7,                                                           # trailing
    ])
    return o, path


def by_row(upload):
    return {r["row"]: r for r in upload.rows}


def messages(row):
    return [p["message"] for p in row["problems"]]


# --- the format ---------------------------------------------------------------------------------

def test_format_is_saved_by_admins_and_validated(world):
    with pytest.raises(PermissionDenied):
        cancels.save_format(world.st11.id, dict(COLUMNS), ctx(world.agent))
    with pytest.raises(ValidationError) as err:
        cancels.save_format(world.st11.id, {**COLUMNS, "order_no": "", "header_row": "0"},
                            ctx(world.admin))
    assert set(err.value.errors) == {"order_no", "header_row"}
    saved = cancels.save_format(world.st11.id, {**COLUMNS, "header_row": "3"}, ctx(world.admin))
    assert (saved.header_row, saved.columns["order_no"], saved.columns["withdrawal"],
            saved.options["default_reason"]) == (3, "주문번호", "G", "취소-고객변심")
    again = cancels.save_format(world.st11.id, {**COLUMNS, "quantity": ""}, ctx(world.admin))
    assert again.id == saved.id and "quantity" not in again.columns
    assert ExcelFormat.select().count() == 1


def test_format_page_round_trip_and_agents_cannot_change_it(app, world, login):
    admin = login("admin")
    page = admin.get(f"/cancels/format/{world.st11.id}")
    assert page.status_code == 200 and 'name="order_no"' in page.get_data(as_text=True)
    bad = admin.post(f"/cancels/format/{world.st11.id}", data={**COLUMNS, "order_no": ""})
    assert bad.status_code == 422 and "has-error" in bad.get_data(as_text=True)
    good = admin.post(f"/cancels/format/{world.st11.id}", data=COLUMNS)
    assert good.status_code == 303
    assert excel.load_format(world.st11.id, "cancel").columns["order_no"] == "주문번호"
    agent = login("agent")
    assert agent.get(f"/cancels/format/{world.st11.id}").status_code == 403
    assert agent.post(f"/cancels/format/{world.st11.id}", data=COLUMNS).status_code == 403


# --- the preview --------------------------------------------------------------------------------

def test_preview_plans_every_row_and_changes_nothing(world, mixed):
    o, path = mixed
    before = (CsHistory.select().count(), [(x.state, x.cs_state, x.hold, x.version)
                                           for x in Order.select().order_by(Order.id)])
    upload = cancels.upload(world.st11.id, path, "cancels.xlsx", ctx(world.agent))
    rows = by_row(upload)
    assert sorted(rows) == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]  # trailing empty rows dropped
    assert (rows[2]["action"], rows[2]["order_id"], rows[2]["reason_used"]) == (
        "cancel", o["full"].id, "취소-고객변심")
    assert rows[2]["requested_at"] == "2026-03-30 10:00:00"
    part = rows[3]
    assert (part["action"], part["quantity"], part["reason_used"], part["return_waybill"]) == (
        "partial_cancel", 2, "취소-고객변심", "60123456")  # 단순변심 is not one of our reasons
    assert part["line_id"] == OrderLine.get(OrderLine.order == o["part"].id,
                                            OrderLine.option_code == "30001").id
    assert (rows[4]["action"], rows[4]["state"]) == ("hold", "송장")
    assert rows[5]["empty"] and messages(rows[5]) == ["The row is empty: skipped."]
    assert (rows[6]["action"], rows[6]["state"]) == ("shipped", "배송")
    assert messages(rows[7]) == ["No order %(no)s in this channel."]
    assert rows[8]["problems"][0]["column"] == "C" and rows[8]["problems"][0]["header"] == "수량"
    assert messages(rows[8]) == ["must be a whole number (found %(value)s)"]
    assert messages(rows[9]) == ["Quantity %(n)d is more than the %(left)d left on this line."]
    assert rows[9]["problems"][0]["params"] == {"n": 5, "left": 2}
    assert rows[10]["action"] == "withdrawal"
    assert messages(rows[11]) == ["No order %(no)s in this channel."]  # it is 쿠팡's
    assert cancels.summary(upload.rows) == {
        "cancel": 1, "partial_cancel": 1, "hold": 1, "shipped": 1, "withdrawal": 1, "good": 5,
        "bad": 4, "empty": 1, "rows": 10}
    after = (CsHistory.select().count(), [(x.state, x.cs_state, x.hold, x.version)
                                          for x in Order.select().order_by(Order.id)])
    assert after == before and CancelResult.select().count() == 0
    stored = CancelUpload.get_by_id(upload.id)
    assert stored.status == "preview" and len(stored.rows) == 10


def test_wrong_files_are_refused_as_a_whole(world, fmt, tmp_path):
    text = tmp_path / "cancels.xlsx"
    text.write_text("주문번호,수량\nORD-1,1\n", encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        cancels.upload(world.st11.id, text, "cancels.xlsx", ctx(world.agent))
    assert err.value.field == "file" and "not an Excel file" in err.value.message
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    with pytest.raises(ValidationError) as err:
        cancels.upload(world.st11.id, old, "old.xls", ctx(world.agent))
    assert ".xls" in err.value.message
    other = make_xlsx(tmp_path / "other.xlsx", [["ORD-1", 1]], header=["주문 번호 X", "개수"])
    with pytest.raises(ValidationError) as err:
        cancels.upload(world.st11.id, other, "other.xlsx", ctx(world.agent))
    missing = err.value.errors
    assert set(missing) >= {"order_no", "quantity", "reason"}
    assert missing["order_no"].params["ref"] == "주문번호"
    header_only = make_xlsx(tmp_path / "empty.xlsx", [])
    with pytest.raises(ValidationError, match="no rows below"):
        cancels.upload(world.st11.id, header_only, "empty.xlsx", ctx(world.agent))
    no_format = make_xlsx(tmp_path / "c.xlsx", [["ORD-1"]])
    with pytest.raises(ValidationError) as err:
        cancels.upload(world.coupang.id, no_format, "c.xlsx", ctx(world.agent))
    assert err.value.field == "channel"
    assert CancelUpload.select().count() == 0


def test_columns_by_letter_and_a_later_header_row(world, tmp_path):
    cancels.save_format(world.st11.id, {"order_no": "B", "quantity": "d", "header_row": "3",
                                        "default_reason": "취소-분실"}, ctx(world.admin))
    order = new_order(world, order_no="L-1")
    path = make_xlsx(tmp_path / "l.xlsx", [["", ""], ["x", "주문", "y", "개수"],
                                           ["", "L-1", "", "1"]], header=["취소 내역 (3월)"])
    upload = cancels.upload(world.st11.id, path, "l.xlsx", ctx(world.agent))
    (row,) = upload.rows
    # 2 lines of quantity 2 → 1 of the tee-shirt line left… the order has one line of 2
    assert (row["row"], row["order_id"], row["action"], row["quantity"]) == (
        4, order.id, "partial_cancel", 1)


# --- the confirm --------------------------------------------------------------------------------

def test_confirm_applies_only_the_good_rows_and_holds_late_cancels(world, mixed):
    o, path = mixed
    upload = cancels.upload(world.st11.id, path, "cancels.xlsx", ctx(world.agent))
    seen = []
    events.listen(seen.extend)
    try:
        counts = cancels.confirm(upload.id, ctx(world.agent2, NOW + dt.timedelta(minutes=5)))
    finally:
        events.unlisten(seen.extend)
    assert counts["good"] == 5
    full, part, late, gone, back, many = (Order.get_by_id(o[k].id) for k in (
        "full", "part", "late", "gone", "back", "many"))
    assert (full.cs_state, full.cancel_reason) == ("취소", "취소-고객변심")
    assert part.cs_state == "부분취소"
    assert {line.option_code: line.cancelled_qty for line in part.lines} == {"30001": 2,
                                                                             "30003": 0}
    assert (late.state, late.cs_state, late.hold) == ("송장", "정상", True)
    assert (gone.state, gone.cs_state, gone.hold) == ("배송", "정상", True)  # held, listed
    assert (back.cs_state, many.cs_state) == ("정상", "정상")
    # the CS history, written by the agent who confirmed
    lines = {(h.order_id, h.operation) for h in CsHistory.select().where(
        CsHistory.operator == world.agent2)}
    assert {(full.id, "cancel"), (part.id, "partial_cancel"), (late.id, "hold"),
            (gone.id, "hold"), (back.id, "note")} <= lines
    note = CsHistory.get(CsHistory.order == gone.id, CsHistory.operation == "hold")
    assert note.text.startswith("[배송 후 판매처취소]") and not note.processed
    assert "판매처취소 #%d 6행" % upload.id in note.text
    # rule events came after the commit, as for a person
    changed = {e.record_id for e in seen if e.kind == events.CHANGED}
    assert {full.id, part.id, late.id, gone.id} <= changed and many.id not in changed
    # results: one per applied cancel row; the withdrawal is its own list
    results = {r.order_id: r for r in CancelResult.select()}
    assert set(results) == {full.id, part.id, late.id, gone.id}
    assert (results[part.id].action, results[part.id].quantity,
            results[part.id].return_waybill) == ("partial_cancel", 2, "60123456")
    assert results[late.id].state_before == "송장" and results[late.id].action == "hold"
    assert results[full.id].requested_at == dt.datetime(2026, 3, 30, 1, 0)  # 10:00 in Seoul
    (withdrawal,) = CancelWithdrawal.select()
    assert (withdrawal.order_id, withdrawal.row_no, withdrawal.source) == (back.id, 10, "upload")
    stored = CancelUpload.get_by_id(upload.id)
    assert (stored.status, stored.applied_by_id) == ("applied", world.agent2.id)
    with pytest.raises(StateError):
        cancels.confirm(upload.id, ctx(world.agent))
    assert CancelResult.select().count() == 4


def test_a_refused_row_at_confirm_applies_nothing(world, mixed, monkeypatch):
    o, path = mixed
    upload = cancels.upload(world.st11.id, path, "cancels.xlsx", ctx(world.agent))
    real = orders.perform

    def perform(name, order_id, raw, c, **kwargs):
        if order_id == o["late"].id:
            raise StateError("The order is already on hold.")
        return real(name, order_id, raw, c, **kwargs)
    monkeypatch.setattr(orders, "perform", perform)
    history_before = CsHistory.select().count()
    with pytest.raises(StateError) as err:
        cancels.confirm(upload.id, ctx(world.agent))
    assert err.value.params["row"] == 4 and err.value.details[0][0] == 4
    assert Order.get_by_id(o["full"].id).cs_state == "정상"   # cancelled first, rolled back
    assert sum(line.cancelled_qty for line in Order.get_by_id(o["part"].id).lines) == 0
    assert CsHistory.select().count() == history_before
    assert CancelResult.select().count() == CancelWithdrawal.select().count() == 0
    assert CancelUpload.get_by_id(upload.id).status == "preview"


def test_confirm_replans_when_an_order_changed_after_the_preview(world, mixed):
    o, path = mixed
    upload = cancels.upload(world.st11.id, path, "cancels.xlsx", ctx(world.agent))
    invoice(world, o["full"], "2001")                    # invoiced meanwhile
    with pytest.raises(StateError, match="changed since the preview"):
        cancels.confirm(upload.id, ctx(world.agent))
    assert Order.get_by_id(o["full"].id).cs_state == "정상"
    fresh = by_row(CancelUpload.get_by_id(upload.id))
    assert fresh[2]["action"] == "hold"                  # what it would do now
    cancels.confirm(upload.id, ctx(world.agent))
    assert Order.get_by_id(o["full"].id).hold


def test_viewers_cannot_upload_or_confirm(world, mixed):
    o, path = mixed
    with pytest.raises(PermissionDenied):
        cancels.upload(world.st11.id, path, "c.xlsx", ctx(world.viewer))
    upload = cancels.upload(world.st11.id, path, "c.xlsx", ctx(world.agent))
    with pytest.raises(PermissionDenied):
        cancels.confirm(upload.id, ctx(world.viewer))


# --- results and withdrawals --------------------------------------------------------------------

@pytest.fixture
def applied(world, mixed):
    o, path = mixed
    upload = cancels.upload(world.st11.id, path, "cancels.xlsx", ctx(world.agent))
    cancels.confirm(upload.id, ctx(world.agent))
    return o


def test_results_filter_confirm_and_download(world, applied):
    tz = orders.Context(None, NOW).tz
    results = lambda **f: list(cancels.results(cancels.parse_filters(  # noqa: E731
        cancels.RESULT_FIELDS, f, tz), tz))
    assert len(results()) == 4
    assert [r.order_id for r in results(action="hold")] == [applied["late"].id]
    assert len(results(channel=str(world.coupang.id))) == 0
    assert len(results(date_from="2026-03-31", date_to="2026-03-31")) == 4
    assert len(results(date_from="2026-04-01")) == 0
    assert [r.order_id for r in results(q="ORD-2")] == [applied["part"].id]
    first = results(action="hold")[0]
    assert cancels.confirm_results([first.id], ctx(world.agent)) == 1
    assert cancels.confirm_results([first.id], ctx(world.agent)) == 0   # already confirmed
    assert len(results(confirmed="0")) == 3
    assert cancels.confirm_all_results(cancels.parse_filters(
        cancels.RESULT_FIELDS, {"action": "cancel"}, tz), ctx(world.agent)) == 1
    assert len(results(confirmed="1")) == 2
    with pytest.raises(ValidationError):
        cancels.confirm_results([], ctx(world.agent))
    buffer = io.BytesIO()
    cancels.write_results(buffer, {}, tz)
    rows = xlsx_rows(buffer.getvalue())
    assert rows[0][:4] == ("Applied at", "Channel", "Order number", "Our order no.")
    assert sorted(r[2] for r in rows[1:]) == ["ORD-1", "ORD-2", "ORD-3", "ORD-4"]


def test_withdrawals_are_recorded_listed_confirmed_and_downloaded(world, applied):
    tz = orders.Context(None, NOW).tz
    full = applied["full"]
    later = ctx(world.agent, NOW + dt.timedelta(hours=1))
    withdrawal = cancels.record_withdrawal(world.st11.id, {"order_no": "ORD-1",
                                                           "note": "고객 철회"}, later)
    assert withdrawal.cancel_result.order_id == full.id     # the cancel it takes back
    with pytest.raises(ValidationError):
        cancels.record_withdrawal(world.st11.id, {"order_no": "NOPE"}, later)
    listed = list(cancels.withdrawals({}, tz))
    assert [w.order_no for w in listed] == ["ORD-1", "ORD-5"]
    assert [w.order_no for w in cancels.withdrawals({"q": "ORD-5"}, tz)] == ["ORD-5"]
    assert cancels.confirm_withdrawals([withdrawal.id], later) == 1
    assert [w.order_no for w in cancels.withdrawals(
        cancels.parse_filters(cancels.WITHDRAWAL_SEARCH_FIELDS, {"confirmed": "0"}, tz), tz)] \
        == ["ORD-5"]
    note = (CsHistory.select().where((CsHistory.order == full.id)
                                     & (CsHistory.operation == "note")).get())
    assert note.detail == "[취소철회 접수]" and note.text == "고객 철회"
    buffer = io.BytesIO()
    cancels.write_withdrawals(buffer, {}, tz)
    rows = xlsx_rows(buffer.getvalue())
    assert [r[2] for r in rows[1:]] == ["ORD-1", "ORD-5"]


# --- HTTP ---------------------------------------------------------------------------------------

def test_upload_preview_and_confirm_over_http(app, world, mixed, login):
    o, path = mixed
    agent = login("agent")
    page = agent.get("/cancels/upload")
    assert page.status_code == 200 and "cancel-upload-form" in page.get_data(as_text=True)
    with open(path, "rb") as handle:
        response = agent.post("/cancels/upload", data={"channel": str(world.st11.id),
                                                       "file": (handle, "cancels.xlsx")},
                              content_type="multipart/form-data")
    assert response.status_code == 303
    preview = agent.get(response.headers["Location"])
    body = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "confirm-cancels" in body
    assert body.count('class="xl-row is-good') == 5 and body.count('class="xl-row is-bad') == 5
    assert "C · 수량" in body                                   # the column of the problem
    upload = CancelUpload.select().get()
    done = agent.post(f"/cancels/uploads/{upload.id}/confirm")
    assert done.status_code == 303
    assert Order.get_by_id(o["full"].id).cs_state == "취소" and Order.get_by_id(o["late"].id).hold
    again = agent.post(f"/cancels/uploads/{upload.id}/confirm")
    assert again.status_code == 409
    assert agent.get(f"/cancels/uploads/{upload.id}").status_code == 200


def test_upload_of_a_wrong_file_shows_why(app, world, fmt, login, tmp_path):
    agent = login("agent")
    response = agent.post("/cancels/upload", data={
        "channel": str(world.st11.id), "file": (io.BytesIO(b"hello"), "c.xlsx")},
        content_type="multipart/form-data")
    assert response.status_code == 422
    assert "not an Excel file" in response.get_data(as_text=True) or \
        "엑셀" in response.get_data(as_text=True)
    missing = agent.post("/cancels/upload", data={"channel": str(world.st11.id)},
                         content_type="multipart/form-data")
    assert missing.status_code == 422
    assert CancelUpload.select().count() == 0


def test_discard_keeps_the_orders(world, mixed, login):
    o, path = mixed
    upload = cancels.upload(world.st11.id, path, "c.xlsx", ctx(world.agent))
    agent = login("agent")
    assert agent.post(f"/cancels/uploads/{upload.id}/discard").status_code == 303
    assert CancelUpload.get_by_id(upload.id).status == "discarded"
    with pytest.raises(StateError):
        cancels.confirm(upload.id, ctx(world.agent))
    assert Order.get_by_id(o["full"].id).cs_state == "정상"


def test_results_and_withdrawals_pages(app, world, applied, login):
    agent = login("agent")
    page = agent.get("/cancels/results?action=hold")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "ORD-3" in body and "ORD-1" not in body
    result = CancelResult.get(CancelResult.order == applied["late"].id)
    response = agent.post("/cancels/results/confirm", data={"ids": [result.id]}, headers=HX)
    assert response.status_code == 200 and "cancelsChanged" in response.headers["HX-Trigger"]
    assert CancelResult.get_by_id(result.id).confirmed
    response = agent.post("/cancels/results/confirm-all", data={"action": "cancel"}, headers=HX)
    assert response.status_code == 200
    assert CancelResult.select().where(CancelResult.confirmed == True).count() == 2  # noqa: E712
    empty = agent.post("/cancels/results/confirm", data={}, headers=HX)
    assert empty.status_code == 422 and "toast" in empty.headers["HX-Trigger"]
    download = agent.get("/cancels/results.xlsx?action=hold")
    assert download.status_code == 200 and download.mimetype == excel.XLSX_MIMETYPE
    rows = xlsx_rows(download.data)
    assert [r[2] for r in rows[1:]] == ["ORD-3"]
    withdrawals = agent.get("/cancels/withdrawals")
    assert withdrawals.status_code == 200 and "ORD-5" in withdrawals.get_data(as_text=True)
    withdrawal = CancelWithdrawal.get()
    assert agent.post("/cancels/withdrawals/confirm", data={"ids": [withdrawal.id]},
                      headers=HX).status_code == 200
    assert CancelWithdrawal.get_by_id(withdrawal.id).confirmed
    assert xlsx_rows(agent.get("/cancels/withdrawals.xlsx").data)[1][2] == "ORD-5"


def test_viewer_gets_403_on_every_cancel_post(app, world, applied, login):
    viewer = login("viewer")
    upload = CancelUpload.get()
    result = CancelResult.get()
    for url, data in [("/cancels/upload", {"channel": world.st11.id}),
                      (f"/cancels/uploads/{upload.id}/confirm", {}),
                      (f"/cancels/uploads/{upload.id}/discard", {}),
                      (f"/cancels/format/{world.st11.id}", COLUMNS),
                      ("/cancels/results/confirm", {"ids": [result.id]}),
                      ("/cancels/results/confirm-all", {}),
                      ("/cancels/withdrawals/confirm", {"ids": [1]})]:
        assert viewer.post(url, data=data, headers=HX).status_code == 403, url
    assert CancelResult.select().where(CancelResult.confirmed == True).count() == 0  # noqa: E712
    for url in ("/cancels/upload", f"/cancels/uploads/{upload.id}", "/cancels/results",
                "/cancels/withdrawals", "/cancels/results.xlsx", "/cancels/withdrawals.xlsx"):
        assert viewer.get(url).status_code == 200, url
