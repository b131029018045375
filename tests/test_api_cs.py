"""The CS history and channel cancel API: the page's filters and paging, cancel uploads with
their preview and confirm, withdrawals; bearer tokens and roles as everywhere else."""
from __future__ import annotations

import datetime as dt

import pytest

from engine import cancels, orders
from engine.models import CancelResult, CancelUpload, CancelWithdrawal, CsHistory, Order
from tests.conftest import NOW, new_order
from tests.test_api import api, error  # noqa: F401 - the api fixture
from tests.test_cancels import COLUMNS, make_xlsx


def ctx(user):
    return orders.Context(user, NOW)


@pytest.fixture
def worked(world):
    a = new_order(world, order_no="ORD-A")
    b = new_order(world, channel=world.coupang, order_no="ORD-B")
    orders.perform("cancel", a.id, {"reason": "취소-분실"}, ctx(world.agent))
    orders.perform("hold", b.id, {"cs_text": "확인 중"}, ctx(world.agent2))
    return a, b


def test_cs_history_search_with_the_pages_filters_and_paging(app, api, world, worked):
    a, b = worked
    viewer = api("viewer")
    everything = viewer.get("/cs-history").json
    assert everything["total"] == 4 and everything["page"] == 1
    cancelled = viewer.get("/cs-history?operation=cancel").json
    assert cancelled["total"] == 1
    (line,) = cancelled["history"]
    assert (line["order_id"], line["order_no"], line["channel"], line["operation"],
            line["detail"], line["processed"], line["order_cs_state"]) == (
        a.id, "ORD-A", "11번가", "cancel", "[취소사유 : 취소-분실]", False, "취소")
    assert line["at"].startswith("2026-03-31T17:00") and line["operator"] == "장유리"
    assert viewer.get(f"/cs-history?operator={world.agent2.id}").json["total"] == 1
    assert viewer.get("/cs-history?q=확인 중").json["history"][0]["order_id"] == b.id
    assert viewer.get("/cs-history?cancel_type=취소-분실").json["total"] == 1
    paged = viewer.get("/cs-history?per_page=3&page=2").json
    assert (paged["total"], paged["pages"], len(paged["history"])) == (4, 2, 1)
    bad = error(viewer.get("/cs-history?operation=nope&per_page=900"), 422)
    assert set(bad["fields"]) == {"operation", "per_page"}


def test_complete_through_the_api(app, api, world, worked):
    ids = [h.id for h in CsHistory.select()]
    assert error(api("viewer").post("/cs-history/complete", json={"ids": ids}), 403)
    agent = api("agent")
    assert agent.post("/cs-history/complete", json={"ids": ids[:2]}).json == {"completed": 2}
    assert api("viewer").get("/cs-history?processed=0").json["total"] == 2
    assert error(agent.post("/cs-history/complete", json={"ids": "1"}), 422)["field"] == "ids"


@pytest.fixture
def cancel_file(world, tmp_path):
    cancels.save_format(world.st11.id, dict(COLUMNS), ctx(world.admin))
    good = new_order(world, order_no="C-1")
    late = new_order(world, order_no="C-2")
    orders.perform("invoice", late.id, {"courier": "CJ대한통운", "tracking_no": "555"},
                   ctx(world.agent))
    back = new_order(world, order_no="C-3")
    path = make_xlsx(tmp_path / "c.xlsx", [["C-1", None, None, "취소-분실", None, None, None],
                                           ["C-2", None, None, None, None, None, None],
                                           ["C-9", None, None, None, None, None, None],
                                           ["C-1", None, "x", None, None, None, None],
                                           ["C-3", None, None, None, None, None, "철회"]])
    return path, good, late, back


def test_cancel_upload_preview_then_confirm(app, api, world, cancel_file):
    path, good, late, back = cancel_file
    agent = api("agent", language="en")
    with open(path, "rb") as handle:
        response = agent.post(f"/channels/{world.st11.id}/cancel-uploads",
                              data={"file": (handle, "c.xlsx")},
                              content_type="multipart/form-data")
    assert response.status_code == 201, response.get_data(as_text=True)
    preview = response.json
    assert preview["status"] == "preview" and preview["summary"]["good"] == 3
    rows = {r["row"]: r for r in preview["rows"]}
    assert (rows[2]["action"], rows[2]["order_id"], rows[2]["ok"]) == ("cancel", good.id, True)
    assert rows[3]["action"] == "hold" and rows[6]["action"] == "withdrawal"
    assert rows[4]["problems"][0]["message"] == "No order C-9 in this channel."
    assert rows[5]["problems"][0] == {"column": "C", "header": "수량", "field": "quantity",
                                      "message": "Quantity: must be a whole number (found x)"}
    assert Order.get_by_id(good.id).cs_state == "정상"          # nothing applied yet
    assert api("viewer").get(f"/cancel-uploads/{preview['id']}").json["id"] == preview["id"]
    assert error(api("viewer").post(f"/cancel-uploads/{preview['id']}/confirm"), 403)
    applied = agent.post(f"/cancel-uploads/{preview['id']}/confirm")
    assert applied.status_code == 200 and applied.json["status"] == "applied"
    assert Order.get_by_id(good.id).cs_state == "취소" and Order.get_by_id(late.id).hold
    assert CancelResult.select().count() == 2 and CancelWithdrawal.select().count() == 1
    assert error(agent.post(f"/cancel-uploads/{preview['id']}/confirm"), 409)["code"] == "state"


def test_cancel_upload_refusals(app, api, world, cancel_file):
    agent = api("agent")
    assert error(agent.post(f"/channels/{world.st11.id}/cancel-uploads"), 422)["field"] == "file"
    import io
    wrong = agent.post(f"/channels/{world.st11.id}/cancel-uploads",
                       data={"file": (io.BytesIO(b"no"), "c.csv")},
                       content_type="multipart/form-data")
    assert error(wrong, 422)["field"] == "file"
    assert error(agent.post("/channels/9999/cancel-uploads",
                            data={"file": (io.BytesIO(b"no"), "c.xlsx")},
                            content_type="multipart/form-data"), 404)["code"] == "not_found"
    assert error(agent.get("/cancel-uploads/12345"), 404)
    assert error(api("viewer").post(f"/channels/{world.st11.id}/cancel-uploads",
                                    data={"file": (io.BytesIO(b"no"), "c.xlsx")},
                                    content_type="multipart/form-data"), 403)
    assert CancelUpload.select().count() == 0


def test_withdrawal_through_the_api(app, api, world, cancel_file):
    path, good, late, back = cancel_file
    agent = api("agent")
    response = agent.post(f"/channels/{world.st11.id}/cancel-withdrawals",
                          json={"order_no": "C-1", "withdrawn_at": "2026-03-31 16:30",
                                "note": "고객이 철회"})
    assert response.status_code == 201
    assert (response.json["order_id"], response.json["withdrawn_at"][:16]) == (
        good.id, "2026-03-31T16:30")
    withdrawal = CancelWithdrawal.get()
    assert (withdrawal.source, withdrawal.withdrawn_at) == ("api", dt.datetime(2026, 3, 31, 7, 30))
    assert error(agent.post(f"/channels/{world.st11.id}/cancel-withdrawals",
                            json={"order_no": "C-9"}), 422)["field"] == "order_no"
    assert error(api("viewer").post(f"/channels/{world.st11.id}/cancel-withdrawals",
                                    json={"order_no": "C-1"}), 403)
    assert CancelWithdrawal.select().count() == 1


def test_routes_declare_read_or_operate(app):
    capabilities = {rule.rule: app.view_functions[rule.endpoint].required_capability
                    for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api_cs.")}
    assert capabilities == {
        "/api/v1/cs-history": "read", "/api/v1/cs-history/complete": "operate",
        "/api/v1/channels/<int:channel_id>/cancel-uploads": "operate",
        "/api/v1/cancel-uploads/<int:upload_id>": "read",
        "/api/v1/cancel-uploads/<int:upload_id>/confirm": "operate",
        "/api/v1/channels/<int:channel_id>/cancel-withdrawals": "operate"}
