"""Changing a job's result-notification phone needs a code (seed 000: "알림 받을 휴대폰 번호는
마스터 번호로 기본 설정되어 있으며, 변경을 원할 경우 인증 절차를 통해 수정").

The default number is the master's (``AppSetting`` ``master_phone``, set by the master). A job
may notify the master's number or the number it already had without more ado; any other
number gets a 6-digit code by SMS through the one message path (``engine.sending``: it is in
the outbox like every message), and the job is saved with that number only once the code was
entered correctly. A code lives 10 minutes and allows 5 tries; only a salted hash is stored,
and only the newest unused code of a number counts.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from engine import clock, jobs, sending
from engine.errors import EngineError, PermissionDenied, ValidationError
from engine.models import AppSetting, Job, NotifyCode, SenderNumber, User, db, utcnow
from engine.schema import Field, parse
from engine.text import N_
from engine.users import require

CODE_TTL = dt.timedelta(minutes=10)
MAX_TRIES = 5
VERIFIED_FOR = dt.timedelta(minutes=30)   # a checked code must be used (saved) within this
RESEND_AFTER = dt.timedelta(seconds=30)
MASTER_PHONE = "master_phone"
PHONE_FIELD = Field("notify_phone", N_("Notification phone"), kind="phone", required=True)
MASTER_FIELD = Field("master_phone", N_("Master phone"), kind="phone")


def digits(phone: str | None) -> str:
    return "".join(c for c in str(phone or "") if c.isdigit())


def _hash(salt: str, code: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", code.encode(), salt.encode(), 50_000).hex()


# --- the master's number ------------------------------------------------------------------------

def master_phone() -> str:
    row = AppSetting.get_or_none(AppSetting.key == MASTER_PHONE)
    return (row.value or "") if row else ""


def set_master_phone(actor: User | None, phone: str) -> str:
    """The default notification number; only the master sets it (empty: none)."""
    if actor is not None:
        require(actor, "automation")
        if actor.role != "master":
            raise PermissionDenied(N_("Only the master may change the master phone."))
    value = parse([MASTER_FIELD], {"master_phone": phone})["master_phone"] or ""
    with db.atomic():
        updated = AppSetting.update(value=value).where(AppSetting.key == MASTER_PHONE).execute()
        if not updated:
            AppSetting.create(key=MASTER_PHONE, value=value)
    return value


# --- codes -----------------------------------------------------------------------------------

def needs_code(new_phone: str | None, job: Job | None) -> bool:
    """True when ``new_phone`` is neither the job's current number nor the master's."""
    new = digits(new_phone)
    if not new:
        return False
    known = {digits(master_phone())}
    if job is not None:
        known.add(digits((job.notify or {}).get("phone")))
    return new not in known - {""}


def _sender() -> SenderNumber:
    sender = (SenderNumber.select().where(SenderNumber.registered == True)  # noqa: E712
              .order_by(SenderNumber.id).first())
    if sender is None:
        raise ValidationError(N_("There is no registered sender number to send the code from "
                                 "(Messages → Sender numbers)."), "notify_phone")
    return sender


def request_code(actor: User | None, phone: str, now: dt.datetime | None = None, tz=None,
                 job_id: int | None = None) -> NotifyCode:
    """Send a new 6-digit code to ``phone`` by SMS; earlier codes of the number stop counting."""
    if actor is not None:
        require(actor, "automation")
    now, tz = now or utcnow(), tz or clock.zone()
    phone = parse([PHONE_FIELD], {"notify_phone": phone})["notify_phone"]
    number = digits(phone)
    last = (NotifyCode.select().where(NotifyCode.phone == number)
            .order_by(NotifyCode.created_at.desc(), NotifyCode.id.desc()).first())
    if last is not None and last.used_at is None and now - last.created_at < RESEND_AFTER:
        raise ValidationError(N_("A code was sent to this number a moment ago; wait %(n)d "
                                 "seconds before asking for another."), "notify_phone",
                              n=int((RESEND_AFTER - (now - last.created_at)).total_seconds()) + 1)
    sender = _sender()
    code = f"{secrets.randbelow(10 ** 6):06d}"
    salt = secrets.token_hex(16)
    text = (f"[ruledesk] 스케줄러 결과알림 번호 인증코드 {code}\n"
            f"{int(CODE_TTL.total_seconds() // 60)}분 안에 입력해 주세요.")
    drafts = sending.compose({"channel": "sms", "sender": sender.number, "text": text},
                             [sending.Recipient(number)], now, tz)
    if not drafts or not drafts[0].ok:
        raise ValidationError(N_("%(label)s is not a valid phone number."), "notify_phone",
                              label=PHONE_FIELD.label)
    with db.atomic():
        row = NotifyCode.create(phone=number, salt=salt, code_hash=_hash(salt, code),
                                job_id=job_id, requested_by=actor, created_at=now,
                                expires_at=now + CODE_TTL)
        sending.enqueue(drafts, f"notify-code-{row.id}", actor, now, sender=sender.number,
                        key=lambda d: f"notify-code:{row.id}")
    return row


def _newest(number: str) -> NotifyCode | None:
    return (NotifyCode.select().where((NotifyCode.phone == number) & NotifyCode.used_at.is_null())
            .order_by(NotifyCode.created_at.desc(), NotifyCode.id.desc()).first())


def verify(phone: str, code: str, now: dt.datetime | None = None) -> NotifyCode:
    """Check ``code`` against the newest code sent to ``phone``; a wrong one uses up a try."""
    now = now or utcnow()
    number = digits(phone)
    row = _newest(number) if number else None
    if row is None:
        raise ValidationError(N_("Send a code to the new number first."), "notify_code")
    if row.verified_at is not None:
        if now - row.verified_at <= VERIFIED_FOR:
            return row
        raise ValidationError(N_("The code has expired; send a new one."), "notify_code")
    if now >= row.expires_at:
        raise ValidationError(N_("The code has expired; send a new one."), "notify_code")
    if row.attempts >= MAX_TRIES:
        raise ValidationError(N_("Too many wrong codes; send a new one."), "notify_code")
    typed = digits(code)
    if len(typed) != 6 or not hmac.compare_digest(_hash(row.salt, typed), row.code_hash):
        (NotifyCode.update(attempts=NotifyCode.attempts + 1)
         .where(NotifyCode.id == row.id).execute())
        left = MAX_TRIES - row.attempts - 1
        if left <= 0:
            raise ValidationError(N_("Wrong code, and that was the last try; send a new one."),
                                  "notify_code")
        raise ValidationError(N_("Wrong code; %(n)d tries left."), "notify_code", n=left)
    NotifyCode.update(verified_at=now).where(NotifyCode.id == row.id).execute()
    return NotifyCode.get_by_id(row.id)


def _verified(phone: str, code: str | None, now: dt.datetime) -> NotifyCode:
    """The code that lets ``phone`` be saved: checked a moment ago, or checked now."""
    row = _newest(digits(phone))
    if row is not None and row.verified_at is not None and now - row.verified_at <= VERIFIED_FOR:
        return row
    if not digits(code):
        raise ValidationError(N_("A new number needs the code sent to it: send a code and "
                                 "enter it."), "notify_code")
    return verify(phone, code, now)


def _merge(*errors: EngineError) -> ValidationError:
    merged = {}
    for error in errors:
        merged.update(getattr(error, "errors", None) or {error.field: error})
    first = next(iter(merged.values()))
    return ValidationError(first.message, first.field, errors=merged, **first.params)


def save_job(actor: User | None, raw: dict, job_id: int | None = None, code: str | None = None,
             now: dt.datetime | None = None, tz=None) -> Job:
    """``jobs.save_job``, except that a new notification number needs its code.

    Every other field is checked first; the code only when the rest is right (so a typo
    elsewhere does not use up a try), and it is used up together with the save.
    """
    if actor is not None:
        require(actor, "automation")
    now, tz = now or utcnow(), tz or clock.zone()
    job = Job.get_or_none(Job.id == job_id) if job_id is not None else None
    notify = raw.get("notify") if isinstance(raw.get("notify"), dict) else {}
    wanted = notify.get("phone") if notify.get("kind") else None
    try:
        values = jobs.validate_job(raw)
    except ValidationError as exc:
        if needs_code(wanted if isinstance(wanted, str) else None, job) and not digits(code) \
                and "notify" not in exc.errors:
            row = _newest(digits(wanted))
            if row is None or row.verified_at is None:
                raise _merge(exc, ValidationError(
                    N_("A new number needs the code sent to it: send a code and enter it."),
                    "notify_code"))
        raise
    granted = None
    if values["notify"].get("kind") and needs_code(values["notify"].get("phone"), job):
        granted = _verified(values["notify"]["phone"], code, now)
    with db.atomic():
        saved = jobs.save_job(actor, raw, job_id, now=now, tz=tz)
        if granted is not None:
            used = (NotifyCode.update(used_at=now, job_id=saved.id)
                    .where((NotifyCode.id == granted.id) & NotifyCode.used_at.is_null())
                    .execute())
            if not used:   # another save took this code meanwhile
                raise ValidationError(N_("Send a code to the new number first."), "notify_code")
    return saved
