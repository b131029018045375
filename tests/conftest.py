"""Shared fixtures: a fresh store per test (SQLite, or PostgreSQL when
RULEDESK_TEST_DATABASE_URL is set), the app, a small world of master data and users, and
logged-in test clients for every role."""
from __future__ import annotations

import datetime as dt
import os
from types import SimpleNamespace

import pytest
from argon2 import PasswordHasher

from engine import orders, store, users
from engine.models import (
    Channel, ChannelGroup, Product, ProductOption, Supplier, User, db,
)

PASSWORD = "secret-pass-1"
NOW = dt.datetime(2026, 3, 31, 8, 0, 0)  # naive UTC = 17:00 in Seoul

users.use_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    url = os.environ.get("RULEDESK_TEST_DATABASE_URL")
    if url:
        database = store.open_database(url)
        with database.connection_context():
            database.execute_sql("DROP SCHEMA public CASCADE")
            database.execute_sql("CREATE SCHEMA public")
        return url
    return "sqlite:///%s" % (tmp_path_factory.mktemp("store") / "ruledesk.db")


@pytest.fixture
def database(database_url):
    """The store, migrated and empty."""
    database = store.open_store(database_url)
    with database.connection_context():
        store.wipe(database)
    database.connect(reuse_if_open=True)
    yield database
    if not database.is_closed():
        database.close()


@pytest.fixture
def app(database, database_url, tmp_path):
    from app import create_app

    app = create_app({
        "TESTING": True, "DATABASE_URL": database_url, "DEMO": False,
        "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False, "MASTER_PASSWORD": PASSWORD,
    })
    app.instance_path = str(tmp_path)
    database.connect(reuse_if_open=True)
    return app


def make_user(username, role, name=None):
    return User.create(username=username, display_name=name or username, role=role,
                       password_hash=users.hash_password(PASSWORD))


@pytest.fixture
def world(database):
    """Two channel groups, three channels, a supplier, products with options, one user per
    role (the master comes from the app's first start when the app fixture is used)."""
    w = SimpleNamespace()
    open_market = ChannelGroup.create(name="오픈마켓")
    own = ChannelGroup.create(name="자사몰")
    w.st11 = Channel.create(name="11번가", group=open_market)
    w.coupang = Channel.create(name="쿠팡", group=open_market)
    w.mall = Channel.create(name="자사몰", group=own)
    w.supplier = Supplier.create(name="공급처 1")
    w.tee = Product.create(code="P100", name="순면 티셔츠", supplier=w.supplier)
    w.tee_m = ProductOption.create(product=w.tee, code="30001", name="화이트-M", price_a=12900,
                                   price_b=13650, price_c=14400, price_d=15150, price_e=15900)
    w.tee_l = ProductOption.create(product=w.tee, code="30002", name="화이트-L", price_a=12900)
    w.citrus = Product.create(code="P200", name="제주 감귤", supplier=w.supplier)
    w.citrus_5 = ProductOption.create(product=w.citrus, code="30003", name="5kg", price_a=15900)
    from engine import demo
    demo.load_choice_lists()
    w.master = User.get_or_none(User.role == "master") or make_user("master", "master", "마스터")
    w.general_admin = make_user("boss", "general_admin", "총괄")
    w.admin = make_user("admin", "admin", "관리자")
    w.agent = make_user("agent", "agent", "장유리")
    w.agent2 = make_user("agent2", "agent", "함정리")
    w.viewer = make_user("viewer", "viewer", "열람자")
    w.portal = make_user("portal", "portal", "포털 고객")   # a customer (helpdesk portal)
    return w


def new_order(w, channel=None, now=NOW, actor=None, **fields):
    """Create an order through the real operation, the way an agent would."""
    raw = {"channel": str((channel or w.st11).id), "buyer_name": "변다사", "recipient_name": "변다사",
           "recipient_mobile": "010-8985-6279", "zip_code": "50969",
           "address": "경남 김해시 장유로 320 707동 403호",
           "lines": [{"option_id": w.tee_m.id, "quantity": 2}]}
    raw.update(fields)
    return orders.create_order(raw, orders.Context(actor or w.agent, now))


@pytest.fixture
def order(world):
    return new_order(world)


@pytest.fixture
def login(app, world):
    """login("agent") → a test client logged in as that user."""
    def log_in(username):
        client = app.test_client()
        response = client.post("/login", data={"username": username, "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)
        return client
    return log_in


@pytest.fixture
def desk(world):
    """Seed 004's example: a public support team that assigns automatically between two agents,
    a private finance team only "agent" is invited to, and a company-wide team; three stages,
    one that texts the customer, one folded (closed); the portal customer kim@example.com."""
    from engine import stages, teams
    from engine.models import MessageTemplate, SenderNumber
    world.portal = make_user("kim@example.com", "portal", "김고객")
    SenderNumber.create(number="0212345678", label="대표", registered=True)
    world.sms = MessageTemplate.create(name="접수 안내", kind="sms", context="ticket",
                                       body="#{고객명}님, 문의 #{티켓번호} 처리 중입니다.")
    world.support = teams.save_team(world.admin, {
        "name": "고객 지원", "visibility": "public", "auto_assign": True,
        "assign_method": "tickets", "members": ["agent", "agent2"],
        "description": "배송 및 상품 문의"})
    world.finance = teams.save_team(world.admin, {
        "name": "금융 서비스", "visibility": "private", "members": ["agent"]})
    world.office = teams.save_team(world.admin, {"name": "사내", "visibility": "company"})
    names = ["고객 지원", "금융 서비스", "사내"]
    world.new = stages.save_stage(world.admin, {"name": "신규", "teams": names})
    world.doing = stages.save_stage(world.admin, {"name": "진행 중", "teams": names,
                                                   "sms_template": "접수 안내"})
    world.done = stages.save_stage(world.admin, {"name": "해결", "folded": True, "teams": names})
    return world


def open_ticket(w, team, actor=None, **raw):
    """A ticket in ``team`` for kim, opened through the real operation (``actor`` None: the
    system, as the public form or a rule would)."""
    from engine import tickets
    data = {"team_id": str(team.id), "subject": "배송 문의", "customer_name": "김고객",
            "customer_phone": "010-1234-5678", "customer_email": "kim@example.com"}
    data.update(raw)
    return tickets.create_ticket(orders.Context(actor, NOW), data)
