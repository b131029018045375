"""Products, their options and price tiers, and suppliers (상품 / 공급처).

A product is saved together with its option rows in one transaction: every problem of the
product and of each row is collected first ("Option row 2: price C must be a whole number.")
and nothing is written unless all of it is right. Order lines keep a snapshot of code, name
and price, so products and options are deactivated rather than deleted once they were sold.

Boolean fields follow form semantics: an absent ``active`` means false.
"""
from __future__ import annotations

from dataclasses import replace

from peewee import IntegrityError, JOIN, fn

from engine.errors import EngineError, NotFound, StateError, ValidationError
from engine.models import OrderLine, Product, ProductOption, Supplier, db
from engine.schema import Field, parse
from engine.text import N_
from engine.users import require

NO_SUPPLIER = "none"
MAX_PRICE = 100_000_000
MAX_STOCK = 9_999_999
MAX_OPTIONS = 200


MAX_ID = 2**31 - 1


def require_settings(actor) -> None:
    """People need the "settings" capability; the system itself (actor None) always may."""
    if actor is not None:
        require(actor, "settings")


def as_id(value) -> int | None:
    """A record id from a URL or form value, or None when it cannot be one (never a 500)."""
    text = str(value).strip()
    if text.isascii() and text.isdigit() and 0 < int(text) <= MAX_ID:
        return int(text)
    return None


def _active_choices():
    return [("1", N_("Active")), ("0", N_("Inactive"))]


def _all_errors(errors: dict) -> ValidationError:
    """The first error, carrying every field error so a form can mark them all."""
    first = next(iter(errors.values()))
    first.errors = dict(errors)
    return first


# --- option search (the order dialog's 상품 검색) --------------------------------------------

def search_options(keyword: str = "", include_inactive: bool = False):
    """Options matching a product name, option name or code (seed: 상품 검색 dialog)."""
    query = (ProductOption.select(ProductOption, Product, Supplier)
             .join(Product).join(Supplier, JOIN.LEFT_OUTER)
             .order_by(Product.code, ProductOption.code))
    if not include_inactive:
        query = query.where((Product.active == True) & (ProductOption.active == True))  # noqa: E712
    for word in (keyword or "").split():
        like = f"%{word}%"
        query = query.where((Product.name ** like) | (ProductOption.name ** like)
                            | (Product.code ** like) | (ProductOption.code ** like))
    return query


# --- suppliers (공급처) ----------------------------------------------------------------------

SUPPLIER_FIELDS = [
    Field("name", N_("Supplier name"), required=True, max_length=100),
    Field("phone", N_("Phone"), kind="phone", max_length=30, placeholder="02-123-4567"),
    Field("active", N_("Active"), kind="bool"),
]

SUPPLIER_SEARCH_FIELDS = [
    Field("q", N_("Supplier name"), max_length=100),
    Field("active", N_("Status"), kind="choice", choices=_active_choices),
]


def parse_supplier_search(raw: dict) -> dict:
    return parse(SUPPLIER_SEARCH_FIELDS, {k: v for k, v in raw.items() if v not in (None, "")})


def suppliers(filters: dict | None = None):
    """Suppliers by name, each with the number of its products."""
    filters = filters or {}
    count = fn.COUNT(Product.id)
    query = (Supplier.select(Supplier, count.alias("product_count"))
             .join(Product, JOIN.LEFT_OUTER).group_by(Supplier.id).order_by(Supplier.name))
    if filters.get("active"):
        query = query.where(Supplier.active == (filters["active"] == "1"))
    for word in (filters.get("q") or "").split():
        query = query.where(Supplier.name ** f"%{word}%")
    return query


def get_supplier(supplier_id) -> Supplier:
    supplier = Supplier.get_or_none(Supplier.id == as_id(supplier_id))
    if supplier is None:
        raise NotFound(N_("Supplier %(id)s does not exist."), id=supplier_id)
    return supplier


def _check_supplier_name(name: str, supplier_id: int | None = None) -> None:
    query = Supplier.select().where(fn.LOWER(Supplier.name) == name.lower())
    if supplier_id is not None:
        query = query.where(Supplier.id != supplier_id)
    if query.exists():
        raise ValidationError(N_("A supplier named %(name)s already exists."), "name", name=name)


def save_supplier(actor, supplier_id, raw: dict) -> Supplier:
    """Add a supplier (``supplier_id`` None) or change one."""
    require_settings(actor)
    values = parse(SUPPLIER_FIELDS, raw)
    try:
        with db.atomic():
            supplier = get_supplier(supplier_id) if supplier_id is not None else Supplier()
            _check_supplier_name(values["name"], supplier.id)
            for name, value in values.items():
                setattr(supplier, name, value)
            supplier.save()
            return supplier
    except IntegrityError:
        raise ValidationError(N_("A supplier named %(name)s already exists."), "name",
                              name=values["name"])


# --- products ---------------------------------------------------------------------------------

def _supplier_choices(current_id: int | None = None):
    """Active suppliers, plus the product's current one even when it was deactivated."""
    query = Supplier.select().order_by(Supplier.name)
    if current_id:
        query = query.where((Supplier.active == True) | (Supplier.id == current_id))  # noqa: E712
    else:
        query = query.where(Supplier.active == True)  # noqa: E712
    return [(str(s.id), s.name) for s in query]


def _supplier_filter_choices():
    return ([(str(s.id), s.name) for s in Supplier.select().order_by(Supplier.name)]
            + [(NO_SUPPLIER, N_("(no supplier)"))])


SUPPLIER_FIELD = Field("supplier", N_("Supplier"), kind="choice", choices=_supplier_choices)

PRODUCT_FIELDS = [
    Field("code", N_("Product code"), required=True, max_length=40),
    Field("name", N_("Product name"), required=True, max_length=200),
    SUPPLIER_FIELD,
    Field("active", N_("Active"), kind="bool"),
]

PRICE_LABELS = {"a": N_("Price A"), "b": N_("Price B"), "c": N_("Price C"), "d": N_("Price D"),
                "e": N_("Price E")}

OPTION_FIELDS = [
    Field("id", N_("Option"), kind="ref"),
    Field("code", N_("Option code"), required=True, max_length=40),
    Field("name", N_("Option name"), required=True, max_length=200),
    *[Field(f"price_{tier}", PRICE_LABELS[tier], kind="int", min=0, max=MAX_PRICE)
      for tier in ProductOption.PRICE_TIERS],
    Field("stock", N_("Stock"), kind="int", min=-MAX_STOCK, max=MAX_STOCK),
    Field("active", N_("Active"), kind="bool"),
]

PRODUCT_SEARCH_FIELDS = [
    Field("q", N_("Product name or code"), max_length=100,
          placeholder=N_("Product name, product or option code")),
    Field("supplier", N_("Supplier"), kind="choice", choices=_supplier_filter_choices),
    Field("active", N_("Status"), kind="choice", choices=_active_choices),
]


def product_fields(product: Product | None = None) -> list[Field]:
    """The product fields, with the supplier choices this product may have."""
    current = product.supplier_id if product is not None else None
    supplier = replace(SUPPLIER_FIELD, choices=lambda: _supplier_choices(current))
    return [supplier if f.name == "supplier" else f for f in PRODUCT_FIELDS]


def parse_product_search(raw: dict) -> dict:
    return parse(PRODUCT_SEARCH_FIELDS, {k: v for k, v in raw.items() if v not in (None, "")})


def search_products(filters: dict):
    """Products matching parsed ``filters`` by code, with option count, price A range, stock."""
    query = (Product.select(Product, Supplier,
                            fn.COUNT(ProductOption.id).alias("option_count"),
                            fn.MIN(ProductOption.price_a).alias("price_min"),
                            fn.MAX(ProductOption.price_a).alias("price_max"),
                            fn.SUM(ProductOption.stock).alias("stock_total"))
             .join(ProductOption, JOIN.LEFT_OUTER).switch(Product)
             .join(Supplier, JOIN.LEFT_OUTER)
             .group_by(Product.id, Supplier.id)
             .order_by(Product.code))
    supplier = filters.get("supplier")
    if supplier == NO_SUPPLIER:
        query = query.where(Product.supplier.is_null())
    elif supplier:
        query = query.where(Product.supplier == int(supplier))
    if filters.get("active"):
        query = query.where(Product.active == (filters["active"] == "1"))
    for word in (filters.get("q") or "").split():
        like = f"%{word}%"
        in_options = (ProductOption.select(ProductOption.product)
                      .where((ProductOption.code ** like) | (ProductOption.name ** like)))
        query = query.where((Product.code ** like) | (Product.name ** like)
                            | Product.id.in_(in_options))
    return query




def get_product(product_id) -> Product:
    product = (Product.select(Product, Supplier).join(Supplier, JOIN.LEFT_OUTER)
               .where(Product.id == as_id(product_id)).first())
    if product is None:
        raise NotFound(N_("Product %(id)s does not exist."), id=product_id)
    return product


def options_of(product: Product) -> list[ProductOption]:
    return list(ProductOption.select().where(ProductOption.product == product.id)
                .order_by(ProductOption.id))


def used_option_ids(option_ids) -> set[int]:
    """The options among ``option_ids`` that appear on an order line."""
    ids = [i for i in option_ids if i]
    if not ids:
        return set()
    return {line.option_id for line in OrderLine.select(OrderLine.option)
            .where(OrderLine.option.in_(ids)).distinct()}


class RowError(ValidationError):
    """A problem in one option row, named by its position: "Option row 2: price C must …"."""

    def __init__(self, row: int, cause: EngineError, field: str):
        self.row, self.cause = row, cause
        super().__init__(N_("Option row %(row)d: %(problem)s"), field, row=row,
                         problem=_lower_first(cause.render()))

    def render(self, gettext=lambda s: s) -> str:
        return gettext(self.message) % {"row": self.row,
                                        "problem": _lower_first(self.cause.render(gettext))}


def _lower_first(text: str) -> str:
    """ "Price C must …" → "price C must …" (left alone for "SKU …" and scripts without case)."""
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        return text[0].lower() + text[1:]
    return text


def _parse_each(fields, raw, errors: dict, key=lambda name: name, wrap=lambda err, key: err):
    """Parse field by field: the good values come back even when others are wrong, so that
    a good code is still checked against the store and every problem is reported at once."""
    values = {}
    for f in fields:
        try:
            values.update(parse([f], raw if isinstance(raw, dict) else {}))
        except ValidationError as exc:
            for name, err in exc.errors.items():
                errors[key(name)] = wrap(err, key(name))
    return values


def _parse_rows(raw_rows, errors: dict) -> list[dict]:
    """Parse each option row; errors go to ``errors`` keyed ``options-<position>-<field>``."""
    rows = []
    if not isinstance(raw_rows, list):
        raw_rows = []
    if len(raw_rows) > MAX_OPTIONS:
        errors["options"] = ValidationError(N_("A product can have at most %(n)d options."),
                                            "options", n=MAX_OPTIONS)
        return []
    seen: dict[str, int] = {}
    for position, raw in enumerate(raw_rows):
        row_no = position + 1
        values = _parse_each(OPTION_FIELDS, raw, errors,
                             key=lambda name, p=position: f"options-{p}-{name}",
                             wrap=lambda err, key, n=row_no: RowError(n, err, key))
        code = (values.get("code") or "").lower()
        if code and code in seen:
            key = f"options-{position}-code"
            errors[key] = RowError(row_no, ValidationError(
                N_("Option code %(code)s is also in row %(other)d."), "code",
                code=values["code"], other=seen[code]), key)
        if code:
            seen.setdefault(code, row_no)
        for name in [f"price_{tier}" for tier in ProductOption.PRICE_TIERS] + ["stock"]:
            if name in values:
                values[name] = values[name] or 0
        rows.append(values)
    if not raw_rows:
        errors["options"] = ValidationError(N_("Add at least one option."), "options")
    return rows


def save_product(actor, product_id, raw: dict) -> Product:
    """Add a product (``product_id`` None) or change one, with all its option rows at once.

    ``raw["options"]`` lists the rows (dicts of OPTION_FIELDS); a row with an ``id`` updates
    that option, one without adds an option, and options left out are removed — unless they
    are on an order, which is refused (deactivate them instead).
    """
    require_settings(actor)
    errors: dict[str, ValidationError] = {}
    product = get_product(product_id) if product_id is not None else None
    values = _parse_each(product_fields(product), raw, errors)
    if "supplier" in values:
        values["supplier"] = int(values["supplier"]) if values["supplier"] else None
    rows = _parse_rows(raw.get("options"), errors)
    try:
        with db.atomic():
            product = _write_product(product, values, rows, errors)
    except IntegrityError:
        raise ValidationError(N_("A product or option code was taken by someone else at the "
                                 "same time; check the codes and save again."), "code")
    return product


def _write_product(product, values, rows, errors) -> Product:
    """Check the codes against the store, then write; raises before any write on a problem."""
    if product is not None:
        product = get_product(product.id)  # re-read inside the transaction
    own = {o.id: o for o in options_of(product)} if product is not None else {}
    if values.get("code"):
        clash = Product.select().where(fn.LOWER(Product.code) == values["code"].lower())
        if product is not None:
            clash = clash.where(Product.id != product.id)
        clash = clash.first()
        if clash is not None:
            errors["code"] = ValidationError(
                N_("Product code %(code)s is already used by %(name)s."), "code",
                code=values["code"], name=clash.name)
    for position, row in enumerate(rows):
        key = f"options-{position}-code"
        if row.get("id") is not None and row["id"] not in own:
            errors[f"options-{position}-id"] = RowError(position + 1, ValidationError(
                N_("This option belongs to another product; reload the form."), "id"),
                f"options-{position}-id")
            continue
        if not row.get("code") or key in errors:
            continue
        clash = (ProductOption.select(ProductOption, Product).join(Product)
                 .where(fn.LOWER(ProductOption.code) == row["code"].lower()))
        if product is not None:
            clash = clash.where(ProductOption.product != product.id)
        clash = clash.first()
        if clash is not None:
            errors[key] = RowError(position + 1, ValidationError(
                N_("Option code %(code)s is already used by product %(product)s."), "code",
                code=row["code"], product=clash.product.code), key)
    kept = {row["id"] for row in rows if row.get("id") is not None}
    removed = [o for i, o in own.items() if i not in kept]
    if removed and not any(key.endswith("-id") for key in errors):
        used = used_option_ids([o.id for o in removed])
        for option in removed:
            if option.id in used:
                errors.setdefault("options", ValidationError(
                    N_("Option %(code)s (%(name)s) is on orders and cannot be removed; "
                       "deactivate it instead."), "options", code=option.code,
                    name=option.name))
    if errors:
        raise _all_errors(errors)

    if product is None:
        product = Product.create(**values)
    else:
        for name, value in values.items():
            setattr(product, name, value)
        product.save()
    if removed:
        ProductOption.delete().where(ProductOption.id.in_([o.id for o in removed])).execute()
    # codes may move between existing rows (A↔B): park the changed ones first
    for row in rows:
        if row["id"] is not None and own[row["id"]].code != row["code"]:
            ProductOption.update(code=f"~{row['id']}~").where(
                ProductOption.id == row["id"]).execute()
    for row in rows:
        fields = {k: v for k, v in row.items() if k != "id"}
        if row["id"] is not None:
            ProductOption.update(**fields).where(ProductOption.id == row["id"]).execute()
        else:
            ProductOption.create(product=product, **fields)
    return product


def delete_product(actor, product_id) -> Product:
    """Delete a product that was never sold; a sold one is refused (deactivate it instead)."""
    require_settings(actor)
    with db.atomic():
        product = get_product(product_id)
        lines = (OrderLine.select().join(ProductOption)
                 .where(ProductOption.product == product.id).count())
        if lines:
            raise StateError(N_("Product %(code)s is on %(n)d order lines and cannot be deleted; "
                                "deactivate it instead."), code=product.code, n=lines)
        ProductOption.delete().where(ProductOption.product == product.id).execute()
        product.delete_instance()
    return product
