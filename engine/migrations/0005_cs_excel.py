"""Excel: channel column formats, cancel uploads with their results and withdrawals, order
import jobs."""
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

    class User(Base):  # existing tables, referenced only
        id = AutoField()

    class Channel(Base):
        id = AutoField()

    class Order(Base):
        id = AutoField()

    class ExcelFormat(Base):
        id = AutoField()
        channel = ForeignKeyField(Channel, on_delete="CASCADE")
        kind = CharField(max_length=10)
        header_row = IntegerField(default=1)
        columns = JSONField(default=dict)
        options = JSONField(default=dict)
        updated_at = DateTimeField(default=_now)
        updated_by = ForeignKeyField(User, null=True, on_delete="SET NULL")

        class Meta:
            indexes = ((("channel", "kind"), True),)

    class CancelUpload(Base):
        id = AutoField()
        channel = ForeignKeyField(Channel, on_delete="CASCADE")
        filename = CharField(max_length=200)
        status = CharField(max_length=10, default="preview", index=True)
        rows = JSONField(default=list)
        file_error = TextField(default="")
        created_at = DateTimeField(default=_now, index=True)
        created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
        applied_at = DateTimeField(null=True)
        applied_by = ForeignKeyField(User, null=True, on_delete="SET NULL",
                                     backref="applied_cancel_uploads")

    class CancelResult(Base):
        id = AutoField()
        upload = ForeignKeyField(CancelUpload, null=True, on_delete="SET NULL")
        row_no = IntegerField(null=True)
        channel = ForeignKeyField(Channel, on_delete="CASCADE")
        order = ForeignKeyField(Order, null=True, on_delete="SET NULL")
        order_no = CharField(max_length=60)
        action = CharField(max_length=20, index=True)
        quantity = IntegerField(null=True)
        line_label = CharField(max_length=300, default="")
        reason = CharField(max_length=200, default="")
        requested_at = DateTimeField(null=True)
        return_waybill = CharField(max_length=40, default="")
        state_before = CharField(max_length=10, default="")
        applied_at = DateTimeField(default=_now, index=True)
        applied_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
        confirmed = BooleanField(default=False, index=True)
        confirmed_at = DateTimeField(null=True)
        confirmed_by = ForeignKeyField(User, null=True, on_delete="SET NULL",
                                       backref="confirmed_cancel_results")

    class CancelWithdrawal(Base):
        id = AutoField()
        upload = ForeignKeyField(CancelUpload, null=True, on_delete="SET NULL")
        row_no = IntegerField(null=True)
        channel = ForeignKeyField(Channel, on_delete="CASCADE")
        order = ForeignKeyField(Order, null=True, on_delete="SET NULL")
        order_no = CharField(max_length=60)
        cancel_result = ForeignKeyField(CancelResult, null=True, on_delete="SET NULL")
        withdrawn_at = DateTimeField(null=True)
        note = TextField(default="")
        source = CharField(max_length=10, default="upload")
        received_at = DateTimeField(default=_now, index=True)
        received_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
        confirmed = BooleanField(default=False, index=True)
        confirmed_at = DateTimeField(null=True)
        confirmed_by = ForeignKeyField(User, null=True, on_delete="SET NULL",
                                       backref="confirmed_withdrawals")

    class ImportJob(Base):
        id = AutoField()
        channel = ForeignKeyField(Channel, on_delete="CASCADE")
        filename = CharField(max_length=200)
        path = CharField(max_length=500, default="")
        status = CharField(max_length=12, index=True)
        owner = CharField(max_length=200, default="")
        heartbeat_at = DateTimeField(null=True)
        created_at = DateTimeField(default=_now, index=True)
        created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
        finished_at = DateTimeField(null=True)
        summary = JSONField(default=dict)
        problems = JSONField(default=list)
        error = TextField(default="")

    db.create_tables([ExcelFormat, CancelUpload, CancelResult, CancelWithdrawal, ImportJob])
