"""The one path every message takes: compose per recipient, store once, deliver.

People (bulk from an order search, or one typed number), rules, helpdesk stages and the
scheduler all call ``compose`` → ``enqueue`` → ``deliver_due``. Composition substitutes
placeholders per recipient and classifies the result (SMS/LMS/MMS, AlimTalk or its SMS
fallback); ``enqueue`` stores each message under a unique idempotency key in one transaction;
``deliver_due`` claims stored messages with a compare-and-swap on their status, so several
processes never send one message twice, and a crash mid-send leaves the message "unknown"
(to be checked), never re-sent.
"""
from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass, field
from typing import Callable

import phonenumbers
from peewee import JOIN, IntegrityError, fn

from engine import clock, messaging
from engine.errors import NotFound, ValidationError
from engine.messaging import ALIMTALK, EMAIL, SMS
from engine.models import (
    Channel, HandlingStatus, Message, MessageTemplate, Order, OrderLine, RecipientConsent,
    SenderNumber, User, db,
)
from engine.providers import OutboxProvider, PermanentError, TransientError, UncertainError
from engine.schema import Field, parse
from engine.text import N_
from engine.users import require

CHANNELS = {"sms": N_("SMS / LMS"), "alimtalk": N_("AlimTalk"), "email": N_("Email")}
LEASE = dt.timedelta(minutes=2)
MAX_ATTEMPTS = 5


def backoff(attempts: int) -> dt.timedelta:
    """30 s, 1 min, 2 min, 4 min… between tries of a transient failure."""
    return dt.timedelta(seconds=30 * 2 ** max(0, attempts - 1))


# --- what a placeholder can say about an order ---------------------------------------------

def _goods(order: Order) -> str:
    lines = getattr(order, "page_lines", None)  # preloaded lines, when there are
    if lines is None:
        lines = list(order.lines)
    if not lines:
        return ""
    extra = len(lines) - 1
    return lines[0].product_name + (f" 외 {extra}건" if extra else "")


def _total(order: Order) -> int:
    lines = getattr(order, "page_lines", None)
    if lines is None:
        return order.total
    return sum(line.amount for line in lines) + order.shipping_fee


ORDER_VARIABLES: dict[str, Callable[[Order], object]] = {
    "관리번호": lambda o: o.id,
    "주문번호": lambda o: o.order_no,
    "판매처": lambda o: o.channel.name,
    "구매자": lambda o: o.buyer_name,
    "수령자": lambda o: o.recipient_name,
    "수령자연락처": lambda o: o.recipient_mobile or o.recipient_phone,
    "주소": lambda o: o.address,
    "상품명": _goods,
    "주문금액": lambda o: f"{_total(o):,}",
    "택배사": lambda o: o.courier or "",
    "송장번호": lambda o: o.tracking_no or "",
    "처리상태": lambda o: o.handling_status.name if o.handling_status_id else "",
}


# Japanese names for the same values, so a Japanese shop writes #{注文番号}, not #{주문번호}
ORDER_VARIABLES.update({alias: ORDER_VARIABLES[name] for alias, name in {
    "管理番号": "관리번호", "注文番号": "주문번호", "販売チャネル": "판매처", "購入者": "구매자",
    "受取人": "수령자", "受取人電話番号": "수령자연락처", "住所": "주소", "商品名": "상품명",
    "注文金額": "주문금액", "配送業者": "택배사", "送り状番号": "송장번호", "対応状況": "처리상태",
}.items()})


def order_variables(order: Order) -> dict[str, object]:
    return {name: get(order) for name, get in ORDER_VARIABLES.items()}


# A ticket's placeholders (stage templates, seed 004): its own, plus its order's when it has one
# (blank otherwise, so one template serves tickets with and without an order).
TICKET_VARIABLES: dict[str, Callable] = {
    "티켓번호": lambda t: t.id,
    "제목": lambda t: t.subject,
    "고객명": lambda t: t.customer_name,
    "팀": lambda t: t.team.name,
    "단계": lambda t: t.stage.name if t.stage_id else "",
    "담당자": lambda t: t.assignee.display_name if t.assignee_id else "",
}
TICKET_VARIABLES.update({alias: TICKET_VARIABLES[name] for alias, name in {
    "チケット番号": "티켓번호", "件名": "제목", "顧客名": "고객명", "チーム": "팀",
    "ステージ": "단계", "担当者": "담당자",
}.items()})


def ticket_variables(ticket) -> dict[str, object]:
    values = {name: "" for name in ORDER_VARIABLES}
    if ticket.order_id:
        values.update(order_variables(ticket.order))
    values.update({name: get(ticket) for name, get in TICKET_VARIABLES.items()})
    return values


# A scheduled job's result (the job's notification, seed 000): read from the summary
# ``engine.jobs.notify`` builds of one slot's runs, never from an order, so a job template can
# only name these.
JOB_VARIABLES: dict[str, Callable[[dict], object]] = {
    "작업명": lambda r: r["job"],
    "결과": lambda r: r["result"],          # 완료 | 실패 있음
    "상세": lambda r: r["detail"],          # one line per shop account
    "건수": lambda r: r["counts"],          # the counts of every run, added up
    "실행시각": lambda r: r["run_at"],      # local time of the slot
}
JOB_VARIABLES.update({alias: JOB_VARIABLES[name] for alias, name in {
    "ジョブ名": "작업명", "結果": "결과", "詳細": "상세", "件数": "건수", "実行日時": "실행시각",
}.items()})


def job_variables(summary: dict) -> dict[str, object]:
    return {name: get(summary) for name, get in JOB_VARIABLES.items()}


# What a template may name, by the record it is written for (MessageTemplate.context).
def context_variables(context: str) -> list[str]:
    if context == "job":
        return list(JOB_VARIABLES)
    if context == "ticket":
        return list(ORDER_VARIABLES) + list(TICKET_VARIABLES)
    return list(ORDER_VARIABLES)


# --- composition --------------------------------------------------------------------------

@dataclass
class Recipient:
    to: str
    order: Order | None = None
    variables: dict = field(default_factory=dict)


@dataclass
class Draft:
    """One message for one recipient, as it would be sent, with every problem found."""

    recipient: Recipient
    channel: str
    kind: str
    subject: str
    body: str
    bytes: int
    html: str = ""
    problems: list[tuple[str, dict]] = field(default_factory=list)
    notes: list[tuple[str, dict]] = field(default_factory=list)   # not blocking
    fallback: "Draft | None" = None
    send_after: dt.datetime | None = None   # naive UTC; ads wait out the night
    is_ad: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems


def _template_choices():
    return [(str(t.id), t.name) for t in
            MessageTemplate.select().where(MessageTemplate.active == True)  # noqa: E712
            .order_by(MessageTemplate.name)]


def _sender_choices():
    return [(s.number, f"{s.number} {s.label}".strip()) for s in
            SenderNumber.select().order_by(SenderNumber.id)]


SEND_FIELDS = [
    Field("channel", N_("Send as"), kind="choice", required=True,
          choices=lambda: list(CHANNELS.items())),
    Field("sender", N_("Sender number"), kind="choice", choices=_sender_choices),
    Field("template", N_("Template"), kind="choice", choices=_template_choices),
    Field("subject", N_("Subject"), max_length=200),
    Field("text", N_("Message"), kind="textarea", max_length=4000),
    Field("is_ad", N_("Advertising"), kind="bool"),
]


def _phone_digits(value: str) -> str:
    return "".join(c for c in value or "" if c.isdigit())


def recipients_for_orders(order_ids, channel: str) -> list[Recipient]:
    """Each order's recipient and placeholder values, in a fixed number of queries."""
    ids = sorted({int(i) for i in order_ids if str(i).isdigit() and 0 < int(i) < 2**31})
    found = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        query = (Order.select(Order, Channel, HandlingStatus).join(Channel).switch(Order)
                 .join(HandlingStatus, JOIN.LEFT_OUTER).where(Order.id.in_(chunk)))
        lines: dict[int, list] = {}
        for line in OrderLine.select().where(OrderLine.order.in_(chunk)).order_by(OrderLine.id):
            lines.setdefault(line.order_id, []).append(line)
        for order in query:
            order.page_lines = lines.get(order.id, [])  # as orders.paginate preloads them
            found[order.id] = order
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(N_("Order %(id)s does not exist."), id=missing[0])
    result = []
    for i in ids:
        order = found[i]
        to = (order.buyer_email if channel == "email"
              else _phone_digits(order.recipient_mobile or order.recipient_phone))
        result.append(Recipient(to, order, order_variables(order)))
    return result


def recipients_for_addresses(addresses: list[str], channel: str) -> list[Recipient]:
    """Typed recipients (개별문자보내기): phone numbers, or email addresses for email."""
    result = []
    for index, address in enumerate(a.strip() for a in addresses if a and a.strip()):
        if channel == "email":
            if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", address):
                raise ValidationError(N_("%(value)s is not an email address."), "to",
                                      value=address)
            result.append(Recipient(address))
            continue
        try:
            number = phonenumbers.parse(address, "KR")
            valid = phonenumbers.is_possible_number(number)
        except phonenumbers.NumberParseException:
            valid = False
        if not valid:
            raise ValidationError(N_("%(value)s is not a phone number."), "to", value=address)
        result.append(Recipient(_phone_digits(phonenumbers.format_number(
            number, phonenumbers.PhoneNumberFormat.NATIONAL))))
    if not result:
        raise ValidationError(N_("Add at least one recipient."), "to")
    return result


def prepare(raw: dict, now: dt.datetime, tz, order_ids=None, to=None):
    """Parse a send request and compose its drafts: what the preview shows and send stores."""
    values = parse(SEND_FIELDS, raw, tz)
    if order_ids is not None:
        if not list(order_ids):
            raise ValidationError(N_("Select at least one order."), "ids")
        recipients = recipients_for_orders(order_ids, values["channel"])
    else:
        recipients = recipients_for_addresses(to or [], values["channel"])
    return values, compose(values, recipients, now, tz)


def send(raw: dict, actor: User | None, now: dt.datetime, tz, batch: str, order_ids=None,
         to=None, provider: str = "outbox") -> SendResult:
    """Store the messages of one send (bulk or single); delivery happens in the scheduler."""
    if actor is not None:
        require(actor, "operate")
    if not batch or len(batch) > 64:
        raise ValidationError(N_("The send has no valid idempotency key."), "batch")
    values, drafts = prepare(raw, now, tz, order_ids, to)
    template_id = int(values["template"]) if values.get("template") else None
    return enqueue(drafts, batch, actor, now, sender=values.get("sender") or "",
                   provider=provider, template_id=template_id)


def compose(values: dict, recipients: list[Recipient], now: dt.datetime, tz) -> list[Draft]:
    """Per-recipient drafts for parsed SEND_FIELDS ``values`` (nothing is stored)."""
    channel = values["channel"]
    template = None
    if values.get("template"):
        template = MessageTemplate.get_or_none(MessageTemplate.id == int(values["template"]))
    if channel == "alimtalk" and (template is None or template.kind != "alimtalk"):
        raise ValidationError(N_("AlimTalk needs an approved AlimTalk template."), "template")
    if template is None and not (values.get("text") or "").strip():
        raise ValidationError(N_("Write a message or choose a template."), "text")
    if channel != "email" and not values.get("sender"):
        raise ValidationError(N_("Choose a sender number."), "sender")
    body_source = (values.get("text") or "").strip() or (template.body if template else "")
    subject_source = values.get("subject") or (template.subject if template else "")
    is_ad = bool(values.get("is_ad") or (template.is_ad if template else False))
    known = set(ORDER_VARIABLES) if any(r.order for r in recipients) else set()
    known |= {name for r in recipients for name in r.variables}
    for name, text in (("text", body_source), ("subject", subject_source)):
        unknown = [n for n in messaging.placeholders(text) if n not in known]
        if unknown:
            raise ValidationError(N_("Unknown placeholder %(name)s; use one of: %(known)s"),
                                  name, name="#{%s}" % unknown[0],
                                  known=", ".join("#{%s}" % k for k in sorted(known)) or "-")
    night_hold = None
    if is_ad:
        consents = {c.phone: c.night_ads for c in RecipientConsent.select().where(
            RecipientConsent.phone.in_([r.to for r in recipients] or [""]))}
    drafts = []
    for recipient in recipients:
        body = messaging.substitute(body_source, recipient.variables)
        subject = messaging.substitute(subject_source, recipient.variables)
        if channel == "email":
            draft = _email_draft(recipient, subject, body, template)
        elif channel == "alimtalk":
            draft = _alimtalk_draft(recipient, subject, body, template)
        else:
            draft = _sms_draft(recipient, subject, body)
        if is_ad:
            draft.is_ad = True
            draft.problems += messaging.ad_problems(body)
            release = messaging.ad_release_time(clock.to_local(now, tz),
                                                consents.get(recipient.to, False))
            if release:
                draft.send_after = clock.to_utc(release, tz)
                draft.notes.append((N_("Advertising at night: held until %(when)s."),
                                    {"when": release.strftime("%m-%d %H:%M")}))
        drafts.append(draft)
    return drafts


def _recipient_problem(recipient: Recipient, channel: str):
    if channel == "email":
        if "@" not in (recipient.to or ""):
            return (N_("No email address."), {})
    elif not 9 <= len(recipient.to or "") <= 12:
        return (N_("No valid phone number."), {})
    return None


def _sms_draft(recipient, subject, body, channel="sms") -> Draft:
    result = messaging.classify(body, subject)
    draft = Draft(recipient, channel, result.kind, subject if result.kind != SMS else "", body,
                  result.bytes, problems=list(result.problems))
    problem = _recipient_problem(recipient, "sms")
    if problem:
        draft.problems.insert(0, problem)
    return draft


def _alimtalk_draft(recipient, subject, body, template) -> Draft:
    fallback_body = (messaging.substitute(template.fallback_text, recipient.variables)
                     if template.fallback_text else body)
    fallback = _sms_draft(recipient, subject, fallback_body, channel="alimtalk")
    reason = None
    if template.approval != "approved":
        reason = N_("The AlimTalk template is not approved; sent as %(kind)s instead.")
    elif not messaging.matches_template(template.body, body):
        reason = N_("The text no longer matches the approved template; sent as %(kind)s "
                    "instead.")
    elif len(body) > messaging.ALIMTALK_MAX_CHARS:
        reason = N_("Longer than AlimTalk allows; sent as %(kind)s instead.")
    if reason:
        fallback.notes.append((reason, {"kind": fallback.kind}))
        return fallback
    draft = Draft(recipient, "alimtalk", ALIMTALK, "", body, len(body), fallback=fallback)
    problem = _recipient_problem(recipient, "sms")
    if problem:
        draft.problems.append(problem)
    unsendable = messaging.unsendable_chars(body)
    if unsendable:
        draft.problems.append((N_("These characters cannot be sent by SMS: %(chars)s"),
                               {"chars": " ".join(unsendable)}))
    return draft


def _email_draft(recipient, subject, body, template) -> Draft:
    html = (messaging.substitute(template.html_body, recipient.variables)
            if template is not None and template.html_body else "")
    draft = Draft(recipient, "email", EMAIL, subject, body, len(body.encode()), html=html)
    problem = _recipient_problem(recipient, "email")
    if problem:
        draft.problems.append(problem)
    if not subject.strip():
        draft.problems.append((N_("An email needs a subject."), {}))
    return draft


# --- storing (idempotent) ------------------------------------------------------------------

def new_batch_key() -> str:
    return secrets.token_hex(12)


@dataclass
class SendResult:
    batch: str
    stored: list[Message]
    duplicates: int
    skipped: list[Draft]


def default_key(batch: str, draft: Draft) -> str:
    order_id = draft.recipient.order.id if draft.recipient.order else "-"
    return f"{batch}:{draft.channel}:{draft.recipient.to}:{order_id}"


def enqueue(drafts: list[Draft], batch: str, actor: User | None, now: dt.datetime,
            sender: str = "", provider: str = "outbox", template_id=None,
            key: Callable[[Draft], str] | None = None) -> SendResult:
    """Store every sendable draft once, in one transaction.

    A draft whose key is already stored (a double click, a retried request, a rule firing
    again for the same event) is counted as a duplicate and not stored again; drafts with
    problems are skipped and returned so the screen can list them. Rows go in with one
    multi-row ``INSERT … ON CONFLICT DO NOTHING`` per chunk: the unique key, not a prior
    read, is what guarantees "once" when two requests race.
    """
    skipped, rows = [], {}
    for draft in drafts:
        if not draft.ok:
            skipped.append(draft)
            continue
        idem = (key(draft) if key else default_key(batch, draft))[:200]
        rows.setdefault(idem, {
            "idempotency_key": idem, "batch": batch, "channel": draft.channel,
            "kind": draft.kind, "status": "queued", "provider": provider,
            "sender": sender if draft.kind != EMAIL else "", "to": draft.recipient.to,
            "subject": draft.subject, "body": draft.body, "html": draft.html,
            "bytes": draft.bytes, "is_ad": draft.is_ad, "template": template_id,
            "order": draft.recipient.order.id if draft.recipient.order else None,
            "operator": actor.id if actor else None, "requested_at": now,
            "send_after": draft.send_after or now, "attempts": 0, "carrier_result": "",
            "error": ""})
    keys = list(rows)
    with db.atomic():
        before = _max_message_id()
        for start in range(0, len(keys), ENQUEUE_CHUNK):
            chunk = [rows[k] for k in keys[start:start + ENQUEUE_CHUNK]]
            Message.insert_many(chunk).on_conflict_ignore().execute()
        stored = []
        for start in range(0, len(keys), ENQUEUE_CHUNK):
            stored += list(Message.select().where(
                Message.idempotency_key.in_(keys[start:start + ENQUEUE_CHUNK])
                & (Message.id > before)).order_by(Message.id))
    return SendResult(batch, stored, len(drafts) - len(skipped) - len(stored), skipped)


ENQUEUE_CHUNK = 200


def _max_message_id() -> int:
    return Message.select(fn.MAX(Message.id)).scalar() or 0


# --- delivering ---------------------------------------------------------------------------

class Providers:
    """Which provider delivers which kind: SMS/LMS/MMS/AlimTalk one, email another."""

    def __init__(self, text=None, email=None):
        self.text = text or OutboxProvider()
        self.email = email or OutboxProvider()

    @classmethod
    def from_settings(cls, env) -> "Providers":
        """Build from settings (environment variables, documented in the README).

        RULEDESK_SMS_PROVIDER=outbox|solapi (SOLAPI_API_KEY, SOLAPI_API_SECRET, SOLAPI_PF_ID,
        SOLAPI_BASE_URL) and RULEDESK_EMAIL_PROVIDER=outbox|smtp (SMTP_HOST, SMTP_PORT,
        SMTP_USERNAME, SMTP_PASSWORD, SMTP_FROM, SMTP_STARTTLS). Outbox is the default.
        """
        from engine.errors import ConfigError
        from engine.providers import SmtpProvider, SolapiProvider

        text = email = None
        kind = env.get("RULEDESK_SMS_PROVIDER", "outbox")
        if kind == "solapi":
            if not env.get("SOLAPI_API_KEY") or not env.get("SOLAPI_API_SECRET"):
                raise ConfigError(N_("RULEDESK_SMS_PROVIDER=solapi needs SOLAPI_API_KEY and "
                                     "SOLAPI_API_SECRET."))
            text = SolapiProvider(env["SOLAPI_API_KEY"], env["SOLAPI_API_SECRET"],
                                  env.get("SOLAPI_PF_ID", ""), env.get("SOLAPI_BASE_URL"))
        elif kind != "outbox":
            raise ConfigError(N_("RULEDESK_SMS_PROVIDER must be outbox or solapi."))
        kind = env.get("RULEDESK_EMAIL_PROVIDER", "outbox")
        if kind == "smtp":
            if not env.get("SMTP_HOST"):
                raise ConfigError(N_("RULEDESK_EMAIL_PROVIDER=smtp needs SMTP_HOST."))
            email = SmtpProvider(env["SMTP_HOST"], int(env.get("SMTP_PORT", "25")),
                                 env.get("SMTP_USERNAME", ""), env.get("SMTP_PASSWORD", ""),
                                 env.get("SMTP_FROM", "ruledesk@localhost"),
                                 env.get("SMTP_STARTTLS", "0") == "1")
        elif kind != "outbox":
            raise ConfigError(N_("RULEDESK_EMAIL_PROVIDER must be outbox or smtp."))
        return cls(text, email)

    def for_message(self, message: Message):
        return self.email if message.kind == EMAIL else self.text


def recover_stale(now: dt.datetime) -> int:
    """A send whose lease ran out died mid-way: mark it "unknown", never send it again."""
    return (Message.update(status="unknown", lease_until=None,
                           error="발송 중 중단됨: 수신 여부를 확인하세요 (interrupted while sending)")
            .where((Message.status == "sending") & (Message.lease_until < now)).execute())


def _claim(message_id: int, now: dt.datetime) -> bool:
    """Compare-and-swap queued → sending; only one process can win a message."""
    return (Message.update(status="sending", lease_until=now + LEASE,
                           attempts=Message.attempts + 1)
            .where((Message.id == message_id) & (Message.status == "queued")).execute()) == 1


def deliver_due(now: dt.datetime, providers: Providers, limit: int = 200,
                batch: str | None = None) -> int:
    """Send stored messages that are due; return how many were attempted."""
    recover_stale(now)
    query = (Message.select(Message.id)
             .where((Message.status == "queued") & (Message.send_after <= now)))
    if batch:
        query = query.where(Message.batch == batch)
    attempted = 0
    due = [row.id for row in query.order_by(Message.id).limit(limit)]
    for message_id in due:  # read first: no open read cursor while claiming (SQLite)
        if not _claim(message_id, now):
            continue
        attempted += 1
        message = Message.get_by_id(message_id)
        provider = providers.for_message(message)
        try:
            receipt = provider.send(message)
        except TransientError as exc:
            if message.attempts >= MAX_ATTEMPTS:
                _finish(message, "failed", error=exc.reason, carrier_result=exc.reason)
            else:
                _finish(message, "queued", error=exc.reason,
                        send_after=now + backoff(message.attempts))
        except PermanentError as exc:
            _finish(message, "failed", error=exc.reason, carrier_result=exc.reason)
            if message.kind == ALIMTALK:
                _queue_fallback(message, now)
        except UncertainError as exc:  # may have been accepted: never resend, have it checked
            _finish(message, "unknown", error=exc.reason, carrier_result=exc.reason)
        else:
            _finish(message, "sent", sent_at=now, provider_id=receipt.provider_id,
                    carrier_result=receipt.carrier_result, error="",
                    provider_name=provider.name)
    return attempted


def _finish(message: Message, status: str, provider_name: str | None = None, **fields) -> None:
    if provider_name:
        fields["provider"] = provider_name
    (Message.update(status=status, lease_until=None, **fields)
     .where((Message.id == message.id) & (Message.status == "sending")).execute())


def _queue_fallback(message: Message, now: dt.datetime) -> Message | None:
    """AlimTalk could not be delivered: send the SMS/LMS fallback (대체발송), once."""
    template = message.template
    text = message.body
    if template is not None and template.fallback_text:
        variables = order_variables(message.order) if message.order_id else {}
        text = messaging.substitute(template.fallback_text, variables)
    result = messaging.classify(text)
    if not result.ok:
        return None
    try:
        with db.atomic():
            return Message.create(
                idempotency_key=(message.idempotency_key + ":fallback")[:200],
                batch=message.batch, channel="alimtalk", kind=result.kind, status="queued",
                provider=message.provider, sender=message.sender, to=message.to,
                body=text, bytes=result.bytes, template=message.template_id,
                order=message.order_id, operator=message.operator_id, requested_at=now,
                send_after=now, fallback_of=message)
    except IntegrityError:
        return None


def batch_progress(batch: str) -> dict[str, int]:
    """{status: count} of one send, for the progress bar."""
    return {row.status: row.n for row in
            Message.select(Message.status, fn.COUNT(Message.id).alias("n"))
            .where(Message.batch == batch).group_by(Message.status)}
