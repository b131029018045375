"""Followers' update notifications: the last message of a ticket each follower has seen."""
from peewee import IntegerField


def up(migrator, db):
    migrator.migrate(migrator.add_column("ticket_follower", "seen_message_id",
                                         IntegerField(null=True)))
