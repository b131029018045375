"""Failed-login throttling: a guessed password is slowed down on the form and the API alike."""
from __future__ import annotations

import datetime as dt

import pytest

from engine import login_guard
from engine.errors import AuthenticationError
from engine.models import LoginAttempt
from tests.conftest import NOW, PASSWORD


def fail(username, address="10.0.0.1", at=NOW):
    with pytest.raises(AuthenticationError) as refused:
        login_guard.log_in(username, "wrong-password", address, at)
    return refused.value


def test_five_failures_lock_the_username_for_fifteen_minutes_even_with_the_right_password(world):
    for minute in range(5):
        assert fail("agent", at=NOW + dt.timedelta(minutes=minute)).status == 401
    later = NOW + dt.timedelta(minutes=5)
    with pytest.raises(login_guard.TooManyAttempts) as locked:
        login_guard.log_in("agent", PASSWORD, "10.0.0.9", later)
    assert locked.value.status == 429 and locked.value.params == {"minutes": 10}
    # the first failure leaves the window at 15 minutes: one attempt is free again
    assert login_guard.log_in("agent", PASSWORD, "10.0.0.9", NOW + dt.timedelta(minutes=15))
    # a success clears the count
    assert fail("agent", at=NOW + dt.timedelta(minutes=16)).status == 401


def test_the_username_is_counted_as_typed_in_any_case_and_spacing(world):
    for name in ("Agent", " agent", "AGENT ", "agent", "aGent"):
        fail(name)
    with pytest.raises(login_guard.TooManyAttempts):
        login_guard.log_in("agent", PASSWORD, "10.0.0.1", NOW)


def test_one_address_trying_many_names_is_stopped(world):
    for n in range(20):
        fail(f"guess{n}", address="203.0.113.7")
    with pytest.raises(login_guard.TooManyAttempts):
        login_guard.log_in("agent", PASSWORD, "203.0.113.7", NOW)
    assert login_guard.log_in("agent", PASSWORD, "198.51.100.1", NOW).username == "agent"


def test_attempts_older_than_a_day_are_removed(world):
    fail("agent", at=NOW - dt.timedelta(days=2))
    fail("agent")
    assert LoginAttempt.select().count() == 1


def test_login_form_and_api_token_share_the_throttle(app, world):
    client = app.test_client()
    for _ in range(3):
        assert client.post("/login", data={"username": "agent", "password": "nope"}).status_code == 401
    for _ in range(2):
        assert client.post("/api/v1/token", json={"username": "agent",
                                                  "password": "nope"}).status_code == 401
    api = client.post("/api/v1/token", json={"username": "agent", "password": PASSWORD})
    assert api.status_code == 429 and api.json["error"]["code"] == "throttled"
    form = client.post("/login", data={"username": "agent", "password": PASSWORD})
    assert form.status_code == 429 and "분 후에 다시" in form.get_data(as_text=True)
