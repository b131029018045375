"""Sender numbers, message templates, macros, recipient consent, messages; buyer email."""
import datetime as dt

from peewee import (
    AutoField, BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, JSONField,
    Model, TextField,
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

    class Order(Base):  # existing table, referenced only
        id = AutoField()

    class SenderNumber(Base):
        id = AutoField()
        number = CharField(max_length=11, unique=True)
        label = CharField(max_length=60, default="")
        registered = BooleanField(default=True)
        created_at = DateTimeField(default=_now)

    class MessageTemplate(Base):
        id = AutoField()
        name = CharField(max_length=100, unique=True)
        kind = CharField(max_length=10)
        subject = CharField(max_length=200, default="")
        body = TextField()
        html_body = TextField(default="")
        is_ad = BooleanField(default=False)
        alimtalk_code = CharField(max_length=60, null=True)
        approval = CharField(max_length=10, default="approved")
        buttons = JSONField(default=list)
        fallback_text = TextField(default="")
        active = BooleanField(default=True)
        updated_at = DateTimeField(default=_now)

    class Macro(Base):
        id = AutoField()
        name = CharField(max_length=60, unique=True)
        body = TextField()
        created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
        created_at = DateTimeField(default=_now)

    class RecipientConsent(Base):
        id = AutoField()
        phone = CharField(max_length=20, unique=True)
        night_ads = BooleanField(default=False)
        updated_at = DateTimeField(default=_now)

    class Message(Base):
        id = AutoField()
        idempotency_key = CharField(max_length=200, unique=True)
        batch = CharField(max_length=64, index=True)
        channel = CharField(max_length=10)
        kind = CharField(max_length=10)
        status = CharField(max_length=10, index=True)
        provider = CharField(max_length=20)
        sender = CharField(max_length=200, default="")
        to = CharField(max_length=200, index=True)
        subject = CharField(max_length=200, default="")
        body = TextField()
        html = TextField(default="")
        bytes = IntegerField(default=0)
        is_ad = BooleanField(default=False)
        template = ForeignKeyField(MessageTemplate, null=True, on_delete="SET NULL")
        order = ForeignKeyField(Order, null=True, on_delete="SET NULL")
        operator = ForeignKeyField(User, null=True, on_delete="SET NULL")
        fallback_of = ForeignKeyField("self", null=True, on_delete="SET NULL")
        requested_at = DateTimeField(default=_now, index=True)
        send_after = DateTimeField(default=_now, index=True)
        lease_until = DateTimeField(null=True)
        attempts = IntegerField(default=0)
        sent_at = DateTimeField(null=True)
        provider_id = CharField(max_length=100, null=True)
        carrier_result = CharField(max_length=200, default="")
        error = TextField(default="")

    db.create_tables([SenderNumber, MessageTemplate, Macro, RecipientConsent, Message])
    migrator.migrate(migrator.add_column("order", "buyer_email", CharField(max_length=200,
                                                                          default="")))
