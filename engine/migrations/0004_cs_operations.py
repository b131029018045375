"""CS operations: combined shipments, partial cancels, priorities, return/exchange marks, soft
delete, pickups and expected inbound stock; a combined group shares one tracking number."""
import datetime as dt

from peewee import (
    AutoField, BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, Model,
)


def _now():
    return dt.datetime.utcnow().replace(microsecond=0)


# A tracking number stays unique per courier for orders shipped alone and for the lead of a
# combined group (combine_group = its own id); the other members share the lead's number.
TRACKING_INDEX = "order_courier_tracking_no_lead"
TRACKING_INDEX_SQL = (
    'CREATE UNIQUE INDEX "%s" ON "order" ("courier", "tracking_no") '
    'WHERE "combine_group" IS NULL OR "combine_group" = "id"' % TRACKING_INDEX)


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class User(Base):  # existing table, referenced only
        id = AutoField()

    class ProductOption(Base):  # existing table, referenced only
        id = AutoField()

    class Order(Base):  # existing table, referenced only
        id = AutoField()

    class OrderLine(Base):  # existing table, referenced only
        id = AutoField()

    class Pickup(Base):
        id = AutoField()
        order = ForeignKeyField(Order, on_delete="CASCADE")
        status = CharField(max_length=10, default="요청", index=True)
        courier = CharField(max_length=60)
        return_tracking_no = CharField(max_length=40, default="")
        reason = CharField(max_length=60)
        register_inbound = BooleanField(default=False)
        requested_at = DateTimeField(index=True)
        received_at = DateTimeField(null=True)
        completed_at = DateTimeField(null=True)
        expected_site = IntegerField(default=0)
        arrived_site = IntegerField(default=0)
        expected_card = IntegerField(default=0)
        arrived_card = IntegerField(default=0)
        expected_bank = IntegerField(default=0)
        arrived_bank = IntegerField(default=0)
        requested_by = ForeignKeyField(User, null=True, on_delete="SET NULL")

    class InboundExpectation(Base):
        id = AutoField()
        pickup = ForeignKeyField(Pickup, on_delete="CASCADE")
        order_line = ForeignKeyField(OrderLine, null=True, unique=True, on_delete="SET NULL")
        option = ForeignKeyField(ProductOption, null=True, on_delete="SET NULL")
        product_code = CharField(max_length=40)
        product_name = CharField(max_length=200)
        option_name = CharField(max_length=200, default="")
        quantity = IntegerField()
        created_at = DateTimeField(default=_now)
        arrived_at = DateTimeField(null=True)

    db.create_tables([Pickup, InboundExpectation])
    migrator.migrate(
        migrator.add_column("order", "combine_group", IntegerField(null=True)),
        migrator.add_column("order", "combine_forbidden", BooleanField(default=False)),
        migrator.add_column("order", "priority", IntegerField(default=0)),
        migrator.add_column("order", "priority_set_at", DateTimeField(null=True)),
        migrator.add_column("order", "priority_set_by_id",
                            ForeignKeyField(User, null=True, field=User.id,
                                            on_delete="SET NULL")),
        migrator.add_column("order", "return_expected", BooleanField(default=False)),
        migrator.add_column("order", "exchange_expected", BooleanField(default=False)),
        migrator.add_column("order", "exchange_type", CharField(max_length=20, null=True)),
        migrator.add_column("order", "deleted", BooleanField(default=False)),
        migrator.add_column("order", "deleted_at", DateTimeField(null=True)),
        migrator.add_column("order_line", "cancelled_qty", IntegerField(default=0)),
        migrator.add_column("channel", "auto_combine", BooleanField(default=False)),
        migrator.add_index("order", ("combine_group",)),
        migrator.add_index("order", ("priority",)),
        migrator.add_index("order", ("return_expected",)),
        migrator.add_index("order", ("exchange_expected",)),
        migrator.add_index("order", ("deleted",)),
        migrator.drop_index("order", "order_courier_tracking_no"),
    )
    db.execute_sql(TRACKING_INDEX_SQL)
