"""Log in, log out, pick the UI language."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from engine import login_guard, users
from engine.errors import AuthenticationError
from views.web import PUBLIC, requires, translate

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only follow local paths after login (no open redirect)."""
    if target and urlsplit(target).netloc == "" and target.startswith("/") \
            and not target.startswith("//"):
        return target
    return url_for("orders.index")


def _landing(user, target: str | None) -> str:
    """Internal users go where they were going; a portal user (a customer) lands on the
    portal, or on a portal or public-form page they were sent from, never on an internal one."""
    if users.is_internal(user):
        return _safe_next(target)
    path = _safe_next(target)
    return path if path.startswith(("/portal", "/help")) else url_for("portal.index")


@bp.route("/login", methods=["GET", "POST"])
@requires(PUBLIC)
def login():
    error, status = None, 200
    if request.method == "POST":
        try:
            user = login_guard.log_in(request.form.get("username", ""),
                                      request.form.get("password", ""),
                                      request.remote_addr or "", g.now)
        except AuthenticationError as exc:
            error, status = translate(exc), exc.status
        else:
            login_user(user)
            return redirect(_landing(user, request.args.get("next")))
    return render_template("auth/login.html", error=error,
                           username=request.form.get("username", "")), status


@bp.route("/logout", methods=["POST"])
@requires(PUBLIC)
def logout():
    logout_user()
    return redirect(url_for("auth.login"))


@bp.route("/language", methods=["POST"])
@requires(PUBLIC)
def language():
    lang = request.form.get("language", "ko")
    if lang in users.LANGUAGES:
        session["lang"] = lang
        if current_user.is_authenticated:
            users.set_language(current_user, lang)
    return redirect(_safe_next(request.form.get("next")))


@bp.route("/")
@requires("portal")
def home():
    """The console for internal users, the portal for customers."""
    if not users.is_internal(current_user):
        return redirect(url_for("portal.index"))
    return redirect(url_for("orders.index"))
