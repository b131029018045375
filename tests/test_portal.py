"""Customers (seed 004): the public ticket form of a public team, the portal of a portal user
(only the tickets they follow, replies only), and internal pages closed to them."""
from __future__ import annotations

import re

import pytest

from engine import teams, tickets
from engine.models import Ticket, TicketFollower, TicketMessage, User
from engine.order_core import Context
from tests.conftest import NOW, PASSWORD, make_user

FORM = {"customer_name": "김고객", "customer_email": "kim@example.com",
        "customer_phone": "010-1234-5678", "subject": "배송 문의",
        "description": "주문한 티셔츠가 아직 안 왔어요."}


@pytest.fixture
def desk(world):
    world.portal = make_user("kim@example.com", "portal", "김고객")
    world.other = make_user("lee@example.com", "portal", "이고객")
    world.support = teams.save_team(world.admin, {
        "name": "고객 지원", "visibility": "public",
        "description": "배송·교환·반품 문의를 받습니다.\n평일 09:00–18:00"})
    world.finance = teams.save_team(world.admin, {
        "name": "금융 서비스", "visibility": "private", "description": "내부 전용: 정산 담당 3명"})
    world.office = teams.save_team(world.admin, {"name": "사내", "visibility": "company"})
    return world


def open_ticket(w, team, **raw):
    data = {"team_id": str(team.id), "subject": "교환 문의", "customer_name": "김고객",
            "customer_email": "kim@example.com"}
    data.update(raw)
    return tickets.create_ticket(Context(w.agent, NOW), data)


def text(response) -> str:
    return response.get_data(as_text=True)


# --- the public form --------------------------------------------------------------------------

def test_public_teams_are_listed_and_only_their_form_opens(app, desk):
    client = app.test_client()
    listing = text(client.get("/help/"))
    assert "고객 지원" in listing and "금융 서비스" not in listing and "사내" not in listing
    page = client.get(f"/help/{desk.support.id}")
    assert page.status_code == 200
    body = text(page)
    assert "고객 지원" in body and "평일 09:00–18:00" in body
    for f in tickets.PUBLIC_FIELDS:
        assert f'name="{f.name}"' in body
    assert client.get(f"/help/{desk.finance.id}").status_code == 404
    assert client.get(f"/help/{desk.office.id}").status_code == 404
    assert client.get("/help/9999").status_code == 404
    assert client.post(f"/help/{desk.finance.id}", data=FORM).status_code == 404
    assert not Ticket.select().exists()


def test_public_form_shows_the_public_description_and_nothing_internal(app, desk):
    teams.save_team(desk.admin, {**teams.team_as_data(desk.support), "members": ["agent"],
                                 "followers": ["agent2"]}, desk.support.id)
    body = text(app.test_client().get(f"/help/{desk.support.id}"))
    assert "배송·교환·반품 문의를 받습니다." in body
    assert desk.agent.display_name not in body and desk.agent2.display_name not in body
    assert "/orders/" not in body and "/helpdesk/" not in body   # no internal navigation


def test_anonymous_submit_creates_a_ticket_and_shows_its_number(app, desk):
    client = app.test_client()
    response = client.post(f"/help/{desk.support.id}", data=FORM)
    assert response.status_code == 302
    ticket = Ticket.get()
    assert (ticket.team_id, ticket.source, ticket.subject, ticket.customer_phone) == \
        (desk.support.id, "form", "배송 문의", "01012345678")
    sent = client.get(response.headers["Location"])
    assert sent.status_code == 200 and f"#{ticket.id}" in text(sent)
    # the matching portal user follows it (engine rule), and sees it in the portal
    assert tickets.can_see(desk.portal, ticket)


def test_bad_public_form_says_what_is_wrong_and_creates_nothing(app, desk):
    client = app.test_client()
    response = client.post(f"/help/{desk.support.id}",
                           data={**FORM, "customer_email": "", "customer_phone": "",
                                 "subject": ""})
    assert response.status_code == 422
    body = text(response)
    assert 'class="field has-error' in body and "김고객" in body   # typed values kept
    assert not Ticket.select().exists()
    response = client.post(f"/help/{desk.support.id}",
                           data={**FORM, "customer_email": "", "customer_phone": ""})
    assert response.status_code == 422 and not Ticket.select().exists()


def test_logged_in_portal_user_submitting_follows_the_ticket(app, desk, login):
    client = login("lee@example.com")
    form = text(client.get(f"/help/{desk.support.id}"))
    assert 'value="이고객"' in form and 'value="lee@example.com"' in form
    response = client.post(f"/help/{desk.support.id}",
                           data={**FORM, "customer_name": "이고객",
                                 "customer_email": "other@example.com"})
    assert response.status_code == 302
    ticket = Ticket.get()
    assert TicketFollower.select().where((TicketFollower.ticket == ticket.id)
                                         & (TicketFollower.user == desk.other.id)).exists()
    assert f"/portal/tickets/{ticket.id}" in text(client.get(response.headers["Location"]))


def test_sent_page_without_a_submit_goes_back_to_the_form(app, desk):
    response = app.test_client().get(f"/help/{desk.support.id}/sent")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/help/{desk.support.id}")


@pytest.fixture
def csrf_app(database, database_url, world, tmp_path):
    from app import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "DEMO": False,
                      "SECRET_KEY": "csrf", "WTF_CSRF_ENABLED": True,
                      "MASTER_PASSWORD": PASSWORD})
    app.instance_path = str(tmp_path)
    return app


def test_public_form_needs_its_csrf_token(csrf_app, desk):
    client = csrf_app.test_client()
    page = text(client.get(f"/help/{desk.support.id}"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post(f"/help/{desk.support.id}", data=FORM).status_code == 400
    assert not Ticket.select().exists()
    response = client.post(f"/help/{desk.support.id}", data={**FORM, "csrf_token": token})
    assert response.status_code == 302 and Ticket.select().count() == 1


# --- the portal -------------------------------------------------------------------------------

def test_portal_user_lands_on_the_portal_and_sees_only_followed_tickets(app, desk, login):
    mine = open_ticket(desk, desk.support)
    theirs = open_ticket(desk, desk.support, customer_email="lee@example.com",
                         subject="다른 고객의 문의")
    internal = open_ticket(desk, desk.office, subject="사내 문의")
    client = app.test_client()
    response = client.post("/login", data={"username": "kim@example.com",
                                           "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/portal/"
    home = text(client.get("/portal/"))
    assert "교환 문의" in home and "다른 고객의 문의" not in home and "사내 문의" not in home
    assert client.get(f"/portal/tickets/{mine.id}").status_code == 200
    assert client.get(f"/portal/tickets/{theirs.id}").status_code == 404
    assert client.get(f"/portal/tickets/{internal.id}").status_code == 404
    assert client.post(f"/portal/tickets/{theirs.id}/reply",
                       data={"body": "끼어들기"}).status_code == 404
    assert not TicketMessage.select().where(TicketMessage.body == "끼어들기").exists()


def test_login_of_a_portal_user_never_lands_on_an_internal_page(app, desk):
    client = app.test_client()
    response = client.post("/login?next=/orders/", data={"username": "kim@example.com",
                                                         "password": PASSWORD})
    assert response.headers["Location"] == "/portal/"
    agent = app.test_client().post("/login?next=/orders/", data={"username": "agent",
                                                                 "password": PASSWORD})
    assert agent.headers["Location"] == "/orders/"


def test_portal_ticket_shows_replies_only_and_takes_a_reply(app, desk, login):
    ticket = open_ticket(desk, desk.support)
    agent = Context(desk.agent, NOW)
    tickets.add_message(agent, ticket.id, {"body": "내일 출고됩니다.", "kind": "reply"})
    tickets.add_message(agent, ticket.id, {"body": "창고 재고 확인 필요", "kind": "note"})
    client = login("kim@example.com")
    page = text(client.get(f"/portal/tickets/{ticket.id}"))
    assert "내일 출고됩니다." in page
    assert "창고 재고 확인 필요" not in page        # internal note
    assert "created:" not in page and "assigned:" not in page   # no log
    response = client.post(f"/portal/tickets/{ticket.id}/reply", data={"body": "감사합니다!",
                                                                       "kind": "note"})
    assert response.status_code == 302
    message = TicketMessage.select().order_by(TicketMessage.id.desc()).first()
    assert (message.body, message.kind, message.author_id) == ("감사합니다!", "reply",
                                                               desk.portal.id)
    assert "감사합니다!" in text(client.get(response.headers["Location"]))
    empty = client.post(f"/portal/tickets/{ticket.id}/reply", data={"body": "  "})
    assert empty.status_code == 422 and 'has-error' in text(empty)


def test_portal_user_gets_403_on_internal_pages_and_goes_to_the_portal_from_home(
        app, desk, login):
    ticket = open_ticket(desk, desk.support)
    client = login("kim@example.com")
    home = client.get("/")
    assert home.status_code == 302 and home.headers["Location"] == "/portal/"
    for url in ("/orders/", "/helpdesk/", f"/helpdesk/tickets/{ticket.id}", "/settings/users",
                "/messages/send", "/rules/", "/jobs/", "/returns/", "/helpdesk/coupon-programs",
                f"/helpdesk/tickets/{ticket.id}/aftersales"):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/helpdesk/tickets/{ticket.id}/messages",
                       data={"body": "x", "kind": "note"}).status_code == 403
    page = text(client.get("/portal/"))
    assert "/orders/" not in page and "/helpdesk/" not in page   # no internal top bar


def test_internal_users_are_sent_from_the_portal_to_their_console(app, desk, login):
    response = login("agent").get("/portal/")
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_admin_creates_a_portal_user_in_the_user_settings(app, desk, login):
    admin = login("admin")
    form = text(admin.get("/settings/users/new", headers={"HX-Request": "true"}))
    assert 'value="portal"' in form
    response = admin.post("/settings/users/new", data={
        "username": "park@example.com", "display_name": "박고객", "role": "portal",
        "password": "customer-pass-1", "language": "ko"}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and "closeDialog" in response.headers["HX-Trigger"]
    assert User.get(User.username == "park@example.com").role == "portal"
    ticket = open_ticket(desk, desk.support, customer_email="park@example.com")
    client = app.test_client()
    landed = client.post("/login", data={"username": "park@example.com",
                                         "password": "customer-pass-1"})
    assert landed.headers["Location"] == "/portal/"
    assert f"/portal/tickets/{ticket.id}" in text(client.get("/portal/"))


def test_portal_marks_tickets_with_new_replies_until_the_customer_reads_them(app, world, login):
    from engine import stages, teams, tickets
    from engine.order_core import Context
    from tests.conftest import NOW
    teams.save_team(world.admin, {"name": "공개지원", "visibility": "public"})
    team = teams.Team.get(teams.Team.name == "공개지원")
    stages.save_stage(world.admin, {"name": "접수됨", "teams": ["공개지원"]})
    ticket = tickets.create_ticket(Context(world.agent, NOW), {
        "team_id": str(team.id), "subject": "환불 문의", "customer_name": "고객"})
    tickets.follow(Context(world.agent, NOW), ticket.id, world.portal.id)
    tickets.add_message(Context(world.agent, NOW), ticket.id, {"body": "확인 중입니다", "kind": "reply"})
    tickets.add_message(Context(world.agent, NOW), ticket.id, {"body": "내부 메모", "kind": "note"})
    customer = login("portal")
    assert 'class="badge news"' in customer.get("/portal/").get_data(as_text=True)
    customer.get(f"/portal/tickets/{ticket.id}")
    assert 'class="badge news"' not in customer.get("/portal/").get_data(as_text=True)


def test_customer_follows_the_field_service_visit_in_the_portal(app, world, login):
    """Seed 003: customers with portal access follow field-service tasks like the ticket."""
    from engine import stages, teams, tickets
    from engine.models import FieldTask
    from engine.order_core import Context
    from tests.conftest import NOW
    teams.save_team(world.admin, {"name": "방문수리", "visibility": "public"})
    team = teams.Team.get(teams.Team.name == "방문수리")
    stages.save_stage(world.admin, {"name": "접수", "teams": ["방문수리"]})
    ticket = tickets.create_ticket(Context(world.agent, NOW), {
        "team_id": str(team.id), "subject": "설치 요청", "customer_name": "고객"})
    tickets.follow(Context(world.agent, NOW), ticket.id, world.portal.id)
    FieldTask.create(ticket=ticket, title="에어컨 설치 방문", planned_on=NOW.date())
    page = login("portal").get(f"/portal/tickets/{ticket.id}").get_data(as_text=True)
    assert "에어컨 설치 방문" in page and "2026-03-31" in page


def test_a_bot_filling_the_hidden_field_opens_no_ticket(app, desk):
    client = app.test_client()
    form = {"customer_name": "봇", "customer_email": "bot@example.com", "subject": "광고",
            "description": "싸게 팝니다", "website": "http://spam.example"}
    response = client.post(f"/help/{desk.support.id}", data=form)
    assert response.status_code == 302 and not Ticket.select().exists()
    form.pop("website")
    client.post(f"/help/{desk.support.id}", data=form)
    assert Ticket.select().count() == 1
