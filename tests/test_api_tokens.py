"""API tokens: listed and revoked on the settings page, revoked by the script itself, and
expired after 90 idle days."""
from __future__ import annotations

import datetime as dt

import pytest

from engine import users
from engine.errors import AuthenticationError, PermissionDenied
from engine.models import ApiToken
from tests.conftest import NOW

HX = {"HX-Request": "true"}


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_a_token_unused_for_ninety_days_expires_and_use_keeps_it_alive(world):
    token = users.issue_token(world.agent)
    ApiToken.update(created_at=NOW - dt.timedelta(days=80)).execute()
    assert users.user_for_token(token, now=NOW).id == world.agent.id        # used: alive again
    assert users.user_for_token(token, now=NOW + dt.timedelta(days=89)).id == world.agent.id
    with pytest.raises(AuthenticationError) as expired:
        users.user_for_token(token, now=NOW + dt.timedelta(days=180))
    assert expired.value.params == {"days": 90}


def test_a_script_revokes_its_own_token(app, world):
    client = app.test_client()
    token = users.issue_token(world.agent)
    assert client.get("/api/v1/orders", headers=bearer(token)).status_code == 200
    assert client.delete("/api/v1/token", headers=bearer(token)).status_code == 204
    assert client.get("/api/v1/orders", headers=bearer(token)).status_code == 401
    assert client.delete("/api/v1/token", headers=bearer(token)).status_code == 401


def test_people_revoke_their_own_tokens_admins_those_ranked_at_or_below(world):
    mine = users.issue_token(world.agent)
    boss = users.issue_token(world.general_admin)
    row = ApiToken.get(ApiToken.user == world.agent.id)
    with pytest.raises(PermissionDenied):
        users.revoke_token(world.agent2, row.id)
    boss_row = ApiToken.get(ApiToken.user == world.general_admin.id)
    with pytest.raises(PermissionDenied):
        users.revoke_token(world.admin, boss_row.id)                        # ranked above
    assert [t.id for t in users.tokens(world.agent2)] == []
    assert {t.id for t in users.tokens(world.admin)} == {row.id}
    users.revoke_token(world.admin, row.id)
    with pytest.raises(AuthenticationError):
        users.user_for_token(mine)
    assert users.user_for_token(boss).id == world.general_admin.id


def test_settings_page_issues_shows_once_and_revokes(app, world, login):
    client = login("agent")
    page = client.post("/settings/tokens", headers=HX).get_data(as_text=True)
    shown = page.split("<code class=\"mono\">")[1].split("</code>")[0]
    assert users.user_for_token(shown).id == world.agent.id
    listing = client.get("/settings/tokens").get_data(as_text=True)
    assert shown not in listing and "data-token=" in listing
    row = ApiToken.get()
    other = users.issue_token(world.agent2)
    theirs = ApiToken.get(ApiToken.user == world.agent2.id)
    refused = client.post(f"/settings/tokens/{theirs.id}/revoke", headers=HX)
    assert refused.status_code == 403 and users.user_for_token(other)
    done = client.post(f"/settings/tokens/{row.id}/revoke", headers=HX)
    assert done.status_code == 200 and not ApiToken.select().where(ApiToken.id == row.id).exists()
