"""Scheduled jobs, their runs and change history, closure days, app settings."""
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

    class Job(Base):
        id = AutoField()
        name = CharField(max_length=100, unique=True)
        kind = CharField(max_length=30)
        enabled = BooleanField(default=False)
        weekdays = JSONField(default=list)
        start = CharField(max_length=5, default="09:00")
        end = CharField(max_length=5, default="18:00")
        every_hours = IntegerField(null=True)
        once_a_day = BooleanField(default=False)
        skip_holidays = BooleanField(default=False)
        holiday_country = CharField(max_length=2, default="KR")
        blackouts = JSONField(default=list)
        channels = JSONField(default="all")
        lookback_days = IntegerField(null=True)
        options = JSONField(default=dict)
        notify = JSONField(default=dict)
        missed = CharField(max_length=10, default="run_once")
        next_run_at = DateTimeField(null=True, index=True)
        last_run_at = DateTimeField(null=True)
        last_success_at = DateTimeField(null=True)
        version = IntegerField(default=1)
        updated_at = DateTimeField(default=_now)
        updated_by = ForeignKeyField(User, null=True, on_delete="SET NULL")

    class JobRun(Base):
        id = AutoField()
        job = ForeignKeyField(Job, on_delete="CASCADE")
        scheduled_for = DateTimeField()
        channel = CharField(max_length=100, default="")
        trigger = CharField(max_length=10, default="schedule")
        status = CharField(max_length=12, default="running", index=True)
        started_at = DateTimeField(default=_now, index=True)
        finished_at = DateTimeField(null=True)
        lease_until = DateTimeField(null=True)
        counts = JSONField(default=dict)
        error = TextField(default="")
        detail = TextField(default="")

        class Meta:
            indexes = ((("job", "scheduled_for", "channel", "trigger"), True),)

    class JobChange(Base):
        id = AutoField()
        job_id = IntegerField(index=True)
        job_name = CharField(max_length=100)
        actor = ForeignKeyField(User, null=True, on_delete="SET NULL")
        at = DateTimeField(default=_now, index=True)
        before = JSONField(null=True)
        after = JSONField(null=True)

    class Closure(Base):
        id = AutoField()
        day = DateField(unique=True)
        name = CharField(max_length=60)

    class AppSetting(Base):
        id = AutoField()
        key = CharField(max_length=60, unique=True)
        value = JSONField(null=True)

    db.create_tables([Job, JobRun, JobChange, Closure, AppSetting])
