"""Marketplace connectors (issue #7, seed 000): the five connector jobs against the real demo
marketplace served on a free port, with a clock the test moves."""
from __future__ import annotations

import datetime as dt

import pytest
from cryptography.fernet import Fernet

from engine import channels, credentials, inquiries, jobs, orders
from engine.connectors import demo_market
from engine.errors import StateError, ValidationError
from engine.models import (
    CancelResult, CancelWithdrawal, Channel, ClaimReceipt, CsHistory, Inquiry, InvoicePush,
    JobRun, Message, Order, SenderNumber, db,
)
from tests.conftest import NOW, new_order

TZ = jobs.clock.zone("Asia/Seoul")
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture(autouse=True)
def credentials_key():
    credentials.configure(Fernet.generate_key())
    yield
    credentials.configure(None)


@pytest.fixture
def market(tmp_path):
    """The demo marketplace on a free port; it makes nothing by itself (backlog 0, the test
    adds what it needs) until the clock moves past whole slots."""
    clock = Clock(NOW)
    m = demo_market.DemoMarket(tmp_path / "market.json", clock=clock, backlog=dt.timedelta(0))
    server = demo_market.serve(m, "127.0.0.1", 0)
    m.url = "http://127.0.0.1:%d" % server.server_address[1]
    m.time = clock
    yield m
    server.shutdown()
    server.server_close()


def connect(world, channel, market, key=demo_market.DEMO_KEY):
    return channels.update_channel(world.admin, channel.id, {
        "name": channel.name, "active": "1", "connector": "demo",
        "setting_base_url": market.url, "secret_api_key": key})


def job(world, kind, name=None, **values):
    raw = {"name": name or kind, "kind": kind, "enabled": False, "weekdays": EVERY_DAY,
           "start": "00:00", "end": "24:00", "every_hours": 1, "channels": ["11번가"]}
    raw.update(values)
    return jobs.save_job(world.admin, raw, now=NOW)


def run(world, job_, at=NOW):
    runs = jobs.run_now(world.admin, job_.id, at)
    assert len(runs) >= 1
    return runs[0] if len(runs) == 1 else runs


@pytest.fixture
def demo(world, market):
    connect(world, world.st11, market)
    return world


@pytest.fixture
def demo_catalog(world):
    """The rest of the demo products, so whatever the market makes resolves to an option."""
    from engine.demo import catalog
    from engine.models import Product, ProductOption
    known = {o.code for o in ProductOption.select()}
    products = {}
    for item in catalog():
        if item.option_code in known:
            continue
        if item.product_code not in products:
            products[item.product_code] = Product.create(code=item.product_code,
                                                         name=item.product_name)
        ProductOption.create(product=products[item.product_code], code=item.option_code,
                             name=item.option_name, price_a=item.price)


def st11_orders():
    return {o.order_no: o for o in Order.select().where(Order.channel == Channel.get(
        Channel.name == "11번가").id)}


# --- 주문수집 --------------------------------------------------------------------------------

def test_collected_orders_land_in_the_console_once(demo, market):
    market.add_order("DM-1", NOW - dt.timedelta(hours=2), [("30001", 2), ("30003", 1)])
    market.add_order("DM-2", NOW - dt.timedelta(hours=1), [("30002", 1)], buyer="박고객")
    collect = job(demo, "collect_orders")
    first = run(demo, collect)
    assert first.status == "done", first.error
    assert first.counts == {"collected": 2, "duplicates": 0, "failed": 0, "fetched": 2}
    assert "DM-1" in first.detail and "DM-2" in first.detail
    found = st11_orders()
    assert sorted(found) == ["DM-1", "DM-2"]
    one = found["DM-1"]
    # our products by their option codes, at the price the marketplace sold them for
    assert [(ln.option_code, ln.product_name, ln.quantity, ln.unit_price)
            for ln in one.lines] == [("30001", "순면 티셔츠", 2, 15900),
                                     ("30003", "제주 감귤", 1, 15900)]
    assert one.received_at == NOW - dt.timedelta(hours=2)
    assert one.recipient_mobile == "010-1234-5678"
    note = CsHistory.get(CsHistory.order == one.id)
    assert note.operation == "create" and "[주문수집 : 11번가]" in note.detail
    second = run(demo, collect, NOW + dt.timedelta(minutes=5))
    assert second.counts["collected"] == 0 and second.counts["duplicates"] == 2
    assert Order.select().count() == 2


def test_an_order_with_an_unknown_product_is_listed_and_not_imported(demo, market):
    market.add_order("DM-9", NOW - dt.timedelta(hours=1), [("99999", 1)])
    result = run(demo, job(demo, "collect_orders"))
    assert result.status == "done" and result.counts["failed"] == 1
    assert "DM-9" in result.detail and "99999" in result.detail
    assert Order.select().count() == 0


def test_confirm_option_confirms_only_the_new_orders(demo, market):
    new_order(demo, order_no="DM-OLD")                    # known already: not confirmed again
    market.add_order("DM-OLD", NOW - dt.timedelta(hours=1), [("30001", 1)])
    market.add_order("DM-NEW", NOW - dt.timedelta(hours=1), [("30001", 1)])
    result = run(demo, job(demo, "collect_orders", options={"confirm": True}))
    assert result.counts["confirmed"] == 1
    assert market.status()["confirmed"] == ["DM-NEW"]


def test_orders_older_than_the_look_back_are_not_collected(demo, market):
    market.add_order("DM-OLD", NOW - dt.timedelta(days=20), [("30001", 1)])
    result = run(demo, job(demo, "collect_orders"))
    assert result.counts["fetched"] == 0 and Order.select().count() == 0


def test_collected_orders_fire_the_created_rules(demo, market):
    from engine import events, rules
    rules.forget_index()
    dispatcher = rules.install(clock=lambda: NOW)
    try:
        rules.save_rule(demo.admin, {"name": "신규 보류", "trigger": {"event": "created"},
                                     "actions": [{"type": "hold"}]})
        market.add_order("DM-R", NOW - dt.timedelta(hours=1), [("30001", 1)])
        run(demo, job(demo, "collect_orders"))
    finally:
        events.unlisten(dispatcher)
        rules.forget_index()
    assert st11_orders()["DM-R"].hold is True


def test_a_wrong_key_fails_only_that_shop_account(demo, market):
    connect(demo, demo.coupang, market, key="wrong-key-123456")
    market.add_order("DM-1", NOW - dt.timedelta(hours=1), [("30001", 1)])
    runs = run(demo, job(demo, "collect_orders", channels=["11번가", "쿠팡"]))
    by_channel = {r.channel: r for r in runs}
    assert by_channel["11번가"].status == "done" and by_channel["11번가"].counts["collected"] == 1
    assert by_channel["쿠팡"].status == "failed"
    assert "authentication failed" in by_channel["쿠팡"].error


def test_a_channel_without_connector_says_so(world):
    result = run(world, job(world, "collect_orders"))
    assert result.status == "failed" and "has no marketplace connector" in result.error


def test_a_job_for_all_shop_accounts_works_only_where_it_can(demo, market, tmp_path):
    """"all" = the connected accounts whose connector does the job: 11번가 (demo) collects,
    쿠팡 (no connector) and 자사몰 (an Excel folder: no tracking numbers) are left out instead
    of failing every run; naming them still runs there and fails visibly."""
    channels.update_channel(demo.admin, demo.mall.id, {
        "name": "자사몰", "active": "1", "connector": "excel", "setting_folder": str(tmp_path)})
    collect = jobs.run_now(demo.admin, job(demo, "collect_orders", channels="all").id, NOW)
    assert sorted(r.channel for r in collect) == ["11번가", "자사몰"]
    send = jobs.run_now(demo.admin, job(demo, "send_invoices", channels="all").id, NOW)
    assert [r.channel for r in send] == ["11번가"]
    named = run(demo, job(demo, "send_invoices", name="자사몰 송장", channels=["자사몰"]))
    assert named.status == "failed" and "does not support" in named.error


def test_an_unreachable_market_fails_the_run_with_its_address(demo, market):
    channels.update_channel(demo.admin, demo.st11.id, {
        "name": "11번가", "active": "1", "connector": "demo",
        "setting_base_url": "http://127.0.0.1:9", "secret_api_key": ""})
    result = run(demo, job(demo, "collect_orders"))
    assert result.status == "failed" and "127.0.0.1:9" in result.error


# --- 클레임 동기화 -----------------------------------------------------------------------------

def test_claims_cancel_hold_and_mark_like_the_cancel_upload(demo, market):
    received = new_order(demo, order_no="C-1")
    invoiced = new_order(demo, order_no="C-2")
    ctx = orders.Context(demo.agent, NOW)
    orders.perform("invoice", invoiced.id, {"courier": "CJ대한통운", "tracking_no": "111"}, ctx)
    shipped = new_order(demo, order_no="C-3")
    orders.perform("invoice", shipped.id, {"courier": "CJ대한통운", "tracking_no": "222"}, ctx)
    orders.perform("ship", shipped.id, {}, ctx)
    at = NOW - dt.timedelta(hours=1)
    market.add_claim("C-1", "cancel", at, "취소-고객변심", "CL-1")
    market.add_claim("C-2", "cancel", at, "취소-고객변심", "CL-2")
    market.add_claim("C-3", "return", at, "반품-불량", "CL-3")
    market.add_claim("C-3", "exchange", at, "사이즈", "CL-4")
    market.add_claim("C-404", "cancel", at, "", "CL-5")
    sync = job(demo, "sync_claims")
    result = run(demo, sync)
    assert result.status == "done", result.error
    assert result.counts["synced"] == 3 and result.counts["held"] == 1
    assert result.counts["not_found"] == 1 and "C-404" in result.detail
    assert Order.get_by_id(received.id).cs_state == orders.CANCELLED
    held = Order.get_by_id(invoiced.id)
    assert held.hold and held.cs_state == orders.NORMAL          # late cancel: held, listed
    assert CancelResult.get(CancelResult.order == invoiced.id).action == "hold"
    back = Order.get_by_id(shipped.id)
    assert back.return_expected and back.exchange_expected
    again = run(demo, sync, NOW + dt.timedelta(minutes=1))        # idempotent
    assert again.counts["duplicates"] == 4 and again.counts["synced"] == 0
    assert CancelResult.select().count() == 2 and ClaimReceipt.select().count() == 4


def test_a_withdrawn_cancel_is_recorded_from_the_api(demo, market):
    o = new_order(demo, order_no="W-1")
    market.add_claim("W-1", "cancel", NOW - dt.timedelta(hours=2), "취소-고객변심", "CL-1")
    market.add_claim("W-1", "withdrawn", NOW - dt.timedelta(hours=1), "", "CL-2")
    result = run(demo, job(demo, "sync_claims"))
    assert result.counts["synced"] == 2
    withdrawal = CancelWithdrawal.get(CancelWithdrawal.order == o.id)
    assert withdrawal.source == "api" and withdrawal.cancel_result_id is not None


def test_a_partial_cancel_claim_cancels_the_quantity_once(demo, market):
    o = new_order(demo, order_no="P-1", lines=[{"option_id": demo.tee_m.id, "quantity": 3},
                                               {"option_id": demo.citrus_5.id, "quantity": 1}])
    market.add_claim("P-1", "cancel", NOW - dt.timedelta(hours=1), "", "CL-1", quantity=1,
                     option_code="30001")
    sync = job(demo, "sync_claims")
    run(demo, sync)
    run(demo, sync, NOW + dt.timedelta(minutes=1))
    line = [ln for ln in Order.get_by_id(o.id).lines if ln.option_code == "30001"][0]
    assert line.cancelled_qty == 1


# --- 운송장 전송 --------------------------------------------------------------------------------

def ship(world, order_no, tracking):
    o = new_order(world, order_no=order_no)
    ctx = orders.Context(world.agent, NOW)
    orders.perform("invoice", o.id, {"courier": "CJ대한통운", "tracking_no": tracking}, ctx)
    orders.perform("ship", o.id, {}, ctx)
    return o


def test_shipped_invoices_are_sent_once(demo, market):
    for no in ("S-1", "S-2"):
        market.add_order(no, NOW - dt.timedelta(hours=3), [("30001", 1)])
    run(demo, job(demo, "collect_orders"))
    for no, tracking in (("S-1", "5001"), ("S-2", "5002")):
        o = st11_orders()[no]
        ctx = orders.Context(demo.agent, NOW)
        orders.perform("invoice", o.id, {"courier": "CJ대한통운", "tracking_no": tracking}, ctx)
    orders.perform("ship", st11_orders()["S-1"].id, {}, orders.Context(demo.agent, NOW))
    send = job(demo, "send_invoices")
    result = run(demo, send)
    assert result.counts == {"sent": 1, "failed": 0}            # S-2 is only invoiced
    status = market.status()
    assert status["invoices"]["S-1"]["trackingNo"] == "5001" and "S-2" not in status["invoices"]
    assert InvoicePush.get().status == "sent"
    again = run(demo, send, NOW + dt.timedelta(minutes=1))
    assert again.counts == {"sent": 0, "failed": 0} and market.status()["pushes"] == 1


def test_a_refused_push_is_listed_and_retried(demo, market):
    from engine import connectors
    market.add_order("F-1", NOW - dt.timedelta(hours=3), [("30001", 1)])
    run(demo, job(demo, "collect_orders"))
    o = st11_orders()["F-1"]
    ctx = orders.Context(demo.agent, NOW)
    orders.perform("invoice", o.id, {"courier": "CJ대한통운", "tracking_no": "7001"}, ctx)
    orders.perform("ship", o.id, {}, ctx)
    market.refusals["F-1"] = "택배사 코드 오류"
    send = job(demo, "send_invoices")
    result = run(demo, send)
    assert result.counts == {"sent": 0, "failed": 1} and "택배사 코드 오류" in result.detail
    failed = list(connectors.failed_invoices())
    assert [(p.order.order_no, p.error) for p in failed] == [("F-1", "택배사 코드 오류")]
    with pytest.raises(Exception):
        connectors.retry_invoices([o.id], orders.Context(demo.viewer, NOW))
    market.refusals.clear()
    counts = connectors.retry_invoices([o.id], orders.Context(demo.agent, NOW))
    assert counts["sent"] == 1 and list(connectors.failed_invoices()) == []
    push = InvoicePush.get()
    assert push.status == "sent" and push.attempts == 2
    assert run(demo, send, NOW + dt.timedelta(minutes=1)).counts["sent"] == 0


def test_a_market_outage_keeps_the_pushes_for_the_next_run(demo, market):
    o = ship(demo, "O-1", "8001")
    market.add_order("O-1", NOW - dt.timedelta(hours=3), [("30001", 1)])
    market.outage = True
    send = job(demo, "send_invoices")
    failed = run(demo, send)
    assert failed.status == "failed" and "503" in failed.error
    assert InvoicePush.get(InvoicePush.order == o.id).status == "failed"
    market.outage = False
    assert run(demo, send, NOW + dt.timedelta(minutes=1)).counts["sent"] == 1


def test_a_new_tracking_number_is_sent_again(demo, market):
    o = ship(demo, "N-1", "9001")
    market.add_order("N-1", NOW - dt.timedelta(hours=3), [("30001", 1)])
    send = job(demo, "send_invoices")
    run(demo, send)
    ctx = orders.Context(demo.agent, NOW)
    orders.perform("unship", o.id, {}, ctx)
    orders.perform("delete_invoice", o.id, {}, ctx)
    orders.perform("invoice", o.id, {"courier": "CJ대한통운", "tracking_no": "9002"}, ctx)
    orders.perform("ship", o.id, {}, ctx)
    assert run(demo, send, NOW + dt.timedelta(minutes=1)).counts["sent"] == 1
    assert market.status()["invoices"]["N-1"]["trackingNo"] == "9002"


# --- 문의 수집 / 문의답변 전송 -------------------------------------------------------------------

def test_inquiries_are_collected_by_kind_answered_and_pushed(demo, market):
    from engine import connectors
    o = new_order(demo, order_no="Q-ORDER")
    at = NOW - dt.timedelta(hours=1)
    market.add_inquiry("Q1", "product_qna", at, "사이즈 문의", "M 맞나요?")
    market.add_inquiry("Q2", "urgent", at, "배송지 변경", "주소 바꿔 주세요", order_no="Q-ORDER")
    market.add_inquiry("Q3", "review", at, "좋아요", "만족")
    seen = []
    original = connectors.new_inquiries_hook
    connectors.new_inquiries_hook = lambda items, *rest: seen.extend(i.external_id for i in items)
    try:
        collect = job(demo, "collect_inquiries", options={"types": ["qna", "urgent"]})
        result = run(demo, collect)
    finally:
        connectors.new_inquiries_hook = original
    assert result.counts == {"collected": 2, "duplicates": 0}
    assert sorted(seen) == ["Q1", "Q2"]
    urgent = Inquiry.get(Inquiry.external_id == "Q2")
    assert urgent.kind == "urgent" and urgent.order_id == o.id and urgent.answer_status == "none"
    assert run(demo, collect, NOW + dt.timedelta(minutes=1)).counts["duplicates"] == 2
    with pytest.raises(ValidationError):
        inquiries.answer(urgent.id, "   ", demo.agent, NOW)
    inquiries.answer(urgent.id, "내일 출고 전에 변경해 드릴게요.", demo.agent, NOW)
    assert Inquiry.get_by_id(urgent.id).answer_status == "pending"
    sent = run(demo, job(demo, "send_answers"))
    assert sent.counts == {"sent": 1, "failed": 0}
    assert market.status()["answers"]["Q2"]["text"] == "내일 출고 전에 변경해 드릴게요."
    done = Inquiry.get_by_id(urgent.id)
    assert done.answer_status == "sent" and done.answer_sent_at == NOW
    with pytest.raises(StateError):
        inquiries.answer(urgent.id, "다시 쓰기", demo.agent, NOW)


def test_a_refused_answer_is_failed_and_retried(demo, market):
    ch = Channel.get(Channel.name == "11번가")
    inquiry = Inquiry.create(channel=ch, external_id="GONE", kind="product_qna", asked_at=NOW,
                             title="t", body="b")
    inquiries.answer(inquiry.id, "답변", demo.agent, NOW)
    result = run(demo, job(demo, "send_answers"))
    assert result.counts == {"sent": 0, "failed": 1}
    failed = Inquiry.get_by_id(inquiry.id)
    assert failed.answer_status == "failed" and "찾을 수 없습니다" in failed.answer_error
    market.add_inquiry("GONE", "product_qna", NOW, "t", "b")
    assert inquiries.retry([inquiry.id], demo.agent, NOW)["sent"] == 1
    assert Inquiry.get_by_id(inquiry.id).answer_status == "sent"


# --- credentials ------------------------------------------------------------------------------

def test_credentials_are_encrypted_at_rest_and_masked(demo, market):
    raw = db.execute_sql('SELECT "credentials" FROM "channel" WHERE "id" = %s' % demo.st11.id
                         ).fetchone()[0]
    assert raw and demo_market.DEMO_KEY not in raw
    assert credentials.decrypt(raw) == {"api_key": demo_market.DEMO_KEY}
    shown = channels.connector_form_values(Channel.get_by_id(demo.st11.id))
    assert shown["secret_api_key"] == "" and shown["masked"]["api_key"] == "••••1a2b"
    # an empty field keeps the stored secret; the settings change
    channels.update_channel(demo.admin, demo.st11.id, {
        "name": "11번가", "active": "1", "connector": "demo",
        "setting_base_url": "http://127.0.0.1:1", "secret_api_key": ""})
    kept = Channel.get_by_id(demo.st11.id)
    assert credentials.decrypt(kept.credentials) == {"api_key": demo_market.DEMO_KEY}
    assert kept.connector_settings == {"base_url": "http://127.0.0.1:1"}


def test_connector_settings_are_validated_by_its_schema(world):
    with pytest.raises(ValidationError) as err:
        channels.update_channel(world.admin, world.st11.id, {
            "name": "11번가", "active": "1", "connector": "demo", "setting_base_url": "",
            "secret_api_key": ""})
    assert {"setting_base_url", "secret_api_key"} <= set(err.value.errors)
    with pytest.raises(ValidationError) as err:
        channels.update_channel(world.admin, world.st11.id, {
            "name": "11번가", "active": "1", "connector": "fax"})
    assert "connector" in err.value.errors
    assert Channel.get_by_id(world.st11.id).connector is None


def test_removing_the_connector_forgets_the_secrets(demo, market):
    channels.update_channel(demo.admin, demo.st11.id, {"name": "11번가", "active": "1",
                                                       "connector": ""})
    gone = Channel.get_by_id(demo.st11.id)
    assert gone.connector is None and gone.credentials == "" and gone.connector_settings == {}


# --- the "done when" of issue #7 ---------------------------------------------------------------

def test_done_when_hourly_collection_and_invoices_show_everywhere(demo, market, demo_catalog):
    """Fresh demo market: 주문수집 every hour shows new orders, 운송장 전송 marks them sent at the
    market, the job log and change history show it, the result SMS waits out do-not-disturb."""
    from engine.models import JobChange
    SenderNumber.create(number="15881234")
    market.state["epoch"] = (NOW - dt.timedelta(hours=6)).isoformat()   # six hours of orders
    notify = {"kind": "sms", "phone": "010-1111-2222", "dnd": ["22:00", "08:00"]}
    collect = job(demo, "collect_orders", name="주문수집 매시간", enabled=True, notify=notify)
    assert JobChange.select().where(JobChange.job_id == collect.id).count() == 1
    result = run(demo, collect)
    made = market.status()["orders"]
    assert result.status == "done" and result.counts["collected"] == made > 0
    assert Order.select().count() == made
    message = Message.get()
    assert message.body.startswith("[스케줄러] 주문수집 매시간 완료")
    assert "collected %d" % made in message.body
    local = jobs.clock.to_local(NOW, TZ)
    assert local.hour == 17 and message.send_after <= NOW            # 17:00: sent at once
    open_at_market = [no for no, m in market.state["orders"].items() if m["status"] == "new"]
    o = Order.get(Order.order_no == sorted(open_at_market)[0])
    ctx = orders.Context(demo.agent, NOW)
    orders.perform("invoice", o.id, {"courier": "CJ대한통운", "tracking_no": "123456789"}, ctx)
    orders.perform("ship", o.id, {}, ctx)
    night = dt.datetime(2026, 3, 31, 14, 0)                          # 23:00 in Seoul
    market.time.now = night
    send = job(demo, "send_invoices", name="운송장 전송", notify=notify)
    pushed = run(demo, send, night)
    assert pushed.counts == {"sent": 1, "failed": 0}, pushed.detail
    assert market.status()["invoices"][o.order_no]["trackingNo"] == "123456789"
    late = Message.select().order_by(Message.id.desc()).first()
    assert late.body.startswith("[스케줄러] 운송장 전송 완료")
    assert late.send_after == dt.datetime(2026, 3, 31, 23, 0)        # 08:00 KST
    assert JobRun.select().where(JobRun.status == "done").count() == 2


def test_the_market_makes_new_orders_as_time_passes(demo, market, demo_catalog):
    collect = job(demo, "collect_orders")
    run(demo, collect)
    before = Order.select().count()
    market.time.now = NOW + dt.timedelta(hours=8)
    later = run(demo, collect, NOW + dt.timedelta(hours=8))
    assert later.counts["collected"] > 0
    assert Order.select().count() == before + later.counts["collected"]


# --- the pages and the API ---------------------------------------------------------------------

HX = {"HX-Request": "true"}


def page(response, status=200):
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def test_channel_form_sets_the_connector_and_never_shows_the_secret(app, world, login):
    admin = login("admin")
    form = page(admin.get(f"/channels/{world.st11.id}", headers=HX))
    assert 'name="connector"' in form and 'name="secret_api_key"' not in form
    fields = page(admin.get(f"/channels/connector-fields?connector=demo&channel_id="
                            f"{world.st11.id}", headers=HX))
    assert 'name="setting_base_url"' in fields and 'name="secret_api_key"' in fields
    refused = page(admin.post(f"/channels/{world.st11.id}", headers=HX, data={
        "name": "11번가", "active": "1", "connector": "demo", "setting_base_url": "",
        "secret_api_key": "typed-secret-9876"}))
    assert "has-error" in refused and "typed-secret-9876" not in refused
    saved = admin.post(f"/channels/{world.st11.id}", headers=HX, data={
        "name": "11번가", "active": "1", "connector": "demo",
        "setting_base_url": "http://127.0.0.1:8765", "secret_api_key": "typed-secret-9876"})
    assert saved.status_code == 200 and "closeDialog" in saved.headers["HX-Trigger"]
    again = page(admin.get(f"/channels/{world.st11.id}", headers=HX))
    assert "typed-secret-9876" not in again and "••••9876" in again
    assert 'value="http://127.0.0.1:8765"' in again
    assert login("agent").get("/channels/connector-fields?connector=demo").status_code == 403


def test_inquiry_page_answers_by_htmx_and_viewers_only_read(app, world, login):
    inquiry = Inquiry.create(channel=world.st11, external_id="Q-7", kind="urgent",
                             asked_at=NOW, title="배송지 변경", body="주소 바꿔 주세요",
                             order_no="NONE")
    viewer = login("viewer")
    listed = page(viewer.get("/market/inquiries"))
    assert "배송지 변경" in listed and "answer-form" not in listed
    assert viewer.post(f"/market/inquiries/{inquiry.id}/answer",
                       data={"answer": "x"}).status_code == 403
    agent = login("agent")
    empty = page(agent.post(f"/market/inquiries/{inquiry.id}/answer", headers=HX,
                            data={"answer": "  "}))
    assert "has-error" in empty and Inquiry.get_by_id(inquiry.id).answer_status == "none"
    row = page(agent.post(f"/market/inquiries/{inquiry.id}/answer", headers=HX,
                          data={"answer": "변경해 드렸습니다."}))
    assert f'id="inquiry-{inquiry.id}"' in row and "변경해 드렸습니다." in row
    assert "ans-pending" in row
    filtered = page(viewer.get("/market/inquiries?answer_status=pending&kind=urgent"))
    assert "배송지 변경" in filtered
    none = page(viewer.get("/market/inquiries?answer_status=sent"))
    assert "배송지 변경" not in none
    bad = page(viewer.get("/market/inquiries?kind=spam"))
    assert "has-error" in bad


def test_failed_pushes_are_listed_and_retried_from_the_page(app, world, login, market):
    connect(world, world.st11, market)
    o = ship(world, "F-9", "6006")
    market.refusals["F-9"] = "송장 형식 오류"
    run(world, job(world, "send_invoices"))
    listed = page(login("viewer").get("/market/invoice-failures"))
    assert "F-9" in listed and "송장 형식 오류" in listed
    market.add_order("F-9", NOW - dt.timedelta(hours=1), [("30001", 1)])
    market.refusals.clear()
    assert login("viewer").post("/market/invoice-failures/retry",
                                data={"ids": [o.id]}).status_code == 403
    retried = login("agent").post("/market/invoice-failures/retry", headers=HX,
                                  data={"all": "1"})
    assert retried.status_code == 200 and "marketChanged" in retried.headers["HX-Trigger"]
    assert InvoicePush.get().status == "sent"
    assert "F-9" not in page(login("viewer").get("/market/invoice-failures"))


def test_inquiries_api_lists_and_answers(app, world):
    from tests.conftest import PASSWORD
    inquiry = Inquiry.create(channel=world.st11, external_id="Q-8", kind="review",
                             asked_at=NOW, title="좋아요", body="만족")

    def client(username):
        c = app.test_client()
        token = c.post("/api/v1/token", json={"username": username,
                                               "password": PASSWORD}).json["token"]
        return c, {"Authorization": f"Bearer {token}"}

    viewer, vh = client("viewer")
    listed = viewer.get("/api/v1/inquiries?kind=review", headers=vh)
    assert listed.status_code == 200 and listed.json["total"] == 1
    assert listed.json["inquiries"][0]["asked_at"].endswith("+09:00")
    assert viewer.post(f"/api/v1/inquiries/{inquiry.id}/answer", headers=vh,
                       json={"answer": "감사합니다"}).status_code == 403
    agent, ah = client("agent")
    answered = agent.post(f"/api/v1/inquiries/{inquiry.id}/answer", headers=ah,
                          json={"answer": "감사합니다"})
    assert answered.status_code == 200 and answered.json["answer_status"] == "pending"
    bad = agent.post(f"/api/v1/inquiries/{inquiry.id}/answer", headers=ah, json={"answer": 3})
    assert bad.status_code == 422 and bad.json["error"]["field"] == "answer"
    assert viewer.get("/api/v1/inquiries?kind=spam", headers=vh).status_code == 422


def test_collected_inquiries_become_tickets_of_the_jobs_team_and_answers_go_back(world, app):
    """문의 수집 → a ticket in the job's team; the reply on the ticket is the answer that the
    문의답변 전송 job pushes (seed 000 + seed 004)."""
    from engine import teams, stages, tickets
    from engine.models import Inquiry, Ticket
    from engine.connectors import new_inquiries_hook

    teams.save_team(world.admin, {"name": "문의팀", "visibility": "company",
                                  "members": ["agent"], "auto_assign": True})
    stages.save_stage(world.admin, {"name": "신규", "teams": ["문의팀"]})
    inquiry = Inquiry.create(channel=world.st11, external_id="Q-1", kind="product_qna",
                             asked_at=NOW, title="사이즈 문의", body="M 사이즈 품절인가요?",
                             author="구매자1", phone="not a phone", collected_at=NOW)
    new_inquiries_hook([inquiry], NOW, None)
    ticket = Ticket.get(Ticket.source == "inquiry")
    assert ticket.subject == "[상품문의] 사이즈 문의" and ticket.assignee_id == world.agent.id
    assert Inquiry.get_by_id(inquiry.id).ticket_id == ticket.id
    tickets.add_message(tickets.Context(world.agent, NOW), ticket.id,
                        {"body": "재입고 예정입니다.", "kind": "reply"})
    inquiry = Inquiry.get_by_id(inquiry.id)
    assert (inquiry.answer, inquiry.answer_status) == ("재입고 예정입니다.", "pending")
