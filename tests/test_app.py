"""First start: store, migrations, master account and the demo data set."""
import datetime as dt
from collections import Counter

from engine import demo, store
from engine.models import (
    Channel, ChannelGroup, CsHistory, Order, OrderLine, Product, ProductOption, User,
)
from engine.users import check_password


def _start(database_url, tmp_path, **config):
    from app import create_app
    settings = {"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "x"}
    settings.update(config)
    app = create_app(settings)
    return app


def test_first_start_creates_master_with_the_given_password(database, database_url, tmp_path):
    _start(database_url, tmp_path, DEMO=False, MASTER_PASSWORD="pass-from-env")
    master = User.get(User.username == "master")
    assert master.role == "master" and check_password(master, "pass-from-env")
    assert Order.select().count() == 0


def test_first_start_prints_a_generated_password_once(database, database_url, tmp_path, capsys):
    _start(database_url, tmp_path, DEMO=False, MASTER_PASSWORD=None)
    printed = capsys.readouterr().err
    password = printed.split("password ")[1].split()[0]
    assert check_password(User.get(User.username == "master"), password)
    _start(database_url, tmp_path, DEMO=False, MASTER_PASSWORD=None)
    assert "password" not in capsys.readouterr().err
    assert User.select().where(User.role == "master").count() == 1


def test_migrations_are_recorded_and_not_reapplied(database):
    assert store.migrate_store(database) == []
    applied = [r[0] for r in database.execute_sql("SELECT name FROM schema_migration")]
    assert "0001_initial" in applied


def test_demo_data_set_has_every_state(database):
    now = dt.datetime(2026, 11, 25, 6, 0)
    demo.load(now)
    assert Channel.select().count() >= 3 and ChannelGroup.select().count() == 2
    assert Product.select().count() == 50
    option = ProductOption.select().first()
    assert 0 < option.price_a < option.price_b < option.price_c < option.price_d < option.price_e
    assert Order.select().count() == 300
    oldest = Order.select().order_by(Order.received_at).first().received_at
    assert now - dt.timedelta(days=31) <= oldest
    kinds = Counter((o.state, o.cs_state, o.hold) for o in Order.select())
    for state in ("접수", "송장", "배송"):
        assert kinds[(state, "정상", False)] > 0
    assert any(cs == "취소" for _, cs, _ in kinds) and any(hold for *_, hold in kinds)
    per_order = Counter(line.order_id for line in OrderLine.select())
    assert set(per_order.values()) <= {1, 2, 3, 4, 5}
    assert {line.quantity for line in OrderLine.select()} <= {1, 2, 3, 4, 5}
    assert CsHistory.select().where(CsHistory.operation == "invoice").count() > 0
    assert len({h.operator_id for h in CsHistory.select() if h.operator_id}) >= 3
    assert Order.select().where(Order.handling_status.is_null(False)).count() > 0


def test_demo_loads_once(database):
    demo.load(dt.datetime(2026, 11, 25), order_count=5)
    demo.load(dt.datetime(2026, 11, 25), order_count=5)
    assert Order.select().count() == 5


def test_old_store_is_migrated_forward_keeping_its_orders(tmp_path):
    """A store made by an older release gains the new tables and columns, data intact."""
    from playhouse.migrations import Runner

    old = store.open_database(f"sqlite:///{tmp_path / 'old.db'}")
    with old.connection_context():
        Runner(old, directory=str(store.MIGRATIONS_DIR)).up(target="0001_initial")
        old.execute_sql('INSERT INTO channel (name, active) VALUES (?, 1)', ("11번가",))
        old.execute_sql('INSERT INTO "order" (channel_id, order_no, received_at, buyer_name, '
                        'recipient_name, state, cs_state, hold, created_at, updated_at, version,'
                        ' buyer_phone, buyer_mobile, recipient_phone, recipient_mobile, zip_code,'
                        ' address, ship_memo, shipping_fee) VALUES (1, ?, ?, ?, ?, ?, ?, 0, ?, ?,'
                        " 1, '', '', '', '', '', '', '', 0)",
                        ("ord100098", "2026-03-31 08:00:00", "변다사", "변다사", "접수", "정상",
                         "2026-03-31 08:00:00", "2026-03-31 08:00:00"))
    migrated = store.open_store(f"sqlite:///{tmp_path / 'old.db'}")
    with migrated.connection_context():
        order = Order.get(Order.order_no == "ord100098")
        assert (order.buyer_email, order.payment_status, order.shipping_list_exported) == (
            "", None, False)
        assert store.migrate_store(migrated) == []


def test_demo_turns_the_ecforce_rules_on_and_they_fire_from_the_console(app):
    """A newcomer's demo: enter an invoice in the console, the preset rules answer."""
    from engine import rules
    from engine.models import Message, Rule, RuleRun
    from tests.conftest import PASSWORD

    demo.load(dt.datetime(2026, 11, 25, 6, 0), order_count=20)
    assert Rule.select().where(Rule.enabled == True).count() == 12  # noqa: E712
    order = Order.select().where((Order.state == "접수") & (Order.cs_state == "정상")
                                 & (Order.hold == False)).first()  # noqa: E712
    client = app.test_client()
    assert client.post("/login", data={"username": "master",
                                       "password": PASSWORD}).status_code == 302
    response = client.post(f"/orders/{order.id}/op/invoice",
                           data={"courier": "CJ대한통운", "tracking_no": "998877665544",
                                 "version": order.version})
    assert response.status_code == 200
    fresh = Order.get_by_id(order.id)
    assert fresh.handling_status.name == "発送完了"
    mail = Message.get(Message.order == order.id)
    assert mail.kind == "EMAIL" and mail.to == order.buyer_email and "998877665544" in mail.body
    assert RuleRun.get(RuleRun.record_id == order.id).outcome == "done"
    rules.forget_index()
