"""Payments and subscriptions on orders; rules, their change history and run log."""
import datetime as dt

from peewee import (
    AutoField, BooleanField, CharField, DateField, DateTimeField, ForeignKeyField, IntegerField,
    JSONField, Model, TextField,
)


def _now():
    return dt.datetime.utcnow().replace(microsecond=0)


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class User(Base):  # existing table, referenced only
        id = AutoField()

    class PaymentStatus(Base):
        id = AutoField()
        name = CharField(max_length=60, unique=True)
        sort_order = IntegerField(default=0)
        active = BooleanField(default=True)

    class PaymentMethod(Base):
        id = AutoField()
        name = CharField(max_length=60, unique=True)
        sort_order = IntegerField(default=0)
        active = BooleanField(default=True)

    class Subscription(Base):
        id = AutoField()
        customer_name = CharField(max_length=100)
        customer_phone = CharField(max_length=30, default="")
        product_name = CharField(max_length=200, default="")
        cycle_days = IntegerField(default=30)
        status = CharField(max_length=10, default="有効", index=True)
        created_at = DateTimeField(default=_now)
        updated_at = DateTimeField(default=_now)
        version = IntegerField(default=1)

    class Rule(Base):
        id = AutoField()
        name = CharField(max_length=100, unique=True)
        enabled = BooleanField(default=True)
        sequence = IntegerField(default=100)
        trigger_record = CharField(max_length=20, default="order")
        trigger_event = CharField(max_length=20)
        trigger_field = CharField(max_length=40, null=True)
        trigger_value = CharField(max_length=100, null=True)
        condition = TextField(default="")
        actions = JSONField(default=list)
        stop_processing = BooleanField(default=False)
        version = IntegerField(default=1)
        updated_at = DateTimeField(default=_now)
        updated_by = ForeignKeyField(User, null=True, on_delete="SET NULL")

    class RuleChange(Base):
        id = AutoField()
        rule_id = IntegerField(index=True)
        rule_name = CharField(max_length=100)
        version = IntegerField()
        change = CharField(max_length=10)
        before = JSONField(null=True)
        after = JSONField(null=True)
        actor = ForeignKeyField(User, null=True, on_delete="SET NULL")
        at = DateTimeField(default=_now, index=True)

    class RuleRun(Base):
        id = AutoField()
        at = DateTimeField(default=_now, index=True)
        rule = ForeignKeyField(Rule, null=True, on_delete="SET NULL")
        rule_name = CharField(max_length=100)
        rule_version = IntegerField()
        record = CharField(max_length=20)
        record_id = IntegerField(index=True)
        event = CharField(max_length=200)
        outcome = CharField(max_length=12, index=True)
        detail = TextField(default="")
        actions = JSONField(default=list)
        cascade = CharField(max_length=32, index=True)
        depth = IntegerField(default=0)

    db.create_tables([PaymentStatus, PaymentMethod, Subscription, Rule, RuleChange, RuleRun])
    migrator.migrate(
        migrator.add_column("order", "payment_status", CharField(max_length=40, null=True)),
        migrator.add_column("order", "payment_method", CharField(max_length=40, null=True)),
        migrator.add_column("order", "shipping_list_exported", BooleanField(default=False)),
        migrator.add_column("order", "delivery_date", DateField(null=True)),
        migrator.add_column("order", "subscription_id",
                            ForeignKeyField(Subscription, null=True, field=Subscription.id,
                                            on_delete="SET NULL")),
        migrator.add_index("order", ("payment_status",)),
    )
