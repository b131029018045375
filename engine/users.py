"""Users, roles, capabilities, passwords and API tokens.

Roles are ranked (master > general admin > admin > agent > viewer). Routes ask for a
*capability*, never a role name, so the rule "viewers read only; only admins and above edit
settings" lives in one table here and is checked on the server for every request.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from engine.errors import AuthenticationError, NotFound, PermissionDenied, ValidationError
from engine.models import ApiToken, User, db, utcnow
from engine.schema import Field, parse
from engine.text import N_

ROLES = {  # name → (rank, label)
    "master": (50, N_("Master")),
    "general_admin": (40, N_("General admin")),
    "admin": (30, N_("Admin")),
    "agent": (20, N_("Agent")),
    "viewer": (10, N_("Viewer")),
    # a customer: logs in to the portal and sees only the tickets they follow (seed 004);
    # ranked below every internal role, so no internal capability ever reaches them
    "portal": (0, N_("Portal user (customer)")),
}

INTERNAL = "viewer"   # the lowest internal role: rank below it = a portal user

CAPABILITIES = {  # capability → lowest role that has it
    "read": "viewer",          # see orders, master data, history
    "operate": "agent",        # work orders: every CS operation, manual orders
    "settings": "admin",       # channels, products, statuses, couriers, cancel reasons
    "users": "admin",          # add users, set roles (never above one's own)
    "automation": "admin",     # rules and scheduled jobs (seed 000: master / 총괄 / admin)
    # the customer portal (/portal): every logged-in user passes; the pages show a portal user
    # only the tickets they follow and send internal users to their console
    "portal": "portal",
}

LANGUAGES = {"ko": "한국어", "ja": "日本語", "en": "English"}

_hasher = PasswordHasher()


def use_hasher(hasher: PasswordHasher) -> None:
    """Swap the Argon2 parameters (the test suite uses cheap ones; hashes stay verifiable)."""
    global _hasher
    _hasher = hasher


def rank(role: str) -> int:
    return ROLES[role][0]


def can(user: User | None, capability: str) -> bool:
    if user is None or not user.active:
        return False
    return rank(user.role) >= rank(CAPABILITIES[capability])


def is_internal(user: User | None) -> bool:
    return user is not None and user.active and rank(user.role) >= rank(INTERNAL)


def require(user: User | None, capability: str) -> None:
    if not can(user, capability):
        raise PermissionDenied(N_("You do not have permission to do this."))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(user: User, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(username: str, password: str) -> User:
    """Return the active user with these credentials or raise AuthenticationError."""
    user = User.get_or_none(User.username == (username or "").strip())
    if user is None or not user.active or not check_password(user, password or ""):
        raise AuthenticationError(N_("Wrong username or password."))
    return user


def _role_choices():
    return [(name, label) for name, (_, label) in ROLES.items()]


def _language_choices():
    return list(LANGUAGES.items())


USER_FIELDS = [
    Field("username", N_("Username"), required=True, max_length=64),
    Field("display_name", N_("Name"), required=True, max_length=100),
    Field("role", N_("Role"), kind="choice", required=True, choices=_role_choices),
    Field("language", N_("Language"), kind="choice", choices=_language_choices),
    Field("password", N_("Password"), max_length=200),
    Field("active", N_("Active"), kind="bool"),
]

MIN_PASSWORD = 8


def _check_role_grant(actor: User, role: str, target: User | None = None) -> None:
    """Nobody grants a role above their own, nor edits someone ranked above them."""
    if rank(role) > rank(actor.role):
        raise PermissionDenied(N_("You cannot give a role above your own."), "role")
    if target is not None and rank(target.role) > rank(actor.role):
        raise PermissionDenied(N_("You cannot change a user ranked above you."))


def create_user(actor: User | None, raw: dict) -> User:
    """Add a user; ``actor`` None is the system (first start)."""
    values = parse(USER_FIELDS, raw)
    if actor is not None:
        require(actor, "users")
        _check_role_grant(actor, values["role"])
    password = values.get("password") or ""
    if len(password) < MIN_PASSWORD:
        raise ValidationError(N_("The password needs at least %(n)d characters."), "password",
                              n=MIN_PASSWORD)
    username = values["username"]
    if not all(c.isalnum() or c in "._-@" for c in username):
        raise ValidationError(N_("A username may hold letters, digits and . _ - @ only."),
                              "username")
    with db.atomic():
        if User.select().where(User.username == username).exists():
            raise ValidationError(N_("The username %(name)s is taken."), "username", name=username)
        return User.create(username=username, display_name=values["display_name"],
                           role=values["role"], language=values.get("language") or "ko",
                           active=raw.get("active") is None or values["active"],
                           password_hash=hash_password(password))


def update_user(actor: User, user_id: int, raw: dict) -> User:
    require(actor, "users")
    fields = [f for f in USER_FIELDS if f.name != "username"]
    values = parse(fields, raw)
    with db.atomic():
        user = User.get_or_none(User.id == user_id)
        if user is None:
            raise NotFound(N_("No such user."))
        _check_role_grant(actor, values["role"], user)
        if user.id == actor.id and (values["role"] != user.role or not values["active"]):
            raise ValidationError(N_("You cannot change your own role or deactivate yourself."),
                                  "role")
        if user.role == "master" and values["role"] != "master":
            others = User.select().where((User.role == "master") & (User.id != user.id)
                                         & (User.active == True)).count()  # noqa: E712
            if not others:
                raise ValidationError(N_("The last master cannot lose the master role."), "role")
        user.display_name = values["display_name"]
        user.role = values["role"]
        user.language = values.get("language") or user.language
        user.active = values["active"]
        if values.get("password"):
            if len(values["password"]) < MIN_PASSWORD:
                raise ValidationError(N_("The password needs at least %(n)d characters."),
                                      "password", n=MIN_PASSWORD)
            user.password_hash = hash_password(values["password"])
        user.save()
        return user


def set_language(user: User, language: str) -> User:
    if language not in LANGUAGES:
        raise ValidationError(N_("Unknown language."), "language")
    User.update(language=language).where(User.id == user.id).execute()
    user.language = language
    return user


def ensure_master(password: str | None) -> tuple[User | None, str | None]:
    """Create the ``master`` account on first start; return (user, generated password)."""
    if User.select().where(User.role == "master").exists():
        return None, None
    generated = None
    if not password:
        password = generated = secrets.token_urlsafe(12)
    user = create_user(None, {"username": "master", "display_name": "Master",
                              "role": "master", "password": password, "language": "ko"})
    return user, generated


# --- API tokens -----------------------------------------------------------------------

def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User) -> str:
    """Return a new bearer token for ``user``; only its digest is stored."""
    token = secrets.token_urlsafe(32)
    ApiToken.create(user=user, token_hash=_digest(token))
    return token


# A token nobody used for this long stops working (a forgotten script's token is not a
# standing door); using it keeps it alive.
TOKEN_IDLE = dt.timedelta(days=90)


def user_for_token(token: str, now=None) -> User:
    now = now or utcnow()
    row = (ApiToken.select(ApiToken, User).join(User)
           .where(ApiToken.token_hash == _digest(token or "")).first())
    if row is None or not row.user.active:
        raise AuthenticationError(N_("The API token is missing, wrong or revoked."))
    if (row.last_used_at or row.created_at) < now - TOKEN_IDLE:
        raise AuthenticationError(N_("The API token was not used for %(days)d days and has "
                                     "expired; ask for a new one."), days=TOKEN_IDLE.days)
    ApiToken.update(last_used_at=now).where(ApiToken.id == row.id).execute()
    return row.user


def revoke_presented(token: str) -> None:
    """The token a client sends revokes itself (``DELETE /api/v1/token``)."""
    ApiToken.delete().where(ApiToken.token_hash == _digest(token or "")).execute()


def tokens(actor: User):
    """The API tokens ``actor`` may see: their own, and with "users" everyone's they may
    manage (ranked at or below them), newest first."""
    query = (ApiToken.select(ApiToken, User).join(User)
             .order_by(ApiToken.created_at.desc(), ApiToken.id.desc()))
    if not can(actor, "users"):
        return query.where(ApiToken.user == actor.id)
    return [t for t in query if t.user_id == actor.id or rank(t.user.role) <= rank(actor.role)]


def revoke_token(actor: User, token_id) -> ApiToken:
    """Revoke one token: one's own, or (with "users") one of someone not ranked above."""
    row = (ApiToken.select(ApiToken, User).join(User).where(ApiToken.id == int(token_id)).first()
           if str(token_id).isdigit() else None)
    if row is None:
        raise NotFound(N_("API token %(id)s does not exist."), id=token_id)
    if row.user_id != actor.id and not (can(actor, "users")
                                        and rank(row.user.role) <= rank(actor.role)):
        raise PermissionDenied(N_("You do not have permission to do this."))
    row.delete_instance()
    return row
