"""Settings: handling statuses, couriers, cancel reasons (one generic list page), users.

Reading a list needs "read"; changing one needs "settings"; the users page needs "users".
"""
from __future__ import annotations

import json
from dataclasses import replace

from flask import Blueprint, abort, make_response, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user

from engine import choices, users
from engine.errors import EngineError
from engine.models import User
from views.catalog import actor, dialog, done
from views.web import field_errors, render, requires, translate

bp = Blueprint("settings", __name__, url_prefix="/settings")

CHANGED = "ruledesk:settingsChanged"


@bp.route("/")
@requires("read")
def index():
    return redirect(url_for("settings.choice_list", key="statuses"))


# --- the choice lists ---------------------------------------------------------------------

def _list_context(key: str, values=None, errors=None, message=None):
    choice_list = choices.get_list(key)
    return dict(choice_list=choice_list, key=key, items=choices.items(key),
                usage=choices.usage(key), lists=choices.LISTS, values=values or {},
                errors=errors or {}, message=message)


def _list_block(key: str, toast: str | None = None, **extra):
    response = make_response(render("settings/list.html", "list", **_list_context(key, **extra)))
    if toast:
        response.headers["HX-Trigger"] = json.dumps({"ruledesk:toast": toast})
    return response


@bp.route("/<key>")
@requires("read")
def choice_list(key):
    return render("settings/list.html", "list", **_list_context(key))


@bp.route("/<key>", methods=["POST"])
@requires("settings")
def add_item(key):
    choices.get_list(key)
    raw = request.form.to_dict()
    try:
        item = choices.add(actor(), key, raw)
    except EngineError as exc:
        return _list_block(key, values=raw, errors=field_errors(exc),
                           message=None if exc.field else translate(exc))
    return _list_block(key, toast=gettext("%(name)s added.", name=item.name))


@bp.route("/<key>/<int:item_id>")
@requires("settings")
def edit_item(key, item_id):
    item = choices.get_item(key, item_id)
    values = {f.name: getattr(item, f.name) for f in choices.get_list(key).fields}
    return dialog("settings/_item.html", choice_list=choices.get_list(key), item=item,
                  values=values, errors={})


@bp.route("/<key>/<int:item_id>", methods=["POST"])
@requires("settings")
def update_item(key, item_id):
    item = choices.get_item(key, item_id)
    raw = request.form.to_dict()
    try:
        item = choices.update(actor(), key, item_id, raw)
    except EngineError as exc:
        return dialog("settings/_item.html", choice_list=choices.get_list(key), item=item,
                      values=raw, errors=field_errors(exc))
    return done(gettext("%(name)s saved.", name=item.name), CHANGED)


@bp.route("/<key>/<int:item_id>/move", methods=["POST"])
@requires("settings")
def move_item(key, item_id):
    try:
        choices.move(actor(), key, item_id, request.form.get("direction", ""))
    except EngineError as exc:
        if exc.status == 404:
            raise
        return _list_block(key, message=translate(exc))
    return _list_block(key)


@bp.route("/<key>/<int:item_id>/active", methods=["POST"])
@requires("settings")
def activate_item(key, item_id):
    active = request.form.get("active") == "1"
    item = choices.set_active(actor(), key, item_id, active)
    toast = (gettext("%(name)s is in use again.", name=item.name) if active
             else gettext("%(name)s is no longer offered.", name=item.name))
    return _list_block(key, toast=toast)


# --- users ----------------------------------------------------------------------------------

def _role_field():
    """The role choices the current user may give: their own rank and below."""
    own = users.rank(current_user.role)
    field = next(f for f in users.USER_FIELDS if f.name == "role")
    return replace(field, choices=lambda: [(name, label) for name, (rank, label)
                                           in users.ROLES.items() if rank <= own])


def _user_fields() -> dict:
    fields = {f.name: f for f in users.USER_FIELDS}
    fields["role"] = _role_field()
    return fields


def _may_edit(user: User) -> bool:
    return users.rank(user.role) <= users.rank(current_user.role)


def _get_user(user_id: int) -> User:
    user = User.get_or_none(User.id == user_id) if 0 < user_id < 2**31 else None
    if user is None:
        abort(404)
    return user


@bp.route("/users")
@requires("users")
def user_list():
    people = sorted(User.select(), key=lambda u: (-users.rank(u.role), not u.active,
                                                 u.username))
    return render("settings/users.html", "users", people=people, may_edit=_may_edit,
                  lists=choices.LISTS)


@bp.route("/users/new")
@requires("users")
def new_user():
    return dialog("settings/_user.html", person=None, values={"role": "agent", "language": "ko"},
                  errors={}, fields=_user_fields(), refused=None)


@bp.route("/users/<int:user_id>")
@requires("users")
def edit_user(user_id):
    person = _get_user(user_id)
    values = {"display_name": person.display_name, "role": person.role,
              "language": person.language, "active": person.active}
    refused = None if _may_edit(person) else gettext("You cannot change a user ranked above you.")
    return dialog("settings/_user.html", person=person, values=values, errors={},
                  fields=_user_fields(), refused=refused)


@bp.route("/users/new", methods=["POST"])
@bp.route("/users/<int:user_id>", methods=["POST"])
@requires("users")
def save_user(user_id=None):
    person = _get_user(user_id) if user_id is not None else None
    raw = request.form.to_dict()
    try:
        if person is None:
            saved = users.create_user(actor(), raw)
        else:
            saved = users.update_user(actor(), person.id, raw)
    except EngineError as exc:
        values = {k: v for k, v in raw.items() if k != "password"}
        return dialog("settings/_user.html", person=person, values=values,
                      errors=field_errors(exc), message=None if exc.field else translate(exc),
                      fields=_user_fields(), refused=None)
    toast = (gettext("User %(name)s saved.", name=saved.username) if person
             else gettext("User %(name)s added.", name=saved.username))
    return done(toast, CHANGED)


# --- API tokens ---------------------------------------------------------------------------

@bp.route("/tokens")
@requires("read")
def token_list(new_token: str | None = None):
    """One's API tokens (and, with "users", everyone's one may manage), with revoke; a new
    token is shown once, right after it is made."""
    return render("settings/tokens.html", "tokens", rows=users.tokens(actor()),
                  new_token=new_token, idle_days=users.TOKEN_IDLE.days, lists=choices.LISTS)


@bp.route("/tokens", methods=["POST"])
@requires("read")
def issue_token():
    return token_list(new_token=users.issue_token(actor()))


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@requires("read")
def revoke_token(token_id):
    try:
        users.revoke_token(actor(), token_id)
    except EngineError as exc:
        response = make_response(render("settings/tokens.html", "tokens",
                                        rows=users.tokens(actor()), new_token=None,
                                        idle_days=users.TOKEN_IDLE.days, lists=choices.LISTS),
                                 exc.status)
        response.headers["HX-Trigger"] = json.dumps({"ruledesk:toast": translate(exc)})
        return response
    response = make_response(render("settings/tokens.html", "tokens", rows=users.tokens(actor()),
                                    new_token=None, idle_days=users.TOKEN_IDLE.days,
                                    lists=choices.LISTS))
    response.headers["HX-Trigger"] = json.dumps({"ruledesk:toast": gettext("Token revoked.")})
    return response
