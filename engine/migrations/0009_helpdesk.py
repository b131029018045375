"""The helpdesk (seeds 003, 004): teams, stages, tickets, leaves and after-sales records."""
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

    class User(Base):  # existing tables, referenced only
        id = AutoField()

    class Order(Base):
        id = AutoField()

    class OrderLine(Base):
        id = AutoField()

    class Pickup(Base):
        id = AutoField()

    class MessageTemplate(Base):
        id = AutoField()

    class Team(Base):
        """A helpdesk team (seed 004). ``description`` is public: it heads the team's public form.

        ``visibility``: private (invited internal users) | company (all internal users) |
        public (all internal users, and portal users on the tickets they follow).
        ``assign_method``: tickets (equal number of tickets) | open_tickets (equal open tickets).
        """

        id = AutoField()
        name = CharField(max_length=100, unique=True)
        description = TextField(default="")
        visibility = CharField(max_length=10, default="company")
        auto_assign = BooleanField(default=False)
        assign_method = CharField(max_length=12, default="tickets")
        after_sales = JSONField(default=list)      # enabled: refund, coupon, return, repair, field_service
        sort_order = IntegerField(default=0)
        active = BooleanField(default=True)
        version = IntegerField(default=1)
        updated_at = DateTimeField(default=_now)


    class TeamMember(Base):
        """A member of a team: gets tickets by auto-assignment (none listed = everyone with access)."""

        id = AutoField()
        team = ForeignKeyField(Team, backref="members", on_delete="CASCADE")
        user = ForeignKeyField(User, backref="team_memberships", on_delete="CASCADE")

        class Meta:
            indexes = ((("team", "user"), True),)


    class TeamFollower(Base):
        """Follows every ticket of the team (update notifications); an invited user of a private team."""

        id = AutoField()
        team = ForeignKeyField(Team, backref="followers", on_delete="CASCADE")
        user = ForeignKeyField(User, backref="followed_teams", on_delete="CASCADE")

        class Meta:
            indexes = ((("team", "user"), True),)


    class Stage(Base):
        """A ticket stage; a ticket in a ``folded`` stage is closed. One stage may serve several teams."""

        id = AutoField()
        name = CharField(max_length=60, unique=True)
        description = TextField(default="")
        sort_order = IntegerField(default=0, index=True)
        folded = BooleanField(default=False)
        email_template = ForeignKeyField(MessageTemplate, null=True, on_delete="SET NULL",
                                         backref="email_stages")
        sms_template = ForeignKeyField(MessageTemplate, null=True, on_delete="SET NULL",
                                       backref="sms_stages")
        version = IntegerField(default=1)


    class StageTeam(Base):
        id = AutoField()
        stage = ForeignKeyField(Stage, backref="team_links", on_delete="CASCADE")
        team = ForeignKeyField(Team, backref="stage_links", on_delete="CASCADE")

        class Meta:
            indexes = ((("stage", "team"), True),)


    class Ticket(Base):
        """A helpdesk ticket, linked to an order and a customer so the console and the helpdesk are one.

        ``closed`` mirrors the stage's ``folded`` (and is set by a merge), kept as a column so lists
        and assignment counts are one indexed query. ``needs_assignment`` flags a ticket that
        auto-assignment could give to nobody (everyone on leave).
        """

        id = AutoField()
        team = ForeignKeyField(Team, backref="tickets", on_delete="RESTRICT")
        stage = ForeignKeyField(Stage, null=True, backref="tickets", on_delete="SET NULL")
        subject = CharField(max_length=200)
        description = TextField(default="")
        customer_name = CharField(max_length=100, default="")
        customer_phone = CharField(max_length=30, default="")
        customer_email = CharField(max_length=200, default="")
        order = ForeignKeyField(Order, null=True, backref="tickets", on_delete="SET NULL")
        assignee = ForeignKeyField(User, null=True, backref="assigned_tickets", on_delete="SET NULL")
        needs_assignment = BooleanField(default=False, index=True)
        closed = BooleanField(default=False, index=True)
        closed_at = DateTimeField(null=True)
        merged_into = ForeignKeyField("self", null=True, backref="merged", on_delete="SET NULL")
        source = CharField(max_length=12, default="app")   # app | form | rule | order | inquiry | api
        created_at = DateTimeField(default=_now, index=True)
        created_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="created_tickets")
        updated_at = DateTimeField(default=_now)
        version = IntegerField(default=1)


    class TicketFollower(Base):
        id = AutoField()
        ticket = ForeignKeyField(Ticket, backref="followers", on_delete="CASCADE")
        user = ForeignKeyField(User, backref="followed_tickets", on_delete="CASCADE")

        class Meta:
            indexes = ((("ticket", "user"), True),)


    class TicketMessage(Base):
        """The ticket's conversation and history: ``kind`` reply (to the customer), note (internal)
        or log (what the system and people did: stage moves, assignment, merge, after-sales)."""

        id = AutoField()
        ticket = ForeignKeyField(Ticket, backref="messages", on_delete="CASCADE")
        kind = CharField(max_length=8, default="reply")
        author = ForeignKeyField(User, null=True, on_delete="SET NULL")
        author_name = CharField(max_length=100, default="")
        body = TextField()
        created_at = DateTimeField(default=_now, index=True)


    class Leave(Base):
        """A user's leave (휴가): no auto-assigned tickets from ``start`` through ``end`` (local days)."""

        id = AutoField()
        user = ForeignKeyField(User, backref="leaves", on_delete="CASCADE")
        start = DateField(index=True)
        end = DateField(index=True)
        note = CharField(max_length=200, default="")
        created_at = DateTimeField(default=_now)


    class CreditNote(Base):
        """A refund from a ticket (seed 003 대변전표): partial, or full (which refunds what is left)."""

        id = AutoField()
        ticket = ForeignKeyField(Ticket, backref="credit_notes", on_delete="CASCADE")
        order = ForeignKeyField(Order, backref="credit_notes", on_delete="CASCADE")
        method = CharField(max_length=10)          # partial | full
        amount = IntegerField()
        reason = CharField(max_length=200, default="")
        created_at = DateTimeField(default=_now)
        created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")


    class CouponProgram(Base):
        """A coupon programme (쿠폰 제도): what a coupon is worth and when it may be used."""

        id = AutoField()
        name = CharField(max_length=100, unique=True)
        discount_kind = CharField(max_length=8, default="amount")   # amount | percent
        discount = IntegerField()
        min_order_total = IntegerField(default=0)
        valid_days = IntegerField(default=30)
        product_codes = JSONField(default=list)    # empty = any product
        active = BooleanField(default=True)


    class Coupon(Base):
        id = AutoField()
        program = ForeignKeyField(CouponProgram, backref="coupons", on_delete="RESTRICT")
        code = CharField(max_length=20, unique=True)
        ticket = ForeignKeyField(Ticket, null=True, backref="coupons", on_delete="SET NULL")
        expires_on = DateField()
        created_at = DateTimeField(default=_now)
        created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
        sent_at = DateTimeField(null=True)
        used_at = DateTimeField(null=True)


    class RepairOrder(Base):
        """A repair (수리) of a product of the ticket's order."""

        id = AutoField()
        ticket = ForeignKeyField(Ticket, backref="repairs", on_delete="CASCADE")
        order = ForeignKeyField(Order, null=True, on_delete="SET NULL")
        order_line = ForeignKeyField(OrderLine, null=True, on_delete="SET NULL")
        product_name = CharField(max_length=200)
        description = TextField(default="")
        invoice_method = CharField(max_length=8, default="none")   # before | after | none
        pickup = ForeignKeyField(Pickup, null=True, on_delete="SET NULL")
        status = CharField(max_length=10, default="draft")          # draft | confirmed | done
        created_at = DateTimeField(default=_now)
        created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")


    class FieldTask(Base):
        """A field-service task (현장 서비스) planned from a ticket."""

        id = AutoField()
        ticket = ForeignKeyField(Ticket, backref="field_tasks", on_delete="CASCADE")
        title = CharField(max_length=200)
        planned_on = DateField(null=True)
        assignee = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="field_tasks")
        note = TextField(default="")
        status = CharField(max_length=10, default="planned")         # planned | done
        created_at = DateTimeField(default=_now)
        created_by = ForeignKeyField(User, null=True, on_delete="SET NULL",
                                     backref="created_field_tasks")


    class TicketPickup(Base):
        """A return (회수 pickup) started from a ticket: the smart link between the two."""

        id = AutoField()
        ticket = ForeignKeyField(Ticket, backref="pickup_links", on_delete="CASCADE")
        pickup = ForeignKeyField(Pickup, unique=True, on_delete="CASCADE")

    db.create_tables([Team, TeamMember, TeamFollower, Stage, StageTeam, Ticket, TicketFollower, TicketMessage, Leave, CreditNote, CouponProgram, Coupon, RepairOrder, FieldTask, TicketPickup])
    # a template says which context fills its placeholders: order | ticket | job (a job's result)
    migrator.migrate(migrator.add_column("message_template", "context",
                                         CharField(max_length=8, default="order")))
