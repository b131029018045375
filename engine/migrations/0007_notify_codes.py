"""Verification codes for changing a job's result-notification phone (seed 000: 인증 절차)."""
import datetime as dt

from peewee import AutoField, CharField, DateTimeField, ForeignKeyField, IntegerField, Model


def _now():
    return dt.datetime.utcnow().replace(microsecond=0)


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class User(Base):  # existing table, referenced only
        id = AutoField()

    class NotifyCode(Base):
        id = AutoField()
        phone = CharField(max_length=20, index=True)
        salt = CharField(max_length=32)
        code_hash = CharField(max_length=64)
        job_id = IntegerField(null=True)
        requested_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
        created_at = DateTimeField(default=_now, index=True)
        expires_at = DateTimeField()
        attempts = IntegerField(default=0)
        verified_at = DateTimeField(null=True)
        used_at = DateTimeField(null=True)

    db.create_tables([NotifyCode])
