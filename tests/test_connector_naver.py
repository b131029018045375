"""The 네이버 스마트스토어 adapter against a local fake of the Naver Commerce API.

The fake checks what Naver checks (bcrypt signature, bearer token, body shapes, batch sizes,
the 24-hour change window), so every test here goes through real HTTP on 127.0.0.1.
"""
from __future__ import annotations

import base64
import datetime as dt
import socket

import bcrypt
import pytest

from engine.connectors import naver
from engine.connectors.base import TYPES, ConnectorError, InvoicePush, MarketInquiry, MarketOrder
from engine.connectors.naver import NaverCommerce
from tests.fakes.naver_commerce import Clock, FakeNaverCommerce, kst

NOW = dt.datetime(2026, 3, 31, 8, 0, 0)       # naive UTC = 17:00 in Seoul
SINCE = NOW - dt.timedelta(hours=6)


@pytest.fixture(autouse=True)
def fresh_token_cache():
    naver._TOKENS.clear()
    yield
    naver._TOKENS.clear()


@pytest.fixture
def fake():
    with FakeNaverCommerce(clock=Clock()) as server:
        yield server


@pytest.fixture
def sleeps():
    return []


def connect(fake, sleeps=None, secret=None, **settings) -> NaverCommerce:
    return NaverCommerce(
        "스마트스토어", {"client_id": fake.client_id, "client_secret": secret or fake.client_secret},
        {"base_url": fake.url, **settings},
        sleep=(sleeps.append if sleeps is not None else lambda s: None), clock=fake.clock)


def fake_token(fake, index):
    """The token the fake handed out at ``index`` (in order of issue)."""
    return list(fake.tokens)[index]


def shop_with_orders(fake):
    fake.add_order("2026033100001", NOW - dt.timedelta(hours=2), [
        {"productOrderId": "2026033110001", "productName": "무선 이어폰", "sellerProductCode": "EAR-01",
         "productOption": "색상: 화이트", "optionManageCode": "EAR-01-W", "quantity": 2,
         "unitPrice": 39000, "optionPrice": 1000, "deliveryFeeAmount": 3000,
         "shippingMemo": "문 앞에 놓아주세요"},
        {"productOrderId": "2026033110002", "productName": "충전 케이블", "productId": "8800000777",
         "quantity": 1, "unitPrice": 5000}])
    fake.add_order("2026033100002", NOW - dt.timedelta(hours=1), [
        {"productOrderId": "2026033120001", "productName": "무선 이어폰", "sellerProductCode": "EAR-01",
         "quantity": 1, "unitPrice": 39000}], ordererName="박주문", paymentMeans="신용카드 간편결제")


# --- registration and authentication -----------------------------------------------------

def test_adapter_is_registered_with_its_fields():
    assert TYPES["naver"] is NaverCommerce
    assert NaverCommerce.label == "네이버 스마트스토어 (Naver Commerce API)"
    assert [f.name for f in NaverCommerce.credential_fields] == ["client_id", "client_secret"]
    assert all(f.required and f.kind == "text" for f in NaverCommerce.credential_fields)
    assert "base_url" in [f.name for f in NaverCommerce.setting_fields]


def test_token_is_requested_with_a_bcrypt_signature_and_reused(fake):
    shop_with_orders(fake)
    adapter = connect(fake)
    adapter.fetch_orders(SINCE, NOW)
    adapter.fetch_orders(SINCE, NOW)
    token_calls = fake.calls("/v1/oauth2/token")
    assert len(token_calls) == 1
    form = token_calls[0].body
    assert form["grant_type"] == "client_credentials" and form["type"] == "SELF"
    signed = base64.b64decode(form["client_secret_sign"])
    assert signed == bcrypt.hashpw(f"{fake.client_id}_{form['timestamp']}".encode(),
                                   fake.client_secret.encode())
    api_calls = [r for r in fake.requests if not r.path.endswith("/oauth2/token")]
    assert api_calls and all(r.authorization.startswith("Bearer fake-token-") for r in api_calls)


def test_a_second_run_reuses_the_token_of_the_first(fake):
    connect(fake).fetch_orders(SINCE, NOW)
    connect(fake).fetch_orders(SINCE, NOW)
    assert len(fake.calls("/v1/oauth2/token")) == 1


def test_wrong_secret_fails_naming_authentication(fake):
    adapter = connect(fake, secret=bcrypt.gensalt(rounds=4).decode())
    with pytest.raises(ConnectorError) as caught:
        adapter.fetch_orders(SINCE, NOW)
    assert "authentication" in caught.value.render().lower()
    assert fake.calls("last-changed-statuses") == []


def test_secret_that_is_not_a_bcrypt_salt_fails_naming_authentication(fake):
    with pytest.raises(ConnectorError) as caught:
        connect(fake, secret="plain-secret").fetch_orders(SINCE, NOW)
    assert "authentication" in caught.value.render().lower()
    assert fake.requests == []


def test_solution_provider_asks_a_seller_token_for_the_account(fake):
    connect(fake, account_id="ncp_1abc").fetch_orders(SINCE, NOW)
    form = fake.calls("/v1/oauth2/token")[0].body
    assert form["type"] == "SELLER" and form["account_id"] == "ncp_1abc"


def test_token_near_expiry_is_renewed_before_the_call(fake):
    adapter = connect(fake)
    adapter.fetch_orders(SINCE, NOW)
    fake.clock.advance(3 * 3600)                 # the 3-hour token is gone
    adapter.fetch_orders(SINCE, NOW)
    first, second = fake.calls("/v1/oauth2/token")
    after = fake.requests[fake.requests.index(second) + 1:]
    assert after and {r.authorization for r in after} == {"Bearer " + fake_token(fake, -1)}


def test_token_refused_mid_run_is_renewed_once_and_the_call_retried(fake):
    shop_with_orders(fake)
    adapter = connect(fake)
    adapter.fetch_orders(SINCE, NOW)
    fake.expire_tokens()
    orders = adapter.fetch_orders(SINCE, NOW)
    assert len(orders) == 2
    assert len(fake.calls("/v1/oauth2/token")) == 2


# --- orders -------------------------------------------------------------------------------

def test_fetch_orders_maps_product_orders_to_orders_and_lines(fake):
    shop_with_orders(fake)
    orders = {o.order_no: o for o in connect(fake).fetch_orders(SINCE, NOW)}
    assert set(orders) == {"2026033100001", "2026033100002"}
    first = orders["2026033100001"]
    assert first.received_at == NOW - dt.timedelta(hours=2, minutes=1)     # KST → naive UTC
    assert first.buyer_name == "김구매" and first.buyer_phone == "010-1234-5678"
    assert first.recipient_name == "이수령" and first.recipient_phone == "010-9876-5432"
    assert first.zip_code == "06236" and first.address == "서울특별시 강남구 테헤란로 1 101호"
    assert first.ship_memo == "문 앞에 놓아주세요" and first.shipping_fee == 3000
    assert first.payment_method == "신용카드"
    assert first.external_ids == ["2026033110001", "2026033110002"]
    earphone, cable = first.items
    assert (earphone.product_code, earphone.option_code, earphone.option_name) == \
        ("EAR-01", "EAR-01-W", "색상: 화이트")
    assert (earphone.quantity, earphone.unit_price) == (2, 40000)
    assert (cable.product_code, cable.product_name, cable.quantity) == ("8800000777", "충전 케이블", 1)
    call = fake.calls("last-changed-statuses")[0]
    assert call.query["lastChangedFrom"] == kst(SINCE) == "2026-03-31T11:00:00.000+09:00"


def test_fetch_orders_leaves_out_orders_paid_before_since_and_cancelled_lines(fake):
    shop_with_orders(fake)
    fake.add_order("2026033000009", NOW - dt.timedelta(days=2),
                   [{"productOrderId": "2026033090001"}])
    fake.product_orders["2026033110002"]["productOrderStatus"] = "CANCELED"
    orders = {o.order_no: o for o in connect(fake).fetch_orders(SINCE, NOW)}
    assert set(orders) == {"2026033100001", "2026033100002"}
    assert orders["2026033100001"].external_ids == ["2026033110001"]


def test_fetch_orders_follows_more_and_cuts_long_ranges_into_days(fake):
    for n in range(7):
        fake.add_order("20260329%05d" % n, NOW - dt.timedelta(days=2),      # all at one instant
                       [{"productOrderId": "20260329%07d" % n}])
    fake.change_page_size = 3
    orders = connect(fake).fetch_orders(NOW - dt.timedelta(days=3), NOW)
    assert len(orders) == 7
    calls = fake.calls("last-changed-statuses")
    assert any("moreSequence" in c.query for c in calls)
    windows = {(c.query["lastChangedTo"]) for c in calls}
    assert len(windows) == 3                      # 72 hours in three 24-hour windows


def test_details_are_queried_300_product_orders_at_a_time(fake):
    fake.add_order("2026033100500", NOW - dt.timedelta(hours=1),
                   [{"productOrderId": "20260331%08d" % n} for n in range(301)])
    [order] = connect(fake).fetch_orders(SINCE, NOW)
    assert len(order.items) == 301
    assert [len(c.body["productOrderIds"]) for c in fake.calls("product-orders/query")] == [300, 1]


def test_confirm_orders_sends_every_line_and_reports_per_order(fake):
    shop_with_orders(fake)
    adapter = connect(fake)
    orders = adapter.fetch_orders(SINCE, NOW)
    fake.request_claim("2026033120001", "CANCEL", NOW - dt.timedelta(minutes=5))
    results = {r.key: r for r in adapter.confirm_orders(orders)}
    assert results["2026033100001"].ok
    assert not results["2026033100002"].ok
    assert "2026033120001" in results["2026033100002"].error
    assert "104442" in results["2026033100002"].error
    assert fake.confirmed == ["2026033110001", "2026033110002"]


def test_confirm_of_an_order_naver_does_not_know_is_a_failed_result(fake):
    shop_with_orders(fake)
    unknown = MarketOrder("2099010100001", NOW, "김구매", "이수령", [])
    known = MarketOrder("2026033100002", NOW, "박주문", "이수령", [], external_ids=["2026033120001"])
    results = connect(fake).confirm_orders([unknown, known])
    assert [r.key for r in results] == ["2099010100001", "2026033100002"]
    assert not results[0].ok and "100003" in results[0].error
    assert results[1].ok and fake.confirmed == ["2026033120001"]


def test_confirm_order_known_only_by_number_looks_up_its_lines(fake):
    shop_with_orders(fake)
    order = MarketOrder("2026033100001", NOW, "김구매", "이수령", [])
    [result] = connect(fake).confirm_orders([order])
    assert result.ok
    assert sorted(fake.confirmed) == ["2026033110001", "2026033110002"]


# --- claims -------------------------------------------------------------------------------

def test_fetch_claims_maps_cancel_return_exchange_and_withdrawal(fake):
    shop_with_orders(fake)
    fake.add_order("2026033000003", NOW - dt.timedelta(days=3), [
        {"productOrderId": "2026033030001", "sellerProductCode": "BAG-1", "quantity": 3},
        {"productOrderId": "2026033030002", "sellerProductCode": "BAG-2"}])
    at = NOW - dt.timedelta(minutes=30)
    fake.request_claim("2026033110001", "CANCEL", at, "INTENT_CHANGED", "다른 곳에서 샀어요")
    fake.request_claim("2026033030001", "EXCHANGE", at, "COLOR_AND_SIZE", quantity=1)
    fake.request_claim("2026033030002", "RETURN", at, "BROKEN", collect_tracking="551234567890")
    fake.request_claim("2026033120001", "CANCEL", at - dt.timedelta(minutes=20), "SOLD_OUT")
    fake.withdraw_claim("2026033120001", at + dt.timedelta(minutes=10))
    claims = {c.order_no + "/" + c.kind: c for c in connect(fake).fetch_claims(SINCE, NOW)}
    assert set(claims) == {"2026033100001/cancel", "2026033000003/exchange",
                           "2026033000003/return", "2026033100002/withdrawn"}
    cancel = claims["2026033100001/cancel"]
    assert cancel.reason == "구매 의사 취소 - 다른 곳에서 샀어요"
    assert cancel.requested_at == at and cancel.product_code == "EAR-01"
    assert cancel.quantity is None and cancel.external_id == "C2026033110001"
    exchange = claims["2026033000003/exchange"]
    assert (exchange.product_code, exchange.quantity) == ("BAG-1", 1)
    assert claims["2026033000003/return"].return_waybill == "551234567890"
    withdrawn = claims["2026033100002/withdrawn"]
    assert withdrawn.requested_at == at + dt.timedelta(minutes=10)
    assert withdrawn.external_id == "C2026033120001:withdrawn"     # not the cancel's own id


def test_withdrawn_return_is_not_reported_as_a_claim(fake):
    shop_with_orders(fake)
    fake.request_claim("2026033110001", "RETURN", NOW - dt.timedelta(minutes=90), "BROKEN")
    fake.withdraw_claim("2026033110001", NOW - dt.timedelta(minutes=60))
    assert connect(fake).fetch_claims(NOW - dt.timedelta(minutes=70), NOW) == []


# --- invoices -----------------------------------------------------------------------------

def test_courier_names_of_our_lists_have_naver_codes(fake):
    from engine.demo import COURIERS

    adapter = connect(fake)
    codes = {name: adapter.courier_code(name) for name in COURIERS}
    assert codes == {"CJ대한통운": "CJGLS", "한진택배": "HANJIN", "롯데택배": "HYUNDAI",
                     "우체국택배": "EPOST", "로젠택배": "KGB", "경동택배": "KDEXP"}
    assert adapter.courier_code("CJ 대한통운") == "CJGLS" and adapter.courier_code("한진") == "HANJIN"
    assert adapter.courier_code("번개택배") is None


def test_push_invoices_dispatches_lines_with_courier_codes(fake):
    shop_with_orders(fake)
    adapter = connect(fake)
    orders = {o.order_no: o for o in adapter.fetch_orders(SINCE, NOW)}
    shipped = NOW - dt.timedelta(minutes=10)
    results = adapter.push_invoices([
        InvoicePush("2026033100001", "롯데택배", "123412341234", shipped,
                    orders["2026033100001"].external_ids),
        InvoicePush("2026033100002", "번개택배", "999", shipped, orders["2026033100002"].external_ids),
    ])
    assert [r.ok for r in results] == [True, False]
    assert "번개택배" in results[1].error
    assert [(d["productOrderId"], d["deliveryCompanyCode"], d["trackingNumber"])
            for d in fake.dispatched] == [("2026033110001", "HYUNDAI", "123412341234"),
                                          ("2026033110002", "HYUNDAI", "123412341234")]
    assert fake.dispatched[0]["deliveryMethod"] == "DELIVERY"
    assert fake.dispatched[0]["dispatchDate"] == "2026-03-31T16:50:00.000+09:00"


def test_push_invoices_reports_naver_refusals_per_order(fake):
    shop_with_orders(fake)
    fake.product_orders["2026033120001"]["productOrderStatus"] = "CANCELED"
    results = connect(fake).push_invoices([
        InvoicePush("2026033100001", "CJ대한통운", "5001", NOW, ["2026033110001", "2026033110002"]),
        InvoicePush("2026033100002", "CJ대한통운", "5002", NOW, ["2026033120001"]),
    ])
    assert results[0].ok
    assert not results[1].ok
    assert "104442" in results[1].error and "2026033120001" in results[1].error


def test_push_invoice_without_line_ids_sends_the_open_lines(fake):
    shop_with_orders(fake)
    fake.product_orders["2026033110002"]["productOrderStatus"] = "CANCELED"
    [result] = connect(fake).push_invoices([InvoicePush("2026033100001", "우체국택배", "6001", NOW)])
    assert result.ok
    assert [(d["productOrderId"], d["deliveryCompanyCode"]) for d in fake.dispatched] == \
        [("2026033110001", "EPOST")]


def test_channel_courier_codes_setting_adds_couriers(fake):
    shop_with_orders(fake)
    adapter = connect(fake, courier_codes="일양 로지스=ILYANG\n\n우리택배=HONAM")
    assert adapter.courier_code("일양로지스") == "ILYANG"
    [result] = adapter.push_invoices([InvoicePush("2026033100002", "일양로지스", "7001", NOW,
                                                  ["2026033120001"])])
    assert result.ok and fake.dispatched[0]["deliveryCompanyCode"] == "ILYANG"


def test_courier_codes_setting_with_a_bad_line_names_it(fake):
    with pytest.raises(ConnectorError) as caught:
        connect(fake, courier_codes="일양로지스=ILYANG\n번개택배")
    assert caught.value.params["line"] == 2


def test_dispatch_is_sent_thirty_lines_at_a_time(fake):
    fake.add_order("2026033100700", NOW - dt.timedelta(hours=1),
                   [{"productOrderId": "20260331%08d" % n} for n in range(31)])
    ids = ["20260331%08d" % n for n in range(31)]
    [result] = connect(fake).push_invoices([InvoicePush("2026033100700", "한진택배", "8001", NOW, ids)])
    assert result.ok
    assert [len(c.body["dispatchProductOrders"]) for c in fake.calls("/dispatch")] == [30, 1]


# --- inquiries ----------------------------------------------------------------------------

def test_fetch_inquiries_collects_unanswered_qna_and_customer_inquiries(fake):
    fake.add_qna(7001, NOW - dt.timedelta(hours=1), "흰색 재입고 되나요?", productName="무선 이어폰")
    fake.add_qna(7002, NOW - dt.timedelta(hours=1), "이미 답한 질문", answered=True)
    fake.add_qna(7003, NOW - dt.timedelta(days=2), "오래된 질문")
    fake.add_inquiry(9001, NOW - dt.timedelta(hours=2), "배송 언제 되나요", "주문한 지 3일째입니다",
                     category="배송", orderId="2026033100001")
    fake.add_inquiry(9002, NOW - dt.timedelta(hours=9), "아침 문의", "since 이전")
    found = connect(fake).fetch_inquiries(SINCE, NOW, {"product_qna", "urgent", "review"})
    assert [(i.kind, i.external_id) for i in found] == [("product_qna", "qna:7001"),
                                                        ("urgent", "inq:9001")]
    qna, urgent = found
    assert (qna.title, qna.body, qna.author) == ("무선 이어폰", "흰색 재입고 되나요?", "buy*****")
    assert qna.asked_at == NOW - dt.timedelta(hours=1) and qna.product_code == "8800000001"
    assert (urgent.title, urgent.body, urgent.order_no) == \
        ("[배송] 배송 언제 되나요", "주문한 지 3일째입니다", "2026033100001")
    assert urgent.author == "김구매"
    inquiry_call = fake.calls("/pay-user/inquiries")[0]
    assert inquiry_call.query["startSearchDate"] == "2026-03-31"
    assert inquiry_call.query["answered"] == "false"


def test_reviews_are_not_offered_by_the_api(fake):
    assert connect(fake).fetch_inquiries(SINCE, NOW, {"review"}) == []
    assert fake.requests == []


def test_qna_pages_are_followed(fake):
    for n in range(150):
        fake.add_qna(10000 + n, NOW - dt.timedelta(minutes=n + 1), "질문 %d" % n)
    found = connect(fake).fetch_inquiries(SINCE, NOW, {"product_qna"})
    assert len(found) == 150
    assert [c.query["page"] for c in fake.calls("/contents/qnas")] == ["1", "2"]


def test_push_answer_to_qna_and_customer_inquiry(fake):
    fake.add_qna(7001, NOW, "재입고?")
    fake.add_inquiry(9001, NOW, "배송", "언제?")
    adapter = connect(fake)
    qna = MarketInquiry("qna:7001", "product_qna", NOW, "", "재입고?")
    urgent = MarketInquiry("inq:9001", "urgent", NOW, "", "언제?")
    assert adapter.push_answer(qna, "다음 주 입고 예정입니다.").ok
    assert adapter.push_answer(urgent, "오늘 출고됩니다.").ok
    assert fake.answers == [("qna", 7001, "다음 주 입고 예정입니다."), ("inquiry", 9001, "오늘 출고됩니다.")]
    assert fake.calls("/qnas/7001")[0].method == "PUT"
    assert fake.calls("/inquiries/9001/answer")[0].body == {"answerComment": "오늘 출고됩니다."}


def test_push_answer_refused_by_naver_is_a_failed_result(fake):
    adapter = connect(fake)
    result = adapter.push_answer(MarketInquiry("qna:404", "product_qna", NOW, "", ""), "답변")
    assert not result.ok and "NOT_FOUND" in result.error
    review = adapter.push_answer(MarketInquiry("rv:1", "review", NOW, "", ""), "감사합니다")
    assert not review.ok


# --- transport failures -------------------------------------------------------------------

def test_rate_limit_is_retried_with_backoff(fake, sleeps):
    shop_with_orders(fake)
    fake.fail_next = [(429, None), (429, None)]
    assert len(connect(fake, sleeps).fetch_orders(SINCE, NOW)) == 2
    assert sleeps == [0.5, 1.0]


def test_rate_limit_retry_after_is_honoured(fake, sleeps):
    fake.retry_after = "3"
    fake.fail_next = [(429, None)]
    connect(fake, sleeps).fetch_orders(SINCE, NOW)
    assert sleeps == [3.0]


def test_rate_limit_that_does_not_end_fails_the_run(fake, sleeps):
    fake.fail_next = [(429, None)] * 10
    with pytest.raises(ConnectorError) as caught:
        connect(fake, sleeps).fetch_orders(SINCE, NOW)
    assert "too many requests" in caught.value.render()
    assert sleeps == [0.5, 1.0, 2.0, 4.0]
    assert len(fake.calls("last-changed-statuses")) == 5


def test_server_error_fails_the_run(fake):
    fake.fail_next = [(500, None)]
    with pytest.raises(ConnectorError) as caught:
        connect(fake).fetch_orders(SINCE, NOW)
    assert "HTTP 500" in caught.value.render()


def test_answer_that_is_not_json_fails_the_run(fake):
    fake.fail_next = [(200, b"<html>gateway</html>")]
    with pytest.raises(ConnectorError) as caught:
        connect(fake).fetch_orders(SINCE, NOW)
    assert "not valid JSON" in caught.value.render()


def test_api_group_not_approved_says_where_to_fix_it(fake):
    fake.fail_next = [(403, {"code": "GW.AUTHN", "message": "요청을 보낼 권한이 없습니다."})]
    with pytest.raises(ConnectorError) as caught:
        connect(fake).fetch_inquiries(SINCE, NOW, {"product_qna"})
    assert "커머스API센터" in caught.value.render()


def test_unreachable_api_fails_the_run():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    adapter = NaverCommerce("스마트스토어",
                            {"client_id": "x", "client_secret": bcrypt.gensalt(4).decode()},
                            {"base_url": "http://127.0.0.1:%d/external" % port}, timeout=2)
    with pytest.raises(ConnectorError) as caught:
        adapter.fetch_orders(SINCE, NOW)
    assert "Could not reach" in caught.value.render()
