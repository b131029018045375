"""Peewee models of the store, bound late through ``db`` (a DatabaseProxy).

Datetimes are naive UTC in the store (portable between SQLite and PostgreSQL); the view
layer shows them in the configured zone. Schema changes go through numbered migrations in
``engine/migrations`` — never edit a model without adding one.
"""
from __future__ import annotations

import datetime as dt

from peewee import (
    AutoField, BooleanField, CharField, DatabaseProxy, DateField, DateTimeField, ForeignKeyField,
    IntegerField, JSONField, Model, TextField, fn,
)

db = DatabaseProxy()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


# --- people -------------------------------------------------------------------------

class User(BaseModel):
    id = AutoField()
    username = CharField(max_length=64, unique=True)
    display_name = CharField(max_length=100)
    password_hash = CharField(max_length=255)
    role = CharField(max_length=20)            # engine.users.ROLES
    language = CharField(max_length=5, default="ko")
    active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)

    # Flask-Login protocol (kept here so the engine stays free of Flask)
    @property
    def is_authenticated(self):
        return True

    @property
    def is_anonymous(self):
        return False

    @property
    def is_active(self):
        return self.active

    def get_id(self):
        return str(self.id)


class LoginAttempt(BaseModel):
    """One login attempt (form or API), kept a day for the failed-login throttle."""

    id = AutoField()
    username = CharField(max_length=64, index=True)     # as typed, lower-cased
    address = CharField(max_length=45, index=True)      # the client's IP address
    at = DateTimeField(default=utcnow, index=True)
    ok = BooleanField(default=False)


class ApiToken(BaseModel):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    id = AutoField()
    user = ForeignKeyField(User, backref="tokens", on_delete="CASCADE")
    token_hash = CharField(max_length=64, unique=True)
    created_at = DateTimeField(default=utcnow)
    last_used_at = DateTimeField(null=True)


# --- master data ----------------------------------------------------------------------

class ChannelGroup(BaseModel):
    id = AutoField()
    name = CharField(max_length=100, unique=True)


class Channel(BaseModel):
    """A sales channel / shop account (판매처)."""

    id = AutoField()
    name = CharField(max_length=100, unique=True)
    group = ForeignKeyField(ChannelGroup, backref="channels", null=True, on_delete="SET NULL")
    active = BooleanField(default=True)
    auto_combine = BooleanField(default=False)   # imports combine 합포 candidates at once
    # the marketplace connector (engine/connectors): its type, its settings (plain) and its
    # credentials (encrypted at rest by engine/credentials.py, never shown back in full)
    connector = CharField(max_length=30, null=True)
    connector_settings = JSONField(default=dict, null=True)
    credentials = TextField(default="")

    @classmethod
    def active_ones(cls):
        return cls.select().where(cls.active == True).order_by(cls.name)  # noqa: E712


class Supplier(BaseModel):
    """A supplier of products (공급처)."""

    id = AutoField()
    name = CharField(max_length=100, unique=True)
    phone = CharField(max_length=30, default="")
    active = BooleanField(default=True)


class Product(BaseModel):
    id = AutoField()
    code = CharField(max_length=40, unique=True)
    name = CharField(max_length=200)
    supplier = ForeignKeyField(Supplier, backref="products", null=True, on_delete="SET NULL")
    active = BooleanField(default=True)


class ProductOption(BaseModel):
    """One sellable option of a product, with its own code and price tiers A–E (판매가 A–E)."""

    id = AutoField()
    product = ForeignKeyField(Product, backref="options", on_delete="CASCADE")
    code = CharField(max_length=40, unique=True)
    name = CharField(max_length=200)
    price_a = IntegerField(default=0)
    price_b = IntegerField(default=0)
    price_c = IntegerField(default=0)
    price_d = IntegerField(default=0)
    price_e = IntegerField(default=0)
    stock = IntegerField(default=0)
    active = BooleanField(default=True)

    PRICE_TIERS = ("a", "b", "c", "d", "e")

    def price(self, tier: str = "a") -> int:
        return getattr(self, f"price_{tier}")


class ChoiceItem(BaseModel):
    """An entry of a configurable list (engine/choices.py): each subclass is its own table."""

    id = AutoField()
    name = CharField(max_length=60, unique=True)
    sort_order = IntegerField(default=0)
    active = BooleanField(default=True)

    @classmethod
    def ordered(cls):
        return cls.select().order_by(cls.sort_order, cls.id)


class HandlingStatus(ChoiceItem):
    """A user-defined order handling status (対応状況), beside the fixed fulfilment state."""

    color = CharField(max_length=7, default="#6b7280")


class Courier(ChoiceItem):
    """A courier offered when an invoice is entered."""


class CancelReason(ChoiceItem):
    """A reason offered when an order is cancelled."""


class PaymentStatus(ChoiceItem):
    """Payment statuses (決済状況) a gateway or a person can set."""


class PaymentMethod(ChoiceItem):
    """Payment methods (支払い方法: 代金引換, card…)."""


class Subscription(BaseModel):
    """A subscription (定期受注) whose orders recur; status 有効 / 停止 / キャンセル."""

    id = AutoField()
    customer_name = CharField(max_length=100)
    customer_phone = CharField(max_length=30, default="")
    product_name = CharField(max_length=200, default="")
    cycle_days = IntegerField(default=30)
    status = CharField(max_length=10, default="有効", index=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    version = IntegerField(default=1)


# --- orders ---------------------------------------------------------------------------

class Order(BaseModel):
    """An order; ``id`` is our 관리번호, ``order_no`` the marketplace's 주문번호.

    ``state`` is the fulfilment state (접수 → 송장 → 배송), ``cs_state`` the CS state beside it
    (정상 / 취소). ``version`` is the optimistic lock every operation checks and bumps.
    """

    id = AutoField()
    channel = ForeignKeyField(Channel, backref="orders", on_delete="RESTRICT")
    order_no = CharField(max_length=60)
    received_at = DateTimeField(index=True)
    buyer_name = CharField(max_length=100)
    buyer_phone = CharField(max_length=30, default="")
    buyer_mobile = CharField(max_length=30, default="")
    buyer_email = CharField(max_length=200, default="")
    recipient_name = CharField(max_length=100)
    recipient_phone = CharField(max_length=30, default="")
    recipient_mobile = CharField(max_length=30, default="")
    zip_code = CharField(max_length=10, default="")
    address = CharField(max_length=300, default="")
    ship_memo = CharField(max_length=300, default="")
    shipping_fee = IntegerField(default=0)
    state = CharField(max_length=10, default="접수", index=True)
    cs_state = CharField(max_length=10, default="정상", index=True)
    cancel_reason = CharField(max_length=60, null=True)
    hold = BooleanField(default=False, index=True)
    hold_alarm_at = DateTimeField(null=True)
    handling_status = ForeignKeyField(HandlingStatus, null=True, backref="orders",
                                      on_delete="SET NULL")
    courier = CharField(max_length=60, null=True)
    tracking_no = CharField(max_length=40, null=True)
    invoiced_at = DateTimeField(null=True)
    shipped_at = DateTimeField(null=True)
    payment_status = CharField(max_length=40, null=True, index=True)
    payment_method = CharField(max_length=40, null=True)
    shipping_list_exported = BooleanField(default=False)
    delivery_date = DateField(null=True)
    subscription = ForeignKeyField(Subscription, null=True, backref="orders",
                                   on_delete="SET NULL")
    # 합포: the id of the group's first order (the group's lead), None when shipped alone
    combine_group = IntegerField(null=True, index=True)
    combine_forbidden = BooleanField(default=False)      # 합포금지
    # 우선순위: bigger prints first; 0 = no priority (prints after every prioritised order)
    priority = IntegerField(default=0, index=True)
    priority_set_at = DateTimeField(null=True)
    priority_set_by = ForeignKeyField(User, null=True, on_delete="SET NULL",
                                      backref="prioritised_orders")
    return_expected = BooleanField(default=False, index=True)    # 반품예정
    exchange_expected = BooleanField(default=False, index=True)  # 교환예정
    exchange_type = CharField(max_length=20, null=True)
    deleted = BooleanField(default=False, index=True)            # 주문삭제 (soft)
    deleted_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    updated_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    version = IntegerField(default=1)

    class Meta:
        # A tracking number is unique per courier, except that a combined group shares
        # one: migration 0004 makes the unique index partial (only the group's lead and
        # orders shipped alone are in it).
        indexes = (
            (("channel", "order_no"), True),
        )

    @property
    def goods_total(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def total(self) -> int:
        return self.goods_total + self.shipping_fee

    @property
    def quantity(self) -> int:
        """The quantity still ordered (cancelled quantities left out)."""
        return sum(line.active_qty for line in self.lines)

    @classmethod
    def due_alarms(cls, now: dt.datetime):
        """Held orders whose hold alarm time has come (shown to agents in the console)."""
        return (cls.select().where((cls.hold == True) & (cls.hold_alarm_at <= now))  # noqa: E712
                .order_by(cls.hold_alarm_at))


class OrderLine(BaseModel):
    id = AutoField()
    order = ForeignKeyField(Order, backref="lines", on_delete="CASCADE")
    option = ForeignKeyField(ProductOption, null=True, on_delete="SET NULL")
    product_code = CharField(max_length=40)
    product_name = CharField(max_length=200)
    option_code = CharField(max_length=40, default="")
    option_name = CharField(max_length=200, default="")
    quantity = IntegerField()                 # as ordered
    unit_price = IntegerField()
    cancelled_qty = IntegerField(default=0)   # 개별취소: the part of ``quantity`` cancelled

    @property
    def active_qty(self) -> int:
        return self.quantity - (self.cancelled_qty or 0)

    @property
    def amount(self) -> int:
        """What the line costs now: the quantity not cancelled × the unit price."""
        return self.active_qty * self.unit_price


class CsHistory(BaseModel):
    """One CS history line (CS 이력): written in the same transaction as the change it records."""

    id = AutoField()
    order = ForeignKeyField(Order, backref="history", on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow, index=True)
    operator = ForeignKeyField(User, null=True, on_delete="SET NULL")
    operation = CharField(max_length=40, index=True)
    detail = TextField(default="")   # what the system records, e.g. "[택배사 : CJ대한통운, 송장번호 : 1]"
    text = TextField(default="")     # the agent's free CS text
    processed = BooleanField(default=False, index=True)
    processed_at = DateTimeField(null=True)
    processed_by = ForeignKeyField(User, null=True, on_delete="SET NULL",
                                   backref="processed_history")


# --- CS: combining, pickups, returns -------------------------------------------------------

class Pickup(BaseModel):
    """A pickup (회수) of an order's goods for a return or exchange: 요청 → 접수 → 완료.

    The expected and arrived amounts are per payment channel (site payment, card, bank
    transfer); 미수 is what is expected but has not arrived.
    """

    id = AutoField()
    order = ForeignKeyField(Order, backref="pickups", on_delete="CASCADE")
    status = CharField(max_length=10, default="요청", index=True)   # 요청 | 접수 | 완료
    courier = CharField(max_length=60)
    return_tracking_no = CharField(max_length=40, default="")
    reason = CharField(max_length=60)               # a cancel reason or an exchange type
    register_inbound = BooleanField(default=False)
    requested_at = DateTimeField(index=True)
    received_at = DateTimeField(null=True)
    completed_at = DateTimeField(null=True)
    expected_site = IntegerField(default=0)
    arrived_site = IntegerField(default=0)
    expected_card = IntegerField(default=0)
    arrived_card = IntegerField(default=0)
    expected_bank = IntegerField(default=0)
    arrived_bank = IntegerField(default=0)
    requested_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="pickups")

    @property
    def expected_total(self) -> int:
        return self.expected_site + self.expected_card + self.expected_bank

    @property
    def arrived_total(self) -> int:
        return self.arrived_site + self.arrived_card + self.arrived_bank

    @property
    def outstanding(self) -> int:
        """미수: expected but not (yet) arrived."""
        return self.expected_total - self.arrived_total


class InboundExpectation(BaseModel):
    """Goods a pickup brings back, registered as expected inbound stock (입고예정).

    One row per order line at most (unique), so the same goods are never expected twice.
    """

    id = AutoField()
    pickup = ForeignKeyField(Pickup, backref="inbound", on_delete="CASCADE")
    order_line = ForeignKeyField(OrderLine, null=True, unique=True, on_delete="SET NULL")
    option = ForeignKeyField(ProductOption, null=True, on_delete="SET NULL")
    product_code = CharField(max_length=40)
    product_name = CharField(max_length=200)
    option_name = CharField(max_length=200, default="")
    quantity = IntegerField()
    created_at = DateTimeField(default=utcnow)
    arrived_at = DateTimeField(null=True)


# --- messages (SMS / LMS / AlimTalk / email) ---------------------------------------------

class SenderNumber(BaseModel):
    """A sender number (발신번호); ``registered`` = pre-registered with the carriers."""

    id = AutoField()
    number = CharField(max_length=11, unique=True)
    label = CharField(max_length=60, default="")
    registered = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)


class MessageTemplate(BaseModel):
    """An SMS/LMS, AlimTalk or email template with ``#{변수}`` placeholders."""

    id = AutoField()
    name = CharField(max_length=100, unique=True)
    kind = CharField(max_length=10)                 # sms | alimtalk | email
    subject = CharField(max_length=200, default="")
    body = TextField()
    html_body = TextField(default="")
    is_ad = BooleanField(default=False)
    alimtalk_code = CharField(max_length=60, null=True)
    approval = CharField(max_length=10, default="approved")  # approved | pending | rejected
    buttons = JSONField(default=list)
    fallback_text = TextField(default="")
    active = BooleanField(default=True)
    updated_at = DateTimeField(default=utcnow)
    # which record fills the placeholders: order | ticket | job (a job run's result)
    context = CharField(max_length=8, default="order")


class Macro(BaseModel):
    """A saved text for send screens and CS texts (매크로)."""

    id = AutoField()
    name = CharField(max_length=60, unique=True)
    body = TextField()
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)


class RecipientConsent(BaseModel):
    """Per-phone advertising consent; ``night_ads`` allows ads between 21:00 and 08:00."""

    id = AutoField()
    phone = CharField(max_length=20, unique=True)
    night_ads = BooleanField(default=False)
    updated_at = DateTimeField(default=utcnow)


class Message(BaseModel):
    """One message to one recipient: the send history, the usage log and the outbox.

    ``idempotency_key`` is unique, so a retry, a double click or a crash and restart can
    never store, and so never send, the same message twice.
    """

    id = AutoField()
    idempotency_key = CharField(max_length=200, unique=True)
    batch = CharField(max_length=64, index=True)
    channel = CharField(max_length=10)               # sms | alimtalk | email (as asked)
    kind = CharField(max_length=10)                  # SMS | LMS | MMS | ALIMTALK | EMAIL
    status = CharField(max_length=10, index=True)    # queued|held|sending|sent|failed|unknown
    provider = CharField(max_length=20)
    sender = CharField(max_length=200, default="")
    to = CharField(max_length=200, index=True)
    subject = CharField(max_length=200, default="")
    body = TextField()
    html = TextField(default="")
    bytes = IntegerField(default=0)
    is_ad = BooleanField(default=False)
    template = ForeignKeyField(MessageTemplate, null=True, on_delete="SET NULL")
    order = ForeignKeyField(Order, null=True, on_delete="SET NULL", backref="messages")
    operator = ForeignKeyField(User, null=True, on_delete="SET NULL")
    fallback_of = ForeignKeyField("self", null=True, on_delete="SET NULL", backref="fallbacks")
    requested_at = DateTimeField(default=utcnow, index=True)
    send_after = DateTimeField(default=utcnow, index=True)
    lease_until = DateTimeField(null=True)
    attempts = IntegerField(default=0)
    sent_at = DateTimeField(null=True)
    provider_id = CharField(max_length=100, null=True)
    carrier_result = CharField(max_length=200, default="")
    error = TextField(default="")


# --- Excel: formats, uploads, imports ------------------------------------------------------

class ExcelFormat(BaseModel):
    """A channel's column layout (포맷설정) for one kind of file: "cancel" or "import".

    ``columns`` maps a field (order_no, quantity…) to a header text or a column letter;
    ``options`` holds the rest of the layout (e.g. the default cancel reason).
    """

    id = AutoField()
    channel = ForeignKeyField(Channel, backref="excel_formats", on_delete="CASCADE")
    kind = CharField(max_length=10)
    header_row = IntegerField(default=1)
    columns = JSONField(default=dict)
    options = JSONField(default=dict)
    updated_at = DateTimeField(default=utcnow)
    updated_by = ForeignKeyField(User, null=True, on_delete="SET NULL")

    class Meta:
        indexes = ((("channel", "kind"), True),)


class CancelUpload(BaseModel):
    """One channel cancel file (판매처취소): its parsed, planned rows wait here for the confirm.

    ``status``: preview → applied (or discarded). ``rows`` is the preview, row by row, as
    JSON, so the confirm works in another request or another process.
    """

    id = AutoField()
    channel = ForeignKeyField(Channel, backref="cancel_uploads", on_delete="CASCADE")
    filename = CharField(max_length=200)
    status = CharField(max_length=10, default="preview", index=True)
    rows = JSONField(default=list)
    file_error = TextField(default="")
    created_at = DateTimeField(default=utcnow, index=True)
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    applied_at = DateTimeField(null=True)
    applied_by = ForeignKeyField(User, null=True, on_delete="SET NULL",
                                 backref="applied_cancel_uploads")


class CancelResult(BaseModel):
    """One applied channel cancel (취소결과조회): what was done to which order, confirmed or not."""

    id = AutoField()
    upload = ForeignKeyField(CancelUpload, null=True, backref="results", on_delete="SET NULL")
    row_no = IntegerField(null=True)
    channel = ForeignKeyField(Channel, backref="cancel_results", on_delete="CASCADE")
    order = ForeignKeyField(Order, null=True, backref="cancel_results", on_delete="SET NULL")
    order_no = CharField(max_length=60)
    action = CharField(max_length=20, index=True)     # engine.cancels.ACTIONS
    quantity = IntegerField(null=True)
    line_label = CharField(max_length=300, default="")
    reason = CharField(max_length=200, default="")
    requested_at = DateTimeField(null=True)
    return_waybill = CharField(max_length=40, default="")
    state_before = CharField(max_length=10, default="")
    applied_at = DateTimeField(default=utcnow, index=True)
    applied_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    confirmed = BooleanField(default=False, index=True)
    confirmed_at = DateTimeField(null=True)
    confirmed_by = ForeignKeyField(User, null=True, on_delete="SET NULL",
                                   backref="confirmed_cancel_results")


class CancelWithdrawal(BaseModel):
    """A cancel the customer withdrew (취소철회), kept until an agent confirms it was handled."""

    id = AutoField()
    upload = ForeignKeyField(CancelUpload, null=True, backref="withdrawals", on_delete="SET NULL")
    row_no = IntegerField(null=True)
    channel = ForeignKeyField(Channel, backref="cancel_withdrawals", on_delete="CASCADE")
    order = ForeignKeyField(Order, null=True, backref="cancel_withdrawals", on_delete="SET NULL")
    order_no = CharField(max_length=60)
    cancel_result = ForeignKeyField(CancelResult, null=True, on_delete="SET NULL")
    withdrawn_at = DateTimeField(null=True)          # when the customer withdrew (the channel's date)
    note = TextField(default="")
    source = CharField(max_length=10, default="upload")   # upload | api
    received_at = DateTimeField(default=utcnow, index=True)
    received_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    confirmed = BooleanField(default=False, index=True)
    confirmed_at = DateTimeField(null=True)
    confirmed_by = ForeignKeyField(User, null=True, on_delete="SET NULL",
                                   backref="confirmed_withdrawals")


class ImportJob(BaseModel):
    """An order import from a channel's xlsx, checked then written in a background thread.

    ``status``: checking → ready → importing → done, or failed / discarded. ``owner`` names
    the process running it (host:pid:token), so a restart can tell a dead job from a live one.
    """

    id = AutoField()
    channel = ForeignKeyField(Channel, backref="import_jobs", on_delete="CASCADE")
    filename = CharField(max_length=200)
    path = CharField(max_length=500, default="")
    status = CharField(max_length=12, index=True)
    owner = CharField(max_length=200, default="")
    heartbeat_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow, index=True)
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    finished_at = DateTimeField(null=True)
    summary = JSONField(default=dict)                # counts: rows, orders, errors, duplicates…
    problems = JSONField(default=list)               # per-row errors and duplicates (capped)
    error = TextField(default="")


# --- automation ------------------------------------------------------------------------

class Rule(BaseModel):
    """An event → condition → actions rule (declared data; see engine/rules.py)."""

    id = AutoField()
    name = CharField(max_length=100, unique=True)
    enabled = BooleanField(default=True)
    sequence = IntegerField(default=100)
    trigger_record = CharField(max_length=20, default="order")
    trigger_event = CharField(max_length=20)
    trigger_field = CharField(max_length=40, null=True)
    trigger_value = CharField(max_length=100, null=True)
    condition = TextField(default="")
    actions = JSONField(default=list)
    stop_processing = BooleanField(default=False)
    version = IntegerField(default=1)
    updated_at = DateTimeField(default=utcnow)
    updated_by = ForeignKeyField(User, null=True, on_delete="SET NULL")


class RuleChange(BaseModel):
    """Change history of rules: who, when, before and after (one-click revert)."""

    id = AutoField()
    rule_id = IntegerField(index=True)
    rule_name = CharField(max_length=100)
    version = IntegerField()
    change = CharField(max_length=10)       # create | update | delete | revert
    before = JSONField(null=True)
    after = JSONField(null=True)
    actor = ForeignKeyField(User, null=True, on_delete="SET NULL")
    at = DateTimeField(default=utcnow, index=True)


class RuleRun(BaseModel):
    """The run log: one line per rule considered for an event."""

    id = AutoField()
    at = DateTimeField(default=utcnow, index=True)
    rule = ForeignKeyField(Rule, null=True, on_delete="SET NULL", backref="runs")
    rule_name = CharField(max_length=100)
    rule_version = IntegerField()
    record = CharField(max_length=20)
    record_id = IntegerField(index=True)
    event = CharField(max_length=200)
    outcome = CharField(max_length=12, index=True)   # done | failed | no_match | loop
    detail = TextField(default="")
    actions = JSONField(default=list)
    cascade = CharField(max_length=32, index=True)
    depth = IntegerField(default=0)


# --- scheduled jobs ----------------------------------------------------------------------

class Job(BaseModel):
    """A scheduled job (seed 000): declared data; ``next_run_at`` is claimed by compare-and-swap."""

    id = AutoField()
    name = CharField(max_length=100, unique=True)
    kind = CharField(max_length=30)
    enabled = BooleanField(default=False)
    weekdays = JSONField(default=list)
    start = CharField(max_length=5, default="09:00")
    end = CharField(max_length=5, default="18:00")
    every_hours = IntegerField(null=True)
    once_a_day = BooleanField(default=False)
    skip_holidays = BooleanField(default=False)
    holiday_country = CharField(max_length=2, default="KR")
    blackouts = JSONField(default=list)
    channels = JSONField(default="all")
    lookback_days = IntegerField(null=True)
    options = JSONField(default=dict)
    notify = JSONField(default=dict)
    missed = CharField(max_length=10, default="run_once")    # run_once | skip
    next_run_at = DateTimeField(null=True, index=True)
    last_run_at = DateTimeField(null=True)
    last_success_at = DateTimeField(null=True)
    version = IntegerField(default=1)
    updated_at = DateTimeField(default=utcnow)
    updated_by = ForeignKeyField(User, null=True, on_delete="SET NULL")


class JobRun(BaseModel):
    """One run of a job for one shop account (작업관리); unique per slot as the last guard."""

    id = AutoField()
    job = ForeignKeyField(Job, backref="runs", on_delete="CASCADE")
    scheduled_for = DateTimeField()
    channel = CharField(max_length=100, default="")
    trigger = CharField(max_length=10, default="schedule")   # schedule | manual
    status = CharField(max_length=12, default="running", index=True)
    started_at = DateTimeField(default=utcnow, index=True)
    finished_at = DateTimeField(null=True)
    lease_until = DateTimeField(null=True)
    counts = JSONField(default=dict)
    error = TextField(default="")
    detail = TextField(default="")

    class Meta:
        indexes = ((("job", "scheduled_for", "channel", "trigger"), True),)


class JobChange(BaseModel):
    """Scheduler change history (스케줄러 변경 내역): who changed which setting, before/after."""

    id = AutoField()
    job_id = IntegerField(index=True)
    job_name = CharField(max_length=100)
    actor = ForeignKeyField(User, null=True, on_delete="SET NULL")
    at = DateTimeField(default=utcnow, index=True)
    before = JSONField(null=True)
    after = JSONField(null=True)


class Closure(BaseModel):
    """The user's own closure days and temporary holidays (announced late, seed/domain)."""

    id = AutoField()
    day = DateField(unique=True)
    name = CharField(max_length=60)


class AppSetting(BaseModel):
    """Small switches kept in the store so every process sees them (e.g. maintenance)."""

    id = AutoField()
    key = CharField(max_length=60, unique=True)
    value = JSONField(null=True)


class NotifyCode(BaseModel):
    """A code sent to a new result-notification phone (seed 000: 인증 절차); only its hash is
    kept. The newest unused code of a phone is the one that counts."""

    id = AutoField()
    phone = CharField(max_length=20, index=True)           # digits only
    salt = CharField(max_length=32)
    code_hash = CharField(max_length=64)
    job_id = IntegerField(null=True)
    requested_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow, index=True)
    expires_at = DateTimeField()
    attempts = IntegerField(default=0)
    verified_at = DateTimeField(null=True)
    used_at = DateTimeField(null=True)


# --- helpdesk (seeds 003, 004) ------------------------------------------------------------------

class Team(BaseModel):
    """A helpdesk team (seed 004). ``description`` is public: it heads the team's public form.

    ``visibility``: private (invited internal users) | company (all internal users) |
    public (all internal users, and portal users on the tickets they follow).
    ``assign_method``: tickets (equal number of tickets) | open_tickets (equal open tickets).
    """

    id = AutoField()
    name = CharField(max_length=100, unique=True)
    description = TextField(default="")
    visibility = CharField(max_length=10, default="company")
    auto_assign = BooleanField(default=False)
    assign_method = CharField(max_length=12, default="tickets")
    after_sales = JSONField(default=list)      # enabled: refund, coupon, return, repair, field_service
    sort_order = IntegerField(default=0)
    active = BooleanField(default=True)
    version = IntegerField(default=1)
    updated_at = DateTimeField(default=utcnow)


class TeamMember(BaseModel):
    """A member of a team: gets tickets by auto-assignment (none listed = everyone with access)."""

    id = AutoField()
    team = ForeignKeyField(Team, backref="members", on_delete="CASCADE")
    user = ForeignKeyField(User, backref="team_memberships", on_delete="CASCADE")

    class Meta:
        indexes = ((("team", "user"), True),)


class TeamFollower(BaseModel):
    """Follows every ticket of the team (update notifications); an invited user of a private team."""

    id = AutoField()
    team = ForeignKeyField(Team, backref="followers", on_delete="CASCADE")
    user = ForeignKeyField(User, backref="followed_teams", on_delete="CASCADE")

    class Meta:
        indexes = ((("team", "user"), True),)


class Stage(BaseModel):
    """A ticket stage; a ticket in a ``folded`` stage is closed. One stage may serve several teams."""

    id = AutoField()
    name = CharField(max_length=60, unique=True)
    description = TextField(default="")
    sort_order = IntegerField(default=0, index=True)
    folded = BooleanField(default=False)
    email_template = ForeignKeyField(MessageTemplate, null=True, on_delete="SET NULL",
                                     backref="email_stages")
    sms_template = ForeignKeyField(MessageTemplate, null=True, on_delete="SET NULL",
                                   backref="sms_stages")
    version = IntegerField(default=1)


class StageTeam(BaseModel):
    id = AutoField()
    stage = ForeignKeyField(Stage, backref="team_links", on_delete="CASCADE")
    team = ForeignKeyField(Team, backref="stage_links", on_delete="CASCADE")

    class Meta:
        indexes = ((("stage", "team"), True),)


class Ticket(BaseModel):
    """A helpdesk ticket, linked to an order and a customer so the console and the helpdesk are one.

    ``closed`` mirrors the stage's ``folded`` (and is set by a merge), kept as a column so lists
    and assignment counts are one indexed query. ``needs_assignment`` flags a ticket that
    auto-assignment could give to nobody (everyone on leave).
    """

    id = AutoField()
    team = ForeignKeyField(Team, backref="tickets", on_delete="RESTRICT")
    stage = ForeignKeyField(Stage, null=True, backref="tickets", on_delete="SET NULL")
    subject = CharField(max_length=200)
    description = TextField(default="")
    customer_name = CharField(max_length=100, default="")
    customer_phone = CharField(max_length=30, default="")
    customer_email = CharField(max_length=200, default="")
    order = ForeignKeyField(Order, null=True, backref="tickets", on_delete="SET NULL")
    assignee = ForeignKeyField(User, null=True, backref="assigned_tickets", on_delete="SET NULL")
    needs_assignment = BooleanField(default=False, index=True)
    closed = BooleanField(default=False, index=True)
    closed_at = DateTimeField(null=True)
    merged_into = ForeignKeyField("self", null=True, backref="merged", on_delete="SET NULL")
    source = CharField(max_length=12, default="app")   # app | form | rule | order | inquiry | api
    created_at = DateTimeField(default=utcnow, index=True)
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="created_tickets")
    updated_at = DateTimeField(default=utcnow)
    version = IntegerField(default=1)


class TicketFollower(BaseModel):
    """A follower gets the ticket's updates: what others wrote or did after the message
    ``seen_message_id`` (an id, not a time: two things in one second stay in order)."""

    id = AutoField()
    ticket = ForeignKeyField(Ticket, backref="followers", on_delete="CASCADE")
    user = ForeignKeyField(User, backref="followed_tickets", on_delete="CASCADE")
    seen_message_id = IntegerField(null=True)

    class Meta:
        indexes = ((("ticket", "user"), True),)


class TicketMessage(BaseModel):
    """The ticket's conversation and history: ``kind`` reply (to or from the customer), note
    (internal), request (a merged duplicate's opening request, from the customer) or log (what
    the system and people did: stage moves, assignment, merge, after-sales)."""

    id = AutoField()
    ticket = ForeignKeyField(Ticket, backref="messages", on_delete="CASCADE")
    kind = CharField(max_length=8, default="reply")
    author = ForeignKeyField(User, null=True, on_delete="SET NULL")
    author_name = CharField(max_length=100, default="")
    body = TextField()
    created_at = DateTimeField(default=utcnow, index=True)


class Leave(BaseModel):
    """A user's leave (휴가): no auto-assigned tickets from ``start`` through ``end`` (local days)."""

    id = AutoField()
    user = ForeignKeyField(User, backref="leaves", on_delete="CASCADE")
    start = DateField(index=True)
    end = DateField(index=True)
    note = CharField(max_length=200, default="")
    created_at = DateTimeField(default=utcnow)


class CreditNote(BaseModel):
    """A refund from a ticket (seed 003 대변전표): partial, or full (which refunds what is left)."""

    id = AutoField()
    ticket = ForeignKeyField(Ticket, backref="credit_notes", on_delete="CASCADE")
    order = ForeignKeyField(Order, backref="credit_notes", on_delete="CASCADE")
    method = CharField(max_length=10)          # partial | full
    amount = IntegerField()
    reason = CharField(max_length=200, default="")
    created_at = DateTimeField(default=utcnow)
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")


class CouponProgram(BaseModel):
    """A coupon programme (쿠폰 제도): what a coupon is worth and when it may be used."""

    id = AutoField()
    name = CharField(max_length=100, unique=True)
    discount_kind = CharField(max_length=8, default="amount")   # amount | percent
    discount = IntegerField()
    min_order_total = IntegerField(default=0)
    valid_days = IntegerField(default=30)
    product_codes = JSONField(default=list)    # empty = any product
    active = BooleanField(default=True)


class Coupon(BaseModel):
    id = AutoField()
    program = ForeignKeyField(CouponProgram, backref="coupons", on_delete="RESTRICT")
    code = CharField(max_length=20, unique=True)
    ticket = ForeignKeyField(Ticket, null=True, backref="coupons", on_delete="SET NULL")
    expires_on = DateField()
    created_at = DateTimeField(default=utcnow)
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    sent_at = DateTimeField(null=True)
    used_at = DateTimeField(null=True)


class RepairOrder(BaseModel):
    """A repair (수리) of a product of the ticket's order."""

    id = AutoField()
    ticket = ForeignKeyField(Ticket, backref="repairs", on_delete="CASCADE")
    order = ForeignKeyField(Order, null=True, on_delete="SET NULL")
    order_line = ForeignKeyField(OrderLine, null=True, on_delete="SET NULL")
    product_name = CharField(max_length=200)
    description = TextField(default="")
    invoice_method = CharField(max_length=8, default="none")   # before | after | none
    pickup = ForeignKeyField(Pickup, null=True, on_delete="SET NULL")
    status = CharField(max_length=10, default="draft")          # draft | confirmed | done
    created_at = DateTimeField(default=utcnow)
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")


class FieldTask(BaseModel):
    """A field-service task (현장 서비스) planned from a ticket."""

    id = AutoField()
    ticket = ForeignKeyField(Ticket, backref="field_tasks", on_delete="CASCADE")
    title = CharField(max_length=200)
    planned_on = DateField(null=True)
    assignee = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="field_tasks")
    note = TextField(default="")
    status = CharField(max_length=10, default="planned")         # planned | done
    created_at = DateTimeField(default=utcnow)
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL",
                                 backref="created_field_tasks")


class TicketPickup(BaseModel):
    """A return (회수 pickup) started from a ticket: the smart link between the two."""

    id = AutoField()
    ticket = ForeignKeyField(Ticket, backref="pickup_links", on_delete="CASCADE")
    pickup = ForeignKeyField(Pickup, unique=True, on_delete="CASCADE")


# --- marketplace connectors (engine/connectors) ------------------------------------------

class Inquiry(BaseModel):
    """A customer inquiry collected from a marketplace (문의): product Q&A, an urgent message or
    a review, with the answer written here and pushed back by 문의답변 전송.

    ``answer_status``: none → pending (written, waiting for the next push) → sent, or failed
    (retried by the next push). ``ticket_id`` links the helpdesk ticket made from it.
    """

    id = AutoField()
    channel = ForeignKeyField(Channel, backref="inquiries", on_delete="CASCADE")
    external_id = CharField(max_length=100)
    kind = CharField(max_length=20, index=True)          # product_qna | urgent | review
    asked_at = DateTimeField(index=True)
    title = CharField(max_length=300, default="")
    body = TextField(default="")
    author = CharField(max_length=100, default="")
    phone = CharField(max_length=30, default="")
    order_no = CharField(max_length=60, default="")
    order = ForeignKeyField(Order, null=True, backref="inquiries", on_delete="SET NULL")
    product_code = CharField(max_length=40, default="")
    collected_at = DateTimeField(default=utcnow, index=True)
    ticket_id = IntegerField(null=True, index=True)
    answer = TextField(default="")
    answer_status = CharField(max_length=10, default="none", index=True)
    answer_error = TextField(default="")
    answered_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="answers")
    answered_at = DateTimeField(null=True)
    answer_sent_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("channel", "external_id"), True),)


class InvoicePush(BaseModel):
    """The tracking number of a shipped order as sent to its marketplace (운송장 전송): one row
    per order, so a sent number is never pushed twice and a failed push stays listed."""

    id = AutoField()
    order = ForeignKeyField(Order, unique=True, backref="invoice_push", on_delete="CASCADE")
    channel = ForeignKeyField(Channel, backref="invoice_pushes", on_delete="CASCADE")
    status = CharField(max_length=10, index=True)        # sent | failed
    courier = CharField(max_length=60, default="")
    tracking_no = CharField(max_length=40, default="")
    error = TextField(default="")
    attempts = IntegerField(default=0)
    last_attempt_at = DateTimeField(null=True)
    sent_at = DateTimeField(null=True)


class ClaimReceipt(BaseModel):
    """A marketplace claim (cancel / exchange / return / withdrawal) already applied, keyed per
    channel, so syncing the same claim again changes nothing twice."""

    id = AutoField()
    channel = ForeignKeyField(Channel, backref="claim_receipts", on_delete="CASCADE")
    key = CharField(max_length=200)
    kind = CharField(max_length=10)
    order = ForeignKeyField(Order, null=True, on_delete="SET NULL", backref="claim_receipts")
    order_no = CharField(max_length=60)
    outcome = CharField(max_length=300, default="")
    received_at = DateTimeField(default=utcnow, index=True)

    class Meta:
        indexes = ((("channel", "key"), True),)


# Every model, in definition order (a model is defined after those it references), so the
# test suite can empty the tables children first.
def _tables(model):
    for sub in model.__subclasses__():
        if sub is not ChoiceItem:   # a base with no table of its own
            yield sub
        yield from _tables(sub)


ALL_MODELS = list(_tables(BaseModel))

__all__ = [m.__name__ for m in ALL_MODELS] + ["db", "utcnow", "fn", "ALL_MODELS"]
