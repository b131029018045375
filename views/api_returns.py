"""JSON API of returns under /api/v1/returns: the pickups list (반품관리) with the returns
page's filters, its statistics, and completing pickups. Bearer tokens and errors as in
``views.api``; every change goes through the order operations."""
from __future__ import annotations

from flask import current_app, g, request

from engine import orders, pickups
from engine.errors import ValidationError
from engine.models import utcnow
from engine.schema import Field, parse
from engine.text import N_
from views.api import api_blueprint, api_requires, list_request

bp = api_blueprint("api_returns", __name__, "/api/v1/returns")

STATS_FIELDS = [
    Field("date_from", N_("From"), kind="date", required=True),
    Field("date_to", N_("To"), kind="date", required=True),
]
MAX_STATS_DAYS = 366


def _tz():
    return current_app.config["TZ"]


def _json(body, status: int = 200):
    text = current_app.json.dumps(body, ensure_ascii=False)
    return current_app.response_class(text + "\n", status=status, mimetype="application/json")


@bp.route("", methods=["GET"])
@api_requires("read")
def list_returns():
    """Pickups matching the returns page's filters, newest request first, one page at a time."""
    filters, page, per_page = list_request(lambda: pickups.parse_search(
        {f.name: request.args.get(f.name) for f in pickups.SEARCH_FIELDS}, _tz()))
    query = pickups.search(filters, _tz())
    rows, total, page, pages = pickups.page(query, page, per_page)
    return _json({"returns": [pickups.row_dict(p, _tz()) for p in rows], "total": total,
                  "page": page, "pages": pages, "per_page": per_page,
                  "sums": pickups.totals(query)})


@bp.route("/stats", methods=["GET"])
@api_requires("read")
def return_stats():
    """Pickups per request day and reason for ``date_from``..``date_to`` (local dates)."""
    values = parse(STATS_FIELDS, {f.name: request.args.get(f.name) for f in STATS_FIELDS},
                   _tz())
    if values["date_from"] > values["date_to"]:
        raise ValidationError(N_("The start must not be after the end."), "date_from")
    if (values["date_to"] - values["date_from"]).days >= MAX_STATS_DAYS:
        raise ValidationError(N_("At most %(n)d days at once."), "date_from", n=MAX_STATS_DAYS)
    data = pickups.stats(values["date_from"], values["date_to"], _tz())
    return _json({
        "date_from": values["date_from"].isoformat(), "date_to": values["date_to"].isoformat(),
        "reasons": data["reasons"], "total": data["total"],
        "per_reason": data["per_reason"],
        "days": [{"date": d.isoformat(), "total": data["per_day"][d],
                  "counts": {r: data["counts"][(d, r)] for r in data["reasons"]
                             if data["counts"].get((d, r))}}
                 for d in data["days"]],
    })


@bp.route("/complete", methods=["POST"])
@api_requires("operate")
def complete():
    """Complete several open pickups at once (``{"ids": [...]}``), all or nothing."""
    body = request.get_json(force=True, silent=True) if request.get_data().strip() else {}
    if not isinstance(body, dict):
        raise ValidationError(N_("The request body must be a JSON object."), "ids")
    ids = body.get("ids")
    done = pickups.complete_selected(ids if isinstance(ids, list) else [],
                                     orders.Context(g.api_user, utcnow(), _tz()))
    return _json({"returns": [pickups.as_dict(p, _tz()) for p in done]})

