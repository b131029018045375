"""Failed-login throttling: guessing passwords is slowed down for the login form and the API.

The portal puts a login page in front of customers, so a username that fails 5 times within
15 minutes is refused (even with the right password) until 15 minutes after those failures,
and one address is refused after 20 failures in 15 minutes whatever names it tries. A success
clears its username's count. Attempts live in the store, so every process of the app counts
the same ones; rows older than a day are removed as new ones come.
"""
from __future__ import annotations

import datetime as dt
import math

from engine import users
from engine.errors import AuthenticationError
from engine.models import LoginAttempt, User, db, fn
from engine.text import N_

WINDOW = dt.timedelta(minutes=15)
PER_USERNAME = 5
PER_ADDRESS = 20
KEEP = dt.timedelta(days=1)


class TooManyAttempts(AuthenticationError):
    status = 429
    code = "throttled"


def _name(username: str) -> str:
    return (username or "").strip().lower()[:64]


def _refusal(failures, now: dt.datetime, limit: int) -> TooManyAttempts | None:
    times = sorted(a.at for a in failures)
    if len(times) < limit:
        return None
    free_at = times[-limit] + WINDOW          # when the oldest counted failure leaves the window
    minutes = max(1, math.ceil((free_at - now).total_seconds() / 60))
    return TooManyAttempts(N_("Too many failed logins; try again in %(minutes)d minutes."),
                           minutes=minutes)


def check(username: str, address: str, now: dt.datetime) -> None:
    """Raise TooManyAttempts when this username or this address must wait."""
    name, since = _name(username), now - WINDOW
    last_ok = (LoginAttempt.select(fn.MAX(LoginAttempt.at))
               .where((LoginAttempt.username == name) & (LoginAttempt.ok == True))  # noqa: E712
               .scalar())
    by_name = LoginAttempt.select(LoginAttempt.at).where(
        (LoginAttempt.username == name) & (LoginAttempt.ok == False)  # noqa: E712
        & (LoginAttempt.at > since))
    if last_ok is not None:
        by_name = by_name.where(LoginAttempt.at > last_ok)
    refusal = _refusal(by_name, now, PER_USERNAME)
    if refusal is None and address:
        by_address = LoginAttempt.select(LoginAttempt.at).where(
            (LoginAttempt.address == address[:45]) & (LoginAttempt.ok == False)  # noqa: E712
            & (LoginAttempt.at > since))
        refusal = _refusal(by_address, now, PER_ADDRESS)
    if refusal is not None:
        raise refusal


def record(username: str, address: str, ok: bool, now: dt.datetime) -> None:
    with db.atomic():
        LoginAttempt.create(username=_name(username), address=(address or "")[:45], at=now, ok=ok)
        LoginAttempt.delete().where(LoginAttempt.at < now - KEEP).execute()


def log_in(username: str, password: str, address: str, now: dt.datetime) -> User:
    """``users.authenticate`` behind the throttle: the one way in for the form and the API."""
    check(username, address, now)
    try:
        user = users.authenticate(username, password)
    except AuthenticationError:
        record(username, address, False, now)
        raise
    record(username, address, True, now)
    return user
