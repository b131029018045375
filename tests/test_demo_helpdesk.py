"""The helpdesk demo data: every stage shows up, some tickets sit on shipped orders, the
portal customer follows their own tickets, one agent is on leave; loaded twice, nothing new."""
from __future__ import annotations

from peewee import fn

from engine import demo, demo_messages
from engine.demo_helpdesk import load_helpdesk_demo
from engine.order_core import SHIPPED
from engine.models import (
    CouponProgram, Order, Leave, Message, Stage, Team, Ticket, TicketFollower, TicketMessage, User,
)
from tests.conftest import NOW


def load(now=NOW):
    demo.load(now, None, order_count=60)
    demo_messages.load_message_demo(now, None, history=False)
    load_helpdesk_demo(now, None)


def test_demo_has_two_teams_four_stages_and_worked_tickets(database):
    load()
    support, finance = Team.get(Team.name == "고객 지원"), Team.get(Team.name == "정산/금융")
    assert support.visibility == "public" and support.auto_assign
    assert support.assign_method == "open_tickets" and support.members.count() == 2
    assert finance.visibility == "private"
    assert [s.name for s in Stage.select().order_by(Stage.sort_order)] == [
        "신규", "진행 중", "고객 회신 대기", "해결"]
    assert Stage.get(Stage.name == "진행 중").sms_template.context == "ticket"
    assert Stage.get(Stage.name == "해결").email_template.kind == "email"
    count = Ticket.select().count()
    assert 30 <= count <= 36
    in_stage = dict(Ticket.select(Ticket.stage, fn.COUNT(Ticket.id)).group_by(Ticket.stage)
                    .tuples())
    assert len(in_stage) == 4                       # every stage has tickets
    assert Ticket.select().join(Order).where(Order.state == SHIPPED).count() >= 5
    assert TicketMessage.select().where(TicketMessage.kind == "reply").exists()
    portal = User.get(User.role == "portal")
    assert "@" in portal.username
    assert TicketFollower.select().where(TicketFollower.user == portal.id).exists()
    assert Leave.select().count() == 1
    assert CouponProgram.select().count() == 1
    assert Message.select().where(Message.body.contains("상담원이 확인하고")).exists()


def test_loading_twice_adds_nothing_and_is_deterministic(database):
    load()
    first = [(t.subject, t.stage_id, t.assignee_id, t.order_id) for t in
             Ticket.select().order_by(Ticket.id)]
    counts = (Ticket.select().count(), TicketMessage.select().count(), Team.select().count(),
              Stage.select().count(), Leave.select().count(), User.select().count())
    load_helpdesk_demo(NOW, None)
    assert counts == (Ticket.select().count(), TicketMessage.select().count(),
                      Team.select().count(), Stage.select().count(), Leave.select().count(),
                      User.select().count())
    Ticket.delete().execute()   # a fresh ticket store fills the same way again
    load_helpdesk_demo(NOW, None)
    again = [(t.subject, t.stage_id, t.assignee_id, t.order_id) for t in
             Ticket.select().order_by(Ticket.id)]
    assert [row[0] for row in again] == [row[0] for row in first]
    assert [row[3] for row in again] == [row[3] for row in first]
