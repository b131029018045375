"""The order console over HTTP (test client, CSRF off): list, filters, panel, dialogs,
operations, bulk, manual orders, product search, alarms, errors.

Messages are compared with what the engine raises for the same input, translated the way the
view translates it, so these tests hold in every UI language.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from types import SimpleNamespace

import pytest
from flask_babel import force_locale
from markupsafe import escape

from engine import orders, pickups
from engine.errors import EngineError
from engine.models import CsHistory, HandlingStatus, Order, ProductOption
from tests.conftest import NOW, new_order

HX = {"HX-Request": "true"}


# --- helpers ----------------------------------------------------------------------------

@pytest.fixture
def agent(login):
    return login("agent")


@pytest.fixture
def viewer(login):
    return login("viewer")


def text(response) -> str:
    return response.get_data(as_text=True)


def row_ids(body: str) -> list[int]:
    return [int(i) for i in re.findall(r'id="order-row-(\d+)"', body)]


def ctx(user, minutes=0):
    return orders.Context(user, NOW + dt.timedelta(minutes=minutes))


def perform(name, order, user, minutes=0, **raw):
    return orders.perform(name, order.id, raw, ctx(user, minutes))


def shown(app, error: EngineError) -> str:
    """``error`` as the console shows it to a Korean user (translated, HTML-escaped)."""
    from views.web import translate

    with app.test_request_context(), force_locale("ko"):
        return str(escape(translate(error)))


def engine_error(call) -> EngineError:
    with pytest.raises(EngineError) as err:
        call()
    return err.value


def field_error(body: str, name: str) -> str | None:
    """The error text shown beside field ``name`` (macro ``field`` or a new-order line)."""
    label = re.search(r'<label class="field[^"]*" for="[fs]-%s">(.*?)</label>'
                      % re.escape(name), body, re.S)  # f- in dialogs, s- in search forms
    if label:
        found = re.search(r'<small class="error"[^>]*>(.*?)</small>', label.group(1), re.S)
        return found.group(1).strip() if found else None
    found = re.search(r'name="%s"[^>]*>\s*<small class="error"[^>]*>(.*?)</small>'
                      % re.escape(name), body, re.S)
    return found.group(1).strip() if found else None


def alerts(body: str) -> list[str]:
    return [m.strip() for m in re.findall(r'<p class="error" role="alert">(.*?)</p>', body, re.S)]


def triggers(response) -> dict:
    return json.loads(response.headers.get("HX-Trigger", "{}"))


def snapshot(order_id):
    o = Order.get_by_id(order_id)
    return (o.state, o.cs_state, o.hold, o.courier, o.tracking_no, o.cancel_reason,
            o.recipient_name, o.handling_status_id, o.version,
            CsHistory.select().where(CsHistory.order == order_id).count())


def assert_closed_with_panel(response, order_id, badge):
    """A successful operation: the dialog closes, the list reloads, the panel is swapped."""
    assert response.status_code == 200
    fired = triggers(response)
    assert fired.get("ruledesk:closeDialog") is True and fired.get("ruledesk:ordersChanged")
    assert fired.get("ruledesk:toast")
    body = text(response)
    assert re.search(r'<section id="order-panel"[^>]*hx-swap-oob="true"', body)
    assert f"#{order_id}</span>" in body
    assert badge is None or badge in body
    assert "<html" not in body and 'data-dialog=' not in body


# --- the list ---------------------------------------------------------------------------

def test_console_lists_orders_newest_first(world, agent):
    older = new_order(world, now=NOW - dt.timedelta(days=1))
    newer = new_order(world, buyer_name="김민준")
    response = agent.get("/orders/")
    assert response.status_code == 200
    body = text(response)
    assert body.lstrip().lower().startswith("<!doctype html>")
    assert row_ids(body) == [newer.id, older.id]
    assert "김민준" in body and newer.order_no in body
    assert 'id="search-form"' in body and 'id="order-panel"' in body


def test_empty_console_says_no_orders_match(world, agent):
    body = text(agent.get("/orders/"))
    assert row_ids(body) == [] and 'class="empty"' in body


def test_home_redirects_to_the_console(world, agent):
    response = agent.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/orders/")


@pytest.fixture
def mix(world):
    """Four orders, one per filter: invoiced, held in another group, cancelled, with status."""
    m = SimpleNamespace()
    m.status = HandlingStatus.get(HandlingStatus.name == "발송준비중")
    m.invoiced = new_order(world, recipient_name="장유리", recipient_mobile="010-1111-2222")
    perform("invoice", m.invoiced, world.agent, courier="CJ대한통운", tracking_no="111")
    m.held = new_order(world, channel=world.mall, now=NOW - dt.timedelta(days=3))
    perform("hold", m.held, world.agent)
    m.cancelled = new_order(world, channel=world.coupang, now=NOW - dt.timedelta(hours=1))
    perform("cancel", m.cancelled, world.agent, reason="취소-고객변심")
    m.with_status = new_order(world, now=NOW - dt.timedelta(hours=2))
    perform("set_handling_status", m.with_status, world.agent, handling_status=str(m.status.id))
    return m


FILTERS = {  # name: (query from world and mix, expected orders of mix, newest first)
    "state": (lambda w, m: {"state": "송장"}, ["invoiced"]),
    "state received": (lambda w, m: {"state": "접수"}, ["cancelled", "with_status", "held"]),
    "cs_state": (lambda w, m: {"cs_state": "취소"}, ["cancelled"]),
    "hold": (lambda w, m: {"hold": "1"}, ["held"]),
    "not held": (lambda w, m: {"hold": "0"}, ["invoiced", "cancelled", "with_status"]),
    "channel": (lambda w, m: {"channel": w.coupang.id}, ["cancelled"]),
    "group": (lambda w, m: {"group": w.mall.group_id}, ["held"]),
    "handling status": (lambda w, m: {"handling_status": m.status.id}, ["with_status"]),
    "no handling status": (lambda w, m: {"handling_status": "none"},
                           ["invoiced", "cancelled", "held"]),
    "date_from": (lambda w, m: {"date_from": "2026-03-31"},
                  ["invoiced", "cancelled", "with_status"]),
    "date_to": (lambda w, m: {"date_to": "2026-03-28"}, ["held"]),
    "keyword name": (lambda w, m: {"q": "장유리"}, ["invoiced"]),
    "keyword phone": (lambda w, m: {"q": "1111-2222"}, ["invoiced"]),
    "keyword order no": (lambda w, m: {"q": m.held.order_no}, ["held"]),
    "combined": (lambda w, m: {"channel": w.st11.id, "state": "접수"}, ["with_status"]),
}


@pytest.mark.parametrize("name", FILTERS)
def test_each_filter_works_through_the_query_string(world, mix, agent, name):
    query, expected = FILTERS[name]
    response = agent.get("/orders/", query_string=query(world, mix))
    assert response.status_code == 200
    assert row_ids(text(response)) == [getattr(mix, n).id for n in expected]


def test_keyword_management_number_puts_that_order_first(world, mix, agent):
    ids = row_ids(text(agent.get("/orders/", query_string={"q": str(mix.held.id)})))
    assert ids[0] == mix.held.id


def test_filters_stay_in_the_form(world, mix, agent):
    body = text(agent.get("/orders/", query_string={"state": "송장", "q": "장유리"}))
    assert re.search(r'<option value="송장"\s+selected', body)
    assert 'name="q" value="장유리"' in body


@pytest.mark.parametrize("query, field", [({"state": "없음"}, "state"),
                                          ({"date_from": "2026-13-01"}, "date_from"),
                                          ({"channel": "abc"}, "channel")])
def test_bad_filter_is_shown_beside_its_field_never_a_500(world, mix, agent, app, query, field):
    response = agent.get("/orders/", query_string=query)
    assert response.status_code == 200
    error = engine_error(lambda: orders.parse_search(query, app.config["TZ"]))
    assert field_error(text(response), field) == shown(app, error.errors[field])
    assert len(row_ids(text(response))) == 4  # the bad filter is ignored, not applied


def test_pagination_keeps_the_filters(world, agent, app):
    made = [new_order(world, now=NOW - dt.timedelta(minutes=i), buyer_name="페이지")
            for i in range(5)]
    new_order(world, buyer_name="다른사람")
    app.config["PAGE_SIZE"] = 2
    pages = [row_ids(text(agent.get("/orders/", query_string={"q": "페이지", "page": p})))
             for p in (1, 2, 3)]
    assert pages == [[made[0].id, made[1].id], [made[2].id, made[3].id], [made[4].id]]
    body = text(agent.get("/orders/", query_string={"q": "페이지", "page": 2}))
    assert re.search(r'href="/orders/\?[^"]*page=1[^"]*"', body)
    assert re.search(r'href="/orders/\?[^"]*page=3[^"]*"', body)
    assert all("q=%ED%8E%98%EC%9D%B4%EC%A7%80" in link
               for link in re.findall(r'href="(/orders/\?[^"]*page=\d[^"]*)"', body))
    # out of range and junk page numbers fall back to a real page
    assert row_ids(text(agent.get("/orders/?q=페이지&page=99"))) == [made[4].id]
    assert row_ids(text(agent.get("/orders/?q=페이지&page=abc"))) == [made[0].id, made[1].id]


def test_htmx_rows_request_returns_only_the_results_fragment(world, agent):
    order = new_order(world)
    for url in ("/orders/rows", "/orders/"):
        response = agent.get(url, headers=HX)
        body = text(response)
        assert response.status_code == 200
        assert "<html" not in body and 'id="search-form"' not in body
        assert body.strip().startswith('<section id="results"')
        assert row_ids(body) == [order.id]
        assert f'id="order-row-{order.id}"' in body and "badge state-접수" in body


def test_rows_without_htmx_is_a_whole_page(world, agent):
    new_order(world)
    assert "<html" in text(agent.get("/orders/rows"))
    boosted = {**HX, "HX-Boosted": "true"}
    assert "<html" in text(agent.get("/orders/", headers=boosted))


def test_selected_order_in_the_url_loads_its_panel(world, agent):
    order = new_order(world)
    body = text(agent.get(f"/orders/?order={order.id}&q={order.id}"))
    assert f'hx-get="/orders/{order.id}"' in body
    assert re.search(rf'<tr id="order-row-{order.id}" class="selected', body)


CORE_OPERATIONS = ["hold", "release", "change_shipping", "invoice", "delete_invoice", "ship",
                   "unship", "cancel", "restore", "set_handling_status"]  # seed 002
ALLOWED_ON_A_NEW_ORDER = {"hold", "change_shipping", "invoice", "cancel", "set_handling_status"}


# --- the order panel --------------------------------------------------------------------

def test_panel_shows_facts_lines_history_and_operations(world, agent):
    order = new_order(world, ship_memo="문 앞에 놓아 주세요", cs_text="전화 주문")
    response = agent.get(f"/orders/{order.id}", headers=HX)
    body = text(response)
    assert response.status_code == 200 and "<html" not in body
    assert body.strip().startswith('<section id="order-panel"')
    assert f'data-version="{order.version}"' in body
    assert "순면 티셔츠" in body and "화이트-M" in body and "25,800" in body  # 2 × 12,900
    assert "문 앞에 놓아 주세요" in body and "경남 김해시 장유로 320 707동 403호" in body
    assert f"[주문생성 : {order.order_no}]" in body and "전화 주문" in body
    ops = re.findall(r'data-op="(\w+)"', body)
    assert set(CORE_OPERATIONS) <= set(ops) <= set(orders.OPERATIONS)
    disabled = set(re.findall(r'data-op="(\w+)"[^>]*\sdisabled', body, re.S))
    fresh = Order.get_by_id(order.id)
    assert disabled == {op for op in ops if orders.refusal(orders.OPERATIONS[op], fresh)}
    assert disabled >= set(CORE_OPERATIONS) - ALLOWED_ON_A_NEW_ORDER


def test_viewer_panel_has_no_operations(world, viewer):
    order = new_order(world)
    body = text(viewer.get(f"/orders/{order.id}", headers=HX))
    assert "순면 티셔츠" in body and "data-op=" not in body and 'class="opbar"' not in body


# --- operation dialogs ------------------------------------------------------------------



@pytest.mark.parametrize("name", list(orders.OPERATIONS))
def test_operation_dialog_opens_or_shows_why_it_is_refused(world, agent, app, name):
    order = new_order(world)
    response = agent.get(f"/orders/{order.id}/op/{name}", headers=HX)
    body = text(response)
    assert response.status_code == 200 and "<html" not in body
    assert f'data-dialog="{name}"' in body
    assert f'hx-post="/orders/{order.id}/op/{name}"' in body
    assert f'name="version" value="{order.version}"' in body
    refused = orders.refusal(orders.OPERATIONS[name], order)
    if name in CORE_OPERATIONS:
        assert (refused is None) == (name in ALLOWED_ON_A_NEW_ORDER)
    if refused is None:
        assert alerts(body) == []
        assert re.search(r'<button class="primary', body)
        for f in orders.OPERATIONS[name].fields:
            assert f'name="{f.name}"' in body
    else:
        assert alerts(body) == [shown(app, refused)]
        assert not re.search(r'<button class="primary', body)  # nothing to submit


def test_dialogs_are_prefilled_with_the_order(world, agent):
    order = new_order(world, ship_memo="경비실")
    body = text(agent.get(f"/orders/{order.id}/op/change_shipping", headers=HX))
    assert 'name="recipient_name" value="변다사"' in body
    assert 'name="recipient_mobile" value="010-8985-6279"' in body
    assert 'name="ship_memo" value="경비실"' in body
    body = text(agent.get(f"/orders/{order.id}/op/invoice", headers=HX))
    assert re.search(r'<option value="CJ대한통운"\s+selected', body)  # the first courier


def test_cancel_refused_while_invoiced_shows_reason(world, agent, app):
    order = new_order(world)
    perform("invoice", order, world.agent, courier="CJ대한통운", tracking_no="21330012")
    fresh = Order.get_by_id(order.id)
    dialog = text(agent.get(f"/orders/{order.id}/op/cancel", headers=HX))
    reason = shown(app, orders.refusal(orders.OPERATIONS["cancel"], fresh))
    assert alerts(dialog) == [reason]
    before = snapshot(order.id)
    response = agent.post(f"/orders/{order.id}/op/cancel", headers=HX,
                          data={"version": fresh.version, "reason": "취소-고객변심"})
    assert response.status_code == 200 and "HX-Trigger" not in response.headers
    assert alerts(text(response)) == [reason]
    assert snapshot(order.id) == before


# --- operation submits ------------------------------------------------------------------

def _invoice(w, o):
    perform("invoice", o, w.agent, courier="CJ대한통운", tracking_no="21330012")


def _ship(w, o):
    _invoice(w, o)
    perform("ship", o, w.agent)


SUCCESS = {  # name: (prepare the order, form, check the saved order, badge in the panel)
    "hold": (None, {"alarm_at": "2026-04-01T09:30", "cs_text": "고객 요청 보류"},
             lambda o: o.hold and o.hold_alarm_at == dt.datetime(2026, 4, 1, 0, 30),
             'class="badge hold"'),
    "release": (lambda w, o: perform("hold", o, w.agent), {},
                lambda o: not o.hold and o.hold_alarm_at is None, "badge state-접수"),
    "change_shipping": (None, {"recipient_name": "장유리", "recipient_mobile": "01044818840",
                               "zip_code": "621-785", "address": "경남 김해시 장유면 부곡리"},
                        lambda o: (o.recipient_name, o.recipient_mobile, o.zip_code)
                        == ("장유리", "010-4481-8840", "621785"), "장유리"),
    "invoice": (None, {"courier": "한진택배", "tracking_no": "5555-0001"},
                lambda o: (o.state, o.courier, o.tracking_no) == ("송장", "한진택배", "55550001"),
                "badge state-송장"),
    "delete_invoice": (_invoice, {}, lambda o: (o.state, o.tracking_no) == ("접수", None),
                       "badge state-접수"),
    "ship": (_invoice, {}, lambda o: o.state == "배송", "badge state-배송"),
    "unship": (_ship, {}, lambda o: o.state == "송장", "badge state-송장"),
    "cancel": (None, {"reason": "취소-고객변심"},
               lambda o: (o.cs_state, o.cancel_reason) == ("취소", "취소-고객변심"),
               "badge cs-취소"),
    "restore": (lambda w, o: perform("cancel", o, w.agent, reason="반품-불량"), {},
                lambda o: (o.state, o.cs_state, o.cancel_reason) == ("접수", "정상", None),
                "badge cs-정상"),
    "set_handling_status": (None, {"handling_status": "__status__"},
                            lambda o: o.handling_status.name == "발송준비중", "발송준비중"),
    # payments and fulfilment dates (badge None: the panel only has to come back)
    "set_payment_status": (None, {"payment_status": "仮売上完了"},
                           lambda o: o.payment_status == "仮売上完了", None),
    "set_payment_method": (None, {"payment_method": "銀行振込"},
                           lambda o: o.payment_method == "銀行振込", None),
    "mark_shipping_list_exported": (None, {}, lambda o: o.shipping_list_exported, None),
    "set_delivery_date": (_ship, {"delivery_date": "2026-04-02"},
                          lambda o: o.delivery_date == dt.date(2026, 4, 2), None),
    # the CS operations of issue 6 (a form may be a function of the world and the order)
    "partial_cancel": (None, lambda w, o: {"line_id": _line(o).id, "quantity": "1",
                                           "reason": "반품-불량"},
                       lambda o: (o.cs_state, _line(o).cancelled_qty) == ("부분취소", 1),
                       "badge cs-부분취소"),
    "partial_restore": (lambda w, o: perform("partial_cancel", o, w.agent, line_id=_line(o).id,
                                             quantity=2, reason="반품-불량"),
                        lambda w, o: {"line_id": _line(o).id, "quantity": "1"},
                        lambda o: (o.cs_state, _line(o).cancelled_qty) == ("부분취소", 1),
                        "badge cs-부분취소"),
    "change_product": (None, lambda w, o: {"line_id": _line(o).id, "option_id": w.tee_l.id},
                       lambda o: _line(o).option_code == "30002", "화이트-L"),
    "add_product": (None, lambda w, o: {"option_id": w.citrus_5.id, "quantity": "2"},
                    lambda o: [l.option_code for l in o.lines] == ["30001", "30003"], "제주 감귤"),
    "combine": (None, lambda w, o: {"with": str(new_order(w).id)},
                lambda o: o.combine_group == o.id, 'class="badge combined"'),
    "uncombine": (lambda w, o: perform("combine", o, w.agent, **{"with": new_order(w).id}), {},
                  lambda o: o.combine_group is None, None),
    "delete_combine": (lambda w, o: perform("combine", o, w.agent, **{"with": new_order(w).id}),
                       {}, lambda o: o.combine_group is None, None),
    "forbid_combine": (None, {}, lambda o: o.combine_forbidden, 'class="badge no-combine"'),
    "allow_combine": (lambda w, o: perform("forbid_combine", o, w.agent), {},
                      lambda o: not o.combine_forbidden, None),
    "pickup": (_ship, {"courier": "CJ대한통운", "reason": "반품-불량", "register_inbound": "1",
                       "expected_card": "25,800"},
               lambda o: [(p.status, p.expected_card) for p in o.pickups] == [("요청", 25800)],
               'class="pill pickup-요청"'),
    "pickup_receive": (lambda w, o: _picked_up(w, o), {"return_tracking_no": "555"},
                       lambda o: [p.status for p in o.pickups] == ["접수"],
                       'class="pill pickup-접수"'),
    "pickup_complete": (lambda w, o: _picked_up(w, o), {"arrived_card": "1000"},
                        lambda o: [(p.status, p.arrived_card) for p in o.pickups]
                        == [("완료", 1000)], 'class="pill pickup-완료"'),
    "mark_return_expected": (None, {}, lambda o: o.return_expected,
                             'class="badge return-expected"'),
    "unmark_return_expected": (lambda w, o: perform("mark_return_expected", o, w.agent), {},
                               lambda o: not o.return_expected, None),
    "mark_exchange_expected": (None, {"exchange_type": "단순교환"},
                               lambda o: (o.exchange_expected, o.exchange_type)
                               == (True, "단순교환"), 'class="badge exchange-expected"'),
    "unmark_exchange_expected": (lambda w, o: perform("mark_exchange_expected", o, w.agent,
                                                      exchange_type="단순교환"), {},
                                 lambda o: not o.exchange_expected, None),
    "copy": (None, lambda w, o: {"option_id": w.citrus_5.id}, lambda o: True, "제주 감귤"),
    "copy_all": (None, lambda w, o: {"channel": w.coupang.id}, lambda o: True, "쿠팡"),
    "delete": (None, {}, lambda o: o.deleted, 'class="badge deleted"'),
    "set_priority": (None, {"position": "top"}, lambda o: o.priority == 1,
                     'class="badge priority"'),
}


def _line(order):
    return sorted(order.lines, key=lambda line: line.id)[0]


def _picked_up(w, o):
    _ship(w, o)
    perform("pickup", o, w.agent, courier="CJ대한통운", reason="반품-불량")


def test_every_operation_has_a_success_case_here():
    assert sorted(set(orders.OPERATIONS) - set(SUCCESS)) == []


@pytest.mark.parametrize("name", [n for n in SUCCESS if n in orders.OPERATIONS])
def test_operation_succeeds_closes_dialog_and_swaps_in_the_panel(world, agent, name):
    prepare, form, check, badge = SUCCESS[name]
    order = new_order(world)
    if prepare:
        prepare(world, order)
    version = Order.get_by_id(order.id).version
    form = form(world, Order.get_by_id(order.id)) if callable(form) else form
    form = dict(form, version=version, cs_text=form.get("cs_text", "처리 메모"))
    if form.get("handling_status") == "__status__":
        form["handling_status"] = HandlingStatus.get(HandlingStatus.name == "발송준비중").id
    history_before = CsHistory.select().where(CsHistory.order == order.id).count()
    response = agent.post(f"/orders/{order.id}/op/{name}", data=form, headers=HX)
    if orders.OPERATIONS[name].returns_new:  # 주문복사: the panel shows the new order
        made = Order.select().order_by(Order.id.desc()).first()
        assert made.id != order.id
        assert_closed_with_panel(response, made.id, badge)
        assert f"[{'주문복사' if name == 'copy' else '주문전체복사'}] &lt;이전 주문 관리번호 : " \
               f"{order.id}&gt;" in text(response)
    else:
        assert_closed_with_panel(response, order.id, badge)
    fresh = Order.get_by_id(order.id)
    assert check(fresh)
    assert fresh.version == version + 1 and fresh.updated_by_id == world.agent.id
    lines = list(CsHistory.select().where(CsHistory.order == order.id)
                 .order_by(CsHistory.id.desc()))
    assert len(lines) == history_before + 1
    assert (lines[0].operation, lines[0].operator_id, lines[0].text) == (
        name, world.agent.id, form["cs_text"])
    if not orders.OPERATIONS[name].returns_new:
        assert f'data-version="{version + 1}"' in text(response)


FAILURES = {  # scenario: (prepare, operation, form, fields with an error, or None: a message)
    "tracking number with letters": (None, "invoice",
                                     {"courier": "CJ대한통운", "tracking_no": "21330O12"},
                                     ["tracking_no"]),
    "unknown courier": (None, "invoice", {"courier": "없는택배", "tracking_no": "1"}, ["courier"]),
    "tracking number used by another order": ("other invoiced", "invoice",
                                              {"courier": "CJ대한통운", "tracking_no": "777"},
                                              ["tracking_no"]),
    "cancel without a reason": (None, "cancel", {"reason": ""}, ["reason"]),
    "bad phone and no address": (None, "change_shipping",
                                 {"recipient_name": "x", "recipient_mobile": "전화없음",
                                  "address": ""}, ["recipient_mobile", "address"]),
    "nothing changed": (None, "change_shipping",
                        {"recipient_name": "변다사", "recipient_mobile": "010-8985-6279",
                         "zip_code": "50969", "address": "경남 김해시 장유로 320 707동 403호"},
                        ["recipient_name"]),
    "alarm time that is no time": (None, "hold", {"alarm_at": "내일 아침"}, ["alarm_at"]),
    "cs text too long": (None, "hold", {"cs_text": "가" * 2001}, ["cs_text"]),
    "ship while received": (None, "ship", {}, None),
    "release while not held": (None, "release", {}, None),
}


@pytest.mark.parametrize("scenario", FAILURES)
def test_operation_failure_shows_error_beside_field_and_changes_nothing(world, agent, app,
                                                                        scenario):
    prepare, name, form, fields = FAILURES[scenario]
    order = new_order(world)
    if prepare == "other invoiced":
        perform("invoice", new_order(world), world.agent, courier="CJ대한통운", tracking_no="777")
    before = snapshot(order.id)
    response = agent.post(f"/orders/{order.id}/op/{name}",
                          data=dict(form, version=order.version), headers=HX)
    assert response.status_code == 200
    assert "HX-Trigger" not in response.headers  # the dialog stays open
    body = text(response)
    assert f'data-dialog="{name}"' in body and "hx-swap-oob" not in body
    assert snapshot(order.id) == before
    error = engine_error(lambda: orders.perform(name, order.id, form, ctx(world.agent)))
    assert snapshot(order.id) == before
    if fields:
        for field in fields:
            assert field_error(body, field) == shown(app, error.errors[field]), field
        kinds = {f.name: f.kind for f in orders.OPERATIONS[name].fields}
        for key, value in form.items():  # what was typed is still there
            if value and kinds.get(key, "textarea") not in ("choice", "textarea"):
                assert f'value="{escape(value)}"' in body or f">{escape(value)}<" in body
    else:
        assert alerts(body) == [shown(app, error)]


def test_stale_version_says_who_changed_it_and_to_reload(world, agent, app):
    order = new_order(world)
    read_version = order.version
    perform("hold", order, world.agent2)  # 함정리 saves first, at 17:00 Seoul time
    before = snapshot(order.id)
    response = agent.post(f"/orders/{order.id}/op/change_shipping", headers=HX,
                          data={"version": read_version, "recipient_name": "다른이름",
                                "address": "다른주소"})
    body = text(response)
    assert response.status_code == 200 and "HX-Trigger" not in response.headers
    error = engine_error(lambda: orders.perform(
        "change_shipping", order.id, {"recipient_name": "다른이름", "address": "다른주소"},
        ctx(world.agent), expected_version=read_version))
    assert alerts(body) == [shown(app, error)]
    assert "함정리" in alerts(body)[0] and "2026-03-31 17:00:00" in alerts(body)[0]
    assert snapshot(order.id) == before


def test_unknown_operation_is_404(world, agent):
    order = new_order(world)
    assert agent.get(f"/orders/{order.id}/op/explode").status_code == 404
    assert agent.post(f"/orders/{order.id}/op/explode", data={}).status_code == 404


@pytest.mark.parametrize("method, url", [
    ("get", "/orders/99999"), ("get", "/orders/99999/op/hold"),
    ("post", "/orders/99999/op/hold"), ("get", "/orders/abc"), ("get", "/orders/0"),
])
def test_missing_order_is_a_404_page_never_500(world, agent, method, url):
    response = getattr(agent, method)(url, data={"version": "1"} if method == "post" else None)
    assert response.status_code == 404
    body = text(response)
    assert "<html" in body and "error-page" in body


# --- bulk -------------------------------------------------------------------------------

def test_bulk_dialog_lists_the_selected_orders(world, agent):
    a, b = new_order(world), new_order(world)
    response = agent.get(f"/orders/bulk/hold?ids={a.id}&ids={b.id}&ids=x", headers=HX)
    body = text(response)
    assert response.status_code == 200 and 'data-dialog="hold"' in body
    assert re.findall(r'name="ids" value="(\d+)"', body) == [str(a.id), str(b.id)]
    assert 'hx-post="/orders/bulk/hold"' in body and re.search(r'<button class="primary', body)


def test_bulk_dialog_without_selection_says_select_one(world, agent):
    body = text(agent.get("/orders/bulk/ship", headers=HX))
    assert len(alerts(body)) == 1 and not re.search(r'<button class="primary', body)


def test_bulk_hold_holds_every_selected_order(world, agent):
    a, b, untouched = new_order(world), new_order(world), new_order(world)
    response = agent.post("/orders/bulk/hold", headers=HX,
                          data={"ids": [str(a.id), str(b.id)], "cs_text": "일괄 보류"})
    assert response.status_code == 200
    fired = triggers(response)
    assert fired.get("ruledesk:closeDialog") is True and fired.get("ruledesk:ordersChanged")
    assert "2" in fired.get("ruledesk:toast", "")
    assert [o.id for o in Order.select().where(Order.hold == True)  # noqa: E712
            .order_by(Order.id)] == [a.id, b.id]
    assert not Order.get_by_id(untouched.id).hold
    assert CsHistory.select().where(CsHistory.text == "일괄 보류").count() == 2


def test_bulk_ship_refused_for_one_changes_none_and_lists_why(world, agent, app):
    ready, not_ready = new_order(world), new_order(world)
    _invoice(world, ready)
    before = [snapshot(ready.id), snapshot(not_ready.id)]
    response = agent.post("/orders/bulk/ship", headers=HX,
                          data={"ids": [str(ready.id), str(not_ready.id)]})
    body = text(response)
    assert response.status_code == 200 and "HX-Trigger" not in response.headers
    error = engine_error(lambda: orders.perform_bulk("ship", [ready.id, not_ready.id], {},
                                                     ctx(world.agent)))
    assert alerts(body) == [shown(app, error)]
    why = shown(app, orders.refusal(orders.OPERATIONS["ship"], Order.get_by_id(not_ready.id)))
    assert f"<li>#{not_ready.id}: {why}</li>" in body
    assert re.findall(r'name="ids" value="(\d+)"', body) == [str(ready.id), str(not_ready.id)]
    assert [snapshot(ready.id), snapshot(not_ready.id)] == before


def test_bulk_without_selection_is_refused(world, agent):
    new_order(world)
    response = agent.post("/orders/bulk/hold", headers=HX, data={})
    assert response.status_code == 200 and "HX-Trigger" not in response.headers
    assert Order.select().where(Order.hold == True).count() == 0  # noqa: E712


def test_bulk_of_a_missing_order_changes_nothing(world, agent):
    order = new_order(world)
    response = agent.post("/orders/bulk/hold", headers=HX,
                          data={"ids": [str(order.id), "99999"]})
    assert response.status_code in (200, 404) and "HX-Trigger" not in response.headers
    assert not Order.get_by_id(order.id).hold


# --- manual order creation --------------------------------------------------------------

def test_new_order_dialog_has_the_form_and_loads_product_search(world, agent):
    response = agent.get("/orders/new", headers=HX)
    body = text(response)
    assert response.status_code == 200 and "<html" not in body
    assert 'data-dialog="new-order"' in body and 'hx-post="/orders/new"' in body
    for name in ("channel", "order_no", "buyer_name", "recipient_name", "address"):
        assert f'name="{name}"' in body
    assert 'hx-get="/orders/products"' in body and 'hx-trigger="load"' in body
    for channel in (world.st11, world.coupang, world.mall):
        assert f'<option value="{channel.id}"' in body


NEW_ORDER = {"buyer_name": "김민준", "buyer_mobile": "01012345678", "recipient_name": "김민준",
             "recipient_mobile": "01012345678", "zip_code": "06236",
             "address": "서울특별시 강남구 테헤란로 152", "shipping_fee": "3,000",
             "cs_text": "전화 주문"}


def test_new_order_is_created_and_its_panel_shown(world, agent):
    form = dict(NEW_ORDER, channel=world.coupang.id,
                **{"lines-1001-option_id": world.tee_m.id, "lines-1001-quantity": "2",
                   "lines-1001-price": "12,000",
                   "lines-1002-option_id": world.citrus_5.id, "lines-1002-quantity": "1",
                   "lines-1002-price": ""})
    response = agent.post("/orders/new", data=form, headers=HX)
    created = Order.get(Order.buyer_name == "김민준")
    assert_closed_with_panel(response, created.id, "badge state-접수")
    assert created.order_no in text(response)
    assert (created.channel_id, created.buyer_mobile, created.shipping_fee) == (
        world.coupang.id, "010-1234-5678", 3000)
    assert [(l.option_code, l.quantity, l.unit_price) for l in created.lines] == [
        ("30001", 2, 12000), ("30003", 1, 15900)]
    line = CsHistory.get(CsHistory.order == created.id)
    assert (line.operation, line.operator_id, line.text) == ("create", world.agent.id, "전화 주문")


def test_new_order_field_errors_mark_each_field_and_line(world, agent, app):
    form = dict(NEW_ORDER, channel=world.st11.id, buyer_name="", buyer_mobile="전화",
                **{"lines-0-option_id": world.tee_m.id, "lines-0-quantity": "0",
                   "lines-0-price": "12900",
                   "lines-1-option_id": world.citrus_5.id, "lines-1-quantity": "x"})
    response = agent.post("/orders/new", data=form, headers=HX)
    body = text(response)
    assert response.status_code == 200 and "HX-Trigger" not in response.headers
    assert 'data-dialog="new-order"' in body
    raw = {k: v for k, v in form.items() if not k.startswith("lines-")}
    raw["lines"] = [{"option_id": world.tee_m.id, "quantity": "0", "price": "12900"},
                    {"option_id": world.citrus_5.id, "quantity": "x"}]
    error = engine_error(lambda: orders.create_order(raw, ctx(world.agent)))
    for field in ("buyer_name", "buyer_mobile", "lines-0-quantity", "lines-1-quantity"):
        assert field_error(body, field) == shown(app, error.errors[field]), field
    assert 'class="field has-error kind-text" for="f-buyer_name"' in body
    # the picked lines come back with their product, and what was typed stays
    assert body.count('class="line-row"') == 2
    assert "30001" in body and "30003" in body and "제주 감귤" in body
    assert 'name="lines-0-quantity" value="0"' in body
    assert 'name="address" value="서울특별시 강남구 테헤란로 152"' in body
    assert Order.select().count() == 0


def test_new_order_without_products_says_add_one(world, agent, app):
    response = agent.post("/orders/new", data=dict(NEW_ORDER, channel=world.st11.id),
                          headers=HX)
    error = engine_error(lambda: orders.create_order(dict(NEW_ORDER, channel=world.st11.id),
                                                     ctx(world.agent)))
    assert shown(app, error.errors["lines"]) in text(response)
    assert Order.select().count() == 0


def test_new_order_with_unknown_product_and_taken_order_number(world, agent, app):
    new_order(world, order_no="ord100098")
    form = dict(NEW_ORDER, channel=world.st11.id, order_no="ord100098",
                **{"lines-0-option_id": "99999", "lines-0-quantity": "1"})
    body = text(agent.post("/orders/new", data=form, headers=HX))
    assert field_error(body, "lines-0-option_id") or "error" in body
    form["lines-0-option_id"] = world.tee_m.id
    body = text(agent.post("/orders/new", data=form, headers=HX))
    assert field_error(body, "order_no")
    assert Order.select().count() == 1


def test_picked_product_becomes_a_line_row(world, agent):
    response = agent.get("/orders/new/line", query_string={"option_id": world.citrus_5.id,
                                                            "index": 7}, headers=HX)
    body = text(response)
    assert response.status_code == 200
    assert body.strip().startswith('<tr class="line-row">') and "<html" not in body
    assert f'name="lines-7-option_id" value="{world.citrus_5.id}"' in body
    assert 'name="lines-7-quantity" value="1"' in body
    assert 'name="lines-7-price" value="15900"' in body


def test_unknown_or_inactive_product_adds_no_line(world, agent):
    ProductOption.update(active=False).where(ProductOption.id == world.tee_l.id).execute()
    for option_id in ("99999", str(world.tee_l.id), "abc", ""):
        response = agent.get("/orders/new/line", query_string={"option_id": option_id},
                             headers=HX)
        assert response.status_code == 204, option_id


def test_product_search_finds_by_name_option_and_code(world, agent):
    def picks(q):
        body = text(agent.get("/orders/products", query_string={"q": q}, headers=HX))
        return [int(i) for i in re.findall(r'data-pick="(\d+)"', body)]
    assert picks("") == [world.tee_m.id, world.tee_l.id, world.citrus_5.id]
    assert picks("감귤") == [world.citrus_5.id]
    assert picks("화이트 L") == [world.tee_l.id]
    assert picks("30002") == [world.tee_l.id]
    assert picks("P100") == [world.tee_m.id, world.tee_l.id]
    assert picks("없는상품") == []
    body = text(agent.get("/orders/products", query_string={"q": "감귤"}, headers=HX))
    assert 'id="product-search"' in body and 'value="감귤"' in body and "<html" not in body


# --- alarms -----------------------------------------------------------------------------

def test_alarms_show_a_due_hold_alarm_only(world, agent):
    due = new_order(world, recipient_name="장유리")
    later = new_order(world, recipient_name="함정리")
    perform("hold", due, world.agent, alarm_at="2026-03-31T18:00")  # long past by now
    perform("hold", later, world.agent, alarm_at="2999-01-01T09:00")
    body = text(agent.get("/orders/alarms", headers=HX))
    assert f"#{due.id} 장유리" in body and "(03-31 18:00)" in body
    assert f'hx-get="/orders/{due.id}"' in body
    assert f"#{later.id} " not in body


def test_no_alarm_due_renders_nothing(world, agent):
    perform("hold", new_order(world), world.agent)  # held without an alarm
    assert text(agent.get("/orders/alarms", headers=HX)).strip() == ""


# --- the CS operations of issue 6 in the console --------------------------------------------

def _twin(world, **fields):
    raw = dict(recipient_name="이창희", recipient_mobile="010-4139-1550", address="아산시 송죽길 167")
    raw.update(fields)
    return new_order(world, **raw)


def test_panel_proposes_orders_to_combine_and_one_click_combines_them(world, agent):
    a, b, c = _twin(world), _twin(world), _twin(world)
    alone = new_order(world)
    body = text(agent.get(f"/orders/{a.id}", headers=HX))
    proposal = re.search(r'<div class="combine-proposal".*?</div>', body, re.S).group(0)
    assert f"#{b.id}" in proposal and f"#{c.id}" in proposal and f"#{alone.id}" not in proposal
    vals = json.loads(re.search(r"hx-vals='([^']*)'", proposal).group(1).replace("&#34;", '"'))
    assert vals == {"with": f"{b.id},{c.id}", "version": a.version}
    assert 'combine-proposal' not in text(agent.get(f"/orders/{alone.id}", headers=HX))
    response = agent.post(f"/orders/{a.id}/op/combine", data=vals, headers=HX)
    assert_closed_with_panel(response, a.id, 'class="badge combined"')
    assert {Order.get_by_id(o.id).combine_group for o in (a, b, c)} == {a.id}
    body = text(response)
    assert "combine-proposal" not in body  # nothing left to propose
    assert re.search(r'<dd class="group-members">.*#%d.*#%d' % (b.id, c.id), body, re.S)


def test_combine_dialog_lists_the_proposals_and_refuses_another_address(world, agent, app):
    a, b = _twin(world), _twin(world)
    other = new_order(world)
    body = text(agent.get(f"/orders/{a.id}/op/combine", headers=HX))
    assert f'data-with="{b.id}"' in body and f'data-with="{other.id}"' not in body
    before = snapshot(a.id)
    response = agent.post(f"/orders/{a.id}/op/combine", headers=HX,
                          data={"version": a.version, "with": str(other.id)})
    assert "HX-Trigger" not in response.headers
    error = engine_error(lambda: orders.perform("combine", a.id, {"with": str(other.id)},
                                                ctx(world.agent)))
    assert field_error(text(response), "with") == shown(app, error)
    assert snapshot(a.id) == before and Order.get_by_id(other.id).combine_group is None


def test_line_buttons_open_the_partial_dialogs_with_the_line_chosen(world, agent):
    order = new_order(world, lines=[{"option_id": world.tee_m.id, "quantity": 3},
                                    {"option_id": world.citrus_5.id, "quantity": 1}])
    tee, citrus = sorted(order.lines, key=lambda line: line.id)
    body = text(agent.get(f"/orders/{order.id}", headers=HX))
    assert f'data-line-op="partial_cancel" data-line="{citrus.id}"' in body
    assert 'data-line-op="partial_restore"' not in body  # nothing cancelled yet
    dialog = text(agent.get(f"/orders/{order.id}/op/partial_cancel?line_id={citrus.id}",
                            headers=HX))
    assert re.search(rf'<option value="{citrus.id}"\s+selected', dialog)
    assert re.search(rf'<option value="{tee.id}"\s+>', dialog)
    assert 'name="quantity"' in dialog and 'name="reason"' in dialog


def test_partial_cancel_through_the_dialog_shows_the_cancelled_quantity(world, agent, app):
    order = new_order(world, lines=[{"option_id": world.tee_m.id, "quantity": 3}])
    line = order.lines[0]
    too_many = {"version": order.version, "line_id": line.id, "quantity": "4",
                "reason": "반품-불량"}
    response = agent.post(f"/orders/{order.id}/op/partial_cancel", data=too_many, headers=HX)
    assert "HX-Trigger" not in response.headers
    error = engine_error(lambda: orders.perform("partial_cancel", order.id, too_many,
                                                ctx(world.agent)))
    assert field_error(text(response), "quantity") == shown(app, error)
    assert 'value="4"' in text(response)
    response = agent.post(f"/orders/{order.id}/op/partial_cancel", headers=HX,
                          data=dict(too_many, quantity="2"))
    assert_closed_with_panel(response, order.id, "badge cs-부분취소")
    row = re.search(rf'<tr id="line-{line.id}".*?</tr>', text(response), re.S).group(0)
    assert '<span class="cancelled-chip">−2</span>' in row and "12,900" in row
    assert re.search(r'class="num amount">12,900<', row)  # 1 left × 12,900
    assert re.search(r'class="num order-total">12,900<', text(response))


def test_product_dialogs_pick_from_the_product_search(world, agent):
    order = new_order(world)
    body = text(agent.get(f"/orders/{order.id}/op/change_product", headers=HX))
    assert 'name="option_id"' in body and 'id="picked-label"' in body
    assert 'hx-get="/orders/products?mode=pick"' in body
    picker = text(agent.get("/orders/products?mode=pick&q=감귤", headers=HX))
    assert f'data-pick="{world.citrus_5.id}"' in picker and "data-label=" in picker
    assert "hx-get=\"/orders/new/line" not in picker
    assert "/orders/new/line" in text(agent.get("/orders/products?q=감귤", headers=HX))
    # a failed pick keeps the chosen product shown
    response = agent.post(f"/orders/{order.id}/op/add_product", headers=HX,
                          data={"version": order.version, "option_id": world.citrus_5.id,
                                "quantity": "0"})
    assert field_error(text(response), "quantity")
    assert "제주 감귤 · 5kg" in text(response)


def test_priority_dialog_lists_orders_with_the_same_product(world, agent):
    order = new_order(world)
    same = new_order(world, recipient_name="함정리")
    engine_error(lambda: perform("set_priority", same, world.agent))  # no position: refused
    other = new_order(world, lines=[{"option_id": world.citrus_5.id, "quantity": 1}])
    orders.perform("set_priority", same.id, {"position": "top"}, ctx(world.agent2))
    body = text(agent.get(f"/orders/{order.id}/op/set_priority", headers=HX))
    assert f'data-after="{same.id}"' in body and f">{other.id}<" not in body
    assert "함정리" in body and re.search(r'name="position" value="top" checked', body)
    response = agent.post(f"/orders/{order.id}/op/set_priority", headers=HX,
                          data={"version": order.version, "position": "after",
                                "after": str(same.id)})
    assert_closed_with_panel(response, order.id, 'class="badge priority"')
    assert (Order.get_by_id(same.id).priority, Order.get_by_id(order.id).priority) == (2, 1)


def test_console_filters_marks_deleted_and_sorts_by_priority(world, agent):
    old = new_order(world, now=NOW - dt.timedelta(hours=2))
    marked = new_order(world, now=NOW - dt.timedelta(hours=1))
    gone = new_order(world)
    perform("mark_return_expected", marked, world.agent)
    perform("delete", gone, world.agent)
    perform("set_priority", old, world.agent, position="top")
    assert row_ids(text(agent.get("/orders/"))) == [marked.id, old.id]
    assert row_ids(text(agent.get("/orders/?return_expected=1"))) == [marked.id]
    assert row_ids(text(agent.get("/orders/?deleted=1"))) == [gone.id]
    assert row_ids(text(agent.get("/orders/?deleted=all"))) == [gone.id, marked.id, old.id]
    body = text(agent.get("/orders/?sort=priority"))
    assert row_ids(body) == [old.id, marked.id]
    assert re.search(r'<option value="priority"\s+selected', body)
    assert 'class="badge priority"' in body and 'class="badge return-expected"' in body
    assert field_error(text(agent.get("/orders/?sort=x")), "sort")


def test_copy_shows_the_new_order_and_both_histories(world, agent):
    order = new_order(world)
    response = agent.post(f"/orders/{order.id}/op/copy", headers=HX,
                          data={"version": order.version, "option_id": world.citrus_5.id,
                                "quantity": "1"})
    made = Order.select().order_by(Order.id.desc()).first()
    assert_closed_with_panel(response, made.id, None)
    assert str(made.id) in triggers(response)["ruledesk:toast"]
    assert CsHistory.get((CsHistory.order == order.id) & (CsHistory.operation == "copy")
                         ).detail == f"[주문복사] <새 주문 관리번호 : {made.id}>"


def test_pickup_dialog_warns_and_unticks_inbound_after_a_registration(world, agent):
    order = new_order(world)
    _ship(world, order)
    body = text(agent.get(f"/orders/{order.id}/op/pickup", headers=HX))
    assert re.search(r'name="register_inbound" value="1" checked', body)
    assert "data-inbound-done" not in body
    perform("pickup", order, world.agent, courier="CJ대한통운", reason="반품-불량",
            register_inbound=True)
    body = text(agent.get(f"/orders/{order.id}/op/pickup", headers=HX))
    assert 'name="register_inbound"' in body
    assert not re.search(r'name="register_inbound" value="1" checked', body)
    first = pickups.for_order(order.id)[0]
    assert f'data-inbound-done="{first.id}"' in body
    fresh = Order.get_by_id(order.id)
    response = agent.post(f"/orders/{order.id}/op/pickup", headers=HX,
                          data={"version": fresh.version, "courier": "CJ대한통운",
                                "reason": "반품-불량", "register_inbound": "1"})
    assert "HX-Trigger" not in response.headers
    assert field_error(text(response), "register_inbound")
    body = text(agent.get(f"/orders/{order.id}", headers=HX))
    assert 'class="pill pickup-요청"' in body


@pytest.mark.parametrize("name", ["combine", "partial_cancel", "pickup", "set_priority",
                                  "delete", "copy"])
def test_viewer_gets_403_for_the_new_dialogs_and_changes_nothing(world, viewer, name):
    order = new_order(world)
    before = snapshot(order.id)
    assert viewer.get(f"/orders/{order.id}/op/{name}", headers=HX).status_code == 403
    response = viewer.post(f"/orders/{order.id}/op/{name}", headers=HX,
                           data={"version": order.version, "with": "1", "position": "top",
                                 "line_id": order.lines[0].id, "quantity": "1",
                                 "reason": "반품-불량"})
    assert response.status_code == 403
    assert snapshot(order.id) == before and Order.select().count() == 1
