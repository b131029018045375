"""Marketplace connectors: a channel's connector type, settings and encrypted credentials;
collected inquiries, invoice pushes and applied claims."""
import datetime as dt

from peewee import (
    AutoField, CharField, DateTimeField, ForeignKeyField, IntegerField, JSONField, Model,
    TextField,
)


def _now():
    return dt.datetime.utcnow().replace(microsecond=0)


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class User(Base):  # existing tables, referenced only
        id = AutoField()

    class Channel(Base):
        id = AutoField()

    class Order(Base):
        id = AutoField()

    class Inquiry(Base):
        id = AutoField()
        channel = ForeignKeyField(Channel, on_delete="CASCADE")
        external_id = CharField(max_length=100)
        kind = CharField(max_length=20, index=True)
        asked_at = DateTimeField(index=True)
        title = CharField(max_length=300, default="")
        body = TextField(default="")
        author = CharField(max_length=100, default="")
        phone = CharField(max_length=30, default="")
        order_no = CharField(max_length=60, default="")
        order = ForeignKeyField(Order, null=True, on_delete="SET NULL")
        product_code = CharField(max_length=40, default="")
        collected_at = DateTimeField(default=_now, index=True)
        ticket_id = IntegerField(null=True, index=True)
        answer = TextField(default="")
        answer_status = CharField(max_length=10, default="none", index=True)
        answer_error = TextField(default="")
        answered_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
        answered_at = DateTimeField(null=True)
        answer_sent_at = DateTimeField(null=True)

        class Meta:
            indexes = ((("channel", "external_id"), True),)

    class InvoicePush(Base):
        id = AutoField()
        order = ForeignKeyField(Order, unique=True, on_delete="CASCADE")
        channel = ForeignKeyField(Channel, on_delete="CASCADE")
        status = CharField(max_length=10, index=True)
        courier = CharField(max_length=60, default="")
        tracking_no = CharField(max_length=40, default="")
        error = TextField(default="")
        attempts = IntegerField(default=0)
        last_attempt_at = DateTimeField(null=True)
        sent_at = DateTimeField(null=True)

    class ClaimReceipt(Base):
        id = AutoField()
        channel = ForeignKeyField(Channel, on_delete="CASCADE")
        key = CharField(max_length=200)
        kind = CharField(max_length=10)
        order = ForeignKeyField(Order, null=True, on_delete="SET NULL")
        order_no = CharField(max_length=60)
        outcome = CharField(max_length=300, default="")
        received_at = DateTimeField(default=_now, index=True)

        class Meta:
            indexes = ((("channel", "key"), True),)

    # a JSON column cannot be added with a default on every store: add it nullable and fill
    # it (NOT NULL afterwards would make SQLite copy the channel table its orders point at)
    migrator.migrate(
        migrator.add_column("channel", "connector", CharField(max_length=30, null=True)),
        migrator.add_column("channel", "connector_settings", JSONField(null=True)),
        migrator.add_column("channel", "credentials", TextField(default="")),
    )

    class ChannelSettings(Base):
        id = AutoField()
        connector_settings = JSONField(null=True)

        class Meta:
            table_name = "channel"

    ChannelSettings.update(connector_settings={}).execute()
    db.create_tables([Inquiry, InvoicePush, ClaimReceipt])
