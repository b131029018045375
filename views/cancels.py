"""Channel cancels (seed 002, 취소관리): 판매처취소 upload → preview → confirm, the channel's
column format (포맷설정), 취소결과조회 and 취소철회조회 with their confirms and downloads."""
from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

from flask import (
    Blueprint, current_app, g, make_response, redirect, render_template, request, send_file,
    url_for,
)
from flask_babel import gettext

from engine import cancels, clock, excel, paging
from engine.errors import EngineError
from engine.models import CancelUpload, Channel
from views.web import ctx, field_errors, render, requires, translate

bp = Blueprint("cancels", __name__, url_prefix="/cancels")

CHANGED = "ruledesk:cancelsChanged"
TRANSLATED_PARAMS = ("label", "state", "status")


def _tz():
    return current_app.config["TZ"]


def _page() -> int:
    page = request.args.get("page", "1")
    return int(page) if page.isascii() and page.isdigit() and len(page) < 7 else 1


@bp.app_template_filter("problemtext")
def problem_text(problem: dict) -> str:
    """A row problem of an upload or import ({message, params, label…}), translated."""
    params = dict(problem.get("params") or {})
    for name in TRANSLATED_PARAMS:
        if isinstance(params.get(name), str):
            params[name] = gettext(params[name])
    text = gettext(problem["message"])
    text = text % params if params else text
    if problem.get("column") and problem.get("label"):
        return "%s: %s" % (gettext(problem["label"]), text)
    return text


@bp.route("/")
@requires("read")
def index():
    return redirect(url_for("cancels.upload_page"))


# --- upload, preview, confirm ------------------------------------------------------------------

def _upload_page(status=200, **context):
    channel_id = context.pop("channel_id", None) or request.args.get("channel", type=int)
    recent = list(CancelUpload.select(CancelUpload, Channel).join(Channel)
                  .order_by(CancelUpload.created_at.desc(), CancelUpload.id.desc()).limit(15))
    formats = {c.id: excel.load_format(c.id, cancels.KIND) for c in Channel.active_ones()}
    return render_template("cancels/upload.html", channels=list(Channel.active_ones()),
                           channel_id=channel_id, recent=recent, formats=formats,
                           **context), status


@bp.route("/upload", methods=["GET"])
@requires("read")
def upload_page():
    return _upload_page()


def _saved_upload(storage) -> Path:
    """The uploaded file in a temporary file (the reader needs a seekable zip)."""
    handle = tempfile.NamedTemporaryFile(prefix="ruledesk-cancel-", suffix=".xlsx",
                                         delete=False)
    with handle:
        storage.save(handle)
    return Path(handle.name)


@bp.route("/upload", methods=["POST"])
@requires("operate")
def upload():
    channel_id = request.form.get("channel", "")
    storage = request.files.get("file")
    if storage is None or not storage.filename:
        return _upload_page(422, channel_id=int(channel_id) if channel_id.isdigit() else None,
                            error=gettext("Choose the channel's cancel file (.xlsx)."))
    path = _saved_upload(storage)
    try:
        created = cancels.upload(channel_id, path, storage.filename, ctx())
    except EngineError as exc:
        return _upload_page(exc.status, channel_id=int(channel_id) if channel_id.isdigit()
                            else None, error=translate(exc),
                            errors=[translate(e) for e in getattr(exc, "errors", {}).values()
                                    if e is not exc])
    finally:
        path.unlink(missing_ok=True)
    return redirect(url_for("cancels.preview", upload_id=created.id), 303)


def _preview_page(up: CancelUpload, status=200, **context):
    rows = up.rows
    return render_template("cancels/preview.html", up=up, rows=rows,
                           summary=cancels.summary(rows), actions=cancels.ACTIONS,
                           is_good=cancels.is_good, **context), status


@bp.route("/uploads/<int:upload_id>")
@requires("read")
def preview(upload_id):
    return _preview_page(cancels.get_upload(upload_id))


@bp.route("/uploads/<int:upload_id>/confirm", methods=["POST"])
@requires("operate")
def confirm(upload_id):
    try:
        cancels.confirm(upload_id, ctx())
    except EngineError as exc:
        details = [(row, translate(err)) for row, err in exc.details]
        return _preview_page(cancels.get_upload(upload_id), exc.status, error=translate(exc),
                             details=details)
    return redirect(url_for("cancels.preview", upload_id=upload_id, applied=1), 303)


@bp.route("/uploads/<int:upload_id>/discard", methods=["POST"])
@requires("operate")
def discard(upload_id):
    try:
        cancels.discard(upload_id, ctx())
    except EngineError as exc:
        return _preview_page(cancels.get_upload(upload_id), exc.status, error=translate(exc))
    return redirect(url_for("cancels.upload_page"), 303)


# --- the channel's column format (포맷설정) ---------------------------------------------------------

@bp.route("/format/<int:channel_id>", methods=["GET"])
@requires("settings")
def format_page(channel_id):
    channel = Channel.get_or_none(Channel.id == channel_id)
    if channel is None:
        from werkzeug.exceptions import NotFound
        raise NotFound()
    return render_template("cancels/format.html", channel=channel, kind="cancel",
                           fields=cancels.format_fields(), values=cancels.form_values(channel.id),
                           errors={}, columns=cancels.COLUMNS, back=url_for(
                               "cancels.upload_page", channel=channel.id),
                           post=url_for("cancels.format_save", channel_id=channel.id))


@bp.route("/format/<int:channel_id>", methods=["POST"])
@requires("settings")
def format_save(channel_id):
    try:
        cancels.save_format(channel_id, request.form.to_dict(), ctx())
    except EngineError as exc:
        channel = Channel.get_or_none(Channel.id == channel_id)
        if channel is None:
            raise
        return render_template("cancels/format.html", channel=channel, kind="cancel",
                               fields=cancels.format_fields(), values=request.form.to_dict(),
                               errors=field_errors(exc), columns=cancels.COLUMNS,
                               back=url_for("cancels.upload_page", channel=channel.id),
                               post=url_for("cancels.format_save", channel_id=channel.id)), 422
    return redirect(url_for("cancels.upload_page", channel=channel_id, saved=1), 303)


# --- results (취소결과조회) and withdrawals (취소철회조회) -------------------------------------------

def _list_context(fields, query_fn, args):
    raw = {f.name: args.get(f.name, "") for f in fields}
    try:
        filters, errors = cancels.parse_filters(fields, raw, _tz()), {}
    except EngineError as exc:
        filters, errors = None, field_errors(exc)
    rows, total, page, pages = [], 0, 1, 1
    if filters is not None:
        rows, total, page, pages = paging.paginate(query_fn(filters, _tz()), _page(),
                                                   current_app.config["PAGE_SIZE"])
    return dict(raw=raw, errors=errors, filters=filters, rows=rows, total=total, page=page,
                pages=pages, query={k: v for k, v in raw.items() if v}, search_fields=fields,
                actions=cancels.ACTIONS)


@bp.route("/results")
@requires("read")
def results():
    context = _list_context(cancels.RESULT_FIELDS, cancels.results, request.args)
    open_count = 0
    if context["filters"] is not None:
        from engine.models import CancelResult
        open_count = cancels.results(context["filters"], _tz()).where(
            CancelResult.confirmed == False).count()  # noqa: E712
    return render("cancels/results.html", "results", open_count=open_count, **context)


def _done(message: str):
    response = make_response("")
    response.headers["HX-Trigger"] = json.dumps({CHANGED: True, "ruledesk:toast": message})
    response.headers["HX-Reswap"] = "none"
    return response


def _refused(exc: EngineError):
    response = make_response("", exc.status)
    response.headers["HX-Trigger"] = json.dumps({"ruledesk:toast": translate(exc)})
    response.headers["HX-Reswap"] = "none"
    return response


@bp.route("/results/confirm", methods=["POST"])
@requires("operate")
def confirm_results():
    """선택확인."""
    try:
        done = cancels.confirm_results(request.form.getlist("ids"), ctx())
    except EngineError as exc:
        return _refused(exc)
    return _done(gettext("%(n)d rows confirmed.", n=done))


@bp.route("/results/confirm-all", methods=["POST"])
@requires("operate")
def confirm_all_results():
    """전체확인: every unconfirmed result of the search posted with the button."""
    raw = {f.name: request.form.get(f.name, "") for f in cancels.RESULT_FIELDS}
    try:
        filters = cancels.parse_filters(cancels.RESULT_FIELDS, raw, _tz())
        done = cancels.confirm_all_results(filters, ctx())
    except EngineError as exc:
        return _refused(exc)
    return _done(gettext("%(n)d rows confirmed.", n=done))


def _download(writer, fields, stem: str):
    raw = {f.name: request.args.get(f.name, "") for f in fields}
    filters = cancels.parse_filters(fields, raw, _tz())
    buffer = io.BytesIO()
    writer(buffer, filters, _tz(), gettext)
    buffer.seek(0)
    stamp = clock.to_local(g.now, _tz()).strftime("%Y%m%d-%H%M")
    return send_file(buffer, mimetype=excel.XLSX_MIMETYPE, as_attachment=True,
                     download_name=f"{stem}-{stamp}.xlsx")


@bp.route("/results.xlsx")
@requires("read")
def results_download():
    return _download(cancels.write_results, cancels.RESULT_FIELDS, "cancel-results")


@bp.route("/withdrawals")
@requires("read")
def withdrawals():
    context = _list_context(cancels.WITHDRAWAL_SEARCH_FIELDS, cancels.withdrawals,
                            request.args)
    return render("cancels/withdrawals.html", "results", **context)


@bp.route("/withdrawals/confirm", methods=["POST"])
@requires("operate")
def confirm_withdrawals():
    try:
        done = cancels.confirm_withdrawals(request.form.getlist("ids"), ctx())
    except EngineError as exc:
        return _refused(exc)
    return _done(gettext("%(n)d rows confirmed.", n=done))


@bp.route("/withdrawals.xlsx")
@requires("read")
def withdrawals_download():
    return _download(cancels.write_withdrawals, cancels.WITHDRAWAL_SEARCH_FIELDS,
                     "cancel-withdrawals")
