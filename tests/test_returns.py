"""The returns pages (반품관리, 반품통계) over HTTP and their JSON API (/api/v1/returns)."""
from __future__ import annotations

import datetime as dt
import io
import json
import re

import pytest

from engine import orders, pickups
from engine.models import CsHistory, Pickup
from tests.conftest import NOW, PASSWORD, new_order

HX = {"HX-Request": "true"}


def text(response) -> str:
    return response.get_data(as_text=True)


def ctx(user, minutes=0):
    return orders.Context(user, NOW + dt.timedelta(minutes=minutes))


def picked_up(world, minutes=0, reason="반품-불량", number="1", **fields):
    order = new_order(world, **fields)
    c = ctx(world.agent, minutes)
    orders.perform("invoice", order.id, {"courier": "CJ대한통운", "tracking_no": number}, c)
    orders.perform("ship", order.id, {}, c)
    orders.perform("pickup", order.id, {"courier": "CJ대한통운", "reason": reason,
                                        "expected_card": 25800}, c)
    return order, pickups.for_order(order.id)[0]


def pickup_rows(body: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr id="pickup-(\d+)"', body)]


@pytest.fixture
def agent(login):
    return login("agent")


# --- the returns page -------------------------------------------------------------------------

def test_returns_page_lists_pickups_with_the_seed_columns(world, agent):
    order, pickup = picked_up(world, recipient_name="장유리")
    response = agent.get("/returns/")
    body = text(response)
    assert response.status_code == 200 and "<html" in body
    assert pickup_rows(body) == [pickup.id]
    row = re.search(rf'<tr id="pickup-{pickup.id}".*?</tr>', body, re.S).group(0)
    assert "장유리" in row and "순면 티셔츠" in row and "화이트-M" in row
    assert "2026-03-31" in row  # shipped at (local date)
    assert 'class="pill pickup-요청"' in row and "25,800" in row
    assert re.search(r'class="num owed">25,800<', row)  # 미수 = expected − arrived
    assert f'name="ids" value="{pickup.id}"' in row
    assert 'href="/returns/download' in body and 'href="/returns/stats"' in body
    assert re.search(r'<nav>.*href="/returns/" class="on".*</nav>', body, re.S)  # the nav link


def test_returns_filters_through_the_query_string(world, agent):
    _, first = picked_up(world, recipient_name="장유리", number="1")
    _, second = picked_up(world, minutes=60 * 24, recipient_name="함정리", number="2",
                          channel=world.mall)
    assert pickup_rows(text(agent.get("/returns/"))) == [second.id, first.id]
    assert pickup_rows(text(agent.get("/returns/?q=함정리"))) == [second.id]
    assert pickup_rows(text(agent.get(f"/returns/?channel={world.mall.id}"))) == [second.id]
    assert pickup_rows(text(agent.get("/returns/?date_to=2026-03-31"))) == [first.id]
    assert pickup_rows(text(agent.get("/returns/?status=완료"))) == []
    body = text(agent.get("/returns/?status=없음"))
    assert 'class="field has-error' in body and len(pickup_rows(body)) == 2
    fragment = text(agent.get("/returns/?q=장유리", headers=HX))
    assert fragment.strip().startswith('<section id="results"') and "<html" not in fragment


def test_complete_selected_pickups(world, agent):
    a, pa = picked_up(world, number="1")
    b, pb = picked_up(world, number="2")
    response = agent.post("/returns/complete", data={"ids": [pa.id, pb.id]}, headers=HX)
    assert response.status_code == 200
    assert "2" in json.loads(response.headers["HX-Trigger"])["ruledesk:toast"]
    assert {p.status for p in Pickup.select()} == {"완료"}
    assert CsHistory.select().where(CsHistory.operation == "pickup_complete").count() == 2
    assert f'name="ids" value="{pa.id}"' not in text(response)  # completed: no box any more
    again = agent.post("/returns/complete", data={"ids": [pa.id]}, headers=HX)
    assert "HX-Trigger" not in again.headers
    assert re.search(r'<p class="error" role="alert">', text(again))
    nothing = agent.post("/returns/complete", data={}, headers=HX)
    assert re.search(r'<p class="error" role="alert">', text(nothing))


def test_viewer_sees_returns_but_cannot_complete(world, login):
    _, pickup = picked_up(world)
    viewer = login("viewer")
    body = text(viewer.get("/returns/"))
    assert pickup_rows(body) == [pickup.id] and 'name="ids"' not in body
    assert viewer.post("/returns/complete", data={"ids": [pickup.id]}).status_code == 403
    assert Pickup.get_by_id(pickup.id).status == "요청"


def test_download_is_an_xlsx_of_the_search(world, agent):
    from openpyxl import load_workbook
    picked_up(world, recipient_name="장유리", number="1")
    picked_up(world, recipient_name="함정리", number="2")
    response = agent.get("/returns/download?q=함정리")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(load_workbook(io.BytesIO(response.data)).active.values)
    assert len(rows) == 2 and rows[1][6] == "함정리"


def test_return_statistics_page_draws_the_chart_and_the_table(world, agent):
    picked_up(world, number="1")
    picked_up(world, number="2", reason="단순교환")
    picked_up(world, minutes=60 * 24, number="3")
    body = text(agent.get("/returns/stats?date_from=2026-03-30&date_to=2026-04-01"))
    assert "<svg" in body
    bar = re.search(r'<g class="bar" data-day="2026-03-31">.*?</g>', body, re.S).group(0)
    assert re.findall(r'data-reason="([^"]+)" data-count="(\d+)"', bar) == [
        ("반품-불량", "1"), ("단순교환", "1")]
    row = re.search(r'<tr data-day="2026-04-01">.*?</tr>', body, re.S).group(0)
    assert re.search(r'data-reason="반품-불량">1<', row)
    assert re.search(r'<tr data-day="2026-03-30">', body)
    for reason in ("반품-취소(환불)", "취소-배송지연", "단순교환", "상품교환"):
        assert f">{reason}</th>" in body
    # defaults and bad ranges never fail
    assert agent.get("/returns/stats").status_code == 200
    body = text(agent.get("/returns/stats?date_from=2026-04-02&date_to=2026-03-01"))
    assert 'class="field has-error' in body
    assert agent.get("/returns/stats?date_from=2025-01-01&date_to=2026-03-01").status_code == 200


# --- the API --------------------------------------------------------------------------------

@pytest.fixture
def token(app, world):
    def for_user(username):
        response = app.test_client().post("/api/v1/token",
                                          json={"username": username, "password": PASSWORD})
        return {"Authorization": f"Bearer {response.json['token']}"}
    return for_user


def test_api_lists_returns_with_filters_and_sums(app, world, token):
    _, first = picked_up(world, recipient_name="장유리", number="1")
    _, second = picked_up(world, minutes=60, recipient_name="함정리", number="2")
    client = app.test_client()
    body = client.get("/api/v1/returns", headers=token("viewer")).json
    assert [r["id"] for r in body["returns"]] == [second.id, first.id]
    assert body["total"] == 2 and body["sums"]["expected_card"] == 51600
    row = body["returns"][1]
    assert (row["status"], row["recipient"], row["expected_card"], row["outstanding"]) == (
        "요청", "장유리", 25800, 25800)
    assert row["lines"][0]["product"] == "순면 티셔츠"
    assert row["requested_at"] == "2026-03-31T17:00:00+09:00"
    found = client.get("/api/v1/returns", query_string={"q": "함정리"},
                       headers=token("viewer")).json
    assert [r["id"] for r in found["returns"]] == [second.id]
    err = client.get("/api/v1/returns", query_string={"status": "x", "per_page": 900},
                     headers=token("viewer"))
    assert err.status_code == 422 and set(err.json["error"]["fields"]) == {"status", "per_page"}
    assert client.get("/api/v1/returns").status_code == 401


def test_api_return_stats(app, world, token):
    picked_up(world, number="1")
    body = app.test_client().get("/api/v1/returns/stats", headers=token("viewer"),
                                 query_string={"date_from": "2026-03-31",
                                               "date_to": "2026-04-01"}).json
    assert body["total"] == 1
    assert body["days"] == [{"date": "2026-03-31", "total": 1, "counts": {"반품-불량": 1}},
                            {"date": "2026-04-01", "total": 0, "counts": {}}]
    bad = app.test_client().get("/api/v1/returns/stats", headers=token("viewer"))
    assert bad.status_code == 422


def test_api_completes_pickups_and_viewer_is_403(app, world, token):
    _, pickup = picked_up(world)
    client = app.test_client()
    denied = client.post("/api/v1/returns/complete", json={"ids": [pickup.id]},
                         headers=token("viewer"))
    assert denied.status_code == 403 and Pickup.get_by_id(pickup.id).status == "요청"
    done = client.post("/api/v1/returns/complete", json={"ids": [pickup.id]},
                       headers=token("agent"))
    assert done.status_code == 200 and done.json["returns"][0]["status"] == "완료"
    assert client.post("/api/v1/returns/complete", json={"ids": [pickup.id]},
                       headers=token("agent")).status_code == 422
