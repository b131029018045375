"""Master data pages: products with options and price tiers, channels and groups, suppliers.

Everyone who may read sees the lists (and a product's options, read-only); every change needs
the "settings" capability, checked here on the server and again in the engine.
"""
from __future__ import annotations

import json
import re

from flask import Blueprint, current_app, make_response, request
from flask_babel import gettext
from flask_login import current_user
from jinja2_fragments.flask import render_block

from engine import catalog, channels, paging
from engine.errors import EngineError
from engine.models import Channel
from views.web import field_errors, render, requires, translate

bp = Blueprint("catalog", __name__)

CHANGED = "ruledesk:catalogChanged"
GROUPS = "ruledesk:groupsChanged"


def actor():
    return current_user._get_current_object()


def done(toast: str, *events: str, body: str = ""):
    """Close the dialog, show ``toast`` and fire ``events`` (lists listening reload)."""
    response = make_response(body)
    triggers = {"ruledesk:toast": toast, **{event: True for event in events}}
    # last: closing empties the dialog, and events fired from a form no longer in the page
    # never bubble up to the listeners on <body>
    triggers["ruledesk:closeDialog"] = True
    response.headers["HX-Trigger"] = json.dumps(triggers)
    response.headers["HX-Reswap"] = "none"  # only out-of-band parts of ``body`` are swapped
    return response


def dialog(template: str, **context):
    """A dialog body for htmx; opened directly in a tab, the same form inside a page."""
    if request.htmx:
        return render(template, **context)
    return render("catalog/standalone.html", inner=template, **context)


def _search(fields, parse):
    """(raw filters, parsed filters, errors): a bad filter is shown in the form, never a 500."""
    raw = {f.name: request.args.get(f.name, "") for f in fields}
    try:
        return raw, parse(raw), {}
    except EngineError as exc:
        return raw, {}, field_errors(exc)


def _page_number() -> int:
    page = request.args.get("page", "1")
    return int(page) if page.isascii() and page.isdigit() and len(page) < 7 else 1


# --- products -----------------------------------------------------------------------------

OPTION_KEY = re.compile(r"^options-(\d{1,6})-(id|code|name|price_[a-e]|stock|active)$")


def _posted_rows(form) -> list[dict]:
    """Collect ``options-<n>-<field>`` inputs into rows ordered by n (as on the screen)."""
    by_index: dict[int, dict] = {}
    for key, value in form.items():
        match = OPTION_KEY.match(key)
        if match:
            by_index.setdefault(int(match.group(1)), {})[match.group(2)] = value
    return [by_index[i] for i in sorted(by_index)]


def _product_context(product=None, values=None, rows=None, error=None, message=None):
    if values is None:
        values = ({"code": product.code, "name": product.name,
                   "supplier": str(product.supplier_id or ""), "active": product.active}
                  if product else {"active": True})
    if rows is None:
        rows = ([{"id": o.id, "code": o.code, "name": o.name, "stock": o.stock,
                  "active": o.active, **{f"price_{t}": o.price(t) for t in o.PRICE_TIERS}}
                 for o in catalog.options_of(product)] if product
                else [{"active": True, "stock": 0}])
    used = catalog.used_option_ids([catalog.as_id(row.get("id", "")) for row in rows])
    sold = product is not None and bool(catalog.used_option_ids(
        [o.id for o in catalog.options_of(product)]))
    # the list on top names the row ("Option row 2: price C …"); a cell shows just the cause
    causes = getattr(error, "errors", None) or {}
    errors = {key: translate(err.cause if isinstance(err, catalog.RowError) else err)
              for key, err in causes.items()}
    error_list = list(dict.fromkeys(field_errors(error).values())) if causes else []
    return dict(product=product, values=values, rows=rows, used=used, sold=sold,
                errors=errors, message=message, fields=catalog.product_fields(product),
                tiers=catalog.PRICE_LABELS, error_list=error_list)


@bp.route("/products")
@requires("read")
def products():
    raw, filters, errors = _search(catalog.PRODUCT_SEARCH_FIELDS, catalog.parse_product_search)
    rows, total, page, pages = paging.paginate(catalog.search_products(filters), _page_number(),
                                                current_app.config["PAGE_SIZE"])
    query = {k: v for k, v in raw.items() if v}
    return render("catalog/products.html", "results", rows=rows, total=total, page=page,
                  pages=pages, query=query, raw=raw, errors=errors,
                  search_fields=catalog.PRODUCT_SEARCH_FIELDS)


@bp.route("/products/new")
@requires("settings")
def new_product():
    return dialog("catalog/_product.html", **_product_context())


@bp.route("/products/<int:product_id>")
@requires("read")
def product(product_id):
    return dialog("catalog/_product.html", **_product_context(catalog.get_product(product_id)))


@bp.route("/products/new", methods=["POST"])
@bp.route("/products/<int:product_id>", methods=["POST"])
@requires("settings")
def save_product(product_id=None):
    current = catalog.get_product(product_id) if product_id is not None else None
    raw = request.form.to_dict()
    raw["options"] = rows = _posted_rows(request.form)
    try:
        saved = catalog.save_product(actor(), product_id, raw)
    except EngineError as exc:
        return dialog("catalog/_product.html", **_product_context(
            current, values=raw, rows=rows, error=exc,
            message=None if getattr(exc, "errors", None) else translate(exc)))
    toast = (gettext("Product %(code)s saved.", code=saved.code) if current
             else gettext("Product %(code)s added.", code=saved.code))
    return done(toast, CHANGED)


@bp.route("/products/<int:product_id>/delete", methods=["POST"])
@requires("settings")
def delete_product(product_id):
    try:
        deleted = catalog.delete_product(actor(), product_id)
    except EngineError as exc:
        if exc.status == 404:
            raise
        return dialog("catalog/_product.html", **_product_context(
            catalog.get_product(product_id), message=translate(exc)))
    return done(gettext("Product %(code)s deleted.", code=deleted.code), CHANGED)


@bp.route("/products/option-row")
@requires("settings")
def option_row():
    """One empty option row for the product form (the "+ option" button)."""
    index = request.args.get("index", "0")
    index = int(index) if index.isascii() and index.isdigit() and len(index) < 7 else 0
    return render_block("catalog/_product.html", "option_row", row={"active": True, "stock": 0},
                        index=index, errors={}, used=set(), tiers=catalog.PRICE_LABELS)


# --- channels and groups --------------------------------------------------------------------

def _channel_list_context():
    raw, filters, errors = _search(channels.SEARCH_FIELDS, channels.parse_search)
    query = {k: v for k, v in raw.items() if v}
    return dict(rows=list(channels.search(filters)), raw=raw, errors=errors, query=query,
                search_fields=channels.SEARCH_FIELDS,
                connector_labels=dict(channels._connector_choices()))


def _groups_context(**extra):
    context = dict(groups=list(channels.groups()), group_values={}, group_errors={},
                   ungrouped=Channel.select().where(Channel.group.is_null()).count())
    context.update(extra)
    return context


def _groups_html(**extra) -> str:
    return render_block("catalog/channels.html", "groups", **_groups_context(**extra))


def _groups_card(event: bool = False, toast: str | None = None, **extra):
    """The groups card; ``event`` tells the channel list and its group filter to reload."""
    response = make_response(_groups_html(**extra))
    triggers = {GROUPS: True, CHANGED: True} if event else {}
    if toast:
        triggers["ruledesk:toast"] = toast
    if triggers:
        response.headers["HX-Trigger"] = json.dumps(triggers)
    return response


@bp.route("/channels")
@requires("read")
def channel_list():
    context = _channel_list_context()
    if request.htmx and not request.htmx.boosted:
        return render_block("catalog/channels.html", "results", **context)
    return render("catalog/channels.html", **context, **_groups_context())


@bp.route("/channels/group-filter")
@requires("read")
def group_filter():
    """The search form's group filter, reloaded when groups change (keeps the chosen one)."""
    return render_block("catalog/channels.html", "group_filter",
                        raw={"group": request.args.get("group", "")}, errors={},
                        search_fields=channels.SEARCH_FIELDS)


def _channel_context(channel=None, values=None, errors=None, message=None):
    if values is None:
        values = ({"name": channel.name, "group": str(channel.group_id or ""),
                   "active": channel.active, "auto_combine": channel.auto_combine}
                  if channel else {"active": True})
        values.update(channels.connector_form_values(channel))
    else:   # a refused post: the secrets typed are never sent back, the masks stay
        stored = channels.connector_form_values(channel)
        values = {**values, "masked": stored["masked"] if stored.get("connector") ==
                  values.get("connector") else {}}
        values.update({k: "" for k in values if k.startswith(channels.SECRET)})
    setting_values = {k[len(channels.SETTING):]: v for k, v in values.items()
                      if k.startswith(channels.SETTING)}
    return dict(channel=channel, values=values, errors=errors or {}, message=message,
                setting_values=setting_values,
                fields=[f for f in channels.CHANNEL_FIELDS if f.name != "connector"],
                connector_field=next(f for f in channels.CHANNEL_FIELDS
                                     if f.name == "connector"),
                connector=channels.connector_type(values.get("connector")))


@bp.route("/channels/connector-fields")
@requires("settings")
def connector_fields():
    """The chosen connector type's own fields, swapped in when the type changes."""
    channel_id = request.args.get("channel_id", "")
    channel = channels.get(channel_id) if channel_id.isdigit() else None
    chosen = request.args.get("connector", "")
    values = channels.connector_form_values(channel)
    if chosen != values.get("connector"):
        values = {"connector": chosen, "masked": {}}
    context = _channel_context(channel, values=values)
    return render_block("catalog/_channel.html", "connector_fields", **context)


@bp.route("/channels/new")
@requires("settings")
def new_channel():
    return dialog("catalog/_channel.html", **_channel_context())


@bp.route("/channels/<int:channel_id>")
@requires("settings")
def edit_channel(channel_id):
    return dialog("catalog/_channel.html", **_channel_context(channels.get(channel_id)))


@bp.route("/channels/new", methods=["POST"])
@bp.route("/channels/<int:channel_id>", methods=["POST"])
@requires("settings")
def save_channel(channel_id=None):
    current = channels.get(channel_id) if channel_id is not None else None
    raw = request.form.to_dict()
    try:
        if current is None:
            saved = channels.create_channel(actor(), raw)
        else:
            saved = channels.update_channel(actor(), channel_id, raw)
    except EngineError as exc:
        return dialog("catalog/_channel.html", **_channel_context(
            current, values=raw, errors=field_errors(exc),
            message=None if exc.field else translate(exc)))
    return done(gettext("Channel %(name)s saved.", name=saved.name), CHANGED, GROUPS,
                body=_groups_html(oob=True))


@bp.route("/channels/groups", methods=["POST"])
@requires("settings")
def add_group():
    raw = request.form.to_dict()
    try:
        group = channels.create_group(actor(), raw)
    except EngineError as exc:
        return _groups_card(group_values=raw, group_errors=field_errors(exc))
    return _groups_card(event=True, toast=gettext("Group %(name)s added.", name=group.name))


@bp.route("/channels/groups/<int:group_id>")
@requires("settings")
def edit_group(group_id):
    group = channels.get_group(group_id)
    return dialog("catalog/_group.html", group=group, values={"name": group.name}, errors={},
                  fields=channels.GROUP_FIELDS)


@bp.route("/channels/groups/<int:group_id>", methods=["POST"])
@requires("settings")
def rename_group(group_id):
    group = channels.get_group(group_id)
    raw = request.form.to_dict()
    try:
        group = channels.rename_group(actor(), group_id, raw)
    except EngineError as exc:
        return dialog("catalog/_group.html", group=group, values=raw, errors=field_errors(exc),
                      fields=channels.GROUP_FIELDS)
    return done(gettext("Group renamed to %(name)s.", name=group.name), CHANGED, GROUPS,
                body=_groups_html(oob=True))


@bp.route("/channels/groups/<int:group_id>/delete", methods=["POST"])
@requires("settings")
def delete_group(group_id):
    try:
        name = channels.delete_group(actor(), group_id)
    except EngineError as exc:
        if exc.status == 404:
            raise
        return _groups_card(group_message=translate(exc))
    return _groups_card(event=True, toast=gettext("Group %(name)s deleted.", name=name))


# --- suppliers --------------------------------------------------------------------------------

@bp.route("/suppliers")
@requires("read")
def suppliers():
    raw, filters, errors = _search(catalog.SUPPLIER_SEARCH_FIELDS, catalog.parse_supplier_search)
    query = {k: v for k, v in raw.items() if v}
    return render("catalog/suppliers.html", "results", rows=list(catalog.suppliers(filters)),
                  raw=raw, errors=errors, query=query,
                  search_fields=catalog.SUPPLIER_SEARCH_FIELDS)


def _supplier_context(supplier=None, values=None, errors=None, message=None):
    if values is None:
        values = ({"name": supplier.name, "phone": supplier.phone, "active": supplier.active}
                  if supplier else {"active": True})
    return dict(supplier=supplier, values=values, errors=errors or {}, message=message,
                fields=catalog.SUPPLIER_FIELDS)


@bp.route("/suppliers/new")
@requires("settings")
def new_supplier():
    return dialog("catalog/_supplier.html", **_supplier_context())


@bp.route("/suppliers/<int:supplier_id>")
@requires("settings")
def edit_supplier(supplier_id):
    return dialog("catalog/_supplier.html", **_supplier_context(catalog.get_supplier(supplier_id)))


@bp.route("/suppliers/new", methods=["POST"])
@bp.route("/suppliers/<int:supplier_id>", methods=["POST"])
@requires("settings")
def save_supplier(supplier_id=None):
    current = catalog.get_supplier(supplier_id) if supplier_id is not None else None
    raw = request.form.to_dict()
    try:
        saved = catalog.save_supplier(actor(), supplier_id, raw)
    except EngineError as exc:
        return dialog("catalog/_supplier.html", **_supplier_context(
            current, values=raw, errors=field_errors(exc),
            message=None if exc.field else translate(exc)))
    return done(gettext("Supplier %(name)s saved.", name=saved.name), CHANGED)
