"""What a marketplace connector is: the adapter interface and the records it exchanges.

A connector speaks one marketplace's language (HTTP API, a watched folder…) and nothing else:
it returns plain records (``MarketOrder``, ``MarketClaim``, ``MarketInquiry``) and takes plain
pushes (``InvoicePush``, an answer). Everything our store does with them (the import path,
duplicate detection, combining, the cancel rules, tickets) lives in ``engine.connectors``'s job
glue, so an adapter never touches the store and a new marketplace is one file.

Times are naive UTC datetimes, like the store; each adapter converts its marketplace's zone.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import ClassVar

from engine.errors import EngineError
from engine.schema import Field
from engine.text import N_


class ConnectorError(EngineError):
    """The marketplace refused or could not be reached; fails only that shop account's run."""

    status = 502
    code = "connector"


# --- what comes from a marketplace ------------------------------------------------------------

@dataclass
class MarketItem:
    product_code: str
    product_name: str
    quantity: int
    unit_price: int
    option_code: str = ""
    option_name: str = ""


@dataclass
class MarketOrder:
    """One order as the marketplace knows it (``order_no`` is its 주문번호, unique per channel)."""

    order_no: str
    received_at: dt.datetime
    buyer_name: str
    recipient_name: str
    items: list[MarketItem]
    buyer_phone: str = ""
    buyer_email: str = ""
    recipient_phone: str = ""
    zip_code: str = ""
    address: str = ""
    ship_memo: str = ""
    shipping_fee: int = 0
    payment_method: str = ""
    # the marketplace's own ids of the order's lines, for confirm_orders (Naver: productOrderId)
    external_ids: list[str] = field(default_factory=list)


CLAIM_KINDS = ("cancel", "exchange", "return", "withdrawn")


@dataclass
class MarketClaim:
    """A claim on an order: cancel / exchange / return, or the customer withdrawing a cancel.

    ``quantity`` None means the whole order (or the whole line when ``option_code`` /
    ``product_code`` names one).
    """

    order_no: str
    kind: str                       # one of CLAIM_KINDS
    requested_at: dt.datetime
    reason: str = ""
    product_code: str = ""
    option_code: str = ""
    quantity: int | None = None
    return_waybill: str = ""
    external_id: str = ""


INQUIRY_KINDS = ("product_qna", "urgent", "review")


@dataclass
class MarketInquiry:
    """A customer question (문의): product Q&A, an urgent message, or a review."""

    external_id: str
    kind: str                       # one of INQUIRY_KINDS
    asked_at: dt.datetime
    title: str
    body: str
    author: str = ""
    phone: str = ""
    order_no: str = ""
    product_code: str = ""


# --- what goes to a marketplace ---------------------------------------------------------------

@dataclass
class InvoicePush:
    order_no: str
    courier: str
    tracking_no: str
    shipped_at: dt.datetime
    external_ids: list[str] = field(default_factory=list)


@dataclass
class PushResult:
    """The marketplace's answer for one pushed order (or answer): ok, or why not."""

    key: str                        # the order_no (invoices) or the inquiry's external_id
    ok: bool
    error: str = ""


# --- the adapter ------------------------------------------------------------------------------

class Connector:
    """Base of every adapter; a subclass overrides what its marketplace supports.

    ``credential_fields`` are secret (stored encrypted, never shown back in full);
    ``setting_fields`` are plain (a base URL, a folder). Both are declared with the same
    ``engine.schema.Field`` the forms, the TOML loader and the API use.
    """

    type: ClassVar[str] = ""
    label: ClassVar[str] = ""
    credential_fields: ClassVar[list[Field]] = []
    setting_fields: ClassVar[list[Field]] = []

    def __init__(self, channel_name: str, credentials: dict, settings: dict):
        self.channel_name = channel_name
        self.credentials = credentials
        self.settings = settings

    def _unsupported(self, what: str):
        raise ConnectorError(N_("%(connector)s does not support %(what)s."),
                             connector=self.type, what=what)

    def fetch_orders(self, since: dt.datetime, now: dt.datetime) -> list[MarketOrder]:
        self._unsupported("order collection")

    def confirm_orders(self, orders: list[MarketOrder]) -> list[PushResult]:
        """발주확인: tell the marketplace the orders were taken (option of 주문수집)."""
        self._unsupported("order confirmation")

    def fetch_claims(self, since: dt.datetime, now: dt.datetime) -> list[MarketClaim]:
        self._unsupported("claim sync")

    def push_invoices(self, pushes: list[InvoicePush]) -> list[PushResult]:
        self._unsupported("sending tracking numbers")

    def fetch_inquiries(self, since: dt.datetime, now: dt.datetime,
                        kinds: set[str]) -> list[MarketInquiry]:
        self._unsupported("inquiry collection")

    def push_answer(self, inquiry: MarketInquiry, text: str) -> PushResult:
        self._unsupported("sending answers")


TYPES: dict[str, type[Connector]] = {}


def register(cls: type[Connector]) -> type[Connector]:
    """Class decorator: make an adapter selectable as a channel's connector type."""
    TYPES[cls.type] = cls
    return cls
