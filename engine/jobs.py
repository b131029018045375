"""Scheduled jobs (seed 000, PlayAuto 스케줄러): declared jobs, their runs, the job log.

A job is declared data (``validate_job``: one schema for the form, TOML and the API). Its
timing is ``engine.schedules`` (a pure function); ``run_due`` claims a due job with a
compare-and-swap on ``next_run_at`` and writes one ``JobRun`` per shop account under a unique
(job, slot, account) key, so several processes never run one slot twice. A slot missed while
the app was down runs once (or is skipped: ``missed = "skip"``), never once per missed slot.
A run that dies keeps its row "running" only until its lease expires; then the log says it
was interrupted. One failing shop account fails only its own run.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import Callable

from peewee import IntegrityError

from engine import clock, events
from engine.errors import EngineError, NotFound, StateError, ValidationError
from engine.models import (
    AppSetting, Channel, Closure, Job, JobChange, JobRun, Order, User, db, utcnow,
)
from engine.schedules import WEEKDAYS, Calendar, Schedule, next_runs, parse_time
from engine.text import N_
from engine.users import require

log = logging.getLogger("ruledesk.jobs")

LEASE = dt.timedelta(minutes=30)
MISSED_GRACE = dt.timedelta(minutes=5)
MAINTENANCE = "maintenance"


@dataclass(frozen=True)
class JobKind:
    name: str
    label: str
    per_channel: bool
    lookback_days: int | None
    run: Callable     # run(job, channel | None, since, now) -> dict of counts


KINDS: dict[str, JobKind] = {}


def kind(name: str, label: str, per_channel: bool = True, lookback_days: int | None = None):
    """Register what a job kind does; the function returns its counts."""
    def decorate(fn):
        KINDS[name] = JobKind(name, label, per_channel, lookback_days, fn)
        return fn
    return decorate


class JobError(EngineError):
    code = "job"


class Counts(dict):
    """A kind's counts, with the readable per-run text (which orders, which errors) the job
    log shows as the run's detail; a plain dict of counts works as well."""

    def __init__(self, *args, detail: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.detail = detail


def _connector_kind(name, label, lookback):
    @kind(name, label, per_channel=True, lookback_days=lookback)
    def run(job, channel, since, now):
        from importlib import import_module
        try:
            connectors = import_module("engine.connectors")
        except ModuleNotFoundError:
            raise JobError(N_("%(channel)s has no marketplace connector."), channel=channel.name)
        return connectors.run(name, job, channel, since, now)
    return run


_connector_kind("collect_orders", N_("Order collection"), 14)
_connector_kind("sync_claims", N_("Claim sync (cancel, exchange, return)"), 90)
_connector_kind("send_invoices", N_("Send tracking numbers"), None)
_connector_kind("collect_inquiries", N_("Inquiry collection"), 14)
_connector_kind("send_answers", N_("Send inquiry answers"), None)


@kind("rule_batch", N_("Run a rule batch"), per_channel=False, lookback_days=30)
def rule_batch(job, channel, since, now):
    """Raise a "batch" event for every order received in the look-back window; the rules with
    the batch trigger (optionally only those named in ``options.rules``) decide what to do."""
    from engine import rules
    from engine.models import Rule

    names = (job.options or {}).get("rules") or []
    selected = Rule.select().where((Rule.enabled == True) & (Rule.trigger_event == "batch"))  # noqa: E712
    if names:
        selected = selected.where(Rule.name.in_(names))
    entry = {r.id for r in selected}
    ids = [o.id for o in Order.select(Order.id).where(Order.received_at >= since)
           .order_by(Order.id)]
    raised = [events.Event("order", i, events.BATCH, now, None, key=f"job{job.id}:{now}")
              for i in ids]
    runs = rules.Dispatcher(lambda: now).run_cascade(raised, entry_rules=entry) if entry else []
    return {"orders": len(ids), "fired": sum(1 for r in runs if r.outcome == "done"),
            "failed": sum(1 for r in runs if r.outcome == "failed")}


# --- the schema --------------------------------------------------------------------------------

def validate_job(raw: dict) -> dict:
    """Parse a job in its one schema (form, TOML or API) into the columns to store."""
    errors = {}

    def fail(field_name, message, **params):
        errors.setdefault(field_name, ValidationError(message, field_name, **params))

    name = str(raw.get("name") or "").strip()
    if not name or len(name) > 100:
        fail("name", N_("A job needs a name (at most 100 characters)."))
    kind_name = raw.get("kind")
    if kind_name not in KINDS:
        fail("kind", N_("Unknown job kind; use one of: %(kinds)s"), kinds=", ".join(KINDS))
    once = bool(raw.get("once_a_day"))
    every = raw.get("every_hours")
    if isinstance(every, str) and every.strip().isdigit():
        every = int(every)
    _check_shapes(raw, fail)
    try:
        schedule = Schedule.from_values(raw.get("weekdays") or [], raw.get("start") or "",
                                        raw.get("end") or "", None if once else every, once,
                                        bool(raw.get("skip_holidays")),
                                        raw.get("holiday_country") or "KR",
                                        raw.get("blackouts") or [])
    except ValidationError as exc:
        errors.setdefault(exc.field, exc)
        schedule = None
    except (TypeError, AttributeError):   # a shape _check_shapes named already
        schedule = None
    channels = raw.get("channels", "all")
    if channels != "all":
        if not isinstance(channels, list) or not channels \
                or not all(isinstance(c, str) for c in channels):
            fail("channels", N_("Channels are \"all\" or a list of channel names."))
        else:
            known = {c.name for c in Channel.select(Channel.name)}
            unknown = [c for c in channels if c not in known]
            if unknown:
                fail("channels", N_("Unknown channel %(name)s."), name=unknown[0])
    lookback = raw.get("lookback_days")
    if lookback in ("", None):
        lookback = KINDS[kind_name].lookback_days if kind_name in KINDS else None
    elif not str(lookback).isdigit() or not 1 <= int(lookback) <= 365:
        fail("lookback_days", N_("Look back 1 to 365 days."))
    notify = raw.get("notify") or {}
    if not isinstance(notify, dict):
        fail("notify", N_("notify is a table with kind, phone and dnd."))
        notify = {}
    if notify.get("kind") not in (None, "", "sms", "alimtalk"):
        fail("notify", N_("Notify by sms or alimtalk (or not at all)."))
    if notify.get("kind"):
        from engine.schema import Field, parse
        try:
            phone = parse([Field("phone", N_("Notification phone"), kind="phone",
                                 required=True)], {"phone": notify.get("phone")})["phone"]
            notify = {**notify, "phone": phone}
        except ValidationError:
            fail("notify", N_("The notification needs a valid mobile number."))
        dnd = notify.get("dnd")
        if dnd:
            try:
                if not isinstance(dnd, list) or len(dnd) != 2 \
                        or not all(isinstance(t, str) for t in dnd):
                    raise ValidationError(N_("Do-not-disturb is [\"HH:MM\", \"HH:MM\"]."),
                                          "notify")
                parse_time(dnd[0], "notify"), parse_time(dnd[1], "notify", allow_24=True)
            except ValidationError as exc:
                errors.setdefault("notify", exc)
        _check_notify_template(notify, fail)
    if "template" in notify and notify["template"] in (None, ""):
        notify = {k: v for k, v in notify.items() if k != "template"}
    options = raw.get("options") or {}
    if not isinstance(options, dict):
        fail("options", N_("options is a table of the kind's settings."))
        options = {}
    elif kind_name in KINDS:
        _check_options(kind_name, options, fail)
    missed = raw.get("missed") or "run_once"
    if not isinstance(missed, str) or missed not in ("run_once", "skip"):
        fail("missed", N_("A missed slot either runs once (run_once) or is skipped (skip)."))
    if errors:
        first_name, first = next(iter(errors.items()))
        raise ValidationError(first.message, first_name, errors=errors, **first.params)
    return {
        "name": name, "kind": kind_name, "enabled": bool(raw.get("enabled")),
        "weekdays": list(raw["weekdays"]), "start": raw["start"], "end": raw["end"],
        "every_hours": None if once else every, "once_a_day": once,
        "skip_holidays": schedule.skip_holidays, "holiday_country": schedule.holiday_country,
        "blackouts": [list(b) for b in raw.get("blackouts") or []],
        "channels": channels, "lookback_days": int(lookback) if lookback else None,
        "options": dict(options), "notify": notify, "missed": missed,
    }


def _check_notify_template(notify: dict, fail) -> None:
    """``notify.template`` names a template written for job results, of the notify's kind
    (an AlimTalk notification needs an AlimTalk template); empty = the built-in text."""
    from engine.models import MessageTemplate

    name = notify.get("template")
    if name in (None, ""):
        return
    if not isinstance(name, str):
        fail("notify_template", N_("notify.template is the name of a template."))
        return
    template = MessageTemplate.get_or_none(MessageTemplate.name == name)
    if template is None:
        fail("notify_template", N_("Unknown template %(name)s."), name=name)
    elif template.context != "job":
        fail("notify_template", N_("The template %(name)s is not written for job results "
                                   "(its placeholders are those of an order or a ticket)."),
             name=name)
    elif template.kind != notify.get("kind"):
        fail("notify_template", N_("The template %(name)s is not a %(kind)s template."),
             name=name, kind=notify.get("kind"))
    elif not template.active:
        fail("notify_template", N_("The template %(name)s is switched off."), name=name)


def _check_shapes(raw: dict, fail) -> None:
    """Name a value of the wrong JSON type (e.g. ``"start": 9``) instead of failing on it."""
    weekdays = raw.get("weekdays")
    if weekdays is not None and (not isinstance(weekdays, (list, tuple))
                                 or not all(isinstance(d, str) for d in weekdays)):
        fail("weekdays", N_("Choose at least one weekday (mon … sun)."))
    for name in ("start", "end"):
        if raw.get(name) is not None and not isinstance(raw.get(name), str):
            fail(name, N_("%(value)s is not a time like 09:00."), value=raw.get(name))
    blackouts = raw.get("blackouts")
    if blackouts and (not isinstance(blackouts, (list, tuple)) or not all(
            isinstance(pair, (list, tuple)) and all(isinstance(t, str) for t in pair)
            for pair in blackouts)):
        fail("blackouts", N_("A blackout window is [\"HH:MM\", \"HH:MM\"]."))
    if raw.get("holiday_country") is not None and not isinstance(raw.get("holiday_country"),
                                                                  str):
        fail("holiday_country", N_("The holiday calendar is KR or JP."))


# What the kinds with settings of their own accept in ``options`` (seed 000: 세부작업 설정).
INQUIRY_TYPES = {"qna": N_("Product Q&A"), "urgent": N_("Urgent messages"),
                 "review": N_("Reviews")}


def _check_options(kind_name: str, options: dict, fail) -> None:
    if kind_name == "collect_orders" and "confirm" in options \
            and not isinstance(options["confirm"], bool):
        fail("options", N_("options.confirm is true or false."))
    if kind_name == "collect_inquiries" and "types" in options:
        types = options["types"]
        if not isinstance(types, list) or not types \
                or not all(isinstance(t, str) and t in INQUIRY_TYPES for t in types):
            fail("options", N_("Choose the inquiry types to collect: %(types)s"),
                 types=", ".join(INQUIRY_TYPES))
    if kind_name == "collect_inquiries" and "team" in options \
            and not (isinstance(options["team"], str) and 0 < len(options["team"]) <= 100):
        fail("options", N_("options.team is the name of the helpdesk team that gets the "
                           "inquiries."))
    if kind_name == "rule_batch" and "rules" in options:
        names = options["rules"]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            fail("options", N_("options.rules is a list of rule names."))


def job_as_data(job: Job) -> dict:
    """The job in its declared form (API, TOML export, change history)."""
    data = {"name": job.name, "kind": job.kind, "enabled": job.enabled,
            "weekdays": job.weekdays, "start": job.start, "end": job.end,
            "skip_holidays": job.skip_holidays, "holiday_country": job.holiday_country,
            "blackouts": job.blackouts, "channels": job.channels, "missed": job.missed}
    if job.once_a_day:
        data["once_a_day"] = True
    else:
        data["every_hours"] = job.every_hours
    if job.lookback_days:
        data["lookback_days"] = job.lookback_days
    if job.options:
        data["options"] = job.options
    if job.notify:
        data["notify"] = job.notify
    return data


def schedule_of(job: Job) -> Schedule:
    return Schedule.from_values(job.weekdays, job.start, job.end, job.every_hours,
                                job.once_a_day, job.skip_holidays, job.holiday_country,
                                job.blackouts)


def calendar() -> Calendar:
    return Calendar({c.day: c.name for c in Closure.select()})


def _next_after(job: Job, now: dt.datetime, tz, cal: Calendar) -> dt.datetime | None:
    found = next_runs(schedule_of(job), clock.to_local(now, tz), cal, 1)
    return clock.to_utc(found[0], tz) if found else None


def save_job(actor: User | None, raw: dict, job_id: int | None = None, now=None,
             tz=None) -> Job:
    """Create or change a job (master / general admin / admin only), keeping its history."""
    if actor is not None:
        require(actor, "automation")
    values = validate_job(raw)
    now, tz = now or utcnow(), tz or clock.zone()
    with db.atomic():
        clash = Job.select().where(Job.name == values["name"])
        if job_id is not None:
            clash = clash.where(Job.id != job_id)
        if clash.exists():
            raise ValidationError(N_("A job named %(name)s exists already."), "name",
                                  name=values["name"])
        if job_id is None:
            job, before = Job(**values), None
        else:
            job = Job.get_or_none(Job.id == job_id)
            if job is None:
                raise NotFound(N_("No such job."))
            before = job_as_data(job)
            for name, value in values.items():
                setattr(job, name, value)
            job.version += 1
        job.updated_at, job.updated_by = now, actor
        job.next_run_at = _next_after(job, now, tz, calendar()) if job.enabled else None
        job.save()
        JobChange.create(job_id=job.id, job_name=job.name, actor=actor, at=now, before=before,
                         after=job_as_data(job))
    return job


def reschedule(now: dt.datetime, tz=None) -> int:
    """Recompute the next run of every enabled job that skips holidays, after the closure days
    changed (a new closure day may be the very day a job's next run was computed for). Only
    runs still ahead move; a due or missed slot stays for ``run_due``. Compare-and-swap on
    ``next_run_at``, so a slot another process is claiming is left alone."""
    tz, cal = tz or clock.zone(), calendar()
    moved = 0
    pending = list(Job.select().where((Job.enabled == True) & (Job.skip_holidays == True)  # noqa: E712
                                      & (Job.next_run_at > now)))
    for job in pending:
        following = _next_after(job, now, tz, cal)
        if following != job.next_run_at:
            moved += (Job.update(next_run_at=following)
                      .where((Job.id == job.id) & (Job.next_run_at == job.next_run_at))
                      .execute())
    return moved


def set_maintenance(actor: User | None, on: bool) -> None:
    """The maintenance switch: no job runs while it is on."""
    if actor is not None:
        require(actor, "automation")
    with db.atomic():
        updated = AppSetting.update(value=bool(on)).where(AppSetting.key == MAINTENANCE).execute()
        if not updated:
            AppSetting.create(key=MAINTENANCE, value=bool(on))


def in_maintenance() -> bool:
    row = AppSetting.get_or_none(AppSetting.key == MAINTENANCE)
    return bool(row and row.value)


# --- running ---------------------------------------------------------------------------------------

def recover_stale(now: dt.datetime) -> int:
    """A run whose lease passed died with its process: say so in the log."""
    return (JobRun.update(status="interrupted", finished_at=now, lease_until=None,
                          error="실행 중 중단됨: 프로세스가 종료되었습니다 (interrupted)")
            .where((JobRun.status == "running") & (JobRun.lease_until < now)).execute())


def run_due(now: dt.datetime, tz=None, cal: Calendar | None = None) -> list[JobRun]:
    """Run every enabled job whose slot has come; safe to call from several processes."""
    tz, cal = tz or clock.zone(), cal or calendar()
    recover_stale(now)
    if in_maintenance():
        return []
    runs = []
    due = list(Job.select().where((Job.enabled == True) & (Job.next_run_at <= now)))  # noqa: E712
    for job in due:  # read first: no open read cursor while claiming (SQLite)
        slot = job.next_run_at
        following = _next_after(job, now, tz, cal)
        claimed = (Job.update(next_run_at=following, last_run_at=now)
                   .where((Job.id == job.id) & (Job.next_run_at == slot)).execute())
        if claimed != 1:
            continue   # another process took this slot
        if job.missed == "skip" and now - slot > MISSED_GRACE:
            log.info("job %s: missed slot %s skipped", job.name, slot)
            continue
        runs += run_job(job, slot, now, "schedule", tz)
    return runs


def run_now(actor: User | None, job_id: int, now: dt.datetime | None = None,
            tz=None) -> list[JobRun]:
    """"Run now": the job at once, outside its schedule, logged as a manual run."""
    if actor is not None:
        require(actor, "automation")
    job = Job.get_or_none(Job.id == job_id)
    if job is None:
        raise NotFound(N_("No such job."))
    if in_maintenance():   # seed 000: 서비스 점검 시에는 자동화 작업이 실행되지 않습니다
        raise StateError(N_("Maintenance is on: no job runs, not even by hand, until it is "
                            "switched off."))
    now = now or utcnow()
    return run_job(job, now, now, "manual", tz or clock.zone())


def _targets(job: Job, spec: JobKind) -> list[Channel | None]:
    if not spec.per_channel:
        return [None]
    query = Channel.select().where(Channel.active == True).order_by(Channel.name)  # noqa: E712
    if job.channels != "all":
        return list(query.where(Channel.name.in_(job.channels)))
    from engine import connectors
    # "all" = every shop account the job can work on: a channel without a connector (orders
    # by file or by hand) or whose connector cannot do this is left out, not failed each run
    return [c for c in query if connectors.can_run(c, spec.name)]


def run_job(job: Job, scheduled_for: dt.datetime, now: dt.datetime, trigger: str,
            tz) -> list[JobRun]:
    """One run per target shop account; a failing account fails only its own run."""
    spec = KINDS[job.kind]
    lookback = job.lookback_days or spec.lookback_days
    since = now - dt.timedelta(days=lookback) if lookback else dt.datetime(2000, 1, 1)
    done = []
    for channel in _targets(job, spec):
        try:
            with db.atomic():
                run = JobRun.create(job=job, scheduled_for=scheduled_for, trigger=trigger,
                                    channel=channel.name if channel else "", started_at=now,
                                    lease_until=now + LEASE)
        except IntegrityError:
            continue   # this slot of this account ran already (another process)
        started = time.perf_counter()
        try:
            counts = spec.run(job, channel, since, now)
            status, error = "done", ""
        except EngineError as exc:   # what was done before the failure may ride along
            counts, status, error = getattr(exc, "counts", None) or {}, "failed", exc.render()
        except Exception as exc:  # a connector's bug fails its own account's run, visibly
            log.exception("job %s failed for %s", job.name, run.channel)
            counts, status, error = {}, "failed", f"{exc.__class__.__name__}: {exc}"
        detail = getattr(counts, "detail", "")
        finished = now + dt.timedelta(seconds=round(time.perf_counter() - started, 3))
        (JobRun.update(status=status, counts=dict(counts or {}), error=error,
                       detail=detail, finished_at=finished, lease_until=None)
         .where(JobRun.id == run.id).execute())
        done.append(JobRun.get_by_id(run.id))
    if done and all(r.status == "done" for r in done):
        Job.update(last_success_at=now).where(Job.id == job.id).execute()
    if done:
        notify(job, done, now, tz)
    return done


def title(job: Job, run: JobRun) -> str:
    """The job log title: scheduled runs carry [스케줄러] (seed 000)."""
    prefix = "[스케줄러] " if run.trigger == "schedule" else ""
    return f"{prefix}{job.name}" + (f" ({run.channel})" if run.channel else "")


def notify(job: Job, runs: list[JobRun], now: dt.datetime, tz) -> None:
    """Send the result by SMS/AlimTalk; inside do-not-disturb hours it waits until they end."""
    settings = job.notify or {}
    if not settings.get("kind") or not settings.get("phone"):
        return
    from engine import sending
    from engine.models import SenderNumber

    sender = (SenderNumber.select().where(SenderNumber.registered == True)  # noqa: E712
              .order_by(SenderNumber.id).first())
    if sender is None:
        log.warning("job %s: no registered sender number for the result notification", job.name)
        return
    summary = result_summary(job, runs, now, tz)
    to = "".join(c for c in settings["phone"] if c.isdigit())
    template = None
    if settings.get("template"):   # a job-context template (checked when the job was saved)
        from engine.models import MessageTemplate
        template = MessageTemplate.get_or_none(MessageTemplate.name == settings["template"])
        if template is None or template.context != "job":
            log.warning("job %s: notification template %s is gone; sent the built-in text",
                        job.name, settings["template"])
            template = None
    if template is not None:
        recipients = [sending.Recipient(to, None, sending.job_variables(summary))]
        values = {"channel": template.kind, "sender": sender.number,
                  "template": str(template.id)}
    else:
        text = f"[스케줄러] {job.name} {summary['result']}\n{summary['detail']}"
        recipients = [sending.Recipient(to)]
        values = {"channel": "sms", "sender": sender.number, "text": text}
    try:
        drafts = sending.compose(values, recipients, now, tz)
    except ValidationError as exc:   # the run stands; the log says why nobody was told
        log.warning("job %s: result notification not composed: %s", job.name, exc.render())
        return
    release = dnd_release(settings.get("dnd"), clock.to_local(now, tz))
    for draft in drafts:
        if release:
            draft.send_after = clock.to_utc(release, tz)
    stamp = runs[0].scheduled_for.isoformat()
    sending.enqueue(drafts, f"job-{job.id}", None, now, sender=sender.number,
                    template_id=template.id if template is not None else None,
                    key=lambda d: f"job:{job.id}:{runs[0].trigger}:{stamp}:{d.recipient.to}")


# The order counts are read in (log, detail, notifications). JSON columns do not keep key order
# on PostgreSQL (jsonb sorts keys), so the order is declared here, not taken from the row.
COUNT_ORDER = ("orders", "fetched", "collected", "duplicates", "confirmed", "confirm_failed",
               "tickets", "inquiries", "synced", "held", "not_found", "refused", "sent",
               "fired", "failed", "files", "failed_files")


def ordered_counts(counts: dict | None) -> list[tuple[str, object]]:
    """``counts`` as (name, value) pairs in ``COUNT_ORDER``, unknown names after, by name."""
    rank = {name: i for i, name in enumerate(COUNT_ORDER)}
    return sorted((counts or {}).items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]))


def result_summary(job: Job, runs: list[JobRun], now: dt.datetime, tz) -> dict:
    """What a result notification says (``sending.JOB_VARIABLES`` read it): the job, 완료 or
    실패 있음, one line per shop account, the counts added up and the slot's local time."""
    parts, totals = [], {}
    for run in runs:
        where = run.channel or job.name
        if run.status == "done":
            parts.append(f"{where} " + ", ".join(f"{k} {v}"
                                                 for k, v in ordered_counts(run.counts)))
            for key, value in ordered_counts(run.counts):
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    totals[key] = totals.get(key, 0) + value
        else:
            parts.append(f"{where} 실패: {run.error[:40]}")
    slot = runs[0].scheduled_for if runs else now
    return {"job": job.name,
            "result": "완료" if all(r.status == "done" for r in runs) else "실패 있음",
            "detail": "\n".join(parts),
            "counts": ", ".join(f"{k} {v}" for k, v in ordered_counts(totals)),
            "run_at": clock.to_local(slot, tz).strftime("%Y-%m-%d %H:%M")}


def dnd_release(dnd, local_now: dt.datetime) -> dt.datetime | None:
    """The end of the do-not-disturb window ``local_now`` falls in, or None."""
    if not dnd:
        return None
    start = parse_time(dnd[0], "notify")
    end = parse_time(dnd[1], "notify", allow_24=True) or dt.time(0)
    clock_now = local_now.timetz().replace(tzinfo=None)
    day = local_now.date()
    if start <= end:   # e.g. 12:00–13:00
        inside = start <= clock_now < end
        release_day = day
    else:              # e.g. 22:00–08:00, over midnight
        inside = clock_now >= start or clock_now < end
        release_day = day + dt.timedelta(days=1) if clock_now >= start else day
    if not inside:
        return None
    return dt.datetime.combine(release_day, end, tzinfo=local_now.tzinfo)


def preview(raw: dict, after: dt.datetime, count: int = 10, tz=None) -> list[dt.datetime]:
    """The next ``count`` run times the settings produce (local, aware): the form's preview."""
    tz = tz or clock.zone()
    every = raw.get("every_hours")
    if isinstance(every, str) and every.strip().isdigit():   # as the form sends it
        every = int(every)
    schedule = Schedule.from_values(raw.get("weekdays") or [], raw.get("start") or "",
                                    raw.get("end") or "",
                                    None if raw.get("once_a_day") else every,
                                    bool(raw.get("once_a_day")), bool(raw.get("skip_holidays")),
                                    raw.get("holiday_country") or "KR",
                                    raw.get("blackouts") or [])
    return next_runs(schedule, after.astimezone(tz), calendar(), count)


__all__ = ["KINDS", "WEEKDAYS", "validate_job", "save_job", "run_due", "run_now", "preview"]
