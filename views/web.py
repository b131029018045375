"""What every HTML view shares: permission checks, page-or-fragment rendering, errors.

``requires(capability)`` is the only way a route is opened to users: it checks the login and
the capability on the server and tags the view, so ``tests/test_permissions.py`` can prove
that no route was left unguarded.
"""
from __future__ import annotations

import functools
import json

from flask import abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import format_decimal, gettext
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from jinja2_fragments.flask import render_block

from engine import clock, users
from engine.errors import EngineError

PUBLIC = "public"


def requires(capability: str):
    """Let the view run only for a logged-in user with ``capability`` (or anyone if PUBLIC)."""
    def decorate(view):
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            if capability != PUBLIC:
                if not current_user.is_authenticated:
                    if request.htmx:
                        response = current_app.response_class("", 401)
                        response.headers["HX-Redirect"] = url_for("auth.login")
                        return response
                    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
                if not users.can(current_user, capability):
                    abort(403)
            return view(*args, **kwargs)
        guarded.required_capability = capability
        return guarded
    return decorate


def render(template: str, block: str | None = None, **context):
    """Render the whole page, or only ``block`` when htmx asks for a fragment."""
    if block and request.htmx and not request.htmx.boosted:
        return render_block(template, block, **context)
    return render_template(template, **context)


def translate(error: EngineError) -> str:
    return error.render(gettext)


def field_errors(error: EngineError) -> dict[str, str]:
    """{field name: translated message} for marking every bad field of a form."""
    errors = getattr(error, "errors", None) or ({error.field: error} if error.field else {})
    return {name: translate(err) for name, err in errors.items()}


def ctx():
    """The engine Context for the current request: who, when, which zone."""
    from engine.orders import Context
    return Context(current_user._get_current_object(), g.now, current_app.config["TZ"])


def init_app(app):
    tz = app.config["TZ"]

    @app.template_filter("localtime")
    def localtime(value, fmt="%Y-%m-%d %H:%M"):
        local = clock.to_local(value, tz)
        return local.strftime(fmt) if local else ""

    @app.template_filter("inputtime")
    def inputtime(value):
        local = clock.to_local(value, tz)
        return local.strftime("%Y-%m-%dT%H:%M") if local else ""

    app.add_template_filter(translate, "errortext")
    # globals, not a context processor: imported macros (state_badges) see them too
    from engine.orders import CS_STATE_LABELS, STATE_LABELS
    app.jinja_env.globals.update(state_labels=STATE_LABELS, cs_state_labels=CS_STATE_LABELS)

    @app.template_filter("won")
    def won(value):
        return format_decimal(value or 0, format="#,##0")

    @app.context_processor
    def globals_():
        return {"can": lambda cap: current_user.is_authenticated and users.can(current_user, cap),
                "languages": users.LANGUAGES, "roles": users.ROLES,
                "current_language": getattr(current_user, "language", None)}

    @app.errorhandler(403)
    def forbidden(exc):
        return render_template("errors/page.html", code=403,
                               message=gettext("You do not have permission to do this.")), 403

    @app.errorhandler(404)
    def not_found(exc):
        return render_template("errors/page.html", code=404,
                               message=gettext("This page does not exist.")), 404

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        message = gettext("This form has expired. Reload the page and try again.")
        if request.htmx:
            response = current_app.response_class("", 400)
            response.headers["HX-Trigger"] = json.dumps({"ruledesk:toast": message})
            return response
        return render_template("errors/page.html", code=400, message=message), 400

    @app.errorhandler(EngineError)
    def engine_error(exc):
        if request.path.startswith("/api/"):
            from views.api import error_response
            return error_response(exc)
        return render_template("errors/page.html", code=exc.status,
                               message=translate(exc)), exc.status
