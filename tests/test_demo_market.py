"""The demo marketplace (데모마켓): deterministic over time, persistent, keyed, and visible."""
from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request

import pytest

from engine.connectors import demo_market
from tests.conftest import NOW


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def get(url, key=demo_market.DEMO_KEY):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


@pytest.fixture
def served(tmp_path):
    clock = Clock(NOW)
    market = demo_market.DemoMarket(tmp_path / "m.json", clock=clock)
    server = demo_market.serve(market, "127.0.0.1", 0)
    market.url = "http://127.0.0.1:%d" % server.server_address[1]
    market.time = clock
    yield market
    server.shutdown()
    server.server_close()


def test_the_same_seed_and_clock_make_the_same_market(tmp_path):
    one = demo_market.DemoMarket(None, clock=Clock(NOW))
    two = demo_market.DemoMarket(None, clock=Clock(NOW))
    assert one.orders({}) == two.orders({}) and one.orders({})["orders"]
    other = demo_market.DemoMarket(None, seed=1, clock=Clock(NOW))
    assert other.orders({}) != one.orders({})


def test_new_things_appear_as_slots_pass_and_only_then(tmp_path):
    clock = Clock(NOW)
    market = demo_market.DemoMarket(None, clock=clock, backlog=dt.timedelta(0))
    assert market.status()["orders"] == 0
    clock.now = NOW + dt.timedelta(minutes=14)
    assert market.status()["orders"] == 0                  # the first slot is not over yet
    clock.now = NOW + dt.timedelta(days=1)
    made = market.status()
    assert made["orders"] > 20 and made["inquiries"] > 0 and made["claims"] > 0
    assert market.status() == made                         # asking again makes nothing


def test_the_state_survives_a_restart(tmp_path):
    path = tmp_path / "m.json"
    clock = Clock(NOW)
    market = demo_market.DemoMarket(path, clock=clock)
    market.orders({})
    order_no = sorted(no for no, o in market.state["orders"].items() if o["status"] == "new")[0]
    market.invoices({"invoices": [{"orderNo": order_no, "courier": "CJ대한통운",
                                   "trackingNo": "123"}]})
    again = demo_market.DemoMarket(path, clock=clock)
    assert again.status() == market.status()
    assert again.status()["invoices"][order_no]["trackingNo"] == "123"


def test_the_api_needs_the_key(served):
    assert get(served.url + "/api/v1/orders")["orders"]
    with pytest.raises(urllib.error.HTTPError) as err:
        get(served.url + "/api/v1/orders", key="wrong")
    assert err.value.code == 401


def test_orders_are_answered_for_the_window_asked(served):
    all_orders = get(served.url + "/api/v1/orders")["orders"]
    first = all_orders[0]["orderedAt"]
    window = get(served.url + "/api/v1/orders?" + urllib.parse.urlencode(
        {"from": first, "to": first}))["orders"]
    assert [o["orderNo"] for o in window] == [all_orders[0]["orderNo"]]
    assert first.endswith("+09:00")                        # the market speaks Korean time


def test_the_status_page_shows_what_was_received(served):
    served.add_order("S-1", NOW - dt.timedelta(hours=1), [("30001", 1)])
    served.invoices({"invoices": [{"orderNo": "S-1", "courier": "한진택배",
                                   "trackingNo": "999"}]})
    served.add_inquiry("Q-1", "urgent", NOW, "급해요", "빨리")
    served.answer("Q-1", {"text": "확인했습니다"})
    with urllib.request.urlopen(served.url + "/", timeout=5) as response:
        page = response.read().decode()
    assert "S-1" in page and "999" in page and "확인했습니다" in page
    status = get(served.url + "/status.json", key="")
    assert status["invoices"]["S-1"]["courier"] == "한진택배"


def test_a_cancelled_order_refuses_its_invoice(served):
    served.add_order("C-1", NOW - dt.timedelta(hours=1), [("30001", 1)])
    served.add_claim("C-1", "cancel", NOW, "취소-고객변심")
    result = served.invoices({"invoices": [{"orderNo": "C-1", "trackingNo": "1"}]})
    assert result["results"] == [{"orderNo": "C-1", "ok": False, "message": "취소된 주문입니다"}]


def test_the_address_setting(monkeypatch):
    assert demo_market.address_from_env("") == ("127.0.0.1", 8765)
    assert demo_market.address_from_env("0.0.0.0:9000") == ("0.0.0.0", 9000)
    assert demo_market.address_from_env("off") is None
    with pytest.raises(ValueError):
        demo_market.address_from_env("here:there")


def test_demo_data_has_the_demo_channel_and_a_job_of_each_kind_all_off(database):
    from cryptography.fernet import Fernet

    from engine import credentials, demo
    from engine.models import Channel, Job
    credentials.configure(Fernet.generate_key())
    try:
        demo.load(NOW, order_count=5, market_url="http://127.0.0.1:8765")
        channel = Channel.get(Channel.name == "데모마켓")
        assert channel.connector == "demo"
        assert channel.connector_settings == {"base_url": "http://127.0.0.1:8765"}
        assert credentials.decrypt(channel.credentials) == {"api_key": demo_market.DEMO_KEY}
    finally:
        credentials.configure(None)
    kinds = sorted(j.kind for j in Job.select())
    assert kinds == sorted(["collect_orders", "sync_claims", "send_invoices",
                            "collect_inquiries", "send_answers", "rule_batch"])
    assert not any(j.enabled for j in Job.select())
    # the demo orders never go to the demo channel: its orders come from the market
    assert not channel.orders.exists()


def test_flask_demo_market_command_is_registered(app):
    assert "demo-market" in app.cli.commands
