"""Template contexts in a real browser (issue #4): the placeholders a template may use follow
the record it is written for — a ticket placeholder is refused on an order template when it is
saved, offered and accepted once the template is for tickets."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from engine.models import MessageTemplate

pytestmark = pytest.mark.browser

BODY = "#{고객명}님, 문의 #{티켓번호} 처리 중입니다."


def test_a_ticket_placeholder_needs_a_ticket_template(world, page, log_in, live_server):
    log_in("admin")
    page.goto(live_server.url + "/messages/templates/new")
    form = page.locator("#template-form")
    form.locator("#f-name").fill("진행 안내")
    form.locator("#f-body").fill(BODY)
    form.locator("[data-action=save]").click()
    expect(page.locator("#template-form [data-refused]")).to_be_visible()   # an order template
    assert not MessageTemplate.select().exists()

    page.locator("#f-context").select_option("ticket")
    expect(page.locator("#tpl-placeholders button[data-insert='#{티켓번호}']")).to_be_visible()
    page.locator("#template-form [data-action=save]").click()
    expect(page.locator("#template-form [data-refused]")).to_have_count(0)
    saved = MessageTemplate.get(MessageTemplate.name == "진행 안내")
    assert (saved.context, saved.body) == ("ticket", BODY)
