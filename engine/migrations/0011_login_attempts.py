"""Failed-login throttling (engine/login_guard.py): every login attempt, kept for a day."""
import datetime as dt

from peewee import AutoField, BooleanField, CharField, DateTimeField, Model


def _now():
    return dt.datetime.utcnow().replace(microsecond=0)


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class LoginAttempt(Base):
        id = AutoField()
        username = CharField(max_length=64, index=True)
        address = CharField(max_length=45, index=True)
        at = DateTimeField(default=_now, index=True)
        ok = BooleanField(default=False)

    db.create_tables([LoginAttempt])
