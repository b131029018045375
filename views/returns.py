"""Returns (seed 002: 반품관리, 반품통계): the pickups list with filters, completing the
selected pickups, the xlsx download, and the statistics per day and reason."""
from __future__ import annotations

import datetime as dt
import json

from flask import Blueprint, current_app, g, make_response, request
from flask_babel import gettext

from engine import clock, pickups
from engine.errors import EngineError
from engine.schema import Field, parse
from engine.text import N_
from views.web import ctx, field_errors, render, requires, translate

bp = Blueprint("returns", __name__, url_prefix="/returns")

STATS_FIELDS = [
    Field("date_from", N_("From"), kind="date"),
    Field("date_to", N_("To"), kind="date"),
]
MAX_STATS_DAYS = 92
# one colour per reason column: cancel reasons in reds/oranges, exchanges in blues/greens
PALETTE = ["#dc2626", "#ea580c", "#d97706", "#ca8a04", "#be123c", "#9f1239", "#7c2d12",
           "#2563eb", "#0891b2", "#0d9488", "#16a34a", "#4f46e5", "#6b7280", "#9ca3af"]


def _tz():
    return current_app.config["TZ"]


def _filters():
    raw = {f.name: request.values.get(f.name, "") for f in pickups.SEARCH_FIELDS}
    try:
        return raw, pickups.parse_search(raw, _tz()), {}
    except EngineError as exc:
        return raw, {}, field_errors(exc)


def _context(message=None):
    raw, filters, errors = _filters()
    number = request.args.get("page", "1")
    number = int(number) if number.isdigit() else 1
    query = pickups.search(filters, _tz())
    rows, total, number, pages = pickups.page(query, number, current_app.config["PAGE_SIZE"])
    return dict(rows=rows, total=total, page=number, pages=pages, raw=raw, errors=errors,
                query={k: v for k, v in raw.items() if v}, fields=pickups.SEARCH_FIELDS,
                sums=pickups.totals(query), status_labels=pickups.STATUS_LABELS,
                channels=pickups.PAYMENT_CHANNELS, message=message)


@bp.route("/")
@requires("read")
def index():
    """반품관리: pickups by request date, channel, supplier, status and recipient."""
    return render("returns/index.html", "results", **_context())


@bp.route("/complete", methods=["POST"])
@requires("operate")
def complete():
    """반품선택완료: complete the ticked pickups with the amounts they have."""
    ids = request.form.getlist("ids")
    try:
        done = pickups.complete_selected(ids, ctx())
    except EngineError as exc:
        response = make_response(render("returns/index.html", "results",
                                        **_context(message=translate(exc))))
        return response
    response = make_response(render("returns/index.html", "results", **_context()))
    response.headers["HX-Trigger"] = json.dumps(
        {"ruledesk:toast": gettext("%(n)d pickups completed.", n=len(done))})
    return response


HEADERS = [N_("Pickup"), N_("No."), N_("Channel"), N_("Requested at"), N_("Shipped at"),
           N_("Arrived at"), N_("Recipient"), N_("Product"), N_("Option"), N_("Status"),
           N_("Reason"), N_("Courier"), N_("Return tracking number"),
           N_("Expected: site payment"), N_("Arrived: site payment"), N_("Expected: card"),
           N_("Arrived: card"), N_("Expected: bank transfer"), N_("Arrived: bank transfer"),
           N_("Outstanding")]


@bp.route("/download")
@requires("read")
def download():
    """The search as an .xlsx file."""
    raw, filters, errors = _filters()
    body = pickups.xlsx(pickups.search(filters, _tz()), _tz(), [gettext(h) for h in HEADERS],
                        lambda status: gettext(pickups.STATUS_LABELS[status]))
    stamp = clock.to_local(g.now, _tz()).strftime("%Y%m%d-%H%M")
    response = make_response(body)
    response.headers["Content-Type"] = (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response.headers["Content-Disposition"] = f'attachment; filename="returns-{stamp}.xlsx"'
    return response


def _stats_range():
    """The date range asked for (default: the last 15 days up to today), at most 92 days."""
    raw = {f.name: request.args.get(f.name, "") for f in STATS_FIELDS}
    today = clock.to_local(g.now, _tz()).date()
    errors = {}
    try:
        values = parse(STATS_FIELDS, raw, _tz())
    except EngineError as exc:
        values, errors = {}, field_errors(exc)
    date_to = values.get("date_to") or today
    date_from = values.get("date_from") or date_to - dt.timedelta(days=14)
    if date_from > date_to:
        errors["date_from"] = gettext("The start must not be after the end.")
        date_from = date_to - dt.timedelta(days=14)
    if (date_to - date_from).days >= MAX_STATS_DAYS:
        errors["date_from"] = gettext("At most %(n)d days at once.", n=MAX_STATS_DAYS)
        date_from = date_to - dt.timedelta(days=MAX_STATS_DAYS - 1)
    raw = {"date_from": raw["date_from"] or date_from.isoformat(),
           "date_to": raw["date_to"] or date_to.isoformat()}
    return raw, date_from, date_to, errors


def _nice_step(top: int) -> int:
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor * 5 >= top:
                return step * factor
        step *= 10


def stats_chart(data: dict) -> dict:
    """Geometry of the stacked bar chart: one bar per day, one segment per reason."""
    width, height = 1200, 260
    left, right, top, bottom = 40, 12, 24, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    days = data["days"]
    peak = max([data["per_day"][d] for d in days] + [1])
    step = _nice_step(peak)
    ceiling = step * -(-peak // step)
    slot = plot_w / max(1, len(days))
    bar_w = max(2.0, slot * 0.62)
    colors = {r: PALETTE[i % len(PALETTE)] for i, r in enumerate(data["reasons"])}
    label_every = max(1, -(-len(days) // 16))
    bars = []
    for index, day in enumerate(days):
        x = left + slot * index + (slot - bar_w) / 2
        y = top + plot_h
        segments = []
        for reason in data["reasons"]:
            n = data["counts"].get((day, reason), 0)
            if not n:
                continue
            h = plot_h * n / ceiling
            y -= h
            segments.append(dict(reason=reason, n=n, x=round(x, 1), y=round(y, 1),
                                 w=round(bar_w, 1), h=round(h, 1), color=colors[reason]))
        bars.append(dict(day=day.isoformat(), short=day.strftime("%m.%d"),
                         show_label=index % label_every == 0, total=data["per_day"][day],
                         segments=segments, cx=round(left + slot * index + slot / 2, 1),
                         top=round(y, 1)))
    ticks = [dict(value=v, y=round(top + plot_h - plot_h * v / ceiling, 1))
             for v in range(0, ceiling + 1, step)]
    return dict(width=width, height=height, left=left, right=width - right, top=top,
                base=top + plot_h, bars=bars, ticks=ticks, colors=colors)


@bp.route("/stats")
@requires("read")
def stats():
    """반품통계: pickups per request day and reason (cancel reasons and exchange types)."""
    raw, date_from, date_to, errors = _stats_range()
    data = pickups.stats(date_from, date_to, _tz())
    return render("returns/stats.html", data=data, chart=stats_chart(data), raw=raw,
                  errors=errors, fields=STATS_FIELDS, date_from=date_from, date_to=date_to)

