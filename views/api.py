"""JSON API under /api/v1, bound by the same roles as the UI.

Clients authenticate with a bearer token only (``POST /api/v1/token``); the browser's session
cookie never counts here, which is also why the blueprint is exempt from CSRF. Every route
goes through the same engine functions as the console (``orders.perform``, ``create_order``,
``parse_search``…), so the API cannot allow what the UI refuses, and every refusal comes back
as ``{"error": {"code", "message", "field"}}`` with the UI's (translated) message.
"""
from __future__ import annotations

import functools

from flask import Blueprint, current_app, g, request
from flask_babel import force_locale, gettext
from werkzeug.exceptions import HTTPException, MethodNotAllowed as HTTPMethodNotAllowed
from werkzeug.routing import RequestRedirect

from engine import login_guard, orders, serialize, users
from engine.errors import AuthenticationError, EngineError, NotFound, StateError, ValidationError
from engine.models import Channel, HandlingStatus, ProductOption, utcnow
from engine.schema import Field, parse
from engine.text import N_
from views.web import PUBLIC

bp = Blueprint("api", __name__, url_prefix="/api/v1")

DEFAULT_LANGUAGE = "ko"
PAGING_FIELDS = [
    Field("page", N_("Page"), kind="int", min=1),
    Field("per_page", N_("Per page"), kind="int", min=1, max=200),
]
VERSION_FIELD = Field("version", N_("Version"), kind="int", min=1)


class BadRequest(EngineError):
    """A body that is not a JSON object: the client's bug, not a field to correct."""

    code = "bad_request"


class MethodNotAllowed(EngineError):
    status = 405
    code = "method_not_allowed"


def _exempt_from_csrf(state):
    """Bearer tokens are not sent by browsers on their own, so CSRF cannot apply here."""
    state.app.extensions["csrf"].exempt(bp)


bp.record_once(_exempt_from_csrf)


# --- errors -------------------------------------------------------------------------------

def _language() -> str:
    """The token user's language; Korean before (or without) a valid token."""
    user = g.get("api_user")
    return (user.language if user is not None else None) or DEFAULT_LANGUAGE


def _json(body, status: int = 200):
    """A JSON response that keeps Korean readable (no \\uXXXX escapes)."""
    text = current_app.json.dumps(body, ensure_ascii=False)
    return current_app.response_class(text + "\n", status=status, mimetype="application/json")


def error_response(exc: EngineError):
    """Turn any EngineError into the API's error body, in the token user's language."""
    with force_locale(_language()):
        error = {"code": exc.code, "message": exc.render(gettext), "field": exc.field}
        if isinstance(exc, ValidationError):
            error["fields"] = {name: err.render(gettext) for name, err in exc.errors.items()}
        if isinstance(exc, StateError) and exc.details:
            error["details"] = [{"id": order_id, "message": err.render(gettext)}
                                for order_id, err in exc.details]
    response = _json({"error": error}, exc.status)
    if isinstance(exc, AuthenticationError):
        response.headers["WWW-Authenticate"] = 'Bearer realm="ruledesk"'
    return response


def _http_error(exc: HTTPException):
    """Werkzeug's own errors (routing, 413, 500…) as the same JSON error body."""
    if isinstance(exc, HTTPMethodNotAllowed):
        response = error_response(MethodNotAllowed(
            N_("The method %(method)s is not allowed here."), method=request.method))
        response.headers["Allow"] = ", ".join(exc.valid_methods or [])
        return response
    if exc.code == 404:
        return error_response(NotFound(N_("There is no such API endpoint.")))
    error = {"code": (exc.name or "error").lower().replace(" ", "_"),
             "message": exc.description, "field": None}
    return _json({"error": error}, exc.code or 500)


bp.register_error_handler(EngineError, error_response)
bp.register_error_handler(HTTPException, _http_error)


@bp.before_app_request
def _unrouted_api_path():
    """Answer unknown /api/ paths and wrong methods in JSON, not with the HTML error page.

    Routing fails before any blueprint is chosen, so the blueprint's error handlers never see
    these; an app-wide hook runs first and answers for the API's part of the URL space only.
    """
    exc = request.routing_exception
    if exc is None or isinstance(exc, RequestRedirect):
        return None
    if request.path == "/api" or request.path.startswith("/api/"):
        return _http_error(exc)
    return None


# --- authentication -----------------------------------------------------------------------

def _bearer_token() -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def api_requires(capability: str):
    """Let the route run only for a bearer token whose user has ``capability`` (or PUBLIC).

    The user lands in ``g.api_user``; the tag ``required_capability`` is what the permission
    audit reads, as for ``views.web.requires``.
    """
    def decorate(view):
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            if capability != PUBLIC:
                g.api_user = users.user_for_token(_bearer_token(), now=utcnow())
                users.require(g.api_user, capability)
            return view(*args, **kwargs)
        guarded.required_capability = capability
        return guarded
    return decorate


def _context() -> orders.Context:
    return orders.Context(g.api_user, utcnow(), current_app.config["TZ"])


def _tz():
    return current_app.config["TZ"]


def _body() -> dict:
    """The JSON object sent; an empty body is ``{}`` (actions without fields need none)."""
    if not request.get_data(cache=True).strip():
        return {}
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise BadRequest(N_("The request body must be a JSON object."))
    return body


def api_blueprint(name: str, import_name: str, url_prefix: str) -> Blueprint:
    """Another JSON API blueprint like this one: bearer tokens only (so CSRF-exempt), every
    error answered as the API's JSON error body."""
    blueprint = Blueprint(name, import_name, url_prefix=url_prefix)
    blueprint.record_once(lambda state: state.app.extensions["csrf"].exempt(blueprint))
    blueprint.register_error_handler(EngineError, error_response)
    blueprint.register_error_handler(HTTPException, _http_error)
    return blueprint


json_response = _json  # for the other API blueprints
json_body = _body


def _merge(*errors: ValidationError) -> ValidationError:
    """One ValidationError naming every bad field of several parses."""
    merged = {}
    for error in errors:
        merged.update(error.errors)
    first = next(iter(merged.values()))
    return ValidationError(first.message, first.field, errors=merged, **first.params)


def list_request(parse_filters) -> tuple:
    """An API list request: the area's filters (``parse_filters()`` reads ``request.args``)
    and the paging, every bad field of both named at once; (filters, page, per_page)."""
    errors, filters, paging = [], None, {}
    try:
        filters = parse_filters()
    except ValidationError as exc:
        errors.append(exc)
    try:
        paging = parse(PAGING_FIELDS, {f.name: request.args.get(f.name) for f in PAGING_FIELDS},
                       _tz())
    except ValidationError as exc:
        errors.append(exc)
    if errors:
        raise _merge(*errors)
    return filters, paging["page"] or 1, paging["per_page"] or 50


def _order_json(order, status: int = 200):
    return _json(serialize.order_dict(order, _tz()), status)


# --- routes -------------------------------------------------------------------------------

@bp.route("/token", methods=["POST"])
@api_requires(PUBLIC)
def token():
    """Issue a bearer token for a username and password."""
    body = _body()
    username, password = body.get("username"), body.get("password")
    user = login_guard.log_in(username if isinstance(username, str) else "",
                              password if isinstance(password, str) else "",
                              request.remote_addr or "", utcnow())
    return _json({"token": users.issue_token(user),
                  "user": {"username": user.username, "display_name": user.display_name,
                           "role": user.role, "language": user.language}})


@bp.route("/token", methods=["DELETE"])
@api_requires(PUBLIC)
def revoke_token():
    """Revoke the token this request is made with (a script logging out)."""
    users.user_for_token(_bearer_token(), now=utcnow())      # 401 unless it is a live token
    users.revoke_presented(_bearer_token())
    return current_app.response_class(status=204)


@bp.route("/orders", methods=["GET"])
@api_requires("read")
def list_orders():
    """List the orders matching the console's filters, one page at a time."""
    filters, page, per_page = list_request(lambda: orders.parse_search(
        {f.name: request.args.get(f.name) for f in orders.SEARCH_FIELDS}, _tz()))
    rows, total, page, pages = orders.paginate(orders.search(filters, _tz()), page, per_page)
    return _json({"orders": serialize.orders_dicts(rows, _tz()), "total": total,
                  "page": page, "pages": pages, "per_page": per_page})


@bp.route("/orders/<int:order_id>", methods=["GET"])
@api_requires("read")
def get_order(order_id):
    """Show one order with its lines and CS history."""
    return _order_json(orders.get(order_id))


def _by_name(value, model) -> object:
    """Map a name (e.g. "쿠팡") to its id as a string; anything else passes through unchanged,
    so the engine's own check reports it."""
    if isinstance(value, str) and value and not value.isdigit():
        row = model.get_or_none(model.name == value)
        return str(row.id) if row else value
    return value


def _line(raw) -> object:
    """A line may name its option by ``option_code`` instead of ``option_id``."""
    if not isinstance(raw, dict) or raw.get("option_id") not in (None, ""):
        return raw
    code = raw.get("option_code")
    if code in (None, ""):
        return raw
    option = ProductOption.get_or_none(ProductOption.code == str(code))
    # 0 matches no option, so an unknown code gets the engine's "unknown product" error
    return {**raw, "option_id": option.id if option else 0}


@bp.route("/orders", methods=["POST"])
@api_requires("operate")
def create_order():
    """Create an order by hand, like the console's manual order form."""
    raw = _body()
    raw["channel"] = _by_name(raw.get("channel"), Channel)
    lines = raw.get("lines")
    if lines is not None and not isinstance(lines, list):
        raise ValidationError(N_("The lines must be a list of products."), "lines")
    raw["lines"] = [_line(line) for line in lines or []]
    order = orders.create_order(raw, _context())
    return _order_json(order, 201)


def _operation_fields(raw: dict) -> dict:
    """Accept a handling status by name as well as by id."""
    if "handling_status" in raw:
        raw["handling_status"] = _by_name(raw["handling_status"], HandlingStatus)
    return raw


@bp.route("/orders/<int:order_id>/actions/<operation>", methods=["POST"])
@api_requires("operate")
def order_action(order_id, operation):
    """Run one CS operation on an order; ``version`` guards against concurrent edits."""
    raw = _operation_fields(_body())
    version = parse([VERSION_FIELD], raw, _tz())["version"]
    order = orders.perform(operation, order_id, raw, _context(), expected_version=version)
    return _order_json(order)


@bp.route("/orders/bulk/<operation>", methods=["POST"])
@api_requires("operate")
def bulk_action(operation):
    """Run a bulk-capable operation on several orders, all or nothing."""
    raw = _operation_fields(_body())
    ids = raw.pop("ids", None)
    done = orders.perform_bulk(operation, ids if isinstance(ids, list) else [], raw, _context())
    return _json({"orders": serialize.orders_dicts(done, _tz())})
