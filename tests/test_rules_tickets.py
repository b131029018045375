"""Rules on helpdesk tickets (seed 004 with seed 001's rules): ticket triggers, ticket actions,
order rules that open tickets, and the cascade between them."""
from __future__ import annotations

import pytest

from engine import events, rules, stages, teams, tickets
from engine.errors import ValidationError
from engine.models import (
    Message, MessageTemplate, RuleRun, SenderNumber, Ticket, TicketMessage,
)
from engine.order_core import Context
from tests.conftest import NOW, new_order


@pytest.fixture
def desk(world):
    SenderNumber.create(number="0212345678", label="대표")
    world.sms = MessageTemplate.create(name="진행 안내", kind="sms", context="ticket",
                                       body="#{고객명}님, 문의 #{티켓번호} 처리 중입니다.")
    world.job_sms = MessageTemplate.create(name="작업 결과", kind="sms", context="job",
                                           body="#{작업명} #{결과}")
    world.support = teams.save_team(world.admin, {
        "name": "고객 지원", "visibility": "company", "members": ["agent", "agent2"]})
    world.finance = teams.save_team(world.admin, {"name": "정산", "visibility": "company"})
    world.new = stages.save_stage(world.admin, {"name": "신규", "teams": ["고객 지원", "정산"]})
    world.doing = stages.save_stage(world.admin, {"name": "진행 중", "teams": ["고객 지원"],
                                                   "sms_template": "진행 안내"})
    world.done = stages.save_stage(world.admin, {"name": "해결", "folded": True,
                                                  "teams": ["고객 지원"]})
    rules.install(lambda: NOW)
    yield world
    for listener in list(events._listeners):
        events.unlisten(listener)
    rules.forget_index()


def open_ticket(w, team=None, **raw):
    data = {"team_id": str((team or w.support).id), "subject": "배송 문의",
            "customer_name": "김고객", "customer_phone": "010-1234-5678"}
    data.update(raw)
    return tickets.create_ticket(Context(w.agent, NOW), data)


def test_a_new_ticket_of_a_team_is_assigned_by_a_rule(desk):
    rules.save_rule(None, {"name": "지원팀 → 장유리", "when": 'team == "고객 지원"',
                           "trigger": {"record": "ticket", "event": "created"},
                           "actions": [{"type": "assign_ticket", "user": "agent"}]})
    mine = open_ticket(desk)
    other = open_ticket(desk, desk.finance)
    assert Ticket.get_by_id(mine.id).assignee_id == desk.agent.id
    assert Ticket.get_by_id(other.id).assignee_id is None
    run = RuleRun.get(RuleRun.record == "ticket", RuleRun.record_id == mine.id)
    assert run.outcome == "done" and "장유리" in run.actions[0]["result"]


def test_cascade_created_rule_moves_the_ticket_and_the_stage_entered_rule_fires(desk):
    rules.save_rule(None, {"name": "접수 즉시 진행", "order": 10,
                           "trigger": {"record": "ticket", "event": "created"},
                           "actions": [{"type": "move_ticket_stage", "stage": "진행 중"}]})
    rules.save_rule(None, {"name": "진행 중이면 담당 배정", "order": 20,
                           "trigger": {"record": "ticket", "event": "stage_entered",
                                       "value": "진행 중"},
                           "actions": [{"type": "assign_ticket", "user": "agent2"}]})
    rules.save_rule(None, {"name": "해결되면 아무것도", "order": 30,
                           "trigger": {"record": "ticket", "event": "stage_entered",
                                       "value": "해결"},
                           "actions": [{"type": "assign_ticket", "user": "agent"}]})
    ticket = open_ticket(desk)
    ticket = Ticket.get_by_id(ticket.id)
    assert ticket.stage_id == desk.doing.id and ticket.assignee_id == desk.agent2.id
    fired = {r.rule_name: r.depth for r in RuleRun.select().where(RuleRun.record_id == ticket.id)}
    assert fired == {"접수 즉시 진행": 0, "진행 중이면 담당 배정": 1}
    # the stage's SMS template went to the customer, filled from the ticket
    sms = Message.get(Message.to == "01012345678")
    assert sms.body == f"김고객님, 문의 {ticket.id} 처리 중입니다."


def test_stage_entered_without_a_stage_fires_on_every_stage(desk):
    rules.save_rule(None, {"name": "단계마다 웹훅 대신 배정",
                           "trigger": {"record": "ticket", "event": "stage_entered"},
                           "actions": [{"type": "assign_ticket", "user": "agent"}]})
    ticket = open_ticket(desk)          # enters 신규 on creation
    assert Ticket.get_by_id(ticket.id).assignee_id == desk.agent.id


def test_an_unknown_stage_in_the_trigger_is_refused(desk):
    with pytest.raises(ValidationError) as caught:
        rules.validate_rule({"name": "x", "trigger": {"record": "ticket",
                                                      "event": "stage_entered",
                                                      "value": "없는 단계"},
                             "actions": [{"type": "assign_ticket", "user": "auto"}]})
    assert caught.value.field == "value"


def test_order_actions_are_refused_on_a_ticket_rule_with_a_clear_message(desk):
    with pytest.raises(ValidationError) as caught:
        rules.validate_rule({"name": "x", "trigger": {"record": "ticket", "event": "created"},
                             "actions": [{"type": "hold"}]})
    error = caught.value.errors["actions-0-type"]
    assert "orders" in error.render() and "assign_ticket" in error.render()
    with pytest.raises(ValidationError) as caught:
        rules.validate_rule({"name": "y", "trigger": {"record": "order", "event": "created"},
                             "actions": [{"type": "move_ticket_stage", "stage": "해결"}]})
    assert "tickets" in caught.value.errors["actions-0-type"].render()


def test_a_ticket_rule_cannot_watch_an_order_field(desk):
    with pytest.raises(ValidationError) as caught:
        rules.validate_rule({"name": "x", "trigger": {"record": "ticket", "event": "becomes",
                                                      "field": "payment_status",
                                                      "value": "x"},
                             "actions": [{"type": "assign_ticket", "user": "auto"}]})
    assert caught.value.field == "field"
    with pytest.raises(ValidationError) as caught:
        rules.validate_rule({"name": "x", "trigger": {"record": "ticket", "event": "created"},
                             "when": "total > 3",
                             "actions": [{"type": "assign_ticket", "user": "auto"}]})
    assert caught.value.field == "when"


def test_order_rule_opens_one_ticket_per_event_with_the_order_number(desk):
    rule = rules.save_rule(None, {
        "name": "취소 → 티켓", "trigger": {"record": "order", "event": "becomes",
                                         "field": "cs_state", "value": "취소"},
        "actions": [{"type": "create_ticket", "team": "고객 지원",
                     "subject": "취소 확인 #{주문번호}"}]})
    order = new_order(desk)
    from engine import orders
    orders.perform("cancel", order.id, {"reason": "취소-분실"}, orders.Context(desk.agent, NOW))
    made = list(Ticket.select().where(Ticket.order == order.id))
    assert len(made) == 1
    ticket = made[0]
    assert ticket.subject == f"취소 확인 {order.order_no}" and ticket.source == "rule"
    assert ticket.customer_name == order.buyer_name and ticket.team_id == desk.support.id
    # the same event fired again (a retried dispatch) opens nothing new
    event = events.Event("order", order.id, events.CHANGED, NOW, None,
                         {"cs_state": ("정상", "취소")}, key=f"v{orders.get(order.id).version}")
    runs = rules.Dispatcher(lambda: NOW).run_cascade([event])
    assert [r.outcome for r in runs if r.rule_id == rule.id] == ["done"]
    assert "already" in runs[0].actions[0]["result"]
    assert Ticket.select().where(Ticket.order == order.id).count() == 1


def test_create_ticket_checks_its_subject_placeholders_when_saved(desk):
    with pytest.raises(ValidationError) as caught:
        rules.validate_rule({"name": "x", "trigger": {"record": "order", "event": "created"},
                             "actions": [{"type": "create_ticket", "team": "고객 지원",
                                          "subject": "문의 #{티켓번호}"}]})
    assert "#{티켓번호}" in caught.value.render()


def test_send_template_on_a_ticket_rule_fills_the_ticket(desk):
    rules.save_rule(None, {"name": "접수 문자",
                           "trigger": {"record": "ticket", "event": "created"},
                           "actions": [{"type": "send_template", "template": "진행 안내"}]})
    ticket = open_ticket(desk, customer_phone="010-5555-6666")
    sms = Message.get(Message.to == "01055556666")
    assert sms.body == f"김고객님, 문의 {ticket.id} 처리 중입니다."


def test_templates_of_another_context_are_refused_for_a_rule(desk):
    with pytest.raises(ValidationError) as caught:
        rules.validate_rule({"name": "x", "trigger": {"record": "order", "event": "created"},
                             "actions": [{"type": "send_template", "template": "진행 안내"}]})
    assert "tickets" in caught.value.render() or "티켓" in caught.value.render()
    with pytest.raises(ValidationError):
        rules.validate_rule({"name": "x", "trigger": {"record": "ticket", "event": "created"},
                             "actions": [{"type": "send_template", "template": "작업 결과"}]})


def test_a_failing_ticket_action_is_written_on_the_ticket(desk):
    rules.save_rule(None, {"name": "엉뚱한 단계",
                           "trigger": {"record": "ticket", "event": "created"},
                           "when": 'team == "정산"',
                           "actions": [{"type": "move_ticket_stage", "stage": "해결"}]})
    ticket = open_ticket(desk, desk.finance)   # 해결 is not a stage of 정산
    assert Ticket.get_by_id(ticket.id).stage_id == desk.new.id
    assert TicketMessage.select().where((TicketMessage.ticket == ticket.id)
                                        & TicketMessage.body.startswith("rule_failed:")).exists()
    assert RuleRun.get(RuleRun.record_id == ticket.id).outcome == "failed"


def test_dry_run_on_a_ticket_changes_nothing(desk):
    ticket = open_ticket(desk)
    raw = {"name": "미리보기", "trigger": {"record": "ticket", "event": "stage_entered",
                                          "value": "신규"},
           "when": 'stage == "신규" and not closed',
           "actions": [{"type": "move_ticket_stage", "stage": "진행 중"},
                       {"type": "assign_ticket", "user": "agent"}]}
    result = rules.dry_run(raw, ticket.id, NOW)
    assert result["matched"] and result["record"] == "ticket"
    assert result["changes"]["stage"] == ["신규", "진행 중"]
    assert result["changes"]["assignee"] == ["", "장유리"]
    assert [m["to"] for m in result["messages"]] == ["01012345678"]
    again = Ticket.get_by_id(ticket.id)
    assert again.stage_id == desk.new.id and again.assignee_id is None
    assert not Message.select().exists()
    miss = rules.dry_run({**raw, "when": 'team == "정산"'}, ticket.id, NOW)
    assert not miss["matched"] and "team" in miss["reason"]


def test_rule_form_offers_ticket_triggers_and_actions(app, desk, login):
    client = login("admin")
    page = client.get("/rules/trigger?record=ticket&event=stage_entered",
                      headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'value="stage_entered"' in page and "진행 중" in page
    assert 'value="move_ticket_stage"' in page and 'value="hold"' not in page
    response = client.post("/rules/new", data={
        "name": "진행 중 → 배정", "order": "10", "record": "ticket", "event": "stage_entered",
        "value": "진행 중", "enabled": "1", "actions-0-type": "assign_ticket",
        "actions-0-user": "auto"})
    assert response.status_code == 302, response.get_data(as_text=True)
    rule = rules.rule_as_data(rules.Rule.get(rules.Rule.name == "진행 중 → 배정"))
    assert rule["trigger"] == {"record": "ticket", "event": "stage_entered", "value": "진행 중"}
    refused = client.post("/rules/new", data={
        "name": "보류", "order": "10", "record": "ticket", "event": "created", "enabled": "1",
        "actions-0-type": "hold"})
    assert refused.status_code == 422
