"""Rules (seed 001, ecforce 自動化設定): triggers, conditions, actions, cascades, dry run."""
import datetime as dt

import pytest

from engine import events, orders, rules
from engine.errors import PermissionDenied, ValidationError
from engine.models import (
    CsHistory, HandlingStatus, Message, MessageTemplate, Order, Rule, RuleChange, RuleRun,
    SenderNumber, Subscription,
)
from tests.conftest import NOW, new_order


@pytest.fixture
def engine_on(world):
    rules.forget_index()
    dispatcher = rules.install(clock=lambda: NOW)
    yield dispatcher
    events.unlisten(dispatcher)
    rules.forget_index()


def ctx(user=None, minutes=0):
    return orders.Context(user, NOW + dt.timedelta(minutes=minutes))


def act(name, order, user=None, **raw):
    return orders.perform(name, order.id, raw, ctx(user))


def rule(world, name, event, actions, field=None, value=None, when="", **extra):
    raw = {"name": name, "trigger": {"record": "order", "event": event}, "actions": actions,
           "when": when, **extra}
    if field:
        raw["trigger"]["field"] = field
    if value is not None:
        raw["trigger"]["value"] = value
    return rules.save_rule(world.admin, raw, now=NOW)


def status_of(order):
    fresh = Order.get_by_id(order.id)
    return fresh.handling_status.name if fresh.handling_status_id else None


# --- conditions are checked when saved ----------------------------------------------------

def test_misspelt_field_is_refused_with_a_suggestion(world):
    with pytest.raises(ValidationError) as err:
        rules.compile_condition('paymnet_method == "代金引換"')
    assert err.value.field == "when" and "payment_method" in str(err.value)


def test_type_mismatch_and_syntax_errors_are_refused_with_position(world):
    with pytest.raises(ValidationError):
        rules.compile_condition('state > 3')
    with pytest.raises(ValidationError) as err:
        rules.compile_condition('total > 30000 and and hold')
    assert "position" in err.value.message


@pytest.mark.parametrize("condition", [
    '$range(3000000) == []',
    'recipient_name =~ address',
    'recipient_name =~ "(a+)+$"',
    'address =~ "(x*)*y"',
])
def test_conditions_that_could_hang_are_refused(world, condition):
    with pytest.raises(ValidationError):
        rules.compile_condition(condition)


def test_literal_simple_regex_is_fine(world):
    assert rules.compile_condition('address =~ ".*김해시.*"') is not None


def test_rule_needs_a_known_action_and_field(world):
    with pytest.raises(ValidationError) as err:
        rules.save_rule(world.admin, {"name": "x", "trigger": {"event": "becomes",
                                                                 "field": "secret"},
                                      "actions": [{"type": "explode"}]})
    assert {"field", "value", "actions-0-type"} <= set(err.value.errors)
    assert Rule.select().count() == 0


def test_agents_cannot_change_rules(world):
    with pytest.raises(PermissionDenied):
        rules.save_rule(world.agent, {"name": "x", "trigger": {"event": "created"},
                                      "actions": [{"type": "hold"}]})


# --- triggers ----------------------------------------------------------------------------------

def test_becomes_fires_on_entering_the_value_and_rearms_after_leaving(world, engine_on):
    rule(world, "확정 보류", "becomes", [{"type": "hold"}], field="payment_status",
         value="与信審査エラー")
    order = new_order(world)
    act("set_payment_status", order, payment_status="与信審査エラー")
    assert Order.get_by_id(order.id).hold
    act("release", order)
    act("set_payment_method", order, payment_method="代金引換")   # other field: no firing
    assert not Order.get_by_id(order.id).hold
    act("set_payment_status", order, payment_status="与信審査完了")
    act("set_payment_status", order, payment_status="与信審査エラー")  # re-entered: fires again
    assert Order.get_by_id(order.id).hold
    assert RuleRun.select().where(RuleRun.outcome == "done").count() == 2


def test_tracking_number_set_fires_is_set(world, engine_on):
    rule(world, "발송완료로", "is_set", [{"type": "set_handling_status", "status": "발송완료"}],
         field="tracking_no")
    order = new_order(world)
    act("invoice", order, courier="CJ대한통운", tracking_no="1234")
    assert status_of(order) == "발송완료"


def test_condition_filters_and_only_matching_trigger_rules_run(world, engine_on):
    rule(world, "고액 보류", "created", [{"type": "hold"}], when="total > 30000")
    small = new_order(world)                                           # 2 × 12,900
    big = new_order(world, lines=[{"option_id": world.tee_m.id, "quantity": 3}])
    assert not Order.get_by_id(small.id).hold and Order.get_by_id(big.id).hold


def test_rules_fire_for_bulk_actions_and_the_api_alike(world, engine_on, login):
    rule(world, "출고리스트→발송준비중", "becomes",
         [{"type": "set_handling_status", "status": "발송준비중"}],
         field="shipping_list_exported", value="true")
    a, b = new_order(world), new_order(world)
    orders.perform_bulk("mark_shipping_list_exported", [a.id], {}, ctx(world.agent))
    assert status_of(a) == "발송준비중"
    from app import create_app  # noqa: F401  (the app fixture is not needed: engine level)
    orders.perform("mark_shipping_list_exported", b.id, {}, ctx(world.agent))
    assert status_of(b) == "발송준비중"


# --- cascades ------------------------------------------------------------------------------------

def test_a_rules_change_cascades_into_other_rules(world, engine_on):
    rule(world, "송장→발송완료", "is_set", [{"type": "set_handling_status", "status": "발송완료"}],
         field="tracking_no", order=1)
    rule(world, "발송완료→보류", "becomes", [{"type": "hold"}], field="handling_status",
         value="발송완료", order=2)
    order = new_order(world)
    act("invoice", order, courier="CJ대한통운", tracking_no="555")
    assert status_of(order) == "발송완료" and Order.get_by_id(order.id).hold
    depths = sorted(r.depth for r in RuleRun.select())
    assert depths == [0, 1]


def test_ping_pong_rules_stop_and_the_log_names_them(world, engine_on):
    rule(world, "A", "becomes", [{"type": "set_handling_status", "status": "발송완료"}],
         field="handling_status", value="발송준비중")
    rule(world, "B", "becomes", [{"type": "set_handling_status", "status": "발송준비중"}],
         field="handling_status", value="발송완료")
    order = new_order(world)
    status = HandlingStatus.get(HandlingStatus.name == "발송준비중")
    act("set_handling_status", order, handling_status=str(status.id))
    loop = RuleRun.get(RuleRun.outcome == "loop")
    assert loop.rule_name == "A" and "A → B → A" in loop.detail
    assert RuleRun.select().count() == 3


def test_stop_processing_skips_later_rules(world, engine_on):
    rule(world, "first", "created", [{"type": "write_cs_line", "text": "1"}], order=1, stop=True)
    rule(world, "second", "created", [{"type": "hold"}], order=2)
    order = new_order(world)
    assert not Order.get_by_id(order.id).hold
    assert [r.rule_name for r in RuleRun.select()] == ["first"]


def test_failing_action_shows_in_log_and_on_the_order(world, engine_on):
    rule(world, "웹훅", "created", [{"type": "call_webhook", "url": "http://127.0.0.1:9/",
                                   "timeout": 1}])
    order = new_order(world)
    run = RuleRun.get()
    assert run.outcome == "failed" and "webhook" in run.detail.lower()
    assert CsHistory.select().where((CsHistory.order == order.id)
                                    & (CsHistory.detail.contains("자동화 실패"))).exists()


def test_template_is_sent_once_per_event_rule_and_recipient(world, engine_on):
    SenderNumber.create(number="15881234")
    MessageTemplate.create(name="발송완료", kind="sms",
                           body="#{수령자}님 #{택배사} #{송장번호} 발송되었습니다.")
    rule(world, "발송 문자", "is_set", [{"type": "send_template", "template": "발송완료"}],
         field="tracking_no")
    order = new_order(world)
    act("invoice", order, courier="CJ대한통운", tracking_no="777")
    event = events.Event("order", order.id, events.CHANGED, NOW, None,
                         {"tracking_no": (None, "777")}, key="v2")
    engine_on.run_cascade([event])   # the same event delivered again
    engine_on.run_cascade([event])
    assert Message.select().count() == 1
    assert Message.get().body == "변다사님 CJ대한통운 777 발송되었습니다."


def test_subscription_stops_on_payment_error(world, engine_on):
    sub = Subscription.create(customer_name="변다사")
    order = new_order(world)
    Order.update(subscription=sub).where(Order.id == order.id).execute()
    rule(world, "与信エラー→停止", "becomes",
         [{"type": "set_handling_status", "status": "결제NG"},
          {"type": "set_subscription_status", "status": "停止"}],
         field="payment_status", value="与信審査エラー")
    act("set_payment_status", order, payment_status="与信審査エラー")
    assert Subscription.get_by_id(sub.id).status == "停止" and status_of(order) == "결제NG"


def test_cod_runs_reauthorisation_which_cascades(world, engine_on):
    rule(world, "代引→再オーソリ", "becomes", [{"type": "payment_process", "process": "reauthorize"}],
         field="payment_method", value="代金引換")
    rule(world, "入金待ち→注文確定", "becomes", [{"type": "set_handling_status", "status": "주문확정"}],
         field="payment_status", value="入金待ち")
    order = new_order(world)
    act("set_payment_method", order, payment_method="代金引換")
    fresh = Order.get_by_id(order.id)
    assert fresh.payment_status == "入金待ち" and status_of(order) == "주문확정"


# --- dry run, history, warnings ---------------------------------------------------------------

def test_dry_run_explains_a_non_match_and_changes_nothing(world):
    order = new_order(world)
    raw = {"name": "고액", "trigger": {"event": "created"}, "actions": [{"type": "hold"}],
           "when": 'channel == "11번가" and total > 30000'}
    result = rules.dry_run(raw, order.id, NOW)
    assert not result["matched"] and "total > 30000" in result["reason"]
    assert "25800" in result["reason"]
    raw["when"] = 'channel == "11번가"'
    result = rules.dry_run(raw, order.id, NOW)
    assert result["matched"] and result["changes"] == {"hold": [False, True]}
    assert not Order.get_by_id(order.id).hold and Rule.select().count() == 0


def test_dry_run_shows_the_message_it_would_send(world):
    SenderNumber.create(number="15881234")
    MessageTemplate.create(name="안내", kind="sms", body="#{수령자}님 안내드립니다.")
    order = new_order(world)
    result = rules.dry_run({"name": "x", "trigger": {"event": "created"},
                            "actions": [{"type": "send_template", "template": "안내"}]},
                           order.id, NOW)
    assert result["messages"] == [{"type": "SMS", "to": "01089856279",
                                   "text": "변다사님 안내드립니다."}]
    assert Message.select().count() == 0


def test_every_change_is_kept_and_can_be_reverted(world):
    created = rule(world, "보류", "created", [{"type": "hold"}])
    rules.save_rule(world.admin, {**rules.rule_as_data(created), "when": "total > 1"},
                    created.id, now=NOW)
    change = RuleChange.select().order_by(RuleChange.id.desc()).first()
    assert change.before.get("when") is None and change.after["when"] == "total > 1"
    reverted = rules.revert_change(world.admin, change.id, NOW)
    assert reverted.condition == "" and reverted.version == 3
    assert [c.change for c in RuleChange.select().order_by(RuleChange.id)] == [
        "create", "update", "revert"]


def test_form_warns_about_crowded_and_conflicting_triggers(world):
    rule(world, "A", "becomes", [{"type": "set_handling_status", "status": "발송완료"},
                                 {"type": "hold"}], field="payment_status", value="入金待ち")
    values = rules.validate_rule({"name": "B", "trigger": {"event": "becomes",
                                                            "field": "payment_status",
                                                            "value": "入金待ち"},
                                  "actions": [{"type": "set_handling_status",
                                               "status": "주문확정"}]})
    messages = [m for m, _ in rules.warnings_for(values)]
    assert len(messages) == 2


def test_a_chain_longer_than_eight_is_cut_and_logged(world, engine_on):
    names = [f"단계{i}" for i in range(10)]
    for i, name in enumerate(names):
        HandlingStatus.create(name=name, sort_order=100 + i)
    for i in range(9):
        rule(world, f"R{i}", "becomes", [{"type": "set_handling_status", "status": names[i + 1]}],
             field="handling_status", value=names[i], order=i)
    order = new_order(world)
    first = HandlingStatus.get(HandlingStatus.name == names[0])
    act("set_handling_status", order, handling_status=str(first.id))
    cut = RuleRun.get(RuleRun.outcome == "loop")
    assert cut.depth == rules.MAX_DEPTH and "R0 → R1" in cut.detail and "R7" in cut.detail
    assert status_of(order) == names[8]          # R0…R7 ran, R8 was cut
    assert RuleRun.select().where(RuleRun.outcome == "done").count() == 8


def test_release_action(world, engine_on):
    rule(world, "확정되면 보류 해제", "becomes", [{"type": "release"}], field="payment_status",
         value="与信審査完了")
    order = new_order(world)
    act("hold", order)
    act("set_payment_status", order, payment_status="与信審査完了")
    assert not Order.get_by_id(order.id).hold


def test_webhook_posts_a_signed_body(world, engine_on):
    import hashlib
    import hmac
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    received = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.headers.get("X-Ruledesk-Signature"), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    try:
        rule(world, "웹훅", "created", [{"type": "call_webhook", "secret": "s3cret", "timeout": 5,
                                       "url": f"http://127.0.0.1:{server.server_port}/hook"}])
        order = new_order(world)
        thread.join(5)
    finally:
        server.server_close()
    signature, body = received[0]
    assert signature == "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    payload = json.loads(body)
    assert payload["rule"] == "웹훅" and payload["record"]["id"] == order.id
    assert RuleRun.get().outcome == "done"
