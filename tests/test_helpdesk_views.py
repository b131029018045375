"""The helpdesk screens over HTTP (test client, CSRF off): dashboard, kanban with moves, the
lists with filters and merge, the ticket page and its controls, the new-ticket dialog, and the
tickets of an order on its panel. Scenarios read like seed 004.

Refusals are compared with what the engine raises for the same input, translated the way the
view translates it, so these tests hold in every UI language.
"""
from __future__ import annotations

import json
import re

from flask_babel import force_locale
from markupsafe import escape

from engine import stages, tickets
from engine.errors import ConflictError, EngineError, NotFound, ValidationError
from engine.models import Message, Ticket, TicketFollower, TicketMessage
from engine.order_core import Context
from tests.conftest import NOW, new_order, open_ticket
from views.helpdesk import initials, sentence

HX = {"HX-Request": "true"}


def text(response) -> str:
    return response.get_data(as_text=True)


def shown(app, error: EngineError) -> str:
    """``error`` as the helpdesk shows it to a Korean user (translated, HTML-escaped)."""
    from views.web import translate

    with app.test_request_context(), force_locale("ko"):
        return str(escape(translate(error)))


def trigger(response) -> dict:
    return json.loads(response.headers.get("HX-Trigger") or "{}")


def fresh(ticket) -> Ticket:
    return Ticket.get_by_id(ticket.id)


def card_ids(body: str, stage) -> list[int]:
    """Ticket ids of the cards in one kanban column of a rendered board."""
    column = re.search(r'<section class="kcol[^"]*" id="kcol-%d".*?</section>' % stage.id, body,
                       re.S)
    return [int(i) for i in re.findall(r'id="kcard-(\d+)"', column.group(0))] if column else []


# --- words -----------------------------------------------------------------------------------

def test_initials_read_like_the_team_calls_each_other():
    assert initials("장유리") == "유리"
    assert initials("Kim Lee") == "KL"
    assert initials("sato") == "SA"
    assert initials("") == "?"


def test_history_lines_become_sentences(app):
    with app.test_request_context(), force_locale("en"):
        assert sentence("stage:신규 → 진행 중") == "Moved the ticket from 신규 to 진행 중."
        assert sentence("assigned:장유리 (auto)") == \
            "The ticket was assigned automatically to 장유리."
        assert sentence("unassigned:nobody available").startswith("Nobody in the team")
        assert sentence("message:접수 안내 → 01012345678") == "Sent 접수 안내 to 01012345678."
        assert sentence("follower:-함정리") == "함정리 no longer follows the ticket."
        assert sentence("merged:#3, #4") == "Merged tickets #3, #4 into this one."
        assert sentence("aftersales:return #4 반품-불량") == \
            "Started the return (pickup) #4 반품-불량."
        assert sentence("rule:배송지연 안내 [3:created:v1]") == "Opened by the rule 배송지연 안내."
        assert sentence("refund:12,000") == "refund:12,000"      # unknown kinds as written


# --- dashboard -------------------------------------------------------------------------------

def test_dashboard_shows_a_card_per_visible_team_with_its_counts(app, desk, login):
    open_ticket(desk, desk.support)                       # assigned automatically
    waiting = open_ticket(desk, desk.office)              # no auto-assignment: unassigned
    Ticket.update(needs_assignment=True).where(Ticket.id == waiting.id).execute()
    open_ticket(desk, desk.finance)
    body = text(login("agent2").get("/helpdesk/"))
    assert f'id="team-card-{desk.support.id}"' in body
    assert f'id="team-card-{desk.office.id}"' in body
    assert f'id="team-card-{desk.finance.id}"' not in body    # private, not invited
    office = body.split(f'id="team-card-{desk.office.id}"')[1].split("</article>")[0]
    counts = dict(re.findall(r'data-count="(\w+)"[^>]*>(\d+)<', office))
    assert counts == {"open": "1", "unassigned": "1", "flagged": "1"}
    support = body.split(f'id="team-card-{desk.support.id}"')[1].split("</article>")[0]
    assert dict(re.findall(r'data-count="(\w+)"[^>]*>(\d+)<', support)) == {
        "open": "1", "unassigned": "0", "flagged": "0"}
    assert f'/helpdesk/teams/{desk.support.id}' in support
    assert "data-new-ticket" in body
    assert 'href="/helpdesk/"' in body                      # the nav entry
    assert "data-new-ticket" not in text(login("viewer").get("/helpdesk/"))


# --- kanban ----------------------------------------------------------------------------------

def test_kanban_shows_stages_in_order_with_the_folded_one_collapsed(app, desk, login):
    first = open_ticket(desk, desk.support, order_id=str(new_order(desk).id))
    closed = open_ticket(desk, desk.support)
    tickets.move_stage(Context(desk.agent, NOW), closed.id, desk.done.id)
    body = text(login("agent").get(f"/helpdesk/teams/{desk.support.id}"))
    order = [int(i) for i in re.findall(r'<section class="kcol[^"]*" id="kcol-(\d+)"', body)]
    assert order == [desk.new.id, desk.doing.id, desk.done.id]
    assert card_ids(body, desk.new) == [first.id]
    assert card_ids(body, desk.done) == [closed.id]
    assert re.search(r'class="kcol is-folded" id="kcol-%d"' % desk.done.id, body)
    assert "data-tempfold" in body and "kanban.js" in body
    card = body.split(f'id="kcard-{first.id}"')[0].rsplit("<article", 1)[1] + \
        body.split(f'id="kcard-{first.id}"')[1].split("</article>")[0]
    assert f"/orders/?order={first.order_id}" in card and 'class="avatar"' in card
    assert 'draggable="true"' in card
    # a viewer reads the board but cannot drag
    assert 'draggable="true"' not in text(login("viewer").get(f"/helpdesk/teams/{desk.support.id}"))


def test_kanban_of_a_private_team_is_404_for_an_uninvited_agent(app, desk, login):
    assert login("agent2").get(f"/helpdesk/teams/{desk.finance.id}").status_code == 404
    assert login("agent").get(f"/helpdesk/teams/{desk.finance.id}").status_code == 200
    assert login("agent").get("/helpdesk/teams/9999").status_code == 404


def test_dropping_a_card_moves_the_ticket_and_rerenders_both_columns(app, desk, login):
    ticket = open_ticket(desk, desk.support)
    response = login("agent").post(f"/helpdesk/tickets/{ticket.id}/move", headers=HX,
                                   data={"stage_id": desk.doing.id, "version": ticket.version})
    assert response.status_code == 200
    body = text(response)
    assert body.count('hx-swap-oob="true"') == 2
    assert card_ids(body, desk.doing) == [ticket.id] and card_ids(body, desk.new) == []
    assert fresh(ticket).stage_id == desk.doing.id
    # the stage's SMS template went to the customer's outbox
    sms = Message.get(Message.batch == f"ticket-{ticket.id}")
    assert sms.to == "01012345678" and "김고객님" in sms.body


def test_a_stale_card_is_refused_and_nothing_moves(app, desk, login):
    ticket = open_ticket(desk, desk.support)
    agent = login("agent")
    old_version = ticket.version
    tickets.assign(Context(desk.agent2, NOW), ticket.id, desk.agent2.id)   # someone else
    before = (fresh(ticket).version, TicketMessage.select().count(), Message.select().count())
    response = agent.post(f"/helpdesk/tickets/{ticket.id}/move", headers=HX,
                          data={"stage_id": desk.doing.id, "version": old_version})
    assert response.status_code == 409
    assert trigger(response)["helpdesk:refused"] == shown(
        app, ConflictError("The ticket was changed by someone else; reload it."))
    assert fresh(ticket).stage_id == desk.new.id
    assert (fresh(ticket).version, TicketMessage.select().count(),
            Message.select().count()) == before


def test_a_stage_of_another_team_is_refused(app, desk, login):
    lone = stages.save_stage(desk.admin, {"name": "외부", "teams": ["사내"]})
    ticket = open_ticket(desk, desk.support)
    response = login("agent").post(f"/helpdesk/tickets/{ticket.id}/move", headers=HX,
                                   data={"stage_id": lone.id, "version": ticket.version})
    assert response.status_code == 422
    assert "외부" in trigger(response)["helpdesk:refused"]
    assert fresh(ticket).stage_id == desk.new.id


def test_moving_a_ticket_one_may_not_see_is_404(app, desk, login):
    ticket = open_ticket(desk, desk.finance)
    response = login("agent2").post(f"/helpdesk/tickets/{ticket.id}/move", headers=HX,
                                    data={"stage_id": desk.doing.id, "version": ticket.version})
    assert response.status_code == 404
    assert fresh(ticket).stage_id == desk.new.id


def test_viewer_cannot_move_cards(app, desk, login):
    ticket = open_ticket(desk, desk.office)
    response = login("viewer").post(f"/helpdesk/tickets/{ticket.id}/move", headers=HX,
                                    data={"stage_id": desk.doing.id})
    assert response.status_code == 403
    assert fresh(ticket).stage_id == desk.new.id


def test_settings_users_get_column_reordering_against_the_stages_endpoint(app, desk, login):
    board = text(login("admin").get(f"/helpdesk/teams/{desk.support.id}"))
    if "helpdesk_settings.reorder_stages" in app.view_functions:
        assert 'data-reorder-url="/helpdesk/settings/stages/reorder"' in board
        assert f'data-reorder-id="{desk.new.id}"' in board and "data-reorder-handle" in board
        assert 'data-all-stages="%d,%d,%d"' % (desk.new.id, desk.doing.id, desk.done.id) in board
    agent_board = text(login("agent").get(f"/helpdesk/teams/{desk.support.id}"))
    assert "data-reorder-url" not in agent_board and "data-reorder-handle" not in agent_board


# --- lists -----------------------------------------------------------------------------------

def row_ids(body: str) -> list[int]:
    return [int(i) for i in re.findall(r'id="ticket-row-(\d+)"', body)]


def test_my_tickets_are_those_assigned_to_me_or_followed(app, desk, login):
    mine = open_ticket(desk, desk.support)                          # → agent (auto)
    theirs = open_ticket(desk, desk.support)                        # → agent2
    followed = open_ticket(desk, desk.office)
    tickets.follow(Context(desk.admin, NOW), followed.id, desk.agent.id)
    assert fresh(mine).assignee_id == desk.agent.id
    body = text(login("agent").get("/helpdesk/tickets/mine"))
    assert row_ids(body) == [followed.id, mine.id]
    assert theirs.id not in row_ids(body)


def test_all_tickets_filters_by_team_state_assignee_and_search(app, desk, login):
    a = open_ticket(desk, desk.support, subject="파손 문의")        # → agent
    b = open_ticket(desk, desk.support, customer_name="이영희")     # → agent2
    c = open_ticket(desk, desk.office)                              # unassigned
    d = open_ticket(desk, desk.office)
    tickets.move_stage(Context(desk.agent, NOW), d.id, desk.done.id)
    client = login("agent")
    assert row_ids(text(client.get("/helpdesk/tickets"))) == [c.id, b.id, a.id]
    assert row_ids(text(client.get(f"/helpdesk/tickets?team={desk.office.id}&state=all"))) == \
        [d.id, c.id]
    assert row_ids(text(client.get("/helpdesk/tickets?state=closed"))) == [d.id]
    assert row_ids(text(client.get("/helpdesk/tickets?assignee=none"))) == [c.id]
    assert row_ids(text(client.get(f"/helpdesk/tickets?assignee={desk.agent2.id}"))) == [b.id]
    assert row_ids(text(client.get("/helpdesk/tickets?q=파손"))) == [a.id]
    assert row_ids(text(client.get("/helpdesk/tickets?q=이영희", headers=HX))) == [b.id]
    Ticket.update(needs_assignment=True).where(Ticket.id == c.id).execute()
    assert row_ids(text(client.get("/helpdesk/tickets?assignee=flagged"))) == [c.id]


def test_a_bad_filter_is_shown_and_lists_nothing(app, desk, login):
    open_ticket(desk, desk.support)
    response = login("agent").get("/helpdesk/tickets?state=someday")
    assert response.status_code == 200
    body = text(response)
    assert row_ids(body) == [] and 'class="error"' in body


def test_lists_hide_tickets_of_private_teams_and_paginate(app, desk, login):
    secret = open_ticket(desk, desk.finance)
    app.config["PAGE_SIZE"] = 2
    made = [open_ticket(desk, desk.office) for _ in range(3)]
    client = login("agent2")
    first = text(client.get("/helpdesk/tickets?state=all"))
    assert row_ids(first) == [made[2].id, made[1].id]
    assert secret.id not in row_ids(text(client.get("/helpdesk/tickets?state=all&page=2")))
    assert row_ids(text(client.get("/helpdesk/tickets?state=all&page=2"))) == [made[0].id]
    assert login("agent").get("/helpdesk/tickets?state=all&page=1").status_code == 200


# --- merge -----------------------------------------------------------------------------------

def test_merge_dialog_lists_the_selected_and_merges_into_the_kept_one(app, desk, login):
    keep = open_ticket(desk, desk.support, subject="배송 문의")
    dupe = open_ticket(desk, desk.support, subject="배송 문의 (중복)",
                       order_id=str(new_order(desk).id))
    tickets.add_message(Context(desk.agent, NOW), dupe.id, {"body": "언제 오나요?",
                                                            "kind": "reply"})
    client = login("agent")
    dialog = text(client.get(f"/helpdesk/tickets/merge?ids={keep.id}&ids={dupe.id}", headers=HX))
    assert f'name="keep" value="{keep.id}" checked' in dialog
    assert f'value="{dupe.id}"' in dialog
    response = client.post("/helpdesk/tickets/merge", headers=HX,
                           data={"ids": [keep.id, dupe.id], "keep": str(keep.id)})
    assert response.status_code == 200
    events = trigger(response)
    assert events["helpdesk:ticketsChanged"] and "ruledesk:closeDialog" in events
    assert list(events)[-1] == "ruledesk:closeDialog"
    dupe, keep = fresh(dupe), fresh(keep)
    assert dupe.merged_into_id == keep.id and dupe.closed
    assert keep.order_id == dupe.order_id
    assert TicketMessage.select().where((TicketMessage.ticket == keep.id)
                                        & (TicketMessage.body == "언제 오나요?")).exists()
    # the merged one points at the kept one
    page = text(client.get(f"/helpdesk/tickets/{dupe.id}"))
    assert 'data-banner="merged"' in page and f'href="/helpdesk/tickets/{keep.id}"' in page


def test_merge_needs_two_tickets_and_a_kept_one_among_them(app, desk, login):
    only = open_ticket(desk, desk.support)
    client = login("agent")
    dialog = text(client.get(f"/helpdesk/tickets/merge?ids={only.id}", headers=HX))
    assert 'class="error"' in dialog and 'class="primary"' not in dialog
    response = client.post("/helpdesk/tickets/merge", headers=HX,
                           data={"ids": [only.id], "keep": str(only.id)})
    assert response.status_code == 200 and "HX-Trigger" not in response.headers
    assert shown(app, ValidationError("Choose at least one other ticket to merge.")) in \
        text(response)
    assert fresh(only).merged_into_id is None


def test_merging_a_ticket_one_may_not_see_is_refused_and_changes_nothing(app, desk, login):
    mine = open_ticket(desk, desk.office)
    secret = open_ticket(desk, desk.finance)
    client = login("agent2")
    dialog = text(client.get(f"/helpdesk/tickets/merge?ids={mine.id}&ids={secret.id}",
                             headers=HX))
    assert shown(app, NotFound("Ticket %(id)s does not exist.", id=str(secret.id))) in dialog
    assert f'value="{secret.id}"' not in dialog
    response = client.post("/helpdesk/tickets/merge", headers=HX,
                           data={"ids": [mine.id, secret.id], "keep": str(mine.id)})
    assert "HX-Trigger" not in response.headers
    assert fresh(secret).merged_into_id is None and fresh(mine).version == mine.version
    assert login("viewer").post("/helpdesk/tickets/merge",
                                data={"ids": [mine.id, secret.id],
                                      "keep": str(mine.id)}).status_code == 403


# --- the ticket page -------------------------------------------------------------------------

def test_ticket_page_shows_customer_order_conversation_followers_and_history(app, desk, login):
    order = new_order(desk)
    ticket = open_ticket(desk, desk.support, order_id=str(order.id), description="상자가 찢어짐")
    tickets.add_message(Context(desk.agent, NOW), ticket.id, {"body": "확인 중입니다",
                                                              "kind": "reply"})
    tickets.add_message(Context(desk.agent, NOW), ticket.id, {"body": "창고에 문의",
                                                              "kind": "note"})
    tickets.move_stage(Context(desk.agent, NOW), ticket.id, desk.doing.id)
    body = text(login("agent").get(f"/helpdesk/tickets/{ticket.id}"))
    assert "상자가 찢어짐" in body
    assert re.search(r'class="msg reply" data-kind="reply"', body)
    assert re.search(r'class="msg note" data-kind="note"', body)
    assert f'href="/orders/?order={order.id}&amp;q={order.id}"' in body
    assert "010-1234-5678" in body                        # stored as digits, shown as written
    assert "장유리" in body and "data-follower" in body
    assert f'<option value="{desk.doing.id}" selected' in body
    assert f'<option value="{desk.agent.id}" selected' in body
    assert 'value="auto"' in body
    assert "17:00" in body                               # NOW (08:00 UTC) in Seoul
    assert 'helpdesk/_aftersales.html' not in body
    assert f"/messages/history?batch=ticket-{ticket.id}" in body
    with app.test_request_context(), force_locale("ko"):
        assert str(escape(sentence("stage:신규 → 진행 중"))) in body


def test_ticket_of_a_private_team_is_404_for_the_uninvited(app, desk, login):
    ticket = open_ticket(desk, desk.finance)
    assert login("agent2").get(f"/helpdesk/tickets/{ticket.id}").status_code == 404
    assert login("agent").get(f"/helpdesk/tickets/{ticket.id}").status_code == 200
    assert login("viewer").get(f"/helpdesk/tickets/{ticket.id}").status_code == 404
    for url in (f"/helpdesk/tickets/{ticket.id}/stage", f"/helpdesk/tickets/{ticket.id}/assign",
                f"/helpdesk/tickets/{ticket.id}/messages",
                f"/helpdesk/tickets/{ticket.id}/followers"):
        response = login("agent2").post(url, headers=HX, data={
            "stage_id": desk.doing.id, "assignee": "", "body": "x", "user_id": desk.agent2.id})
        assert response.status_code == 404, url
    assert fresh(ticket).version == ticket.version


def test_stage_select_moves_the_ticket_and_a_stale_one_changes_nothing(app, desk, login):
    ticket = open_ticket(desk, desk.support)
    client = login("agent")
    response = client.post(f"/helpdesk/tickets/{ticket.id}/stage", headers=HX,
                           data={"stage_id": desk.done.id, "version": ticket.version})
    assert response.status_code == 200 and "ruledesk:toast" in trigger(response)
    assert fresh(ticket).closed
    assert 'data-banner="closed"' in text(response)
    stale = client.post(f"/helpdesk/tickets/{ticket.id}/stage", headers=HX,
                        data={"stage_id": desk.doing.id, "version": ticket.version})
    assert stale.status_code == 200 and "HX-Trigger" not in stale.headers
    assert shown(app, ConflictError("The ticket was changed by someone else; reload it.")) in \
        text(stale)
    assert fresh(ticket).stage_id == desk.done.id and fresh(ticket).closed


def test_assignee_select_gives_takes_and_auto_assigns(app, desk, login):
    ticket = open_ticket(desk, desk.office)
    client = login("agent")
    response = client.post(f"/helpdesk/tickets/{ticket.id}/assign", headers=HX,
                           data={"assignee": desk.agent2.id, "version": ticket.version})
    assert response.status_code == 200 and fresh(ticket).assignee_id == desk.agent2.id
    version = fresh(ticket).version
    client.post(f"/helpdesk/tickets/{ticket.id}/assign", headers=HX,
                data={"assignee": "", "version": version})
    assert fresh(ticket).assignee_id is None
    response = client.post(f"/helpdesk/tickets/{ticket.id}/assign", headers=HX,
                           data={"assignee": "auto", "version": fresh(ticket).version})
    assert fresh(ticket).assignee_id is not None
    # someone who cannot work the team is refused by name, nothing changes
    before = fresh(ticket).version
    response = client.post(f"/helpdesk/tickets/{ticket.id}/assign", headers=HX,
                           data={"assignee": desk.viewer.id, "version": before})
    assert "HX-Trigger" not in response.headers and 'data-problem' in text(response)
    assert fresh(ticket).version == before


def test_reply_and_note_are_written_and_an_empty_one_changes_nothing(app, desk, login):
    ticket = open_ticket(desk, desk.support)
    client = login("agent")
    response = client.post(f"/helpdesk/tickets/{ticket.id}/messages", headers=HX,
                           data={"body": "오늘 발송됩니다.", "kind": "reply"})
    assert response.status_code == 200 and "ruledesk:toast" in trigger(response)
    client.post(f"/helpdesk/tickets/{ticket.id}/messages", headers=HX,
                data={"body": "택배사 확인 필요", "kind": "note"})
    kinds = [(m.kind, m.body) for m in TicketMessage.select().where(
        (TicketMessage.ticket == ticket.id) & (TicketMessage.kind != "log"))
        .order_by(TicketMessage.id)]
    assert kinds == [("reply", "오늘 발송됩니다."), ("note", "택배사 확인 필요")]
    # the reply was emailed to the customer, the note was not
    assert Message.select().where((Message.batch == f"ticket-{ticket.id}")
                                  & (Message.channel == "email")).count() == 1
    before = TicketMessage.select().count()
    empty = client.post(f"/helpdesk/tickets/{ticket.id}/messages", headers=HX,
                        data={"body": "  ", "kind": "note"})
    assert empty.status_code == 200 and "HX-Trigger" not in empty.headers
    body = text(empty)
    assert 'class="field kind-textarea has-error"' in body
    assert 'value="note" checked' in body                # what was chosen stays chosen
    assert TicketMessage.select().count() == before


def test_followers_are_added_and_removed(app, desk, login):
    ticket = open_ticket(desk, desk.office)
    client = login("agent")
    client.post(f"/helpdesk/tickets/{ticket.id}/followers", headers=HX,
                data={"user_id": desk.agent2.id})
    assert TicketFollower.select().where((TicketFollower.ticket == ticket.id)
                                         & (TicketFollower.user == desk.agent2.id)).exists()
    body = text(client.post(f"/helpdesk/tickets/{ticket.id}/followers/{desk.agent2.id}/remove",
                            headers=HX))
    assert f'data-follower="{desk.agent2.id}"' not in body
    assert not TicketFollower.select().where((TicketFollower.ticket == ticket.id)
                                             & (TicketFollower.user == desk.agent2.id)).exists()
    # a portal user may only follow tickets of a public team
    refused = client.post(f"/helpdesk/tickets/{ticket.id}/followers", headers=HX,
                          data={"user_id": desk.portal.id})
    assert "HX-Trigger" not in refused.headers and "data-problem" in text(refused)
    assert not TicketFollower.select().where(TicketFollower.user == desk.portal.id).exists()


def test_a_merged_ticket_takes_no_more_messages(app, desk, login):
    keep, dupe = open_ticket(desk, desk.support), open_ticket(desk, desk.support)
    tickets.merge(Context(desk.agent, NOW), keep.id, [dupe.id])
    client = login("agent")
    body = text(client.get(f"/helpdesk/tickets/{dupe.id}"))
    assert 'id="reply-form"' not in body and "disabled" in body
    before = TicketMessage.select().count()
    response = client.post(f"/helpdesk/tickets/{dupe.id}/messages", headers=HX,
                           data={"body": "늦은 답변", "kind": "reply"})
    assert "data-problem" in text(response) and TicketMessage.select().count() == before


def test_viewer_reads_a_ticket_but_changes_nothing(app, desk, login):
    ticket = open_ticket(desk, desk.office)
    viewer = login("viewer")
    body = text(viewer.get(f"/helpdesk/tickets/{ticket.id}"))
    assert 'id="reply-form"' not in body
    for url in (f"/helpdesk/tickets/{ticket.id}/stage", f"/helpdesk/tickets/{ticket.id}/assign",
                f"/helpdesk/tickets/{ticket.id}/messages",
                f"/helpdesk/tickets/{ticket.id}/followers",
                f"/helpdesk/tickets/{ticket.id}/followers/{desk.agent.id}/remove",
                "/helpdesk/tickets/new"):
        assert viewer.post(url, data={"body": "x", "stage_id": desk.doing.id}).status_code == 403
    assert viewer.get("/helpdesk/tickets/new", headers=HX).status_code == 403
    assert fresh(ticket).version == ticket.version


# --- new ticket ------------------------------------------------------------------------------

def test_new_ticket_from_the_helpdesk_goes_to_its_page(app, desk, login):
    client = login("agent")
    dialog = text(client.get(f"/helpdesk/tickets/new?team_id={desk.office.id}", headers=HX))
    assert f'<option value="{desk.office.id}" selected' in dialog
    assert f'<option value="{desk.finance.id}"' in dialog       # agent is invited
    response = client.post("/helpdesk/tickets/new", headers=HX, data={
        "team_id": desk.office.id, "subject": "교환 문의", "customer_name": "박고객",
        "customer_phone": "010-2222-3333"})
    ticket = Ticket.get(Ticket.subject == "교환 문의")
    assert response.headers["HX-Redirect"] == f"/helpdesk/tickets/{ticket.id}"
    assert ticket.source == "app" and ticket.stage_id == desk.new.id
    assert f'<option value="{desk.finance.id}"' not in text(
        login("agent2").get("/helpdesk/tickets/new", headers=HX))


def test_new_ticket_with_bad_input_shows_the_fields_and_makes_nothing(app, desk, login):
    client = login("agent")
    response = client.post("/helpdesk/tickets/new", headers=HX, data={
        "team_id": desk.office.id, "subject": "", "customer_email": "not-an-email",
        "order_id": "99999"})
    assert response.status_code == 200 and "HX-Redirect" not in response.headers
    assert 'class="field has-error kind-text"' in text(response)
    assert Ticket.select().count() == 0
    response = client.post("/helpdesk/tickets/new", headers=HX, data={
        "team_id": desk.office.id, "subject": "문의", "order_id": "99999"})
    assert "has-error" in text(response) and Ticket.select().count() == 0
    # a team one may not see is unknown
    response = login("agent2").post("/helpdesk/tickets/new", headers=HX, data={
        "team_id": desk.finance.id, "subject": "몰래"})
    assert "has-error" in text(response) and Ticket.select().count() == 0


def test_order_panel_lists_its_tickets_and_opens_a_prefilled_ticket(app, desk, login):
    order = new_order(desk, buyer_name="최구매", buyer_mobile="010-7777-8888")
    client = login("agent")
    panel = text(client.get(f"/orders/{order.id}", headers=HX))
    assert f'hx-get="/helpdesk/orders/{order.id}/tickets"' in panel
    listing = text(client.get(f"/helpdesk/orders/{order.id}/tickets", headers=HX))
    assert "data-new-ticket" in listing and "order-ticket-" not in listing
    dialog = text(client.get(f"/helpdesk/tickets/new?order_id={order.id}", headers=HX))
    assert 'name="from_order" value="1"' in dialog and 'value="최구매"' in dialog
    response = client.post("/helpdesk/tickets/new", headers=HX, data={
        "team_id": desk.support.id, "subject": "주문 건 문의", "customer_name": "최구매",
        "customer_phone": "01077778888", "order_id": order.id, "from_order": "1"})
    events = trigger(response)
    assert events["helpdesk:ticketsChanged"] and list(events)[-1] == "ruledesk:closeDialog"
    ticket = Ticket.get(Ticket.order == order.id)
    assert ticket.source == "order" and ticket.customer_phone == "01077778888"
    listing = text(client.get(f"/helpdesk/orders/{order.id}/tickets", headers=HX))
    assert f'id="order-ticket-{ticket.id}"' in listing
    # tickets the user may not see are not listed
    secret = open_ticket(desk, desk.finance, order_id=str(order.id))
    assert f'id="order-ticket-{secret.id}"' not in text(
        login("agent2").get(f"/helpdesk/orders/{order.id}/tickets"))
    assert login("viewer").get(f"/helpdesk/orders/{order.id}/tickets").status_code == 200
    assert "data-new-ticket" not in text(login("viewer").get(f"/helpdesk/orders/{order.id}/tickets"))
    assert client.get("/helpdesk/orders/99999/tickets").status_code == 404


def test_every_helpdesk_route_is_guarded_by_read_or_operate(app):
    seen = {rule.endpoint: getattr(app.view_functions[rule.endpoint], "required_capability",
                                   None)
            for rule in app.url_map.iter_rules() if rule.endpoint.startswith("helpdesk.")}
    reads = {"helpdesk.index", "helpdesk.kanban", "helpdesk.all_tickets",
             "helpdesk.my_tickets", "helpdesk.ticket_page", "helpdesk.order_tickets", "helpdesk.updates"}
    assert {e for e, c in seen.items() if c == "read"} == reads
    assert set(seen.values()) == {"read", "operate"}


def test_followers_get_an_update_badge_until_they_open_the_ticket(app, world, login):
    """Seed 004: followers of a ticket get its updates: the top bar counts the followed tickets
    with news from someone else; opening the ticket reads them."""
    import datetime as dt
    from engine import teams
    teams.save_team(world.admin, {"name": "업데이트팀", "visibility": "company"})
    team = teams.Team.get(teams.Team.name == "업데이트팀")
    stages.save_stage(world.admin, {"name": "신규 접수", "teams": ["업데이트팀"]})
    ticket = tickets.create_ticket(Context(world.agent, NOW), {
        "team_id": str(team.id), "subject": "택배 분실", "customer_name": "고객"})
    agent = login("agent")
    agent.get(f"/helpdesk/tickets/{ticket.id}")
    assert 'class="badge news"' not in agent.get("/helpdesk/").get_data(as_text=True)
    tickets.add_message(Context(world.agent2, dt.datetime.utcnow().replace(microsecond=0)), ticket.id,
                        {"body": "택배사에 확인 요청했습니다", "kind": "note"})
    page = agent.get("/helpdesk/updates").get_data(as_text=True)
    assert "택배 분실" in page and 'class="badge news">1<' in page
    agent.get(f"/helpdesk/tickets/{ticket.id}")
    page = agent.get("/helpdesk/updates").get_data(as_text=True)
    assert "택배 분실" not in page and 'class="badge news"' not in page
