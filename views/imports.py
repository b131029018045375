"""Order import from a channel's xlsx (a checked job with a live progress bar, then a
confirm) and order export of any console search (``/imports/export?<console query>``)."""
from __future__ import annotations

import tempfile
from pathlib import Path

from flask import (
    Blueprint, current_app, g, redirect, render_template, request, send_file, url_for,
)
from flask_babel import gettext

from engine import clock, excel, imports, orders
from engine.errors import EngineError
from engine.models import Channel
from views.web import ctx, field_errors, render, requires, translate

bp = Blueprint("imports", __name__, url_prefix="/imports")


def _tz():
    return current_app.config["TZ"]


def _directory() -> Path:
    return Path(current_app.instance_path) / "imports"


def _index_page(status=200, **context):
    channel_id = context.pop("channel_id", None) or request.args.get("channel", type=int)
    channels = list(Channel.active_ones())
    formats = {c.id: excel.load_format(c.id, imports.KIND) for c in channels}
    raw = {f.name: request.args.get(f.name, "") for f in orders.SEARCH_FIELDS}
    return render_template("imports/index.html", channels=channels, formats=formats,
                           channel_id=channel_id, jobs=list(imports.recent_jobs()),
                           labels=imports.STATUS_LABELS, search_fields=orders.SEARCH_FIELDS,
                           raw=raw, **context), status


@bp.route("/")
@requires("read")
def index():
    return _index_page()


@bp.route("/", methods=["POST"])
@requires("operate")
def upload():
    channel_id = request.form.get("channel", "")
    storage = request.files.get("file")
    selected = int(channel_id) if channel_id.isdigit() and len(channel_id) < 10 else None
    if storage is None or not storage.filename:
        return _index_page(422, channel_id=selected,
                           error=gettext("Choose the channel's order file (.xlsx)."))
    try:
        job = imports.create_job(channel_id, storage.stream, storage.filename, _directory(),
                                 ctx())
    except EngineError as exc:
        return _index_page(exc.status, channel_id=selected, error=translate(exc),
                           errors=[translate(e) for e in getattr(exc, "errors", {}).values()
                                   if e is not exc])
    return redirect(url_for("imports.job", job_id=job.id), 303)


def _job_context(job_id):
    job = imports.get_job(job_id)
    return dict(job=job, progress=imports.progress(job.id), labels=imports.STATUS_LABELS,
                running=job.status in imports.RUNNING)


@bp.route("/<int:job_id>")
@requires("read")
def job(job_id):
    return render("imports/job.html", "job", **_job_context(job_id))


@bp.route("/<int:job_id>/progress")
@requires("read")
def job_progress(job_id):
    """The job block, polled every second while the job runs; it stops polling when done."""
    return render("imports/job.html", "job", **_job_context(job_id))


@bp.route("/<int:job_id>/confirm", methods=["POST"])
@requires("operate")
def confirm(job_id):
    try:
        imports.confirm(job_id, ctx())
    except EngineError as exc:
        return render_template("imports/job.html", error=translate(exc),
                               **_job_context(job_id)), exc.status
    return redirect(url_for("imports.job", job_id=job_id), 303)


@bp.route("/<int:job_id>/discard", methods=["POST"])
@requires("operate")
def discard(job_id):
    try:
        imports.discard(job_id, ctx())
    except EngineError as exc:
        return render_template("imports/job.html", error=translate(exc),
                               **_job_context(job_id)), exc.status
    return redirect(url_for("imports.index"), 303)


# --- the channel's order file format ---------------------------------------------------------------

def _format_page(channel, values, errors, status=200):
    return render_template("cancels/format.html", channel=channel, kind="import",
                           fields=imports.format_fields(), values=values, errors=errors,
                           columns=imports.COLUMNS,
                           back=url_for("imports.index", channel=channel.id),
                           post=url_for("imports.format_save", channel_id=channel.id)), status


def _channel_or_404(channel_id):
    channel = Channel.get_or_none(Channel.id == channel_id)
    if channel is None:
        from werkzeug.exceptions import NotFound
        raise NotFound()
    return channel


@bp.route("/format/<int:channel_id>", methods=["GET"])
@requires("settings")
def format_page(channel_id):
    channel = _channel_or_404(channel_id)
    return _format_page(channel, imports.form_values(channel.id), {})


@bp.route("/format/<int:channel_id>", methods=["POST"])
@requires("settings")
def format_save(channel_id):
    channel = _channel_or_404(channel_id)
    try:
        imports.save_format(channel.id, request.form.to_dict(), ctx())
    except EngineError as exc:
        return _format_page(channel, request.form.to_dict(), field_errors(exc), 422)
    return redirect(url_for("imports.index", channel=channel.id, saved=1), 303)


# --- export -------------------------------------------------------------------------------------

@bp.route("/export")
@requires("read")
def export():
    """The console's search (same query string as /orders/) as an xlsx, one row per line."""
    raw = {f.name: request.args.get(f.name, "") for f in orders.SEARCH_FIELDS}
    filters = orders.parse_search(raw, _tz())
    handle = tempfile.SpooledTemporaryFile(max_size=8 << 20)
    imports.write_export(handle, filters, _tz(), gettext)
    handle.seek(0)
    stamp = clock.to_local(g.now, _tz()).strftime("%Y%m%d-%H%M")
    return send_file(handle, mimetype=excel.XLSX_MIMETYPE, as_attachment=True,
                     download_name=f"orders-{stamp}.xlsx")
