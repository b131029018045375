"""The scheduler's screens (seed 000, PlayAuto 스케줄러): jobs, their form with a live preview of
the next runs, the job log (작업관리), the change history (스케줄러 변경 내역), closure days.

Thin views over ``engine.jobs``: the form posts the job's one schema (``jobs.validate_job``)
through ``notify_phone.save_job`` (a new notification number needs its code), so what is
saved here exports to TOML and comes back from the API unchanged. Reading needs "read";
everything that changes a job, and the form's helper fragments, need "automation" (master,
general admin, admin).
"""
from __future__ import annotations

import datetime as dt
import json

from flask import Blueprint, current_app, g, make_response, redirect, request, url_for
from flask_babel import format_date, gettext
from flask_login import current_user

from engine import clock, closures, jobs, notify_phone, paging, users
from engine.errors import EngineError, NotFound, ValidationError
from engine.models import Channel, Job, JobChange, JobRun, Rule, Team
from engine.schedules import WEEKDAYS, next_runs
from engine.schema import Field, parse
from engine.text import N_
from views.web import field_errors, render, requires, translate

bp = Blueprint("jobs", __name__, url_prefix="/jobs")

PAGE_SIZE = 50
PREVIEW_COUNT = 10
STATUS_LABELS = {"done": N_("Completed"), "failed": N_("Error"), "interrupted": N_("Interrupted"),
                 "running": N_("Running")}
TRIGGER_LABELS = {"schedule": N_("Scheduled"), "manual": N_("Run now")}
WEEKDAY_LABELS = {"mon": N_("Mon"), "tue": N_("Tue"), "wed": N_("Wed"), "thu": N_("Thu"),
                  "fri": N_("Fri"), "sat": N_("Sat"), "sun": N_("Sun")}
MISSED_LABELS = {"run_once": N_("Run it once when the app is back"),
                 "skip": N_("Skip it and wait for the next slot")}
NOTIFY_LABELS = {"": N_("No notification"), "sms": N_("SMS"), "alimtalk": N_("AlimTalk")}
COUNTRY_LABELS = {"KR": N_("Korea (KR)"), "JP": N_("Japan (JP)")}
KEY_LABELS = {
    "name": N_("Name"), "kind": N_("Job"), "enabled": N_("On"), "weekdays": N_("Weekdays"),
    "start": N_("Start"), "end": N_("End"), "every_hours": N_("Every N hours"),
    "once_a_day": N_("Once a day"), "skip_holidays": N_("Skip holidays"),
    "holiday_country": N_("Holiday calendar"), "blackouts": N_("Blackout windows"),
    "channels": N_("Shop accounts"), "lookback_days": N_("Look-back days"),
    "options": N_("Job settings"), "notify": N_("Result notification"),
    "missed": N_("Missed slots"),
}
JOB_KEYS = list(KEY_LABELS)
COUNT_LABELS = {"orders": N_("orders"), "fired": N_("rules fired"), "failed": N_("failed"),
                "collected": N_("collected"), "confirmed": N_("confirmed"),
                "synced": N_("synced"), "sent": N_("sent"), "inquiries": N_("inquiries"),
                "fetched": N_("fetched"), "duplicates": N_("already there"),
                "held": N_("held (late cancel)"), "not_found": N_("order not found yet"),
                "refused": N_("not applied"), "confirm_failed": N_("confirm failed"),
                "files": N_("files"), "failed_files": N_("failed files"),
                "tickets": N_("tickets opened")}
BLACKOUT_ROWS = 3


def _actor():
    return current_user._get_current_object()


def _tz():
    return current_app.config["TZ"]


def _can(capability: str) -> bool:
    return current_user.is_authenticated and users.can(current_user, capability)


def _trigger(response, **events):
    """HX-Trigger as ASCII JSON (headers are latin-1 on the wire); closeDialog goes last."""
    ordered = {k: v for k, v in events.items() if k != "ruledesk:closeDialog"}
    if "ruledesk:closeDialog" in events:
        ordered["ruledesk:closeDialog"] = events["ruledesk:closeDialog"]
    response.headers["HX-Trigger"] = json.dumps(ordered)
    return response


def _local_now() -> dt.datetime:
    return clock.to_local(g.now, _tz())


# --- words -------------------------------------------------------------------------------------

def kind_label(name: str) -> str:
    spec = jobs.KINDS.get(name)
    return gettext(spec.label) if spec else name


def weekday_words(days) -> str:
    """["mon" … "fri"] → "Mon–Fri"; runs of three or more days are collapsed."""
    chosen = sorted({WEEKDAYS.index(d) for d in days or [] if d in WEEKDAYS})
    if len(chosen) == 7:
        return gettext("every day")
    groups, run = [], []
    for index in chosen:
        if run and index == run[-1] + 1:
            run.append(index)
        else:
            if run:
                groups.append(run)
            run = [index]
    if run:
        groups.append(run)
    parts = []
    for group in groups:
        names = [gettext(WEEKDAY_LABELS[WEEKDAYS[i]]) for i in group]
        parts.append(f"{names[0]}–{names[-1]}" if len(names) >= 3 else ", ".join(names))
    return ", ".join(parts)


def schedule_words(data: dict) -> str:
    """"Mon–Fri 09:00–18:00, every 3 h, skip holidays, except 12:00–13:00"."""
    days = weekday_words(data.get("weekdays"))
    if data.get("once_a_day"):
        parts = [f"{days} {data.get('start')}", gettext("once a day")]
    else:
        parts = [f"{days} {data.get('start')}–{data.get('end')}",
                 gettext("every %(n)s h", n=data.get("every_hours"))]
    if data.get("skip_holidays"):
        words = gettext("skip holidays")
        if data.get("holiday_country") == "JP":
            words += " (JP)"
        parts.append(words)
    for pair in data.get("blackouts") or []:
        parts.append(gettext("except %(start)s–%(end)s", start=pair[0], end=pair[1]))
    return ", ".join(parts)


def channel_words(channels) -> str:
    if channels == "all" or channels is None:
        return gettext("All shop accounts")
    return ", ".join(channels)


def count_words(counts: dict | None) -> str:
    if not counts:
        return ""
    return " · ".join(f"{count_label(k)} {v}" for k, v in jobs.ordered_counts(counts))


def count_label(key: str) -> str:
    return gettext(COUNT_LABELS[key]) if key in COUNT_LABELS else key


def duration_words(run: JobRun) -> str:
    if run.started_at is None or run.finished_at is None:
        return ""
    seconds = max(0.0, (run.finished_at - run.started_at).total_seconds())
    if seconds < 60:
        return gettext("%(n)s s", n=f"{seconds:.1f}" if seconds < 10 else f"{seconds:.0f}")
    minutes, rest = divmod(int(round(seconds)), 60)
    return gettext("%(m)d min %(s)d s", m=minutes, s=rest)


def notify_words(notify: dict | None) -> str:
    """"SMS → 010-1234-5678, do not disturb 22:00–08:00" or "No notification"."""
    notify = notify or {}
    kind = notify.get("kind") or ""
    if not kind:
        return gettext(NOTIFY_LABELS[""])
    words = f"{gettext(NOTIFY_LABELS.get(kind, kind))} → {notify.get('phone') or '?'}"
    dnd = notify.get("dnd")
    if isinstance(dnd, list) and len(dnd) == 2:
        words += ", " + gettext("do not disturb %(start)s–%(end)s", start=dnd[0], end=dnd[1])
    if notify.get("template"):
        words += ", " + gettext("template %(name)s", name=notify["template"])
    return words


def options_words(options: dict | None) -> str:
    options = options or {}
    parts = []
    if "confirm" in options:
        parts.append(gettext("confirm orders") if options["confirm"]
                     else gettext("do not confirm orders"))
    if isinstance(options.get("types"), list):
        parts.append(", ".join(gettext(jobs.INQUIRY_TYPES[t]) if t in jobs.INQUIRY_TYPES else str(t)
                               for t in options["types"]))
    if isinstance(options.get("rules"), list):
        parts.append(", ".join(map(str, options["rules"])) or gettext("every batch rule"))
    if options.get("team"):
        parts.append(gettext("tickets in %(team)s", team=options["team"]))
    known = ("confirm", "types", "rules", "team")
    parts += [f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in options.items()
              if k not in known]
    return "; ".join(parts)


def day_words(day: dt.date) -> str:
    return format_date(day, "EEE")


@bp.context_processor
def _helpers():
    return {"kind_label": kind_label, "schedule_words": schedule_words,
            "channel_words": channel_words, "count_words": count_words, "count_label": count_label,
            "ordered_counts": jobs.ordered_counts,
            "duration_words": duration_words, "status_labels": STATUS_LABELS,
            "trigger_labels": TRIGGER_LABELS, "weekday_labels": WEEKDAY_LABELS,
            "day_words": day_words, "job_title": jobs.title, "shown_after": _shown}


# --- the list ---------------------------------------------------------------------------------

def missed_flag(job: Job, now: dt.datetime, cal, maintenance: bool) -> str | None:
    """Why a job looks stuck, or None: its next run is overdue (nothing ran it), or a slot
    came and went since its last success (or since it was last changed) without a success."""
    if not job.enabled or maintenance:
        return None
    tz = _tz()
    if job.next_run_at is not None and job.next_run_at < now - jobs.MISSED_GRACE:
        return gettext("Missed: the run due %(when)s has not started.",
                       when=clock.to_local(job.next_run_at, tz).strftime("%m-%d %H:%M"))
    since = max(t for t in (job.last_success_at, job.updated_at, dt.datetime(2000, 1, 1)) if t)
    try:
        slot = next_runs(jobs.schedule_of(job), clock.to_local(since, tz), cal, 1)
    except EngineError:
        return None
    if slot and clock.to_utc(slot[0], tz) < now - jobs.MISSED_GRACE:
        if job.last_success_at:
            return gettext("No success since %(when)s.",
                           when=clock.to_local(job.last_success_at, tz).strftime("%m-%d %H:%M"))
        return gettext("No success yet although a run was due %(when)s.",
                       when=slot[0].strftime("%m-%d %H:%M"))
    return None


def _last_runs() -> dict:
    """{job id: (started_at, status)} of each job's newest run (scheduled or by hand); the
    status is "failed" when any shop account of that run failed."""
    from peewee import fn
    newest = {job_id: started for job_id, started in
              JobRun.select(JobRun.job, fn.MAX(JobRun.started_at)).group_by(JobRun.job).tuples()}
    found = {}
    if not newest:
        return found
    for run in JobRun.select(JobRun.job, JobRun.started_at, JobRun.status).where(
            JobRun.job.in_(list(newest)) & JobRun.started_at.in_(list(set(newest.values())))):
        if run.started_at != newest.get(run.job_id):
            continue
        started, status = found.get(run.job_id, (run.started_at, "done"))
        if run.status != "done" and status == "done":
            status = run.status
        found[run.job_id] = (started, status)
    return found


def _list_context(notice=None):
    maintenance = jobs.in_maintenance()
    cal = jobs.calendar()
    rows = []
    last_runs = _last_runs()
    for job in Job.select().order_by(Job.name):
        data = jobs.job_as_data(job)
        rows.append({"job": job, "words": schedule_words(data),
                     "next": clock.to_local(job.next_run_at, _tz()),
                     "last": last_runs.get(job.id),
                     "flag": missed_flag(job, g.now, cal, maintenance)})
    return dict(rows=rows, maintenance=maintenance, editable=_can("automation"), notice=notice,
                is_master=current_user.role == "master",
                master_phone=notify_phone.master_phone(),
                scheduler_on=current_app.config.get("SCHEDULER", True),
                missing=sum(1 for r in rows if r["flag"]))


@bp.route("/")
@requires("read")
def index():
    notice = None
    if request.args.get("phone") == "saved":
        notice = gettext("Master phone saved.")
    return render("jobs/index.html", "jobs_main", **_list_context(notice))


def _get_job(job_id: int) -> Job:
    job = Job.get_or_none(Job.id == job_id)
    if job is None:
        raise NotFound(N_("No such job."))
    return job


def _list_response(toast: str | None = None):
    response = make_response(render("jobs/index.html", "jobs_main", **_list_context()))
    return _trigger(response, **{"ruledesk:toast": toast}) if toast else response


@bp.route("/<int:job_id>/enabled", methods=["POST"])
@requires("automation")
def toggle(job_id):
    """Switch a job on or off (a change like any other, in the change history)."""
    job = _get_job(job_id)
    enabled = request.form.get("on", "") in ("1", "true", "on")
    try:
        job = jobs.save_job(_actor(), {**jobs.job_as_data(job), "enabled": enabled}, job.id,
                            now=g.now, tz=_tz())
    except EngineError as exc:
        return _list_response(translate(exc))
    if not request.htmx:
        return redirect(url_for("jobs.index"))
    return _list_response(gettext("%(name)s is on.", name=job.name) if job.enabled
                          else gettext("%(name)s is off.", name=job.name))


@bp.route("/maintenance", methods=["POST"])
@requires("automation")
def maintenance():
    """The maintenance switch (서비스 점검): no job runs while it is on."""
    on = request.form.get("on", "") in ("1", "true", "on")
    jobs.set_maintenance(_actor(), on)
    if not request.htmx:
        return redirect(url_for("jobs.index"))
    return _list_response(gettext("Maintenance is on: no job runs.") if on
                          else gettext("Maintenance is off: jobs run again."))


@bp.route("/<int:job_id>/run", methods=["POST"])
@requires("automation")
def run_now(job_id):
    """Run a job at once for its shop accounts; the runs open in the dialog."""
    job = _get_job(job_id)
    try:
        runs = jobs.run_now(_actor(), job.id, now=g.now, tz=_tz())
    except EngineError as exc:
        response = make_response("", exc.status)
        return _trigger(response, **{"ruledesk:toast": translate(exc)})
    failed = sum(1 for r in runs if r.status != "done")
    if not runs:
        toast = gettext("%(name)s has no shop account to run for.", name=job.name)
    elif failed:
        toast = gettext("%(name)s ran for %(n)d shop accounts; %(failed)d failed.",
                        name=job.name, n=len(runs), failed=failed)
    else:
        toast = gettext("%(name)s ran for %(n)d shop accounts.", name=job.name, n=len(runs))
    response = make_response(render("jobs/_runs.html", job=Job.get_by_id(job.id), runs=runs))
    return _trigger(response, **{"ruledesk:toast": toast, "ruledesk:jobsChanged": True})


@bp.route("/master-phone", methods=["POST"])
@requires("automation")
def master_phone():
    """The default notification number; the engine lets only the master change it."""
    try:
        notify_phone.set_master_phone(_actor(), request.form.get("master_phone", ""))
    except ValidationError as exc:
        context = _list_context()
        context.update(phone_error=translate(exc),
                       master_phone=request.form.get("master_phone", ""))
        return render("jobs/index.html", **context), 422
    return redirect(url_for("jobs.index", phone="saved"))


# --- the form -----------------------------------------------------------------------------------

def _default_country() -> str:
    return "JP" if str(_tz()) == "Asia/Tokyo" else "KR"


def _values_of(job: Job | None) -> dict:
    """The form's values: a stored job's, or a new job's defaults (seed 000's usual set-up)."""
    if job is None:
        return {"name": "", "kind": "collect_orders", "enabled": True,
                "weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00",
                "end": "18:00", "every_hours": 3, "once_a_day": False, "skip_holidays": True,
                "holiday_country": _default_country(), "blackouts": [], "channels": "all",
                "lookback_days": None, "options": {"confirm": False,
                                                   "types": list(jobs.INQUIRY_TYPES)},
                "notify": {"kind": "", "phone": notify_phone.master_phone(),
                           "dnd": ["22:00", "08:00"]},
                "missed": "run_once"}
    data = jobs.job_as_data(job)
    data.setdefault("every_hours", None)
    data.setdefault("once_a_day", False)
    data.setdefault("lookback_days", None)
    data.setdefault("options", {})
    data.setdefault("notify", {})
    return data


def _checked(form, name: str) -> bool:
    return form.get(name, "") in ("1", "on", "true", "yes")


def _posted_job(form) -> dict:
    """The form as the job's one schema (what ``jobs.validate_job`` reads)."""
    raw = {"name": form.get("name", ""), "kind": form.get("kind", ""),
           "enabled": _checked(form, "enabled"),
           "weekdays": [d for d in WEEKDAYS if d in form.getlist("weekdays")],
           "start": form.get("start", "").strip(), "end": form.get("end", "").strip(),
           "skip_holidays": _checked(form, "skip_holidays"),
           "holiday_country": form.get("holiday_country") or "KR",
           "missed": form.get("missed") or "run_once"}
    if form.get("repeat") == "once":
        raw["once_a_day"] = True
    else:
        raw["every_hours"] = form.get("every_hours", "").strip()
    blackouts = []
    for index in range(BLACKOUT_ROWS + 5):
        start = form.get(f"blackouts-{index}-start", "").strip()
        end = form.get(f"blackouts-{index}-end", "").strip()
        if start or end:
            blackouts.append([start, end])
    raw["blackouts"] = blackouts
    raw["channels"] = (form.getlist("channels") if form.get("channels_mode") == "some"
                       else "all")
    raw["lookback_days"] = form.get("lookback_days", "").strip()
    kind = raw["kind"]
    if kind == "collect_orders":
        raw["options"] = {"confirm": _checked(form, "opt_confirm")}
    elif kind == "collect_inquiries":
        raw["options"] = {"types": [t for t in jobs.INQUIRY_TYPES
                                    if t in form.getlist("opt_types")]}
        if form.get("opt_team", "").strip():
            raw["options"]["team"] = form["opt_team"].strip()
    elif kind == "rule_batch":
        raw["options"] = {"rules": form.getlist("opt_rules")}
    else:
        raw["options"] = {}
    notify_kind = form.get("notify_kind", "")
    if notify_kind:
        notify = {"kind": notify_kind, "phone": form.get("notify_phone", "").strip()}
        dnd = [form.get("dnd_from", "").strip(), form.get("dnd_to", "").strip()]
        if any(dnd):
            notify["dnd"] = dnd
        if form.get("notify_template", "").strip():
            notify["template"] = form.get("notify_template", "").strip()
        raw["notify"] = notify
    else:
        raw["notify"] = {}
    return raw


def _form_errors(raw: dict, exc: EngineError) -> dict:
    errors = field_errors(exc)
    if raw.get("channels") == [] and "channels" in errors:
        errors["channels"] = gettext("Choose at least one shop account, or all of them.")
    if raw.get("kind") == "collect_inquiries" and "options" in errors \
            and not (raw.get("options") or {}).get("types"):
        errors["options"] = gettext("Choose at least one kind of inquiry to collect.")
    return errors


def _error_summary(errors: dict) -> list[str]:
    return list(dict.fromkeys(errors.values()))


def _job_templates() -> list[tuple[str, str]]:
    """Templates written for job results, as (name, kind): the notification's text choices."""
    from engine.models import MessageTemplate
    return [(t.name, t.kind) for t in MessageTemplate.select().where(
        (MessageTemplate.context == "job") & (MessageTemplate.active == True))  # noqa: E712
        .order_by(MessageTemplate.name)]


def _batch_rules() -> list[str]:
    return [r.name for r in Rule.select().where(Rule.trigger_event == "batch")
            .order_by(Rule.sequence, Rule.id)]


def _channel_names(values: dict) -> list[tuple[str, bool]]:
    """Active shop accounts, plus chosen ones that are no longer active (marked)."""
    names = [(c.name, True) for c in Channel.active_ones()]
    chosen = values.get("channels") if isinstance(values.get("channels"), list) else []
    known = {n for n, _ in names}
    return names + [(n, False) for n in chosen if n not in known]


def _recent_runs(job: Job, limit: int = 8) -> list[JobRun]:
    return list(JobRun.select().where(JobRun.job == job.id)
                .order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(limit))


def _form_page(job: Job | None, values: dict, errors=None, status=200, saved=False,
               code_sent=None):
    editable = _can("automation")
    errors = errors or {}
    notify = values.get("notify") or {}
    current_phone = ((job.notify or {}).get("phone") if job else "") or ""
    context = dict(
        job=job, values=values, errors=errors, summary=_error_summary(errors), saved=saved,
        editable=editable, kinds=list(jobs.KINDS.values()), weekdays=WEEKDAYS,
        hours=[f"{h:02d}:00" for h in range(25)], every_choices=[1, 2, 3, 4, 6, 8, 12, 24],
        channel_names=_channel_names(values), batch_rules=_batch_rules(),
        inquiry_types=jobs.INQUIRY_TYPES, missed_labels=MISSED_LABELS,
        helpdesk_teams=[t.name for t in Team.select().where(Team.active == True)  # noqa: E712
                        .order_by(Team.sort_order, Team.name)],
        notify_labels=NOTIFY_LABELS, country_labels=COUNTRY_LABELS,
        notify_templates=_job_templates(),
        master_phone=notify_phone.master_phone(), current_phone=current_phone,
        phone_needs_code=bool(notify.get("kind")) and notify_phone.needs_code(
            notify.get("phone"), job),
        code_sent=code_sent, blackout_rows=BLACKOUT_ROWS,
        lookbacks={name: spec.lookback_days for name, spec in jobs.KINDS.items()},
        preview=_preview_context(values, _local_now()),
        changes=[_change_view(c) for c in JobChange.select().where(JobChange.job_id == job.id)
                 .order_by(JobChange.at.desc(), JobChange.id.desc()).limit(5)] if job else [],
        runs=_recent_runs(job) if job else [],
        maintenance=jobs.in_maintenance())
    return render("jobs/form.html", **context), status


@bp.route("/new")
@requires("automation")
def new():
    return _form_page(None, _values_of(None))


@bp.route("/new", methods=["POST"])
@requires("automation")
def create():
    raw = _posted_job(request.form)
    try:
        job = notify_phone.save_job(_actor(), raw, None, request.form.get("notify_code"),
                                    now=g.now, tz=_tz())
    except EngineError as exc:
        return _form_page(None, raw, _form_errors(raw, exc), 422)
    return redirect(url_for("jobs.edit", job_id=job.id, saved=1))


@bp.route("/<int:job_id>")
@requires("read")
def edit(job_id):
    job = _get_job(job_id)
    return _form_page(job, _values_of(job), saved=bool(request.args.get("saved")))


@bp.route("/<int:job_id>", methods=["POST"])
@requires("automation")
def update(job_id):
    job = _get_job(job_id)
    raw = _posted_job(request.form)
    try:
        job = notify_phone.save_job(_actor(), raw, job.id, request.form.get("notify_code"),
                                    now=g.now, tz=_tz())
    except EngineError as exc:
        return _form_page(job, raw, _form_errors(raw, exc), 422)
    return redirect(url_for("jobs.edit", job_id=job.id, saved=1))


# --- the live preview ---------------------------------------------------------------------------

def _preview_after(value: str | None, fallback: dt.datetime) -> dt.datetime:
    """"Show runs from" a local date (the start of that day), else now."""
    try:
        day = dt.date.fromisoformat((value or "").strip())
    except ValueError:
        return fallback
    return dt.datetime.combine(day, dt.time(0), tzinfo=_tz()) - dt.timedelta(microseconds=1)


def _preview_context(raw: dict, after: dt.datetime) -> dict:
    """The next runs the settings produce, by local day, with the holidays they skip."""
    tz = _tz()
    try:
        runs = jobs.preview(raw, after, PREVIEW_COUNT, tz)
    except EngineError as exc:
        return {"runs": [], "days": [], "error": translate(exc), "after": after}
    except (TypeError, AttributeError):
        return {"runs": [], "days": [], "error": gettext("Fill in the times."), "after": after}
    cal = jobs.calendar()
    country = raw.get("holiday_country") or "KR"
    skip = bool(raw.get("skip_holidays"))
    chosen = {WEEKDAYS.index(d) for d in raw.get("weekdays") or [] if d in WEEKDAYS}
    by_day: dict[dt.date, dict] = {}
    for run in runs:
        day = by_day.setdefault(run.date(), {"day": run.date(), "runs": [], "skipped": None,
                                             "holiday": cal.name(run.date(), country)})
        day["runs"].append(run)
    if skip:
        last = runs[-1].date() if runs else after.date() + dt.timedelta(days=31)
        day = after.date()
        while day <= last:
            if day.weekday() in chosen and day not in by_day and cal.is_holiday(day, country):
                by_day[day] = {"day": day, "runs": [], "skipped": cal.name(day, country),
                               "holiday": None}
            day += dt.timedelta(days=1)
    return {"runs": runs, "days": [by_day[d] for d in sorted(by_day)], "error": None,
            "after": after, "skip": skip}


def _shown(after: dt.datetime) -> dt.datetime:
    """"From" as a person reads it: the start of a chosen day, not the instant before it."""
    return after + dt.timedelta(microseconds=1) if after.microsecond == 999999 else after


@bp.route("/preview", methods=["POST"])
@requires("automation")
def preview():
    """The form's next-runs box, as the settings in the form stand (nothing is saved)."""
    raw = _posted_job(request.form)
    after = _preview_after(request.form.get("preview_from"), _local_now())
    return render("jobs/_preview.html", preview=_preview_context(raw, after))


# --- the notification phone's code ---------------------------------------------------------------

def _phone_fragment(**context):
    return render("jobs/_phone.html", **context)


@bp.route("/phone/code", methods=["POST"])
@requires("automation")
def phone_code():
    """Send a 6-digit code to the number typed in the form (SMS, through the outbox)."""
    phone = request.form.get("notify_phone", "")
    job_id = request.form.get("job_id", "")
    try:
        row = notify_phone.request_code(_actor(), phone, now=g.now, tz=_tz(),
                                        job_id=int(job_id) if job_id.isdigit() else None)
    except EngineError as exc:
        return _phone_fragment(sent=False, error=translate(exc), phone=phone)
    return _phone_fragment(sent=True, phone=phone,
                           expires=clock.to_local(row.expires_at, _tz()))


@bp.route("/phone/verify", methods=["POST"])
@requires("automation")
def phone_verify():
    """Check the code now (saving the job checks it again and uses it up)."""
    phone = request.form.get("notify_phone", "")
    try:
        notify_phone.verify(phone, request.form.get("notify_code", ""), now=g.now)
    except EngineError as exc:
        return render("jobs/_phone_check.html", ok=False, message=translate(exc))
    return render("jobs/_phone_check.html", ok=True,
                  message=gettext("Code confirmed. Save the job to use this number."))


# --- job log (작업관리) ----------------------------------------------------------------------------

def _job_choices():
    return [(str(j.id), j.name) for j in Job.select().order_by(Job.name)]


def _channel_choices():
    seen = {r.channel for r in JobRun.select(JobRun.channel).distinct() if r.channel}
    seen |= {c.name for c in Channel.select(Channel.name)}
    return [(name, name) for name in sorted(seen)]


LOG_FIELDS = [
    Field("job_id", N_("Job"), kind="choice", choices=_job_choices),
    Field("channel", N_("Shop account"), kind="choice", choices=_channel_choices),
    Field("status", N_("Status"), kind="choice", choices=lambda: list(STATUS_LABELS.items())),
    Field("trigger", N_("Started by"), kind="choice",
          choices=lambda: list(TRIGGER_LABELS.items())),
    Field("date_from", N_("From"), kind="date"),
    Field("date_to", N_("To"), kind="date"),
]


def runs_query(filters: dict, tz):
    """The job log, newest first, filtered (dates are local days, both ends included)."""
    query = JobRun.select(JobRun, Job).join(Job).order_by(JobRun.started_at.desc(),
                                                           JobRun.id.desc())
    if filters.get("job_id"):
        query = query.where(JobRun.job == int(filters["job_id"]))
    if filters.get("channel"):
        query = query.where(JobRun.channel == filters["channel"])
    if filters.get("status"):
        query = query.where(JobRun.status == filters["status"])
    if filters.get("trigger"):
        query = query.where(JobRun.trigger == filters["trigger"])
    if filters.get("date_from"):
        query = query.where(JobRun.started_at >= clock.local_day_bounds(filters["date_from"],
                                                                         tz)[0])
    if filters.get("date_to"):
        query = query.where(JobRun.started_at < clock.local_day_bounds(filters["date_to"],
                                                                        tz)[1])
    return query


def _page_number() -> int:
    page = request.args.get("page", "1")
    return int(page) if page.isdigit() and int(page) > 0 else 1


@bp.route("/log")
@requires("read")
def log():
    raw = {f.name: request.args.get(f.name, "") for f in LOG_FIELDS}
    try:
        filters, errors = parse(LOG_FIELDS, raw, _tz()), {}
    except ValidationError as exc:
        filters, errors = {}, field_errors(exc)
    rows, total, page, pages = paging.paginate(runs_query(filters, _tz()), _page_number(),
                                               PAGE_SIZE)
    return render("jobs/log.html", "results", rows=rows, total=total, page=page, pages=pages,
                  raw=raw, errors=errors, fields=LOG_FIELDS,
                  query={k: v for k, v in raw.items() if v})


@bp.route("/log/<int:run_id>")
@requires("read")
def run_detail(run_id):
    """One run in the dialog (상세): its slot, account, times, counts, error and detail."""
    run = JobRun.get_or_none(JobRun.id == run_id)
    if run is None:
        raise NotFound(N_("No such run."))
    spec = jobs.KINDS.get(run.job.kind)
    lookback = run.job.lookback_days or (spec.lookback_days if spec else None)
    context = dict(run=run, job=run.job, lookback=lookback, kind_spec=spec)
    if request.htmx:
        return render("jobs/_run_detail.html", **context)
    return render("jobs/run.html", **context)     # opened on its own (a link, a new tab)


# --- change history (스케줄러 변경 내역) -------------------------------------------------------------

def _pretty(key: str, value) -> str:
    if value is None:
        return "—"
    if key == "weekdays" and isinstance(value, list):
        return weekday_words(value)
    if key == "kind" and isinstance(value, str):
        return kind_label(value)
    if key == "blackouts" and isinstance(value, list):
        return ", ".join(f"{p[0]}–{p[1]}" for p in value if isinstance(p, list) and len(p) == 2) \
            or "—"
    if key == "channels":
        return channel_words(value)
    if key == "missed" and value in MISSED_LABELS:
        return gettext(MISSED_LABELS[value])
    if key == "holiday_country" and value in COUNTRY_LABELS:
        return gettext(COUNTRY_LABELS[value])
    if key == "notify" and isinstance(value, dict):
        return notify_words(value)
    if key == "options" and isinstance(value, dict):
        return options_words(value) or "—"
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _change_view(change: JobChange) -> dict:
    """A change as rows of (key, before, after, changed) over the job's declared keys."""
    before, after = change.before or {}, change.after or {}
    keys = [k for k in JOB_KEYS if k in before or k in after]
    keys += sorted(k for k in set(before) | set(after) if k not in JOB_KEYS)
    both = change.before is not None and change.after is not None
    rows = []
    for key in keys:
        old, new = before.get(key), after.get(key)
        rows.append({"key": key,
                     "label": gettext(KEY_LABELS[key]) if key in KEY_LABELS else key,
                     "before": _pretty(key, old) if change.before is not None else "",
                     "after": _pretty(key, new) if change.after is not None else "",
                     "changed": old != new})
    summary = ""
    if not both and after:
        try:
            summary = " · ".join([kind_label(after.get("kind", "")), schedule_words(after),
                                  channel_words(after.get("channels"))])
        except (TypeError, KeyError, IndexError):
            summary = ""
    return {"change": change, "both": both, "rows": rows, "summary": summary,
            "changed": [r for r in rows if r["changed"] or not both],
            "same": [r for r in rows if not r["changed"] and both],
            "label": gettext("Changed") if both else gettext("Created"),
            "exists": Job.select().where(Job.id == change.job_id).exists()}


@bp.route("/history")
@requires("read")
def history():
    job_id = request.args.get("job_id", "")
    query = JobChange.select().order_by(JobChange.at.desc(), JobChange.id.desc())
    if job_id.isdigit():
        query = query.where(JobChange.job_id == int(job_id))
    rows, total, page, pages = paging.paginate(query, _page_number(), 20)
    names = {}
    for c in JobChange.select(JobChange.job_id, JobChange.job_name).order_by(JobChange.id):
        names[c.job_id] = c.job_name
    return render("jobs/history.html", "results",
                  changes=[_change_view(c) for c in rows],
                  total=total, page=page, pages=pages, job_id=job_id,
                  job_names=sorted(names.items(), key=lambda kv: kv[1]),
                  query={"job_id": job_id} if job_id else {})


# --- closure days -------------------------------------------------------------------------------

def _closures_context(values=None, errors=None, notice=None):
    today = _local_now().date()
    own = closures.closures()
    return dict(upcoming=[c for c in own if c.day >= today],
                past=[c for c in own if c.day < today][-10:], today=today,
                holidays={country: closures.upcoming_public_holidays(country, today)
                          for country in ("KR", "JP")},
                country_labels=COUNTRY_LABELS, fields=closures.CLOSURE_FIELDS,
                values=values or {}, errors=errors or {}, notice=notice,
                editable=_can("automation"),
                skipping=Job.select().where((Job.enabled == True)  # noqa: E712
                                            & (Job.skip_holidays == True)).count())


@bp.route("/closures")
@requires("read")
def closure_days():
    notice = None
    if request.args.get("added"):
        notice = gettext("Closure day %(day)s added.", day=request.args["added"])
    elif request.args.get("deleted"):
        notice = gettext("Closure day %(day)s removed.", day=request.args["deleted"])
    return render("jobs/closures.html", **_closures_context(notice=notice))


@bp.route("/closures", methods=["POST"])
@requires("automation")
def add_closure():
    raw = {f.name: request.form.get(f.name, "") for f in closures.CLOSURE_FIELDS}
    try:
        closure = closures.add_closure(_actor(), raw, now=g.now, tz=_tz())
    except ValidationError as exc:
        return render("jobs/closures.html",
                      **_closures_context(raw, field_errors(exc))), 422
    return redirect(url_for("jobs.closure_days", added=closure.day.isoformat()))


@bp.route("/closures/<int:closure_id>/delete", methods=["POST"])
@requires("automation")
def delete_closure(closure_id):
    closure = closures.delete_closure(_actor(), closure_id, now=g.now, tz=_tz())
    return redirect(url_for("jobs.closure_days", deleted=closure.day.isoformat()))


__all__ = ["bp", "schedule_words", "weekday_words", "runs_query"]
