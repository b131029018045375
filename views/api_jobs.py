"""JSON API for scheduled jobs under /api/v1/jobs (seed 000, PlayAuto 스케줄러).

A job's body is its one schema (``jobs.validate_job`` / ``jobs.job_as_data``: name, kind,
enabled, weekdays, start, end, every_hours or once_a_day, skip_holidays, holiday_country,
blackouts, channels, lookback_days, options, notify, missed), the same as the form and the TOML
files. Times are ISO 8601 in the app's zone. A new notification number needs the code sent to
it (``POST /api/v1/jobs/phone-code``, then ``"notify_code"`` in the body), as in the form.
Bearer tokens only (``views.api``), so the blueprint is exempt from CSRF. Reading needs
"read", changing "automation"; every refusal is the API's ``{"error": …}`` body.
"""
from __future__ import annotations

import datetime as dt
import re

from flask import current_app, g, request

from engine import clock, jobs, notify_phone, paging
from engine.errors import ConflictError, NotFound, ValidationError
from engine.models import Job, JobRun, utcnow
from engine.schema import Field, parse
from engine.text import N_
from views.api import api_requires, list_request
from views.api import api_blueprint, json_body as _body, json_response as _json

bp = api_blueprint("api_jobs", __name__, "/api/v1/jobs")

STATUSES = ("done", "failed", "interrupted", "running")
LOG_FIELDS = [
    Field("job_id", N_("Job"), kind="int", min=1),
    Field("channel", N_("Shop account"), max_length=100),
    Field("status", N_("Status"), kind="choice", choices=lambda: [(s, s) for s in STATUSES]),
    Field("trigger", N_("Started by"), kind="choice",
          choices=lambda: [("schedule", "schedule"), ("manual", "manual")]),
    Field("from", N_("From"), kind="date"),
    Field("to", N_("To"), kind="date"),
]
NEXT_FIELDS = [Field("count", N_("Count"), kind="int", min=1, max=100)]
VERSION_FIELD = Field("version", N_("Version"), kind="int", min=1)
READ_ONLY = ("id", "version", "next_run_at", "last_run_at", "last_success_at", "updated_at")


def _tz():
    return current_app.config["TZ"]


def _get_job(job_id: int) -> Job:
    job = Job.get_or_none(Job.id == job_id)
    if job is None:
        raise NotFound(N_("No such job."))
    return job


def job_dict(job: Job) -> dict:
    tz = _tz()
    return {"id": job.id, "version": job.version,
            "next_run_at": clock.iso(job.next_run_at, tz),
            "last_run_at": clock.iso(job.last_run_at, tz),
            "last_success_at": clock.iso(job.last_success_at, tz),
            **jobs.job_as_data(job),
            "updated_at": clock.iso(job.updated_at, tz)}


def run_dict(run: JobRun, job: Job | None = None) -> dict:
    tz = _tz()
    job = job or run.job
    duration = None
    if run.finished_at is not None and run.started_at is not None:
        duration = round((run.finished_at - run.started_at).total_seconds(), 3)
    return {"id": run.id, "job_id": job.id, "job": job.name, "title": jobs.title(job, run),
            "trigger": run.trigger, "channel": run.channel, "status": run.status,
            "scheduled_for": clock.iso(run.scheduled_for, tz),
            "started_at": clock.iso(run.started_at, tz),
            "finished_at": clock.iso(run.finished_at, tz), "duration_seconds": duration,
            "counts": run.counts or {}, "error": run.error, "detail": run.detail}


def _job_body(body: dict) -> tuple[dict, str | None]:
    """The declared job from a request body, and the phone code beside it."""
    code = body.pop("notify_code", None)
    for key in READ_ONLY:
        body.pop(key, None)
    if code is not None and not isinstance(code, (str, int)):
        raise ValidationError(N_("The code is the 6 digits sent by SMS."), "notify_code")
    return body, (str(code) if code is not None else None)


# --- jobs -----------------------------------------------------------------------------------------

@bp.route("", methods=["GET"])
@api_requires("read")
def list_jobs():
    """Every job with its next run (ISO, app zone) and last success, by name."""
    found = list(Job.select().order_by(Job.name))
    return _json({"jobs": [job_dict(j) for j in found], "total": len(found),
                  "maintenance": jobs.in_maintenance()})


@bp.route("", methods=["POST"])
@api_requires("automation")
def create_job():
    body, code = _job_body(_body())
    job = notify_phone.save_job(g.api_user, body, None, code, now=utcnow(), tz=_tz())
    return _json(job_dict(job), 201)


@bp.route("/<int:job_id>", methods=["GET"])
@api_requires("read")
def get_job(job_id):
    return _json(job_dict(_get_job(job_id)))


@bp.route("/<int:job_id>", methods=["PUT"])
@api_requires("automation")
def update_job(job_id):
    """Replace a job with the body (the whole declared job); with ``version``, a stale
    version is 409 and nothing changes."""
    job = _get_job(job_id)
    body = _body()
    version = parse([VERSION_FIELD], {"version": body.pop("version", None)}, _tz())["version"]
    if version is not None and version != job.version:
        raise ConflictError(N_("The job changed since version %(version)d (it is at version "
                               "%(current)d now); read it again."), "version",
                            version=version, current=job.version)
    body, code = _job_body(body)
    job = notify_phone.save_job(g.api_user, body, job.id, code, now=utcnow(), tz=_tz())
    return _json(job_dict(job))


def _from_time(value: str | None) -> dt.datetime:
    """``from``: an ISO time (with or without offset: without, the app's zone) or now."""
    tz = _tz()
    if value in (None, ""):
        return clock.to_local(utcnow(), tz)
    text = value.strip().replace("Z", "+00:00")
    # an unencoded "+09:00" arrives as " 09:00" in a query string
    text = re.sub(r"(\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?) (\d{2}:?\d{2})$", r"\1+\2", text)
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(N_("%(label)s must be a date and time like 2026-03-31 17:00."),
                              "from", label=N_("From"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(tz)


@bp.route("/<int:job_id>/next-runs", methods=["GET"])
@api_requires("read")
def next_runs(job_id):
    """The next ``count`` run times (default 10) after ``from`` (default now), holidays,
    closure days and blackout windows applied."""
    job = _get_job(job_id)
    errors = []
    count = 10
    try:
        count = parse(NEXT_FIELDS, {"count": request.args.get("count")}, _tz())["count"] or 10
    except ValidationError as exc:
        errors.append(exc)
    after = None
    try:
        after = _from_time(request.args.get("from"))
    except ValidationError as exc:
        errors.append(exc)
    if errors:
        merged = {}
        for error in errors:
            merged.update(error.errors)
        first = next(iter(merged.values()))
        raise ValidationError(first.message, first.field, errors=merged, **first.params)
    runs = jobs.preview(jobs.job_as_data(job), after, count, _tz())
    return _json({"id": job.id, "from": after.isoformat(),
                  "runs": [r.isoformat() for r in runs]})


@bp.route("/<int:job_id>/run", methods=["POST"])
@api_requires("automation")
def run(job_id):
    """Run the job now, once per target shop account; the runs it made (manual, so their
    titles carry no [스케줄러])."""
    job = _get_job(job_id)
    runs = jobs.run_now(g.api_user, job.id, now=utcnow(), tz=_tz())
    job = Job.get_by_id(job.id)
    return _json({"runs": [run_dict(r, job) for r in runs], "job": job_dict(job)})


@bp.route("/phone-code", methods=["POST"])
@api_requires("automation")
def phone_code():
    """Send a 6-digit code by SMS to a new notification number (``{"phone": "010-…"}``);
    then send it as ``notify_code`` with the job that uses the number."""
    body = _body()
    phone = body.get("phone")
    job_id = body.get("job_id")
    row = notify_phone.request_code(g.api_user, phone if isinstance(phone, str) else "",
                                    now=utcnow(), tz=_tz(),
                                    job_id=job_id if isinstance(job_id, int) else None)
    return _json({"sent": True, "phone": row.phone,
                  "expires_at": clock.iso(row.expires_at, _tz()),
                  "tries": notify_phone.MAX_TRIES}, 201)


# --- the job log ----------------------------------------------------------------------------------

@bp.route("/log", methods=["GET"])
@api_requires("read")
def job_log():
    """The job log (작업관리), newest first; filters ``job_id``, ``channel``, ``status``,
    ``trigger``, ``from`` / ``to`` (local dates, both included); ``page``, ``per_page``."""
    filters, page, per_page = list_request(lambda: parse(
        LOG_FIELDS, {f.name: request.args.get(f.name) for f in LOG_FIELDS}, _tz()))
    from views.jobs import runs_query
    query = runs_query({"job_id": filters.get("job_id"), "channel": filters.get("channel"),
                        "status": filters.get("status"), "trigger": filters.get("trigger"),
                        "date_from": filters.get("from"), "date_to": filters.get("to")}, _tz())
    rows, total, page, pages = paging.paginate(query, page, per_page, clamp=False)
    return _json({"runs": [run_dict(r) for r in rows], "total": total, "page": page,
                  "pages": pages, "per_page": per_page})
