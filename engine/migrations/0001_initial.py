"""Users, API tokens, master data, orders, order lines and CS history."""
import datetime as dt

from peewee import (
    AutoField, BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, Model,
    TextField,
)


def _now():
    return dt.datetime.utcnow().replace(microsecond=0)


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class User(Base):
        id = AutoField()
        username = CharField(max_length=64, unique=True)
        display_name = CharField(max_length=100)
        password_hash = CharField(max_length=255)
        role = CharField(max_length=20)
        language = CharField(max_length=5, default="ko")
        active = BooleanField(default=True)
        created_at = DateTimeField(default=_now)

    class ApiToken(Base):
        id = AutoField()
        user = ForeignKeyField(User, on_delete="CASCADE")
        token_hash = CharField(max_length=64, unique=True)
        created_at = DateTimeField(default=_now)
        last_used_at = DateTimeField(null=True)

    class ChannelGroup(Base):
        id = AutoField()
        name = CharField(max_length=100, unique=True)

    class Channel(Base):
        id = AutoField()
        name = CharField(max_length=100, unique=True)
        group = ForeignKeyField(ChannelGroup, null=True, on_delete="SET NULL")
        active = BooleanField(default=True)

    class Supplier(Base):
        id = AutoField()
        name = CharField(max_length=100, unique=True)
        phone = CharField(max_length=30, default="")
        active = BooleanField(default=True)

    class Product(Base):
        id = AutoField()
        code = CharField(max_length=40, unique=True)
        name = CharField(max_length=200)
        supplier = ForeignKeyField(Supplier, null=True, on_delete="SET NULL")
        active = BooleanField(default=True)

    class ProductOption(Base):
        id = AutoField()
        product = ForeignKeyField(Product, on_delete="CASCADE")
        code = CharField(max_length=40, unique=True)
        name = CharField(max_length=200)
        price_a = IntegerField(default=0)
        price_b = IntegerField(default=0)
        price_c = IntegerField(default=0)
        price_d = IntegerField(default=0)
        price_e = IntegerField(default=0)
        stock = IntegerField(default=0)
        active = BooleanField(default=True)

    class HandlingStatus(Base):
        id = AutoField()
        name = CharField(max_length=60, unique=True)
        color = CharField(max_length=7, default="#6b7280")
        sort_order = IntegerField(default=0)
        active = BooleanField(default=True)

    class Courier(Base):
        id = AutoField()
        name = CharField(max_length=60, unique=True)
        sort_order = IntegerField(default=0)
        active = BooleanField(default=True)

    class CancelReason(Base):
        id = AutoField()
        name = CharField(max_length=60, unique=True)
        sort_order = IntegerField(default=0)
        active = BooleanField(default=True)

    class Order(Base):
        id = AutoField()
        channel = ForeignKeyField(Channel, on_delete="RESTRICT")
        order_no = CharField(max_length=60)
        received_at = DateTimeField(index=True)
        buyer_name = CharField(max_length=100)
        buyer_phone = CharField(max_length=30, default="")
        buyer_mobile = CharField(max_length=30, default="")
        recipient_name = CharField(max_length=100)
        recipient_phone = CharField(max_length=30, default="")
        recipient_mobile = CharField(max_length=30, default="")
        zip_code = CharField(max_length=10, default="")
        address = CharField(max_length=300, default="")
        ship_memo = CharField(max_length=300, default="")
        shipping_fee = IntegerField(default=0)
        state = CharField(max_length=10, default="접수", index=True)
        cs_state = CharField(max_length=10, default="정상", index=True)
        cancel_reason = CharField(max_length=60, null=True)
        hold = BooleanField(default=False, index=True)
        hold_alarm_at = DateTimeField(null=True)
        handling_status = ForeignKeyField(HandlingStatus, null=True, on_delete="SET NULL")
        courier = CharField(max_length=60, null=True)
        tracking_no = CharField(max_length=40, null=True)
        invoiced_at = DateTimeField(null=True)
        shipped_at = DateTimeField(null=True)
        created_at = DateTimeField(default=_now)
        updated_at = DateTimeField(default=_now)
        updated_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
        version = IntegerField(default=1)

        class Meta:
            indexes = ((("channel", "order_no"), True), (("courier", "tracking_no"), True))

    class OrderLine(Base):
        id = AutoField()
        order = ForeignKeyField(Order, on_delete="CASCADE")
        option = ForeignKeyField(ProductOption, null=True, on_delete="SET NULL")
        product_code = CharField(max_length=40)
        product_name = CharField(max_length=200)
        option_code = CharField(max_length=40, default="")
        option_name = CharField(max_length=200, default="")
        quantity = IntegerField()
        unit_price = IntegerField()

    class CsHistory(Base):
        id = AutoField()
        order = ForeignKeyField(Order, on_delete="CASCADE")
        created_at = DateTimeField(default=_now, index=True)
        operator = ForeignKeyField(User, null=True, on_delete="SET NULL")
        operation = CharField(max_length=40, index=True)
        detail = TextField(default="")
        text = TextField(default="")
        processed = BooleanField(default=False, index=True)
        processed_at = DateTimeField(null=True)
        processed_by = ForeignKeyField(User, null=True, on_delete="SET NULL",
                                       backref="processed_history")

    db.create_tables([User, ApiToken, ChannelGroup, Channel, Supplier, Product, ProductOption,
                      HandlingStatus, Courier, CancelReason, Order, OrderLine, CsHistory])
