"""The demo marketplace (데모마켓): a small local HTTP API that behaves like a marketplace.

It exists so every connector job can be seen working on a fresh install without an account
anywhere: it produces new orders, claims (cancel / return / exchange / withdrawn cancels) and
inquiries over time, and accepts order confirmations, tracking numbers and answers. What it
produces is a pure function of its seed and its clock: time is cut into slots (15 minutes by
default) and slot *k* always yields the same things, generated once slot *k* has passed. Tests
pass their own clock. State (what was generated, confirmed, pushed, answered) is kept in a
JSON file, so a restart keeps it.

API (JSON, times ISO 8601 in Korean time, ``Authorization: Bearer <api key>``)::

    GET  /api/v1/orders?from=…&to=…                 {"orders": […]}
    POST /api/v1/orders/confirm   {"orderNos": […]}  {"results": [{"orderNo", "ok", "message"}]}
    GET  /api/v1/claims?from=…&to=…                 {"claims": […]}
    POST /api/v1/invoices         {"invoices": […]}  {"results": […]}
    GET  /api/v1/inquiries?from=…&to=…&types=…      {"inquiries": […]}
    POST /api/v1/inquiries/<id>/answer {"text": …}   {"ok": true}
    GET  /status.json  ·  GET /    what was received (no key needed)

Started by ``flask demo-market`` (127.0.0.1:8765), or by ``python app.py`` in a thread when
the demo data is on (RULEDESK_DEMO_MARKET=host:port, or "off").
"""
from __future__ import annotations

import datetime as dt
import html
import json
import logging
import os
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

log = logging.getLogger("ruledesk.demo_market")

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8765
DEMO_KEY = "demo-market-key-7f3a1a2b"
ENV = "RULEDESK_DEMO_MARKET"
KST = ZoneInfo("Asia/Seoul")
SLOT = dt.timedelta(minutes=15)
BACKLOG = dt.timedelta(hours=6)       # a fresh market has six hours of orders waiting
MAX_SLOTS = 96 * 3                    # after a long pause, only the last three days are made

INQUIRY_TEXTS = {
    "product_qna": [("사이즈 문의", "평소 M 사이즈 입는데 어떤 옵션이 맞을까요?"),
                    ("재입고 문의", "품절된 옵션 재입고 예정이 있나요?"),
                    ("구성 문의", "선물세트에 쇼핑백이 포함되나요?")],
    "urgent": [("배송지 변경 요청", "주소를 잘못 입력했어요. 출고 전에 변경 부탁드립니다."),
               ("빠른 배송 요청", "내일까지 받아야 하는데 가능할까요?"),
               ("주문 취소 문의", "실수로 두 번 주문했어요. 하나 취소 가능할까요?")],
    "review": [("만족합니다", "포장도 꼼꼼하고 배송도 빨랐어요. 재구매 의사 있습니다."),
               ("보통이에요", "상품은 괜찮은데 배송이 조금 늦었네요."),
               ("아쉬워요", "사진과 색상이 조금 달라요.")],
}
CLAIM_REASONS = {"cancel": ["취소-고객변심", "취소-배송지연"],
                 "return": ["반품-불량", "반품-오배송"], "exchange": ["사이즈교환", "색상교환"]}


def _iso(value: dt.datetime) -> str:
    """Naive UTC → the marketplace's own ISO 8601 in Korean time."""
    return value.replace(tzinfo=dt.timezone.utc).astimezone(KST).isoformat()


def _parse(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=KST)
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


class DemoMarket:
    """The market's state and rules; ``serve`` puts it behind HTTP."""

    def __init__(self, path: str | Path | None = None, api_key: str = DEMO_KEY,
                 seed: int = 20260331, clock: Callable[[], dt.datetime] = _utcnow,
                 slot: dt.timedelta = SLOT, backlog: dt.timedelta = BACKLOG):
        self.path = Path(path) if path else None
        self.api_key = api_key
        self.clock = clock
        self.slot = slot
        self.lock = threading.RLock()
        self.outage = False                  # tests: every API call answers 503
        self.refusals: dict[str, str] = {}   # tests: order no → why its invoice is refused
        self.state = self._load() or {
            "seed": seed, "epoch": (clock() - backlog).isoformat(), "made": -1,
            "orders": {}, "claims": [], "inquiries": [], "invoices": {}, "answers": {},
            "confirmed": [], "pushes": 0}
        self._catalog = None

    # --- persistence --------------------------------------------------------------------

    def _load(self) -> dict | None:
        if self.path and self.path.exists():
            try:
                return json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                log.warning("demo market: %s is unreadable; starting afresh", self.path)
        return None

    def _save(self) -> None:
        if not self.path:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.state, ensure_ascii=False, indent=1),
                             encoding="utf-8")
        os.replace(temporary, self.path)

    # --- what the market produces over time -------------------------------------------------

    def catalog(self):
        if self._catalog is None:
            from engine.demo import catalog
            self._catalog = catalog()
        return self._catalog

    def advance(self) -> None:
        """Make every slot that has fully passed (once each)."""
        with self.lock:
            epoch = dt.datetime.fromisoformat(self.state["epoch"])
            passed = int((self.clock() - epoch) / self.slot) - 1
            first = max(self.state["made"] + 1, passed - MAX_SLOTS)
            if passed < first:
                return
            for number in range(first, passed + 1):
                self._make(number, epoch + number * self.slot)
            self.state["made"] = passed
            self._save()

    def _make(self, number: int, start: dt.datetime) -> None:
        from engine.demo import ADDRESSES, GIVEN, MEMOS, SURNAMES

        rng = random.Random(f"{self.state['seed']}:{number}")

        def at():
            return _iso(start + dt.timedelta(seconds=rng.randrange(
                int(self.slot.total_seconds()))))

        def name():
            return rng.choice(SURNAMES) + rng.choice(GIVEN)

        for i in range(rng.choice([0, 1, 1, 2])):
            buyer = name()
            zip_code, pattern = rng.choice(ADDRESSES)
            address = pattern % tuple(rng.randint(101, 1999) for _ in range(pattern.count("%d")))
            items = [{"productCode": item.product_code, "productName": item.product_name,
                      "optionCode": item.option_code, "optionName": item.option_name,
                      "quantity": rng.randint(1, 3), "unitPrice": item.price,
                      "lineId": f"DM{number:06d}{i}-{n}"}
                     for n, item in enumerate(rng.sample(self.catalog(), rng.randint(1, 2)))]
            self._put_order({
                "orderNo": f"DM{number:06d}{i}", "orderedAt": at(), "buyerName": buyer,
                "buyerPhone": "010-%04d-%04d" % (rng.randint(2000, 9999), rng.randint(0, 9999)),
                "receiverName": buyer if rng.random() < 0.7 else name(),
                "receiverPhone": "010-%04d-%04d" % (rng.randint(2000, 9999),
                                                    rng.randint(0, 9999)),
                "zipCode": zip_code, "address": address, "memo": rng.choice(MEMOS),
                "shippingFee": rng.choice([0, 0, 3000]), "items": items})
        known = sorted(self.state["orders"])
        if known and rng.random() < 0.2:
            order = self.state["orders"][rng.choice(known)]
            kind = rng.choices(["cancel", "return", "exchange", "withdrawn"],
                               weights=[6, 2, 1, 1])[0]
            if kind in ("return", "exchange") and order["orderNo"] not in self.state["invoices"]:
                kind = "cancel"
            if kind == "withdrawn" and order["status"] != "cancelled":
                kind = "cancel"
            if not (kind == "cancel" and order["status"] == "cancelled"):
                self._put_claim(order["orderNo"], kind, at(),
                                rng.choice(CLAIM_REASONS.get(kind, ["고객 요청"])),
                                f"CL{number:06d}")
        if rng.random() < 0.35:
            kind = rng.choice(list(INQUIRY_TEXTS))
            title, body = rng.choice(INQUIRY_TEXTS[kind])
            order_no = rng.choice(known) if known and kind != "product_qna" else ""
            item = rng.choice(self.catalog())
            self._put_inquiry({"inquiryId": f"Q{number:06d}", "type": kind, "askedAt": at(),
                               "title": title, "content": body, "writer": name(),
                               "phone": "", "orderNo": order_no,
                               "productCode": item.product_code})

    def _put_order(self, order: dict) -> None:
        order.setdefault("status", "new")
        self.state["orders"][order["orderNo"]] = order

    def _put_claim(self, order_no: str, kind: str, at: str, reason: str, claim_id: str,
                   quantity: int | None = None, option_code: str = "") -> None:
        self.state["claims"].append({"claimId": claim_id, "orderNo": order_no, "type": kind,
                                     "claimedAt": at, "reason": reason, "quantity": quantity,
                                     "optionCode": option_code})
        order = self.state["orders"].get(order_no)
        if order and kind == "cancel" and quantity is None:
            order["status"] = "cancelled"
        elif order and kind == "withdrawn":
            order["status"] = "shipped" if order_no in self.state["invoices"] else "new"

    def _put_inquiry(self, inquiry: dict) -> None:
        self.state["inquiries"].append(inquiry)

    # --- tests and demos put things in directly -------------------------------------------

    def add_order(self, order_no: str, at: dt.datetime, items: list[tuple[str, int]],
                  buyer: str = "김데모", **extra) -> dict:
        """An order of (option code, quantity) items at ``at`` (naive UTC)."""
        by_code = {item.option_code: item for item in self.catalog()}
        with self.lock:
            order = {"orderNo": order_no, "orderedAt": _iso(at), "buyerName": buyer,
                     "buyerPhone": "010-1234-5678", "receiverName": buyer,
                     "receiverPhone": "010-1234-5678", "zipCode": "06236",
                     "address": "서울특별시 강남구 테헤란로 152", "memo": "", "shippingFee": 0,
                     "items": [{"productCode": by_code[code].product_code if code in by_code
                                else code,
                                "productName": by_code[code].product_name if code in by_code
                                else code,
                                "optionCode": code,
                                "optionName": by_code[code].option_name if code in by_code
                                else "",
                                "quantity": quantity,
                                "unitPrice": by_code[code].price if code in by_code else 1000,
                                "lineId": f"{order_no}-{n}"}
                               for n, (code, quantity) in enumerate(items)], **extra}
            self._put_order(order)
            self._save()
            return order

    def add_claim(self, order_no: str, kind: str, at: dt.datetime, reason: str = "",
                  claim_id: str | None = None, quantity: int | None = None,
                  option_code: str = "") -> None:
        with self.lock:
            self._put_claim(order_no, kind, _iso(at), reason,
                            claim_id or f"CL-{len(self.state['claims']) + 1}", quantity,
                            option_code)
            self._save()

    def add_inquiry(self, inquiry_id: str, kind: str, at: dt.datetime, title: str, body: str,
                    order_no: str = "", writer: str = "김데모") -> None:
        with self.lock:
            self._put_inquiry({"inquiryId": inquiry_id, "type": kind, "askedAt": _iso(at),
                               "title": title, "content": body, "writer": writer,
                               "phone": "", "orderNo": order_no, "productCode": ""})
            self._save()

    # --- the API --------------------------------------------------------------------------

    def _between(self, items, stamp: str, query: dict):
        start = _parse(query.get("from")) or dt.datetime(2000, 1, 1)
        end = _parse(query.get("to")) or dt.datetime(9999, 1, 1)
        return [i for i in items if start <= _parse(i[stamp]) <= end]

    def orders(self, query: dict) -> dict:
        self.advance()
        with self.lock:
            found = self._between(self.state["orders"].values(), "orderedAt", query)
            return {"orders": sorted(found, key=lambda o: o["orderedAt"])}

    def confirm(self, body: dict) -> dict:
        results = []
        with self.lock:
            for order_no in body.get("orderNos") or []:
                order = self.state["orders"].get(order_no)
                if order is None:
                    results.append({"orderNo": order_no, "ok": False,
                                    "message": "주문을 찾을 수 없습니다"})
                    continue
                if order_no not in self.state["confirmed"]:
                    self.state["confirmed"].append(order_no)
                if order["status"] == "new":
                    order["status"] = "confirmed"
                results.append({"orderNo": order_no, "ok": True, "message": ""})
            self._save()
        return {"results": results}

    def claims(self, query: dict) -> dict:
        self.advance()
        with self.lock:
            return {"claims": self._between(self.state["claims"], "claimedAt", query)}

    def invoices(self, body: dict) -> dict:
        results = []
        with self.lock:
            for push in body.get("invoices") or []:
                order_no = str(push.get("orderNo") or "")
                tracking = str(push.get("trackingNo") or "")
                order = self.state["orders"].get(order_no)
                if order_no in self.refusals:
                    error = self.refusals[order_no]
                elif order is None:
                    error = "주문을 찾을 수 없습니다"
                elif order["status"] == "cancelled":
                    error = "취소된 주문입니다"
                elif not tracking.isdigit():
                    error = "송장번호는 숫자만 입력할 수 있습니다"
                else:
                    error = ""
                    self.state["pushes"] += 1
                    order["status"] = "shipped"
                    self.state["invoices"][order_no] = {
                        "courier": push.get("courier") or "", "trackingNo": tracking,
                        "shippedAt": push.get("shippedAt") or "",
                        "receivedAt": _iso(self.clock())}
                results.append({"orderNo": order_no, "ok": not error, "message": error})
            self._save()
        return {"results": results}

    def inquiries(self, query: dict) -> dict:
        self.advance()
        kinds = set(filter(None, (query.get("types") or "").split(",")))
        with self.lock:
            found = self._between(self.state["inquiries"], "askedAt", query)
            return {"inquiries": [i for i in found if not kinds or i["type"] in kinds]}

    def answer(self, inquiry_id: str, body: dict) -> tuple[int, dict]:
        text = body.get("text")
        with self.lock:
            if not any(i["inquiryId"] == inquiry_id for i in self.state["inquiries"]):
                return 404, {"error": "문의를 찾을 수 없습니다"}
            if not isinstance(text, str) or not text.strip():
                return 400, {"error": "답변 내용이 없습니다"}
            self.state["answers"][inquiry_id] = {"text": text, "receivedAt": _iso(self.clock())}
            self._save()
        return 200, {"ok": True}

    def status(self) -> dict:
        self.advance()
        with self.lock:
            return {"orders": len(self.state["orders"]), "claims": len(self.state["claims"]),
                    "inquiries": len(self.state["inquiries"]),
                    "confirmed": list(self.state["confirmed"]),
                    "invoices": dict(self.state["invoices"]),
                    "answers": dict(self.state["answers"]), "pushes": self.state["pushes"]}


# --- HTTP -------------------------------------------------------------------------------------

class _Handler(BaseHTTPRequestHandler):
    market: DemoMarket
    server_version = "DemoMarket/1"

    def log_message(self, fmt, *args):   # quiet; the app's log is enough
        log.debug("demo market: " + fmt, *args)

    def _send(self, status: int, body, content_type="application/json; charset=utf-8"):
        data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorised(self) -> bool:
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        return scheme.lower() == "bearer" and token.strip() == self.market.api_key

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    def _route(self, method: str):
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        path = parts.path.rstrip("/") or "/"
        if method == "GET" and path == "/status.json":
            return self._send(200, self.market.status())
        if method == "GET" and path == "/":
            return self._send(200, _status_page(self.market.status()).encode(),
                              "text/html; charset=utf-8")
        if not path.startswith("/api/v1/"):
            return self._send(404, {"error": "not found"})
        if self.market.outage:
            return self._send(503, {"error": "점검 중입니다"})
        if not self._authorised():
            return self._send(401, {"error": "unauthorized"})
        try:
            if method == "GET" and path == "/api/v1/orders":
                return self._send(200, self.market.orders(query))
            if method == "GET" and path == "/api/v1/claims":
                return self._send(200, self.market.claims(query))
            if method == "GET" and path == "/api/v1/inquiries":
                return self._send(200, self.market.inquiries(query))
            if method == "POST" and path == "/api/v1/orders/confirm":
                return self._send(200, self.market.confirm(self._body()))
            if method == "POST" and path == "/api/v1/invoices":
                return self._send(200, self.market.invoices(self._body()))
            if method == "POST" and path.startswith("/api/v1/inquiries/") \
                    and path.endswith("/answer"):
                inquiry_id = path[len("/api/v1/inquiries/"):-len("/answer")]
                return self._send(*self.market.answer(inquiry_id, self._body()))
        except ValueError as exc:   # a bad from/to
            return self._send(400, {"error": str(exc)})
        return self._send(404, {"error": "not found"})

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")


def _status_page(status: dict) -> str:
    rows = "".join(f"<tr><td>{html.escape(no)}</td><td>{html.escape(i['courier'])}</td>"
                   f"<td>{html.escape(i['trackingNo'])}</td><td>{html.escape(i['receivedAt'])}"
                   "</td></tr>" for no, i in sorted(status["invoices"].items()))
    answers = "".join(f"<tr><td>{html.escape(q)}</td><td>{html.escape(a['text'])}</td>"
                      f"<td>{html.escape(a['receivedAt'])}</td></tr>"
                      for q, a in sorted(status["answers"].items()))
    return ("<!doctype html><meta charset='utf-8'><title>데모마켓</title>"
            "<h1>데모마켓 (ruledesk demo marketplace)</h1>"
            f"<p>주문 {status['orders']} · 클레임 {status['claims']} · 문의 "
            f"{status['inquiries']} · 발주확인 {len(status['confirmed'])}</p>"
            "<h2>받은 송장</h2><table border=1><tr><th>주문번호</th><th>택배사</th>"
            f"<th>송장번호</th><th>받은 시각</th></tr>{rows}</table>"
            "<h2>받은 답변</h2><table border=1><tr><th>문의</th><th>답변</th><th>받은 시각</th>"
            f"</tr>{answers}</table>")


def serve(market: DemoMarket, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT):
    """Serve ``market`` in a daemon thread; return the server (``.server_address``,
    ``.shutdown()``). Port 0 picks a free one (tests)."""
    handler = type("Handler", (_Handler,), {"market": market})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="demo-market", daemon=True)
    thread.start()
    server.thread = thread
    return server


def address_from_env(value: str | None) -> tuple[str, int] | None:
    """RULEDESK_DEMO_MARKET: "host:port", "port", "" (the default) or "off" → None."""
    value = (value or "").strip()
    if value.lower() in ("off", "0", "no", "false"):
        return None
    if not value:
        return DEFAULT_HOST, DEFAULT_PORT
    host, _, port = value.rpartition(":")
    return (host or DEFAULT_HOST), int(port)


def base_url(address: tuple[str, int] | None = None) -> str:
    host, port = address or (DEFAULT_HOST, DEFAULT_PORT)
    return f"http://{host}:{port}"
