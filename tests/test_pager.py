"""The one list pager (templates/_macros.html): plain links for every list, htmx swaps where
the list has a fragment, rendered the same in a whole page and in an htmx fragment."""
from __future__ import annotations

import re
from html import unescape

from flask import render_template_string


def render(app, call: str, **context) -> str:
    with app.test_request_context("/"):
        return render_template_string('{% from "_macros.html" import pager %}' + call, **context)


def links(html: str) -> list[dict]:
    return [{k: unescape(v) for k, v in re.findall(r'([\w-]+)="([^"]*)"', a)}
            for a in re.findall(r"<a ([^>]*)>", html)]


def test_no_pager_for_a_single_page(app):
    assert "pager" not in render(app, "{{ pager('orders.index', 1, 1, {}) }}")


def test_middle_page_links_both_ways_and_swaps_the_fragment(app):
    html = render(app, "{{ pager('orders.index', 2, 3, {'q': '김해'}, fragment='orders.rows') }}")
    prev, nxt = links(html)
    assert prev["href"] == "/orders/?page=1&q=%EA%B9%80%ED%95%B4"
    assert prev["hx-get"].startswith("/orders/rows?page=1")
    assert prev["hx-push-url"] == prev["href"] and prev["hx-target"] == "#results"
    assert nxt["href"].startswith("/orders/?page=3")


def test_plain_pager_has_no_htmx_and_first_page_no_previous(app):
    html = render(app, "{{ pager('jobs.history', 1, 2, {}, htmx=false) }}")
    only, = links(html)
    assert only == {"href": "/jobs/history?page=2"}


def test_pager_without_push_keeps_the_url(app):
    html = render(app, "{{ pager('messages.single_page', 2, 2, {}, target='#recent', "
                       "fragment='messages.single_recent', push=false) }}")
    prev, = links(html)
    assert prev["hx-target"] == "#recent" and "hx-push-url" not in prev
