"""Account security in a real browser: a username guessed five times is locked with the minutes
left shown on the login form; an agent issues an API token (shown once), uses it, revokes it."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from engine import users
from engine.errors import AuthenticationError
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_five_wrong_passwords_lock_the_login_with_the_minutes_left(world, page, live_server):
    page.goto(live_server.url + "/login")
    for _ in range(5):
        page.fill("input[name=username]", "agent")
        page.fill("input[name=password]", "not-the-password")
        page.click("form.login-card button.primary")
        expect(page.locator("form.login-card")).to_be_visible()
    page.fill("input[name=username]", "agent")
    page.fill("input[name=password]", PASSWORD)          # right, but locked now
    page.click("form.login-card button.primary")
    expect(page.locator("form.login-card")).to_contain_text("15분 후에 다시 시도하세요")
    assert "/orders/" not in page.url


def test_an_agent_issues_uses_and_revokes_an_api_token(world, page, log_in, live_server):
    log_in("agent")
    page.goto(live_server.url + "/settings/tokens")
    page.click("[data-action=new-token]")
    shown = page.locator("[data-new-token] code")
    expect(shown).to_be_visible()
    token = shown.inner_text().strip()
    assert users.user_for_token(token).username == "agent"
    page.reload()
    expect(page.locator("[data-new-token]")).to_have_count(0)   # shown once only
    page.once("dialog", lambda dialog: dialog.accept())        # hx-confirm
    page.locator("#tokens tr[data-token] [data-action=revoke]").click()
    expect(page.locator("#tokens tr[data-token]")).to_have_count(0)
    with pytest.raises(AuthenticationError):
        users.user_for_token(token)
