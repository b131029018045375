"""A fake Naver Commerce API (커머스API) for the endpoints ``engine.connectors.naver`` uses.

``FakeNaverCommerce`` runs a ``ThreadingHTTPServer`` on 127.0.0.1 (OS-chosen port) under the
``/external`` prefix and checks what the real API checks:

- ``POST /v1/oauth2/token``: a form body; ``client_secret_sign`` must be
  base64(bcrypt.hashpw("{client_id}_{timestamp}", client_secret)), the timestamp within 5
  minutes of the fake's clock, ``grant_type=client_credentials``, ``type`` SELF (or SELLER with
  ``account_id``). Tokens live ``token_ttl`` seconds; while 30+ minutes remain the same token
  is handed back, as Naver does.
- every other call needs ``Authorization: Bearer <live token>`` (401 GW.AUTHN otherwise);
- bodies and queries are validated (id batch sizes 300/30, dates with an offset, the 24-hour
  change window, courier codes, answer fields) and refused with Naver's error body
  ``{"code", "message", "timestamp", "traceId"[, "invalidInputs"]}``;
- ``last-changed-statuses`` lists every change in the range (paid, claim requested, …) in
  time order, 300 (``change_page_size``) at a time with ``more.moreFrom``/``moreSequence``;
- state: product orders with their change log, 발주확인 (``confirmed``), 발송처리
  (``dispatched``), Q&A and customer-inquiry answers (``answers``).

``fail_next`` queues forced answers for the next API calls (not the token call):
``(429, None)`` → GW.RATE_LIMIT, ``(500, None)`` → a plain-text 500, ``(200, b"<html>")`` →
a body that is not JSON, or any ``(status, dict)``.

Answer shapes follow the docs cited in ``engine/connectors/naver.py``.
"""
from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import secrets
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import bcrypt

KST = dt.timezone(dt.timedelta(hours=9))
PREFIX = "/external"
COURIERS = {"CJGLS", "HANJIN", "HYUNDAI", "EPOST", "KGB", "KDEXP", "DAESIN", "ILYANG", "HDEXP",
            "CHUNIL", "KUNYOUNG", "NONGHYUP", "CUPARCEL", "CVSNET", "REGISTPOST", "EMS", "DHL",
            "FEDEX", "UPS", "CH1"}
DELIVERY_METHODS = {"DELIVERY", "GDFW_ISSUE_SVC", "VISIT_RECEIPT", "DIRECT_DELIVERY", "QUICK_SVC",
                    "NOTHING"}


class Clock:
    """A settable clock (seconds since the epoch) shared by the fake and the adapter."""

    def __init__(self, start: float | None = None):
        self.value = start if start is not None else dt.datetime(
            2026, 3, 31, 8, tzinfo=dt.timezone.utc).timestamp()

    def __call__(self) -> float:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += seconds


def kst(value: dt.datetime) -> str:
    """Naive UTC → Naver's KST ISO string."""
    return value.replace(tzinfo=dt.timezone.utc).astimezone(KST).isoformat(timespec="milliseconds")


def _parse(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None      # Naver wants an offset


@dataclass
class Recorded:
    method: str
    path: str
    query: dict
    authorization: str
    body: object


@dataclass
class FakeNaverCommerce:
    client_id: str = "fake-client-id"
    client_secret: str = field(default_factory=lambda: bcrypt.gensalt(rounds=4).decode())
    clock: Clock = field(default_factory=Clock)
    token_ttl: int = 10800
    change_page_size: int = 300           # last-changed-statuses limit (set small to test paging)
    fail_next: list = field(default_factory=list)
    retry_after: str | None = None        # Retry-After header on 429 answers, when set
    requests: list[Recorded] = field(default_factory=list)
    orders: dict = field(default_factory=dict)          # orderId → order dict
    product_orders: dict = field(default_factory=dict)  # productOrderId → state dict
    changes: list = field(default_factory=list)         # change log entries
    qnas: dict = field(default_factory=dict)            # questionId → row
    inquiries: dict = field(default_factory=dict)       # inquiryNo → row
    confirmed: list = field(default_factory=list)       # productOrderIds, in order
    dispatched: list = field(default_factory=list)      # dispatchProductOrders entries accepted
    answers: list = field(default_factory=list)         # (kind, id, text)
    tokens: dict = field(default_factory=dict)          # token → expires at (clock seconds)

    def __post_init__(self):
        fake = self
        self._lock = threading.Lock()
        self._seq = itertools.count(1)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                self.handle_any("GET")

            def do_POST(self):
                self.handle_any("POST")

            def do_PUT(self):
                self.handle_any("PUT")

            def handle_any(self, method):
                parsed = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Type", "").startswith("application/x-www-form"):
                    body = dict(urllib.parse.parse_qsl(raw.decode()))
                else:
                    try:
                        body = json.loads(raw) if raw else None
                    except ValueError:
                        body = raw
                with fake._lock:
                    fake.requests.append(Recorded(method, parsed.path, query,
                                                  self.headers.get("Authorization", ""), body))
                    status, payload, headers = fake.answer(method, parsed.path, query, body,
                                                           self.headers.get("Authorization", ""))
                self.reply(status, payload, headers)

            def reply(self, status, payload, headers):
                if payload is None:
                    data = b""
                elif isinstance(payload, bytes):
                    data = payload
                else:
                    data = json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=UTF-8"
                                 if not isinstance(payload, bytes) else "text/html")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d%s" % (self.server.server_address[1], PREFIX)
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)

    # --- lifecycle ---
    def start(self) -> "FakeNaverCommerce":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- seeding the shop ---
    def add_order(self, order_id: str, paid_at: dt.datetime, lines: list[dict],
                  **order) -> list[str]:
        """A paid order; ``lines`` are productOrder fields (productOrderId, productName …)."""
        self.orders[order_id] = {
            "orderId": order_id, "orderDate": kst(paid_at - dt.timedelta(minutes=1)),
            "paymentDate": kst(paid_at), "ordererId": "buyer1", "ordererName": "김구매",
            "ordererTel": "010-1234-5678", "paymentMeans": "신용카드", **order}
        ids = []
        for line in lines:
            poid = line["productOrderId"]
            self.product_orders[poid] = {
                "orderId": order_id, "productOrderStatus": "PAYED", "placeOrderStatus": "NOT_YET",
                "quantity": 1, "unitPrice": 10000, "optionPrice": 0, "deliveryFeeAmount": 0,
                "productId": "8800000001", "productName": "상품", "shippingMemo": "",
                "shippingAddress": {"addressType": "DOMESTIC", "name": "이수령",
                                    "tel1": "010-9876-5432", "tel2": "", "zipCode": "06236",
                                    "baseAddress": "서울특별시 강남구 테헤란로 1",
                                    "detailedAddress": "101호", "isRoadNameAddress": True},
                **line, "claim": None}
            self.change(poid, "PAYED", paid_at)
            ids.append(poid)
        return ids

    def change(self, poid: str, change_type: str, at: dt.datetime) -> None:
        self.changes.append({"productOrderId": poid, "lastChangedType": change_type,
                             "at": at.replace(tzinfo=dt.timezone.utc), "seq": next(self._seq)})

    def request_claim(self, poid: str, claim_type: str, at: dt.datetime, reason: str = "",
                      detail: str = "", quantity: int | None = None, status: str | None = None,
                      collect_tracking: str = "") -> str:
        """A buyer's 취소/반품/교환 request on one product order; returns the claim id."""
        po = self.product_orders[poid]
        section = {"CANCEL": "cancel", "ADMIN_CANCEL": "cancel", "RETURN": "return",
                   "EXCHANGE": "exchange"}[claim_type]
        claim_id = "C%s" % poid
        po["claimType"] = claim_type
        po["claimStatus"] = status or {"cancel": "CANCEL_REQUEST", "return": "RETURN_REQUEST",
                                       "exchange": "EXCHANGE_REQUEST"}[section]
        po["claimId"] = claim_id
        po["claim"] = (section, {
            "claimId": claim_id, "claimRequestDate": kst(at), "claimStatus": po["claimStatus"],
            section + "Reason": reason, section + "DetailedReason": detail,
            "requestQuantity": quantity or po["quantity"], "requestChannel": "구매자",
            **({"collectTrackingNumber": collect_tracking} if collect_tracking else {})})
        self.change(poid, "CLAIM_COMPLETED" if po["claimStatus"].endswith("_DONE")
                    else "CLAIM_REQUESTED", at)
        return claim_id

    def withdraw_claim(self, poid: str, at: dt.datetime) -> None:
        po = self.product_orders[poid]
        rejected = {"CANCEL": "CANCEL_REJECT", "ADMIN_CANCEL": "ADMIN_CANCEL_REJECT",
                    "RETURN": "RETURN_REJECT", "EXCHANGE": "EXCHANGE_REJECT"}
        po["claimStatus"] = rejected[po["claimType"]]
        po["claim"][1]["claimStatus"] = po["claimStatus"]
        self.change(poid, "CLAIM_REJECTED", at)

    def add_qna(self, question_id: int, asked_at: dt.datetime, question: str, **row) -> None:
        self.qnas[question_id] = {"questionId": question_id, "productId": 8800000001,
                                  "productName": "상품", "question": question, "answer": None,
                                  "answered": False, "maskedWriterId": "buy*****",
                                  "createDate": kst(asked_at), **row}

    def add_inquiry(self, inquiry_no: int, asked_at: dt.datetime, title: str, content: str,
                    **row) -> None:
        self.inquiries[inquiry_no] = {
            "inquiryNo": inquiry_no, "category": "배송", "title": title, "inquiryContent": content,
            "inquiryRegistrationDateTime": kst(asked_at), "answered": False,
            "orderId": "2026033100001", "productNo": "8800000001", "productName": "상품",
            "productOrderIdList": "", "customerId": "buyer1", "customerName": "김구매", **row}

    def expire_tokens(self) -> None:
        """Every issued token stops working (as after 3 hours)."""
        self.tokens.clear()

    def calls(self, suffix: str) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith(suffix)]

    # --- answers ---
    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.clock(), dt.timezone.utc)

    def envelope(self, data) -> dict:
        return {"timestamp": self.now().astimezone(KST).isoformat(timespec="milliseconds"),
                "traceId": "fake-%s" % secrets.token_hex(6), "data": data}

    def error(self, status: int, code: str, message: str, invalid=None):
        body = {"code": code, "message": message,
                "timestamp": self.now().astimezone(KST).isoformat(timespec="milliseconds"),
                "traceId": "fake-%s" % secrets.token_hex(6)}
        if invalid:
            body["invalidInputs"] = [{"name": n, "type": "NotValid", "message": m}
                                     for n, m in invalid]
        return status, body, None

    def answer(self, method, path, query, body, authorization):
        if not path.startswith(PREFIX):
            return self.error(404, "NOT_FOUND", path)
        path = path[len(PREFIX):]
        if path == "/v1/oauth2/token" and method == "POST":
            return self.token(body if isinstance(body, dict) else {})
        token = authorization[7:] if authorization.startswith("Bearer ") else ""
        if self.tokens.get(token, 0) <= self.clock():
            return self.error(401, "GW.AUTHN", "인증 토큰이 유효하지 않습니다.")
        if self.fail_next:
            status, payload = self.fail_next.pop(0)
            if status == 429:
                return (429, {"code": "GW.RATE_LIMIT", "message": "요청이 많아 처리할 수 없습니다."},
                        {"Retry-After": self.retry_after} if self.retry_after else None)
            if status >= 500 and payload is None:
                return status, b"upstream connect error", None
            return status, payload, None
        routes = {
            ("GET", "/v1/pay-order/seller/product-orders/last-changed-statuses"): self.last_changed,
            ("POST", "/v1/pay-order/seller/product-orders/query"): self.query,
            ("POST", "/v1/pay-order/seller/product-orders/confirm"): self.confirm,
            ("POST", "/v1/pay-order/seller/product-orders/dispatch"): self.dispatch,
            ("GET", "/v1/contents/qnas"): self.qna_list,
            ("GET", "/v1/pay-user/inquiries"): self.inquiry_list,
        }
        if (method, path) in routes:
            return routes[(method, path)](query, body)
        parts = path.strip("/").split("/")
        if method == "GET" and parts[:4] == ["v1", "pay-order", "seller", "orders"] \
                and len(parts) == 6 and parts[5] == "product-order-ids":
            return self.order_product_ids(parts[4])
        if method == "PUT" and parts[:3] == ["v1", "contents", "qnas"] and len(parts) == 4:
            return self.answer_qna(parts[3], body)
        if method == "POST" and parts[:3] == ["v1", "pay-merchant", "inquiries"] \
                and len(parts) == 5 and parts[4] == "answer":
            return self.answer_inquiry(parts[3], body)
        return self.error(404, "NOT_FOUND", "%s %s" % (method, path))

    def token(self, form: dict):
        missing = [n for n in ("client_id", "timestamp", "grant_type", "client_secret_sign", "type")
                   if not form.get(n)]
        if missing:
            return self.error(400, "GW.BAD_REQUEST", "필수 파라미터가 없습니다.",
                              [(n, "필수 값입니다.") for n in missing])
        if form["grant_type"] != "client_credentials" or form["type"] not in ("SELF", "SELLER") \
                or (form["type"] == "SELLER" and not form.get("account_id")):
            return self.error(400, "GW.BAD_REQUEST", "잘못된 요청입니다.")
        try:
            stamp = int(form["timestamp"]) / 1000
            sign = base64.b64decode(form["client_secret_sign"], validate=True)
        except ValueError:
            return self.error(400, "GW.BAD_REQUEST", "잘못된 전자서명입니다.")
        if abs(stamp - self.clock()) > 300:
            return self.error(400, "GW.AUTHN", "전자서명 유효 시간(5분)이 지났습니다.")
        expected = bcrypt.hashpw(("%s_%s" % (self.client_id, form["timestamp"])).encode(),
                                 self.client_secret.encode())
        if form["client_id"] != self.client_id or not secrets.compare_digest(sign, expected):
            return self.error(403, "GW.AUTHN", "요청을 보낼 권한이 없습니다.")
        now = self.clock()
        live = [(t, exp) for t, exp in self.tokens.items() if exp - now >= 1800]
        if live:
            token, expires = live[0]
        else:
            token, expires = "fake-token-%s" % secrets.token_hex(8), now + self.token_ttl
            self.tokens[token] = expires
        return 200, {"access_token": token, "expires_in": int(expires - now),
                     "token_type": "Bearer"}, None

    # -- product orders --
    def last_changed(self, query, body):
        start, end = _parse(query.get("lastChangedFrom")), _parse(query.get("lastChangedTo"))
        if start is None or ("lastChangedTo" in query and end is None):
            return self.error(400, "4000", "잘못된 요청 파라미터",
                              [("lastChangedFrom", "date-time with offset")])
        end = end or start + dt.timedelta(hours=24)
        if end - start > dt.timedelta(hours=24) or end < start:
            return self.error(400, "104139", "조회 가능한 날짜 범위를 초과")
        wanted = query.get("lastChangedType")
        sequence = query.get("moreSequence")
        rows = sorted((c for c in self.changes if start <= c["at"] <= end
                       and (not wanted or c["lastChangedType"] == wanted)),
                      key=lambda c: (c["at"], c["seq"]))
        if sequence:
            rows = [c for c in rows if c["at"] > start or "%020d" % c["seq"] >= sequence]
        limit = min(int(query.get("limitCount") or 300), self.change_page_size)
        page, rest = rows[:limit], rows[limit:]
        data = {"lastChangeStatuses": [self.status_row(c) for c in page], "count": len(page)}
        if rest:
            data["more"] = {
                "moreFrom": rest[0]["at"].astimezone(KST).isoformat(timespec="milliseconds"),
                "moreSequence": "%020d" % rest[0]["seq"]}
        return 200, self.envelope(data), None

    def status_row(self, change):
        po = self.product_orders[change["productOrderId"]]
        row = {"orderId": po["orderId"], "productOrderId": change["productOrderId"],
               "lastChangedType": change["lastChangedType"],
               "paymentDate": self.orders[po["orderId"]]["paymentDate"],
               "lastChangedDate": change["at"].astimezone(KST).isoformat(timespec="milliseconds"),
               "productOrderStatus": po["productOrderStatus"], "receiverAddressChanged": False}
        if po.get("claimType"):
            row.update(claimType=po["claimType"], claimStatus=po["claimStatus"])
        return row

    def query(self, query, body):
        ids = (body or {}).get("productOrderIds") if isinstance(body, dict) else None
        if not isinstance(ids, list) or not ids or len(ids) > 300:
            return self.error(400, "4000", "잘못된 요청 파라미터",
                              [("productOrderIds", "1~300개의 상품 주문 번호")])
        data = []
        for poid in ids:
            po = self.product_orders.get(str(poid))
            if po is None:
                continue
            product_order = {k: v for k, v in po.items() if k not in ("orderId", "claim")}
            product_order["productOrderId"] = str(poid)
            item = {"order": dict(self.orders[po["orderId"]]), "productOrder": product_order}
            if po.get("claim"):
                section, claim = po["claim"]
                item[section] = dict(claim)
                item["currentClaim"] = {section: dict(claim)}
            data.append(item)
        return 200, self.envelope(data), None

    def _batch(self, body, key):
        items = (body or {}).get(key) if isinstance(body, dict) else None
        if not isinstance(items, list) or not items or len(items) > 30:
            return None
        return items

    def confirm(self, query, body):
        ids = self._batch(body, "productOrderIds")
        if ids is None:
            return self.error(400, "4000", "잘못된 요청 파라미터", [("productOrderIds", "1~30개")])
        success, fail = [], []
        for poid in ids:
            po = self.product_orders.get(str(poid))
            if po is None:
                fail.append({"productOrderId": poid, "code": "100001", "message": "상품 주문을 찾을 수 없음"})
            elif po["productOrderStatus"] != "PAYED" or po.get("claimStatus"):
                fail.append({"productOrderId": poid, "code": "104442", "message": "상품 주문 상태 확인 필요"})
            elif po["placeOrderStatus"] == "OK":
                fail.append({"productOrderId": poid, "code": "105306",
                             "message": "변경을 요청한 상태가 기존과 동일"})
            else:
                po["placeOrderStatus"] = "OK"
                self.confirmed.append(poid)
                success.append({"productOrderId": poid, "isReceiverAddressChanged": False})
        return 200, self.envelope({"successProductOrderInfos": success,
                                   "failProductOrderInfos": fail}), None

    def dispatch(self, query, body):
        items = self._batch(body, "dispatchProductOrders")
        if items is None:
            return self.error(400, "4000", "잘못된 요청 파라미터", [("dispatchProductOrders", "1~30개")])
        success, fail = [], []
        for item in items:
            poid = str((item or {}).get("productOrderId"))
            po = self.product_orders.get(poid)
            problem = None
            if po is None:
                problem = ("100001", "상품 주문을 찾을 수 없음")
            elif item.get("deliveryMethod") not in DELIVERY_METHODS:
                problem = ("104117", "배송 방법 변경 필요")
            elif not item.get("deliveryCompanyCode"):
                problem = ("104118", "택배사 미입력")
            elif item["deliveryCompanyCode"] not in COURIERS:
                problem = ("104119", "택배사 코드 확인")
            elif not item.get("trackingNumber"):
                problem = ("104120", "송장 번호 미입력")
            elif _parse(item.get("dispatchDate")) is None:
                problem = ("4000", "잘못된 요청 파라미터(dispatchDate)")
            elif po["productOrderStatus"] != "PAYED" or po.get("claimStatus"):
                problem = ("104442", "상품 주문 상태 확인 필요")
            if problem:
                fail.append({"productOrderId": poid, "code": problem[0], "message": problem[1]})
                continue
            po["productOrderStatus"] = "DELIVERING"
            self.dispatched.append(dict(item))
            self.change(poid, "DISPATCHED", self.now().replace(tzinfo=None))
            success.append(poid)
        return 200, self.envelope({"successProductOrderIds": success,
                                   "failProductOrderInfos": fail}), None

    def order_product_ids(self, order_id):
        if order_id not in self.orders:
            return self.error(400, "100003", "주문을 찾을 수 없음")
        return 200, self.envelope([p for p, po in self.product_orders.items()
                                   if po["orderId"] == order_id]), None

    # -- inquiries --
    def _page(self, rows, query, key, max_size):
        try:
            page, size = int(query.get("page") or 1), int(query.get("size") or 10)
        except ValueError:
            return self.error(400, "BAD_REQUEST", "잘못된 요청", [("page", "정수")])
        if page < 1 or not 1 <= size <= max_size:
            return self.error(400, "BAD_REQUEST", "잘못된 요청", [("size", "1~%d" % max_size)])
        total_pages = max(1, -(-len(rows) // size))
        chunk = rows[(page - 1) * size: page * size]
        return 200, {key: chunk, "page": page, "size": size, "totalElements": len(rows),
                     "totalPages": total_pages, "first": page == 1,
                     "last": page >= total_pages}, None

    def qna_list(self, query, body):
        start, end = _parse(query.get("fromDate")), _parse(query.get("toDate"))
        if start is None or end is None:
            return self.error(400, "BAD_REQUEST", "잘못된 요청",
                              [("fromDate", "필수"), ("toDate", "필수")])
        answered = query.get("answered")
        rows = [r for r in sorted(self.qnas.values(), key=lambda r: r["createDate"])
                if start <= _parse(r["createDate"]) <= end
                and (answered is None or str(r["answered"]).lower() == answered)]
        return self._page(rows, query, "contents", 100)

    def inquiry_list(self, query, body):
        try:
            start = dt.date.fromisoformat(query.get("startSearchDate") or "")
            end = dt.date.fromisoformat(query.get("endSearchDate") or "")
        except ValueError:
            return self.error(400, "BAD_REQUEST", "잘못된 요청",
                              [("startSearchDate", "yyyy-MM-dd"), ("endSearchDate", "yyyy-MM-dd")])
        if int(query.get("size") or 10) < 10:
            return self.error(400, "BAD_REQUEST", "잘못된 요청", [("size", "10~200")])
        answered = query.get("answered")
        rows = [r for r in sorted(self.inquiries.values(),
                                  key=lambda r: r["inquiryRegistrationDateTime"])
                if start <= _parse(r["inquiryRegistrationDateTime"]).astimezone(KST).date() <= end
                and (answered is None or str(r["answered"]).lower() == answered)]
        return self._page(rows, query, "content", 200)

    def answer_qna(self, question_id, body):
        row = self.qnas.get(int(question_id)) if question_id.isdigit() else None
        text = (body or {}).get("commentContent") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text.strip():
            return self.error(400, "BAD_REQUEST", "잘못된 요청", [("commentContent", "필수")])
        if row is None:
            return self.error(404, "NOT_FOUND", "데이터 없음")
        row.update(answer=text, answered=True)
        self.answers.append(("qna", int(question_id), text))
        return 204, None, None

    def answer_inquiry(self, inquiry_no, body):
        row = self.inquiries.get(int(inquiry_no)) if inquiry_no.isdigit() else None
        text = (body or {}).get("answerComment") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text.strip():
            return self.error(400, "BAD_REQUEST", "잘못된 요청", [("answerComment", "필수")])
        if row is None:
            return self.error(404, "NOT_FOUND", "데이터 없음")
        row.update(answerContent=text, answered=True)
        self.answers.append(("inquiry", int(inquiry_no), text))
        return 200, {"code": "SUCCESS", "message": "성공",
                     "data": {"inquiryNo": int(inquiry_no), "inquiryCommentNo": len(self.answers)},
                     "timestamp": self.now().astimezone(KST).isoformat(timespec="milliseconds"),
                     "traceId": "fake"}, None
