"""Helpdesk core (seed 004): visibility per setting, both assignment methods with leave,
stages that close and send, merge. Scenarios read like the seed."""
from __future__ import annotations

import datetime as dt

import pytest

from engine import assignment, leaves, stages, teams, tickets
from engine.errors import NotFound, PermissionDenied, StateError, ValidationError
from engine.models import Message, Ticket, TicketFollower, TicketMessage
from engine.order_core import Context
from tests.conftest import NOW, make_user, new_order, open_ticket


def ctx(user=None, now=NOW):
    return Context(user, now)


@pytest.fixture
def desk(desk):
    desk.outsider = make_user("agent3", "agent", "외부인")   # an agent invited nowhere
    return desk


# --- visibility ------------------------------------------------------------------------------

def test_private_team_shows_only_to_invited_users_and_ticket_followers(desk):
    ticket = open_ticket(desk, desk.finance)
    assert tickets.can_see(desk.agent, ticket)            # member
    assert not tickets.can_see(desk.agent2, ticket)       # not invited
    assert tickets.can_see(desk.admin, ticket)            # admins see every team
    with pytest.raises(NotFound):
        tickets.get(ticket.id, desk.agent2)
    assert desk.finance not in list(teams.visible_teams(desk.agent2))
    tickets.follow(ctx(desk.agent), ticket.id, desk.agent2.id)
    assert tickets.can_see(desk.agent2, ticket)           # invited to this ticket only
    other = open_ticket(desk, desk.finance)
    assert not tickets.can_see(desk.agent2, other)
    assert [t.id for t in tickets.visible(desk.agent2).where(Ticket.team == desk.finance.id)] \
        == [ticket.id]


def test_company_team_shows_to_every_internal_user_but_no_portal_user(desk):
    ticket = open_ticket(desk, desk.office)
    for user in (desk.agent, desk.agent2, desk.viewer, desk.outsider):
        assert tickets.can_see(user, ticket)
    assert not tickets.can_see(desk.portal, ticket)       # the email matches, the team is not public
    assert not TicketFollower.select().where(TicketFollower.user == desk.portal.id).exists()


def test_public_team_shows_portal_users_only_the_tickets_they_follow(desk):
    mine = open_ticket(desk, desk.support)                            # kim's email → follows
    theirs = open_ticket(desk, desk.support, customer_email="lee@example.com")
    assert tickets.can_see(desk.portal, mine)
    assert not tickets.can_see(desk.portal, theirs)
    assert tickets.can_see(desk.outsider, theirs)                     # all internal users
    assert [t.id for t in tickets.visible(desk.portal)] == [mine.id]


def test_team_leaving_public_drops_its_portal_followers(desk):
    ticket = open_ticket(desk, desk.support)
    assert tickets.can_see(desk.portal, ticket)
    teams.save_team(desk.admin, {**teams.team_as_data(desk.support), "visibility": "company"},
                    desk.support.id)
    assert not TicketFollower.select().where(TicketFollower.user == desk.portal.id).exists()
    assert not tickets.can_see(desk.portal, ticket)


def test_portal_user_cannot_be_a_member_nor_follow_a_private_team(desk):
    with pytest.raises(ValidationError) as members:
        teams.save_team(desk.admin, {"name": "X", "members": ["kim@example.com"]})
    assert members.value.field == "members"
    with pytest.raises(ValidationError) as followers:
        teams.save_team(desk.admin, {"name": "Y", "visibility": "private",
                                     "followers": ["kim@example.com"]})
    assert followers.value.field == "followers"


def test_viewer_cannot_change_tickets(desk):
    with pytest.raises(PermissionDenied):
        open_ticket(desk, desk.office, actor=desk.viewer)


# --- assignment ------------------------------------------------------------------------------

def test_equal_number_of_tickets_alternates_between_members(desk):
    got = [open_ticket(desk, desk.support).assignee_id for _ in range(4)]
    assert got == [desk.agent.id, desk.agent2.id, desk.agent.id, desk.agent2.id]


def test_member_on_leave_gets_no_tickets(desk):
    leaves.add_leave(desk.admin, {"user": str(desk.agent.id), "start": "2026-03-30",
                                  "end": "2026-04-02"})
    got = {open_ticket(desk, desk.support).assignee_id for _ in range(3)}
    assert got == {desk.agent2.id}


def test_nobody_available_leaves_ticket_unassigned_and_flagged_until_someone_is_back(desk):
    for agent in (desk.agent, desk.agent2):
        leaves.add_leave(desk.admin, {"user": str(agent.id), "start": "2026-03-31",
                                      "end": "2026-03-31"})
    ticket = open_ticket(desk, desk.support)
    assert ticket.assignee_id is None and ticket.needs_assignment
    assert assignment.assign_waiting(NOW) == 0
    assert assignment.assign_waiting(NOW + dt.timedelta(days=1)) == 1
    ticket = Ticket.get_by_id(ticket.id)
    assert ticket.assignee_id in (desk.agent.id, desk.agent2.id) and not ticket.needs_assignment


def test_equal_open_tickets_counts_only_open_ones(desk):
    desk.support.assign_method = "open_tickets"
    desk.support.save()
    first = open_ticket(desk, desk.support)          # agent
    second = open_ticket(desk, desk.support)         # agent2
    assert (first.assignee_id, second.assignee_id) == (desk.agent.id, desk.agent2.id)
    tickets.move_stage(ctx(desk.agent), first.id, desk.done.id)     # agent's ticket closes
    third = open_ticket(desk, desk.support)
    assert third.assignee_id == desk.agent.id        # 0 open vs 1 open
    desk.support.assign_method = "tickets"
    desk.support.save()
    fourth = open_ticket(desk, desk.support)
    assert fourth.assignee_id == desk.agent2.id      # 2 tickets vs 1 ticket in all


def test_empty_member_list_means_everyone_with_access(desk):
    teams.save_team(desk.admin, {"name": "전원", "visibility": "company", "auto_assign": True})
    team = teams.Team.get(teams.Team.name == "전원")
    people = {u.id for u in assignment.candidates(team)}
    assert {desk.agent.id, desk.agent2.id, desk.outsider.id, desk.admin.id} <= people
    assert desk.viewer.id not in people and desk.portal.id not in people


# --- stages ----------------------------------------------------------------------------------

def test_stage_with_sms_template_texts_the_customer_once(desk):
    ticket = open_ticket(desk, desk.support)
    assert ticket.stage_id == desk.new.id
    tickets.move_stage(ctx(desk.agent), ticket.id, desk.doing.id)
    sent = list(Message.select())
    assert len(sent) == 1 and sent[0].to == "01012345678"
    assert sent[0].body == f"김고객님, 문의 {ticket.id} 처리 중입니다."
    tickets.move_stage(ctx(desk.agent), ticket.id, desk.doing.id)   # already there: nothing
    assert Message.select().count() == 1


def test_folded_stage_closes_and_leaving_it_reopens(desk):
    ticket = open_ticket(desk, desk.support)
    ticket = tickets.move_stage(ctx(desk.agent), ticket.id, desk.done.id)
    assert ticket.closed and ticket.closed_at == NOW
    ticket = tickets.move_stage(ctx(desk.agent), ticket.id, desk.doing.id)
    assert not ticket.closed


def test_stage_of_another_team_is_refused(desk):
    lone = stages.save_stage(desk.admin, {"name": "재무 검토", "teams": ["금융 서비스"]})
    ticket = open_ticket(desk, desk.support)
    with pytest.raises(ValidationError):
        tickets.move_stage(ctx(desk.agent), ticket.id, lone.id)


def test_stage_reorder_and_delete_rules(desk):
    stages.reorder(desk.admin, [desk.done.id, desk.new.id, desk.doing.id])
    assert [s.name for s in stages.for_team(desk.support)] == ["해결", "신규", "진행 중"]
    open_ticket(desk, desk.support)
    with pytest.raises(StateError):
        stages.delete_stage(desk.admin, desk.new.id)


# --- conversation, merge ----------------------------------------------------------------------

def test_merge_moves_conversation_followers_and_order_and_closes_the_duplicates(desk):
    order = new_order(desk)
    keep = open_ticket(desk, desk.support)
    dupe = open_ticket(desk, desk.support, order_id=str(order.id),
                       description="두 번째로 문의드려요: 반품하고 싶어요")
    tickets.add_message(ctx(desk.agent), dupe.id, {"body": "교환 원해요", "kind": "note"})
    tickets.follow(ctx(desk.agent), dupe.id, desk.outsider.id)
    kept = tickets.merge(ctx(desk.agent), keep.id, [dupe.id])
    dupe = Ticket.get_by_id(dupe.id)
    assert dupe.closed and dupe.merged_into_id == keep.id
    assert kept.order_id == order.id
    assert TicketMessage.select().where((TicketMessage.ticket == keep.id)
                                        & (TicketMessage.body == "교환 원해요")).exists()
    assert desk.outsider.id in {u.id for u in tickets.followers(kept)}
    request = TicketMessage.get((TicketMessage.ticket == keep.id)
                                & (TicketMessage.kind == "request"))
    assert request.body.endswith("두 번째로 문의드려요: 반품하고 싶어요")   # the customer's words stay
    assert request.author_name == "김고객"
    with pytest.raises(StateError):
        tickets.move_stage(ctx(desk.agent), dupe.id, desk.doing.id)
    with pytest.raises(ValidationError):
        tickets.merge(ctx(desk.agent), keep.id, [keep.id])


def test_public_form_only_for_public_teams(desk):
    with pytest.raises(NotFound):
        tickets.submit_public(desk.office.id, {"customer_name": "a", "subject": "b",
                                               "description": "c",
                                               "customer_email": "a@b.kr"}, NOW)
    with pytest.raises(ValidationError):
        tickets.submit_public(desk.support.id, {"customer_name": "a", "subject": "b",
                                                "description": "c"}, NOW)
    ticket = tickets.submit_public(desk.support.id, {
        "customer_name": "김고객", "subject": "파손", "description": "상자가 찢어져 왔어요",
        "customer_email": "kim@example.com"}, NOW)
    assert ticket.source == "form" and ticket.assignee_id == desk.agent.id
    assert tickets.can_see(desk.portal, ticket)


def test_followers_see_updates_from_others_until_they_look(desk):
    ticket = open_ticket(desk, desk.support)                 # agent got it, and follows it
    tickets.mark_seen(desk.agent, ticket)
    assert tickets.updates(desk.agent) == []
    later = NOW + dt.timedelta(minutes=5)
    tickets.add_message(ctx(desk.agent2, later), ticket.id, {"body": "제가 볼게요", "kind": "note"})
    tickets.add_message(ctx(desk.agent, later), ticket.id, {"body": "네", "kind": "note"})
    news = tickets.updates(desk.agent)
    assert [(t.id, t.update_count) for t in news] == [(ticket.id, 1)]   # not my own note
    assert tickets.updates(desk.portal) == []                           # notes are internal
    tickets.add_message(ctx(desk.agent, later), ticket.id, {"body": "발송했습니다", "kind": "reply"})
    assert [t.id for t in tickets.updates(desk.portal)] == [ticket.id]
    tickets.mark_seen(desk.agent, ticket)
    assert tickets.updates(desk.agent) == []
