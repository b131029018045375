"""The messages API (/api/v1/messages): preview, idempotent send, history; 401/403/422."""
from __future__ import annotations

import datetime as dt

import pytest

from engine import sending
from engine.models import Message, MessageTemplate, SenderNumber, User
from tests.conftest import NOW, PASSWORD, new_order

TZ = sending.clock.zone("Asia/Seoul")
TEXT = "#{수령자}님, 주문 #{주문번호} 상품을 발송했습니다."


class Client:
    def __init__(self, client, token=None):
        self.client, self.token = client, token

    def headers(self, extra=None):
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        headers.update(extra or {})
        return headers

    def get(self, path, **kwargs):
        return self.client.get("/api/v1/messages" + path, headers=self.headers(), **kwargs)

    def post(self, path, json=None, headers=None, **kwargs):
        return self.client.post("/api/v1/messages" + path, json=json,
                                headers=self.headers(headers), **kwargs)


@pytest.fixture
def api(app, world):
    def as_user(username):
        client = app.test_client()
        response = client.post("/api/v1/token", json={"username": username, "password": PASSWORD})
        assert response.status_code == 200, response.get_data(as_text=True)
        return Client(client, response.json["token"])
    return as_user


@pytest.fixture
def sender(world):
    return SenderNumber.create(number="15881234", label="대표번호")


@pytest.fixture
def three(world):
    return [new_order(world, recipient_name="장유리", recipient_mobile="010-1111-0001"),
            new_order(world, recipient_name="가" * 30, recipient_mobile="010-1111-0002"),
            new_order(world, recipient_name="함정리", recipient_mobile="010-1111-0003")]


def error(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return response.json["error"]


def test_preview_per_recipient(api, sender, three):
    response = api("agent").post("/preview", json={
        "channel": "sms", "sender": "1588-1234", "text": TEXT, "order_ids": [o.id for o in three]})
    assert response.status_code == 200, response.get_data(as_text=True)
    recipients = response.json["recipients"]
    assert sorted(r["type"] for r in recipients) == ["LMS", "SMS", "SMS"]
    first = next(r for r in recipients if r["order_id"] == three[0].id)
    assert first["to"] == "01011110001" and first["text"].startswith("장유리님, 주문 ")
    assert first["bytes"] < 90 and first["problems"] == [] and first["notes"] == []
    assert set(first) >= {"to", "order_id", "type", "bytes", "text", "problems", "notes"}
    assert Message.select().count() == 0


def test_preview_accepts_kind_alias_typed_numbers_and_lists_problems(api, sender, world):
    client = api("agent")
    response = client.post("/preview", json={"kind": "sms", "sender": "15881234",
                                             "text": "배송 시작 🚚", "to": ["010-2222-3333"]})
    item = response.json["recipients"][0]
    assert (item["to"], item["order_id"], item["type"]) == ("01022223333", None, "SMS")
    assert item["problems"] and "🚚" in item["problems"][0]
    order = new_order(world)
    template = MessageTemplate.create(name="발송", kind="alimtalk", alimtalk_code="S1", body=TEXT,
                                      fallback_text="[발송] #{수령자}님")
    alimtalk = client.post("/preview", json={"channel": "alimtalk", "sender": "15881234",
                                             "template": template.id, "order_id": order.id})
    item = alimtalk.json["recipients"][0]
    assert item["type"] == "ALIMTALK" and item["fallback"]["text"].startswith("[발송]")


def test_send_with_idempotency_key_twice_stores_once(api, sender, three):
    client = api("agent")
    body = {"channel": "sms", "sender": "15881234", "text": TEXT,
            "order_ids": [o.id for o in three]}
    first = client.post("", json=body, headers={"Idempotency-Key": "shop-42-ship"})
    assert first.status_code == 201, first.get_data(as_text=True)
    assert len(first.json["stored"]) == 3 and first.json["duplicates"] == 0
    assert first.json["batch"] == "shop-42-ship"
    assert {m["status"] for m in first.json["messages"]} == {"queued"}
    second = client.post("", json=body, headers={"Idempotency-Key": "shop-42-ship"})
    assert second.status_code == 200
    assert (second.json["stored"], second.json["duplicates"]) == ([], 3)
    assert Message.select().count() == 3
    assert {m.operator_id for m in Message.select()} == {user_id("agent")}
    other = client.post("", json=body)                                 # no key: a new send
    assert other.status_code == 201 and Message.select().count() == 6


def user_id(username):
    return User.get(User.username == username).id


def test_send_reports_skipped_and_refuses_when_nothing_can_go(api, sender, world):
    client = api("agent")
    good, no_phone = new_order(world), new_order(world, recipient_mobile="")
    partial = client.post("", json={"channel": "sms", "sender": "15881234", "text": "안내",
                                    "order_ids": [good.id, no_phone.id]})
    assert partial.status_code == 201 and len(partial.json["skipped"]) == 1
    assert partial.json["skipped"][0]["order_id"] == no_phone.id
    nothing = client.post("", json={"channel": "sms", "sender": "15881234", "text": "안내",
                                    "order_ids": [no_phone.id]})
    err = error(nothing, 422)
    assert err["skipped"][0]["problems"] and Message.select().count() == 1


def test_history_with_usage_fields_filters_and_paging(api, world, sender, three):
    SenderNumber.create(number="07047548135", registered=False)
    raw = {"channel": "sms", "sender": "15881234", "text": TEXT}
    sending.send(raw, world.agent, NOW, TZ, "b-1", order_ids=[o.id for o in three])
    sending.send(dict(raw, text="교환 안내", sender="07047548135"), world.agent, NOW, TZ, "b-2",
                 to=["010-9999-8888"])
    sending.deliver_due(NOW + dt.timedelta(seconds=10), sending.Providers())
    client = api("viewer")
    everything = client.get("")
    assert everything.status_code == 200 and everything.json["total"] == 4
    item = everything.json["messages"][0]
    assert set(item) >= {"id", "provider_id", "type", "status", "carrier_result", "requested_at",
                         "sent_at", "to", "subject", "text", "order_id"}
    failed = client.get("?status=failed").json["messages"]
    assert [(m["to"], m["carrier_result"], m["sent_at"]) for m in failed] == [
        ("01099998888", "회신번호 사전 등록제 번호규칙 위반", None)]
    sent = client.get("?status=sent&type=sms").json
    assert sent["total"] == 2
    assert all(m["provider_id"].startswith("outbox-") for m in sent["messages"])
    assert sent["messages"][0]["requested_at"].startswith("2026-03-31T17:00:00+09:00")
    assert client.get("?type=LMS").json["total"] == 1
    assert client.get(f"?q={three[2].order_no}").json["messages"][0]["order_id"] == three[2].id
    assert client.get("?from=2026-03-31&to_date=2026-03-31").json["total"] == 4
    assert client.get("?from=2026-04-01").json["total"] == 0
    page = client.get("?per_page=3&page=2").json
    assert (page["total"], page["pages"], len(page["messages"])) == (4, 2, 1)
    one = client.get(f"/{failed[0]['id']}")
    assert one.status_code == 200 and one.json["status"] == "failed"


def test_unauthenticated_forbidden_and_invalid(api, app, world, sender, three):
    anonymous = app.test_client()
    assert error(anonymous.get("/api/v1/messages"), 401)["code"] == "unauthenticated"
    assert error(anonymous.post("/api/v1/messages/preview", json={}), 401)
    wrong = Client(app.test_client(), "not-a-token")
    assert error(wrong.post("", json={"channel": "sms"}), 401)
    viewer = api("viewer")
    body = {"channel": "sms", "sender": "15881234", "text": "안내", "order_ids": [three[0].id]}
    assert error(viewer.post("", json=body), 403)["code"] == "forbidden"
    assert error(viewer.post("/preview", json=body), 403)
    assert Message.select().count() == 0
    agent = api("agent")
    assert error(agent.post("", json=dict(body, channel="fax")), 422)["field"] == "channel"
    assert error(agent.post("", json=dict(body, text="#{수령인}님")), 422)["field"] == "text"
    assert error(agent.post("", json=dict(body, order_ids="1,2")), 422)["field"] == "order_ids"
    assert error(agent.post("", json=dict(body, order_ids=[999999])), 404)["code"] == "not_found"
    assert error(agent.post("", json={"channel": "sms", "sender": "15881234", "text": "x"}),
                 422)["field"] == "to"
    assert error(agent.post("", json=dict(body, to=["010-1111-2222"])), 422)["field"] == "to"
    assert error(agent.post("", json=body, headers={"Idempotency-Key": "x" * 65}),
                 422)["field"] == "Idempotency-Key"
    bad_json = agent.client.post("/api/v1/messages", data="[1, 2]",
                                 headers=agent.headers({"Content-Type": "application/json"}))
    assert error(bad_json, 400)["code"] == "bad_request"
    assert error(agent.get("?from=yesterday"), 422)["field"] == "from"
    assert error(agent.get("?type=fax"), 422)["field"] == "type"
    assert error(agent.get("?from=2026-04-02&to_date=2026-04-01"), 422)["field"] == "to_date"
    assert error(agent.get("/999999"), 404)
    assert Message.select().count() == 0


def test_ad_at_night_is_held_and_reported(api, world, sender, monkeypatch):
    night = dt.datetime(2026, 3, 31, 13, 30)  # 22:30 in Seoul
    monkeypatch.setattr("views.api_messages.utcnow", lambda: night)
    order = new_order(world)
    response = api("agent").post("/preview", json={
        "channel": "sms", "sender": "15881234", "is_ad": True, "order_ids": [order.id],
        "text": "(광고) 봄 세일\n무료수신거부 080-123-4567"})
    item = response.json["recipients"][0]
    assert item["is_ad"] and item["notes"] and item["send_after"].startswith("2026-04-01T08:00")
