"""The ``demo`` connector: speaks to the demo marketplace (engine/connectors/demo_market.py).

It is a real HTTP client, written like a marketplace adapter should be: the marketplace's JSON
and Korean-time timestamps in, our plain records (naive UTC) out; a refused key is
"authentication failed", an unreachable market or a 5xx is a ConnectorError naming it.
"""
from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
from urllib.parse import quote, urlencode

from engine.connectors.base import (
    Connector, ConnectorError, InvoicePush, MarketClaim, MarketInquiry, MarketItem, MarketOrder,
    PushResult, register,
)
from engine.connectors.demo_market import KST, _parse
from engine.schema import Field
from engine.text import N_

TIMEOUT = 10


@register
class DemoConnector(Connector):
    type = "demo"
    label = N_("Demo marketplace (simulated)")
    credential_fields = [Field("api_key", N_("API key"), required=True, max_length=200)]
    setting_fields = [Field("base_url", N_("Demo marketplace address"), required=True,
                            max_length=200, placeholder="http://127.0.0.1:8765")]

    # --- HTTP ---------------------------------------------------------------------------------

    def _call(self, method: str, path: str, query: dict | None = None, body=None) -> dict:
        base = (self.settings.get("base_url") or "").rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise ConnectorError(N_("The marketplace address %(url)s is not an http(s) URL."),
                                 url=base)
        url = base + path + ("?" + urlencode(query) if query else "")
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method, headers={
            "Authorization": "Bearer %s" % self.credentials.get("api_key", ""),
            "Content-Type": "application/json", "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403):
                raise ConnectorError(N_("%(channel)s: authentication failed at the marketplace "
                                        "(check the API key)."), channel=self.channel_name)
            detail = _error_text(exc)
            raise ConnectorError(N_("%(channel)s: the marketplace answered %(status)s %(detail)s"),
                                 channel=self.channel_name, status=exc.code, detail=detail)
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ConnectorError(N_("%(channel)s: cannot reach the marketplace at %(url)s "
                                    "(%(reason)s)."), channel=self.channel_name, url=base,
                                 reason=str(reason))
        except ValueError:
            raise ConnectorError(N_("%(channel)s: the marketplace sent an answer that is not "
                                    "JSON."), channel=self.channel_name)

    @staticmethod
    def _window(since: dt.datetime, now: dt.datetime) -> dict:
        def iso(value):
            return value.replace(tzinfo=dt.timezone.utc).astimezone(KST).isoformat()
        return {"from": iso(since), "to": iso(now)}

    # --- the interface --------------------------------------------------------------------------

    def fetch_orders(self, since, now):
        found = self._call("GET", "/api/v1/orders", self._window(since, now))
        orders = []
        for o in found.get("orders") or []:
            orders.append(MarketOrder(
                order_no=o["orderNo"], received_at=_parse(o["orderedAt"]),
                buyer_name=o.get("buyerName") or "", buyer_phone=o.get("buyerPhone") or "",
                recipient_name=o.get("receiverName") or "",
                recipient_phone=o.get("receiverPhone") or "", zip_code=o.get("zipCode") or "",
                address=o.get("address") or "", ship_memo=o.get("memo") or "",
                shipping_fee=int(o.get("shippingFee") or 0),
                items=[MarketItem(product_code=i.get("productCode") or "",
                                  product_name=i.get("productName") or "",
                                  quantity=int(i.get("quantity") or 0),
                                  unit_price=int(i.get("unitPrice") or 0),
                                  option_code=i.get("optionCode") or "",
                                  option_name=i.get("optionName") or "")
                       for i in o.get("items") or []],
                external_ids=[i.get("lineId") or "" for i in o.get("items") or []]))
        return orders

    def confirm_orders(self, orders):
        found = self._call("POST", "/api/v1/orders/confirm",
                           body={"orderNos": [o.order_no for o in orders]})
        return _results(found)

    def fetch_claims(self, since, now):
        found = self._call("GET", "/api/v1/claims", self._window(since, now))
        return [MarketClaim(order_no=c["orderNo"], kind=c["type"],
                            requested_at=_parse(c["claimedAt"]), reason=c.get("reason") or "",
                            option_code=c.get("optionCode") or "", quantity=c.get("quantity"),
                            external_id=c.get("claimId") or "")
                for c in found.get("claims") or []]

    def push_invoices(self, pushes: list[InvoicePush]):
        found = self._call("POST", "/api/v1/invoices", body={"invoices": [
            {"orderNo": p.order_no, "courier": p.courier, "trackingNo": p.tracking_no,
             "shippedAt": p.shipped_at.replace(tzinfo=dt.timezone.utc).astimezone(KST)
             .isoformat() if p.shipped_at else ""} for p in pushes]})
        return _results(found)

    def fetch_inquiries(self, since, now, kinds):
        query = self._window(since, now)
        query["types"] = ",".join(sorted(kinds))
        found = self._call("GET", "/api/v1/inquiries", query)
        return [MarketInquiry(external_id=i["inquiryId"], kind=i["type"],
                              asked_at=_parse(i["askedAt"]), title=i.get("title") or "",
                              body=i.get("content") or "", author=i.get("writer") or "",
                              phone=i.get("phone") or "", order_no=i.get("orderNo") or "",
                              product_code=i.get("productCode") or "")
                for i in found.get("inquiries") or []]

    def push_answer(self, inquiry, text):
        try:
            self._call("POST", "/api/v1/inquiries/%s/answer" % quote(inquiry.external_id, safe=""),
                       body={"text": text})
        except ConnectorError as exc:
            if exc.params.get("status") in (400, 404):   # this answer, not the connection
                return PushResult(inquiry.external_id, False, exc.params.get("detail", ""))
            raise
        return PushResult(inquiry.external_id, True)


def _results(found: dict) -> list[PushResult]:
    return [PushResult(str(r.get("orderNo")), bool(r.get("ok")), r.get("message") or "")
            for r in found.get("results") or []]


def _error_text(exc) -> str:
    try:
        body = json.loads(exc.read() or b"{}")
        return str(body.get("error") or "")[:200]
    except (ValueError, OSError, AttributeError):
        return ""
