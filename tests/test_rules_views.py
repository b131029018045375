"""The automation pages (issue 5): rules list and form, inline check, trigger swap, actions,
dry run, enabled toggle, run log, change history and revert — and who may do what."""
from __future__ import annotations

import re

import pytest
from werkzeug.datastructures import MultiDict

from engine import orders, rules, users
from engine.models import CsHistory, HandlingStatus, Order, Rule, RuleChange, RuleRun
from tests.conftest import NOW, new_order

HX = {"HX-Request": "true"}


def make_rule(world, name="결제NG 처리", event="becomes", field="payment_status",
              value="与信審査エラー", actions=None, when="", **extra):
    trigger = {"record": "order", "event": event}
    if field:
        trigger["field"] = field
    if value is not None and event == "becomes":
        trigger["value"] = value
    raw = {"name": name, "trigger": trigger, "when": when,
           "actions": actions or [{"type": "set_handling_status", "status": "결제NG"}], **extra}
    return rules.save_rule(world.admin, raw, now=NOW)


def form_data(**overrides):
    """A rule form as the page posts it: actions in page order, whatever their index."""
    pairs = [("name", "与信エラー → 결제NG"), ("order", "40"), ("enabled", "1"),
             ("record", "order"), ("event", "becomes"), ("field", "payment_status"),
             ("value", "与信審査エラー"), ("when", "total > 10000"),
             ("actions-1005-type", "write_cs_line"), ("actions-1005-text", "결제 확인 필요"),
             ("actions-2-type", "set_handling_status"), ("actions-2-status", "결제NG")]
    data = MultiDict()
    for key, value in pairs:
        if key in overrides:
            value = overrides.pop(key)
        if value is not None:
            data.add(key, value)
    for key, value in overrides.items():
        data.add(key, value)
    return data


def text(response):
    return response.get_data(as_text=True)


def label_of(body, name):
    """The <label> of form field ``name`` (the field() macro's markup)."""
    match = re.search(r'<label class="field([^"]*)" for="f-%s">(.*?)</label>' % re.escape(name),
                      body, re.S)
    assert match, f"no field {name}"
    return match.group(1), match.group(2)


@pytest.fixture(autouse=True)
def fresh_index():
    rules.forget_index()
    yield
    rules.forget_index()


# --- reading -------------------------------------------------------------------------------------

def test_every_page_renders_for_a_viewer_read_only(app, world, login):
    rule = make_rule(world, when="total > 1")
    viewer = login("viewer")
    page = text(viewer.get("/rules/"))
    assert rule.name in page and "与信審査エラー" in page
    assert 'href="/rules/new"' not in page and "disabled" in page   # no new button, no toggle
    form = viewer.get(f"/rules/{rule.id}")
    assert form.status_code == 200
    body = text(form)
    assert "data-readonly" in body and 'data-action="save"' not in body
    assert 'value="total &gt; 1"' in body or "total &gt; 1" in body
    for url in ("/rules/log", "/rules/history", f"/rules/history?rule_id={rule.id}",
                "/rules/export.toml"):
        assert viewer.get(url).status_code == 200, url
    assert viewer.get("/rules/new").status_code == 403
    assert viewer.get("/rules/trigger?event=created", headers=HX).status_code == 403


def test_list_shows_the_rule_in_words_with_filters(app, world, login):
    make_rule(world, "A 결제NG", actions=[{"type": "set_handling_status", "status": "결제NG"},
                                         {"type": "set_subscription_status", "status": "停止"}])
    make_rule(world, "B 송장", event="is_set", field="tracking_no", value=None, enabled=False,
              actions=[{"type": "payment_process", "process": "reauthorize"}])
    admin = login("admin")
    page = text(admin.get("/rules/"))
    assert page.index("A 결제NG") < page.index("B 송장")
    assert "Re-authorisation" in page or "재승인" in page or "再オーソリ" in page
    assert "<b>결제NG</b>" in page and "<b>停止</b>" in page
    only_tracking = text(admin.get("/rules/?trigger=tracking_no", headers=HX))
    assert "B 송장" in only_tracking and "A 결제NG" not in only_tracking
    assert 'id="rule-list"' in only_tracking and "<html" not in only_tracking
    off = text(admin.get("/rules/?enabled=off"))
    assert "B 송장" in off and "A 결제NG" not in off


def test_list_marks_crowded_and_conflicting_triggers(app, world, login):
    make_rule(world, "A", actions=[{"type": "set_handling_status", "status": "결제NG"},
                                   {"type": "hold"}])
    calm = text(login("admin").get("/rules/"))
    assert "rule-warning" not in calm
    make_rule(world, "B", actions=[{"type": "set_handling_status", "status": "주문확정"}])
    page = text(login("admin").get("/rules/"))
    assert page.count('class="pill warn rule-warning"') == 2
    form = text(login("admin").get(f"/rules/{Rule.get(Rule.name == 'B').id}"))
    assert "data-warnings" in form and "A → 결제NG" in form and "B → 주문확정" in form


def test_export_is_the_toml_of_the_store(app, world, login):
    make_rule(world)
    response = login("viewer").get("/rules/export.toml")
    assert response.mimetype == "application/toml"
    assert "attachment" in response.headers["Content-Disposition"]
    assert "[[rules]]" in text(response) and 'name = "결제NG 처리"' in text(response)


# --- who may change ----------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["viewer", "agent"])
def test_viewer_and_agent_get_403_on_every_post(app, world, login, role):
    rule = make_rule(world)
    change = RuleChange.get(RuleChange.rule_id == rule.id)
    order = new_order(world)
    client = login(role)
    before = (Rule.select().count(), Rule.get_by_id(rule.id).version, RuleChange.select().count())
    posts = [rule_ for rule_ in app.url_map.iter_rules()
             if rule_.endpoint.startswith("rules.") and "POST" in rule_.methods]
    assert len(posts) == 7
    for url_rule in posts:    # the route itself is guarded, not only the engine behind it
        assert app.view_functions[url_rule.endpoint].required_capability == "automation"
    for url_rule in posts:
        url = url_rule.rule.replace("<int:rule_id>", str(rule.id)).replace(
            "<int:change_id>", str(change.id))
        for headers in ({}, HX):
            response = client.post(url, data=form_data(order_id=str(order.id)), headers=headers)
            assert response.status_code == 403, (role, url)
    assert (Rule.select().count(), Rule.get_by_id(rule.id).version,
            RuleChange.select().count()) == before
    for url in ("/rules/new", "/rules/trigger?event=created", "/rules/action?type=hold"):
        assert client.get(url, headers=HX).status_code == 403, url


# --- the form ----------------------------------------------------------------------------------

def test_admin_creates_a_rule_through_the_form(app, world, login):
    admin = login("admin")
    assert admin.get("/rules/new").status_code == 200
    response = admin.post("/rules/new", data=form_data())
    assert response.status_code == 302, text(response)
    rule = Rule.get(Rule.name == "与信エラー → 결제NG")
    assert response.headers["Location"] == f"/rules/{rule.id}?saved=1"
    assert (rule.trigger_event, rule.trigger_field, rule.trigger_value) == (
        "becomes", "payment_status", "与信審査エラー")
    assert rule.condition == "total > 10000" and rule.sequence == 40 and rule.enabled
    # the page's order, not the index numbers: the CS line was above the status
    assert rule.actions == [{"type": "write_cs_line", "text": "결제 확인 필요"},
                            {"type": "set_handling_status", "status": "결제NG"}]
    change = RuleChange.get(RuleChange.rule_id == rule.id)
    assert change.change == "create" and change.actor_id == world.admin.id
    page = text(admin.get(response.headers["Location"]))
    assert "data-saved" in page and 'name="actions-0-type" value="write_cs_line"' in page
    assert 'name="actions-1-status"' in page


def test_admin_edits_a_rule_and_unticked_boxes_mean_off(app, world, login):
    rule = make_rule(world, stop=True)
    admin = login("admin")
    response = admin.post(f"/rules/{rule.id}", data=form_data(name=rule.name, enabled=None))
    assert response.status_code == 302
    fresh = Rule.get_by_id(rule.id)
    assert not fresh.enabled and not fresh.stop_processing and fresh.version == 2


@pytest.mark.parametrize("overrides, field, words", [
    ({"when": 'paymnet_method == "代金引換"'}, "when", "payment_method"),
    ({"when": "$range(3000000) == []"}, "when", "$range"),
    ({"when": "total > 1 and and hold"}, "when", "15"),
    ({"actions-2-status": "없는상태"}, "actions-1-status", ""),
    ({"actions-2-colour": "red"}, "actions-1-colour", "colour"),
    ({"field": "buyer_mobile"}, "field", "buyer_mobile"),
    ({"value": ""}, "value", ""),
    ({"name": ""}, "name", ""),
])
def test_errors_are_shown_beside_their_field_and_nothing_is_saved(app, world, login, overrides,
                                                                   field, words):
    admin = login("admin")
    response = admin.post("/rules/new", data=form_data(**overrides))
    assert response.status_code == 422
    body = text(response)
    assert "data-errors" in body
    assert Rule.select().count() == 0 and RuleChange.select().count() == 0
    if field == "actions-1-colour":     # an unknown parameter: the action's box says so
        box = body[body.index('name="actions-1-type"'):]
        box = box[:box.index("</li>")]
        assert "colour" in box and 'class="error"' in box
        return
    classes, inside = label_of(body, field)
    assert "has-error" in classes
    if field == "when":       # the condition's message is the check box right under it
        check = body[body.index('id="condition-check"'):]
        inside = check[:check.index("</div>")]
        assert 'data-ok="false"' in inside
    assert 'class="error"' in inside and words in inside
    # what was typed is still there
    assert "결제 확인 필요" in body


def test_a_rule_without_actions_is_refused(app, world, login):
    data = form_data(**{"actions-1005-type": None, "actions-1005-text": None,
                        "actions-2-type": None, "actions-2-status": None})
    response = login("admin").post("/rules/new", data=data)
    assert response.status_code == 422 and 'data-error="actions"' in text(response)
    assert Rule.select().count() == 0


def test_a_name_in_use_is_refused_beside_the_name(app, world, login):
    make_rule(world, "与信エラー → 결제NG")
    response = login("admin").post("/rules/new", data=form_data())
    classes, inside = label_of(text(response), "name")
    assert response.status_code == 422 and "has-error" in classes
    assert Rule.select().count() == 1


def test_inline_check_says_ok_and_the_fields_or_the_positioned_error(app, world, login):
    users.set_language(world.admin, "en")   # the assertions read the English text
    admin = login("admin")
    condition = 'total > 1 and payment_method == "代金引換"'
    ok = text(admin.post("/rules/check", data={"when": condition}, headers=HX))
    assert "✓ OK, uses: total, payment_method" in ok and 'data-ok="true"' in ok
    assert 'id="condition-check"' in ok and "<html" not in ok
    bad = text(admin.post("/rules/check", data={"when": "total > 1 and and hold"}, headers=HX))
    assert 'data-ok="false"' in bad and "<mark>" in bad and "15" in bad
    typo = text(admin.post("/rules/check", data={"when": "paymnet_method == 1"}, headers=HX))
    assert "payment_method" in typo
    empty = text(admin.post("/rules/check", data={"when": "  "}, headers=HX))
    assert 'data-ok="true"' in empty and "✓" not in empty
    deep = text(admin.post("/rules/check", data={"when": "not " * 480 + "hold"}, headers=HX))
    assert 'data-ok="false"' in deep


def test_trigger_sub_form_shows_field_and_value_only_when_needed(app, world, login):
    admin = login("admin")
    created = text(admin.get("/rules/trigger?record=order&event=created", headers=HX))
    assert 'name="event"' in created and 'name="field"' not in created
    assert 'name="value"' not in created
    is_set = text(admin.get("/rules/trigger?record=order&event=is_set&field=tracking_no",
                            headers=HX))
    assert 'name="field"' in is_set and 'name="value"' not in is_set
    assert '<option value="tracking_no" selected>' in is_set
    becomes = text(admin.get("/rules/trigger?record=order&event=becomes&field=payment_status",
                             headers=HX))
    assert 'name="field"' in becomes and 'name="value"' in becomes
    assert '<datalist id="trigger-values">' in becomes
    assert 'value="与信審査エラー"' in becomes
    assert 'hx-get="/rules/trigger"' in becomes
    # a field that cannot trigger falls back to one that can
    odd = text(admin.get("/rules/trigger?event=changed&field=buyer_mobile", headers=HX))
    assert '<option value="state" selected>' in odd


def test_adding_an_action_renders_its_fields_under_the_prefix(app, world, login):
    admin = login("admin")
    row = text(admin.get("/rules/action?type=set_handling_status&index=1007", headers=HX))
    assert 'name="actions-1007-type" value="set_handling_status"' in row
    assert 'name="actions-1007-status"' in row and ">결제NG</option>" in row
    webhook = text(admin.get("/rules/action?type=call_webhook&index=3", headers=HX))
    for name in ("url", "secret", "timeout"):
        assert f'name="actions-3-{name}"' in webhook
    nothing = admin.get("/rules/action?type=explode", headers=HX)
    assert nothing.status_code == 204 and "ruledesk:toast" in nothing.headers["HX-Trigger"]


# --- dry run -------------------------------------------------------------------------------------

def test_dry_run_explains_a_non_match_with_the_failing_clause(app, world, login):
    order = new_order(world)                       # 2 × 12,900 = 25,800
    before = (Order.get_by_id(order.id).version, CsHistory.select().count())
    data = form_data(when='channel == "11번가" and total > 30000', order_id=str(order.id))
    body = text(login("admin").post("/rules/dry-run", data=data, headers=HX))
    assert 'data-matched="false"' in body and 'data-verdict="no-match"' in body
    assert "total &gt; 30000" in body and "25800" in body
    assert "<code>channel</code>" in body or ">channel<" in body
    assert (Order.get_by_id(order.id).version, CsHistory.select().count()) == before
    assert Rule.select().count() == 0 and RuleRun.select().count() == 0


def test_dry_run_of_a_match_shows_what_it_would_do_and_does_nothing(app, world, login):
    order = new_order(world)
    data = form_data(name="", order_id=f"#{order.id}")
    body = text(login("admin").post("/rules/dry-run", data=data, headers=HX))
    assert 'data-matched="true"' in body and 'data-verdict="match"' in body
    assert 'data-change="handling_status"' in body and "<b>결제NG</b>" in body
    assert "dry-label" in body
    fresh = Order.get_by_id(order.id)
    assert fresh.handling_status_id is None and fresh.version == order.version
    assert not CsHistory.select().where(CsHistory.text == "결제 확인 필요").exists()
    assert RuleRun.select().count() == 0 and Rule.select().count() == 0


def test_dry_run_reports_a_missing_order_and_a_bad_rule(app, world, login):
    admin = login("admin")
    missing = text(admin.post("/rules/dry-run", data=form_data(order_id="99999"), headers=HX))
    assert "data-problems" in missing and "99999" in missing
    bad = text(admin.post("/rules/dry-run", data=form_data(when="nope ==", order_id="1"),
                          headers=HX))
    assert "data-problems" in bad
    blank = text(admin.post("/rules/dry-run", data=form_data(order_id=""), headers=HX))
    assert "data-problems" in blank


# --- toggle, delete, history, revert -------------------------------------------------------------

def test_enabled_toggle_switches_the_rule_and_keeps_history(app, world, login):
    rule = make_rule(world)
    admin = login("admin")
    off = admin.post(f"/rules/{rule.id}/enabled", data={}, headers=HX)
    assert off.status_code == 200 and 'id="rule-list"' in text(off)
    assert "ruledesk:toast" in off.headers["HX-Trigger"]
    assert off.headers["HX-Trigger"].isascii()      # headers travel as latin-1
    fresh = Rule.get_by_id(rule.id)
    assert not fresh.enabled and fresh.version == 2
    order = new_order(world)
    orders.perform("set_payment_status", order.id, {"payment_status": "与信審査エラー"},
                   orders.Context(world.agent, NOW))
    assert Order.get_by_id(order.id).handling_status_id is None     # off: did not fire
    # the list's filters come along (hx-include) and are kept; "enabled" is the filter
    on = admin.post(f"/rules/{rule.id}/enabled", data={"on": "1", "enabled": "off"}, headers=HX)
    assert Rule.get_by_id(rule.id).enabled and rule.name not in text(on)
    assert [c.change for c in RuleChange.select().order_by(RuleChange.id)] == [
        "create", "update", "update"]


def test_delete_asks_then_removes_and_history_can_restore(app, world, login):
    rule = make_rule(world)
    admin = login("admin")
    form = text(admin.get(f"/rules/{rule.id}"))
    assert 'id="delete-form"' in form and "confirm(" in form
    response = admin.post(f"/rules/{rule.id}/delete")
    assert response.status_code == 302 and "deleted=" in response.headers["Location"]
    assert Rule.select().count() == 0
    listed = text(admin.get(response.headers["Location"]))
    assert 'class="notice"' in listed and rule.name in listed
    change = RuleChange.get(RuleChange.change == "delete")
    restored = admin.post(f"/rules/history/{change.id}/revert", data={"next": "/rules/history"},
                          headers=HX)
    assert restored.headers["HX-Redirect"] == f"/rules/history?reverted={change.id}"
    assert Rule.get(Rule.name == rule.name).actions == rule.actions


def test_history_shows_a_diff_and_one_click_revert(app, world, login):
    rule = make_rule(world)
    admin = login("admin")
    admin.post(f"/rules/{rule.id}", data=form_data(name=rule.name, when="total > 50000"))
    update = RuleChange.get(RuleChange.change == "update")
    page = text(admin.get("/rules/history"))
    assert f'id="change-{update.id}"' in page
    assert '<tr class="changed" data-key="when">' in page
    assert "total &gt; 50000" in page and 'data-action="revert"' in page
    assert "Master" in page or world.admin.display_name in page
    per_rule = text(admin.get(f"/rules/{rule.id}"))
    assert f'id="change-{update.id}"' in per_rule
    response = admin.post(f"/rules/history/{update.id}/revert",
                          data={"next": f"/rules/{rule.id}"}, headers=HX)
    assert response.headers["HX-Redirect"] == f"/rules/{rule.id}?reverted={update.id}"
    fresh = Rule.get_by_id(rule.id)
    assert fresh.condition == "" and fresh.actions == rule.actions and fresh.version == 3
    last = RuleChange.select().order_by(RuleChange.id.desc()).first()
    assert last.change == "revert" and last.actor_id == world.admin.id
    # without htmx it is a plain redirect; an off-site next is ignored
    plain = admin.post(f"/rules/history/{last.id}/revert", data={"next": "https://evil.example/"})
    assert plain.status_code == 302 and plain.headers["Location"].startswith("/rules/history")


def test_config_file_changes_are_shown_as_such(app, world, login):
    rules.save_rule(None, {"name": "파일 규칙", "trigger": {"event": "created"},
                           "actions": [{"type": "hold"}]}, change=None)
    users.set_language(world.viewer, "en")  # the assertion reads the English text
    page = text(login("viewer").get("/rules/history"))
    assert "config file" in page


def test_revert_that_cannot_apply_says_why(app, world, login):
    rule = make_rule(world)
    admin = login("admin")
    change = RuleChange.get(RuleChange.rule_id == rule.id)
    admin.post(f"/rules/{rule.id}/delete")
    make_rule(world)                                 # the name is taken again
    delete = RuleChange.get(RuleChange.change == "delete")
    response = admin.post(f"/rules/history/{delete.id}/revert", headers=HX)
    assert response.status_code == 422 and "ruledesk:toast" in response.headers["HX-Trigger"]
    assert response.headers["HX-Trigger"].isascii()
    assert Rule.select().count() == 1
    assert change.id != delete.id


# --- run log -------------------------------------------------------------------------------------

def test_run_log_lists_firings_newest_first_with_filters(app, world, login):
    good = make_rule(world)
    make_rule(world, "웹훅", event="becomes", field="payment_status", value="取消完了",
              actions=[{"type": "call_webhook", "url": "http://127.0.0.1:9/", "timeout": 1}])
    first, second = new_order(world), new_order(world)
    ctx = orders.Context(world.agent, NOW)
    orders.perform("set_payment_status", first.id, {"payment_status": "与信審査エラー"}, ctx)
    orders.perform("set_payment_status", second.id, {"payment_status": "取消完了"}, ctx)
    assert Order.get_by_id(first.id).handling_status.name == "결제NG"
    viewer = login("viewer")
    page = text(viewer.get("/rules/log"))
    assert page.index(f'data-record="{second.id}"') < page.index(f'data-record="{first.id}"')
    assert f'href="/orders/?order={first.id}&amp;q={first.id}"' in page
    assert 'data-outcome="done"' in page and 'data-outcome="failed"' in page
    assert "payment_status" in page and "v1" in page
    failed = text(viewer.get("/rules/log?outcome=failed", headers=HX))
    assert 'data-outcome="done"' not in failed and "webhook" in failed.lower()
    assert 'id="results"' in failed and "<html" not in failed
    by_rule = text(viewer.get(f"/rules/log?rule_id={good.id}"))
    assert 'data-outcome="failed"' not in by_rule and f'data-record="{first.id}"' in by_rule
    by_order = text(viewer.get(f"/rules/log?record_id={second.id}"))
    assert f'data-record="{first.id}"' not in by_order and f'data-record="{second.id}"' in by_order
    bad = viewer.get("/rules/log?record_id=abc&outcome=exploded")
    assert bad.status_code == 200 and "has-error" in text(bad)


def test_last_fired_shows_on_the_list(app, world, login):
    rule = make_rule(world)
    order = new_order(world)
    orders.perform("set_payment_status", order.id, {"payment_status": "与信審査エラー"},
                   orders.Context(world.agent, NOW))
    page = text(login("viewer").get("/rules/"))
    assert f'href="/rules/log?rule_id={rule.id}"' in page
    assert HandlingStatus.get_by_id(Order.get_by_id(order.id).handling_status_id).name == "결제NG"
