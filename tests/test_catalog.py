"""Master data: products with options and price tiers, suppliers, channels and groups."""
import pytest

from engine import catalog, channels
from engine.errors import NotFound, PermissionDenied, StateError, ValidationError
from engine.models import (
    Channel, ChannelGroup, OrderLine, Product, ProductOption, Supplier, User,
)
from tests.conftest import new_order


@pytest.fixture(autouse=True)
def english(request, world):
    """Pages in English (the message ids), so the tests read the words the code wrote."""
    if "app" in request.fixturenames:
        request.getfixturevalue("app")
    User.update(language="en").execute()


def option(code, name="옵션", **prices):
    row = {"code": code, "name": name, "active": "1", "stock": "10"}
    row.update({f"price_{tier}": str(value) for tier, value in prices.items()})
    return row


def product_raw(code="P300", name="텀블러", supplier=None, options=None, active="1"):
    return {"code": code, "name": name, "supplier": str(supplier.id) if supplier else "",
            "active": active, "options": options if options is not None else [option("40001")]}


def form(raw):
    """The product raw dict as the product form posts it (options-<n>-<field>)."""
    data = {k: v for k, v in raw.items() if k != "options"}
    for index, row in enumerate(raw["options"]):
        for key, value in row.items():
            data[f"options-{index}-{key}"] = value
    return data


# --- engine: products ---------------------------------------------------------------------

def test_product_with_options_is_saved_in_one_go(world):
    saved = catalog.save_product(world.admin, None, product_raw(supplier=world.supplier, options=[
        option("40001", "실버", a=18900, b=19650, c=20400, d=21150, e=21900),
        option("40002", "로즈골드", a="18,900")]))
    options = catalog.options_of(saved)
    assert [(o.code, o.name) for o in options] == [("40001", "실버"), ("40002", "로즈골드")]
    assert [options[0].price(t) for t in "abcde"] == [18900, 19650, 20400, 21150, 21900]
    assert (options[1].price_a, options[1].price_e, options[1].stock) == (18900, 0, 10)
    assert saved.supplier_id == world.supplier.id and saved.active


def test_bad_price_names_row_and_field_and_saves_nothing(world):
    before = (Product.select().count(), ProductOption.select().count())
    with pytest.raises(ValidationError) as err:
        catalog.save_product(world.admin, None, product_raw(options=[
            option("40001", a=1000), option("40002", a=1000, c="12,5OO")]))
    assert str(err.value) == "Option row 2: price C must be a whole number."
    assert set(err.value.errors) == {"options-1-price_c"}
    assert (Product.select().count(), ProductOption.select().count()) == before


def test_negative_price_refused(world):
    with pytest.raises(ValidationError) as err:
        catalog.save_product(world.admin, None, product_raw(options=[option("40001", b=-1)]))
    assert str(err.value) == "Option row 1: price B must be at least 0."


def test_option_code_used_by_another_product_refused(world):
    with pytest.raises(ValidationError) as err:
        catalog.save_product(world.admin, None, product_raw(options=[
            option("40001"), option("30003")]))  # 30003 is 제주 감귤 5kg
    assert "options-1-code" in err.value.errors
    assert str(err.value.errors["options-1-code"]) == (
        "Option row 2: option code 30003 is already used by product P200.")
    assert not Product.select().where(Product.code == "P300").exists()


def test_option_code_twice_in_the_form_refused(world):
    with pytest.raises(ValidationError) as err:
        catalog.save_product(world.admin, None, product_raw(options=[
            option("40001"), option("40001")]))
    assert str(err.value.errors["options-1-code"]) == (
        "Option row 2: option code 40001 is also in row 1.")


def test_every_problem_is_reported_at_once(world):
    with pytest.raises(ValidationError) as err:
        catalog.save_product(world.admin, None, product_raw(code="P100", name="", options=[
            option("", a=1), option("40002", d="x")]))
    assert {"code", "name", "options-0-code", "options-1-price_d"} <= set(err.value.errors)
    assert "already used" in str(err.value.errors["code"])


def test_bad_price_and_taken_code_in_one_row_are_both_reported(world):
    with pytest.raises(ValidationError) as err:
        catalog.save_product(world.admin, None, product_raw(options=[
            option("40001"), option("30001", c="12,5OO")]))
    assert {"options-1-code", "options-1-price_c"} <= set(err.value.errors)


def test_product_needs_an_option(world):
    with pytest.raises(ValidationError) as err:
        catalog.save_product(world.admin, None, product_raw(options=[]))
    assert err.value.field == "options"


def test_edit_updates_adds_and_removes_rows(world):
    raw = product_raw(code="P100", name="순면 티셔츠 (리뉴얼)", supplier=world.supplier, options=[
        dict(option("30001", "화이트-M", a=13900), id=str(world.tee_m.id)),
        option("30009", "블랙-M", a=13900)])  # 화이트-L (30002) left out: removed
    catalog.save_product(world.admin, world.tee.id, raw)
    options = catalog.options_of(Product.get_by_id(world.tee.id))
    assert [(o.id == world.tee_m.id, o.code, o.price_a) for o in options] == [
        (True, "30001", 13900), (False, "30009", 13900)]
    assert ProductOption.get_or_none(ProductOption.id == world.tee_l.id) is None
    assert Product.get_by_id(world.tee.id).name == "순면 티셔츠 (리뉴얼)"


def test_codes_can_swap_between_rows(world):
    catalog.save_product(world.admin, world.tee.id, product_raw(code="P100", options=[
        dict(option("30002", "화이트-M"), id=str(world.tee_m.id)),
        dict(option("30001", "화이트-L"), id=str(world.tee_l.id))]))
    assert ProductOption.get_by_id(world.tee_m.id).code == "30002"
    assert ProductOption.get_by_id(world.tee_l.id).code == "30001"


def test_option_on_an_order_cannot_be_removed_but_can_be_deactivated(world):
    new_order(world)  # sells 화이트-M (30001)
    with pytest.raises(ValidationError) as err:
        catalog.save_product(world.admin, world.tee.id, product_raw(code="P100", options=[
            dict(option("30002"), id=str(world.tee_l.id))]))
    assert "30001" in str(err.value) and "deactivate" in str(err.value)
    assert ProductOption.get_by_id(world.tee_m.id).active
    rows = [dict(option("30001", "화이트-M"), id=str(world.tee_m.id), active=""),
            dict(option("30002", "화이트-L"), id=str(world.tee_l.id))]
    catalog.save_product(world.admin, world.tee.id, product_raw(code="P100", options=rows))
    assert not ProductOption.get_by_id(world.tee_m.id).active
    assert world.tee_m.id not in [o.id for o in catalog.search_options("티셔츠")]


def test_option_of_another_product_cannot_be_taken_over(world):
    with pytest.raises(ValidationError) as err:
        catalog.save_product(world.admin, world.tee.id, product_raw(code="P100", options=[
            dict(option("30001"), id=str(world.tee_m.id)),
            dict(option("30002"), id=str(world.tee_l.id)),
            dict(option("30003"), id=str(world.citrus_5.id))]))
    assert "options-2-id" in err.value.errors
    assert ProductOption.get_by_id(world.citrus_5.id).product_id == world.citrus.id


def test_sold_product_is_not_deleted_and_orders_keep_their_lines(world):
    order = new_order(world)
    with pytest.raises(StateError) as err:
        catalog.delete_product(world.admin, world.tee.id)
    assert "deactivate" in str(err.value)
    assert Product.get_or_none(Product.id == world.tee.id) is not None
    catalog.delete_product(world.admin, world.citrus.id)  # never sold
    assert Product.get_or_none(Product.id == world.citrus.id) is None
    assert not ProductOption.select().where(ProductOption.code == "30003").exists()
    assert OrderLine.select().where(OrderLine.order == order.id).count() == 1


def test_search_products_by_name_code_option_code_and_supplier(world):
    other = Supplier.create(name="대성물산")
    Product.create(code="Q1", name="보조배터리", supplier=other)

    def codes(**filters):
        return [p.code for p in catalog.search_products(filters)]
    assert codes(q="티셔츠") == ["P100"]
    assert codes(q="p200") == ["P200"]
    assert codes(q="30002") == ["P100"]
    assert codes(supplier=str(other.id)) == ["Q1"]
    assert codes() == ["P100", "P200", "Q1"]
    first = catalog.search_products({}).first()
    assert (first.option_count, first.price_min, first.price_max) == (2, 12900, 12900)


def test_agents_cannot_change_products(world):
    with pytest.raises(PermissionDenied):
        catalog.save_product(world.agent, None, product_raw())
    with pytest.raises(PermissionDenied):
        catalog.delete_product(world.viewer, world.citrus.id)


def test_supplier_phone_is_checked_and_normalised(world):
    with pytest.raises(ValidationError) as err:
        catalog.save_supplier(world.admin, None, {"name": "새 공급처", "phone": "12"})
    assert err.value.field == "phone"
    saved = catalog.save_supplier(world.admin, None, {"name": "새 공급처", "phone": "0212345678",
                                                      "active": "1"})
    assert (saved.phone, saved.active) == ("02-1234-5678", True)
    with pytest.raises(ValidationError) as err:
        catalog.save_supplier(world.admin, saved.id, {"name": "공급처 1", "active": "1"})
    assert err.value.field == "name"


# --- engine: channels and groups -------------------------------------------------------------

def test_channel_names_are_unique(world):
    with pytest.raises(ValidationError) as err:
        channels.create_channel(world.admin, {"name": "쿠팡", "active": "1"})
    assert err.value.field == "name"
    made = channels.create_channel(world.admin, {"name": "G마켓", "group": str(world.st11.group_id),
                                                 "active": "1"})
    assert made.group_id == world.st11.group_id


def test_channel_search_by_group_active_and_name(world):
    channels.update_channel(world.admin, world.coupang.id, {"name": "쿠팡", "group": str(
        world.coupang.group_id)})  # not active: the checkbox was not sent
    own = world.mall.group_id

    def names(**filters):
        return [c.name for c in channels.search(filters)]
    assert names(group=str(own)) == ["자사몰"]
    assert names(active="0") == ["쿠팡"]
    assert names(active="1", q="11") == ["11번가"]
    assert sorted(names()) == ["11번가", "자사몰", "쿠팡"]


def test_group_rename_and_delete_only_when_empty(world):
    group = ChannelGroup.get_by_id(world.mall.group_id)
    channels.rename_group(world.admin, group.id, {"name": "자사·스마트스토어"})
    assert ChannelGroup.get_by_id(group.id).name == "자사·스마트스토어"
    with pytest.raises(ValidationError):
        channels.rename_group(world.admin, group.id, {"name": "오픈마켓"})
    with pytest.raises(StateError) as err:
        channels.delete_group(world.admin, group.id)
    assert "still has 1 channels" in str(err.value)
    channels.update_channel(world.admin, world.mall.id, {"name": "자사몰", "group": "",
                                                         "active": "1"})
    channels.delete_group(world.admin, group.id)
    assert Channel.get_by_id(world.mall.id).group_id is None
    with pytest.raises(NotFound):
        channels.delete_group(world.admin, group.id)


# --- HTTP: pages --------------------------------------------------------------------------

def test_viewer_sees_lists_without_edit_buttons(login, world):
    client = login("viewer")
    for url in ("/products", "/channels", "/suppliers"):
        page = client.get(url)
        assert page.status_code == 200, url
        assert "hx-post" not in page.get_data(as_text=True), url
    assert "순면 티셔츠" in client.get("/products").get_data(as_text=True)
    detail = client.get(f"/products/{world.tee.id}", headers={"HX-Request": "true"})
    body = detail.get_data(as_text=True)
    assert detail.status_code == 200 and "30001" in body and "fieldset class=\"bare\" disabled" in body
    assert "Save product" not in body
    page = client.get(f"/products/{world.tee.id}").get_data(as_text=True)  # opened in a tab
    assert page.startswith("<!doctype html>") and "30002" in page


def test_admin_sees_edit_buttons(login):
    client = login("admin")
    assert "New product" in client.get("/products").get_data(as_text=True)
    body = client.get("/channels").get_data(as_text=True)
    assert "New channel" in body and "Add group" in body


def test_product_search_and_pagination(login, world, app):
    app.config["PAGE_SIZE"] = 2
    Product.create(code="P900", name="LED 무드등")
    client = login("viewer")
    first = client.get("/products", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "P100" in first and "P200" in first and "P900" not in first
    assert "page=2" in first
    second = client.get("/products?page=2").get_data(as_text=True)
    assert "P900" in second and "P100" not in second
    found = client.get("/products?q=무드등", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "P900" in found and "P100" not in found
    # nonsense filters never break the page
    assert client.get("/products?page=abc&supplier=999&active=x").status_code == 200


def test_product_form_posts_rows_and_refreshes_the_list(login, world):
    client = login("admin")
    response = client.post("/products/new", headers={"HX-Request": "true"}, data=form(
        product_raw(options=[option("40001", "실버", a=18900), option("40002", "블랙", a=18900)])))
    assert response.status_code == 200
    assert "ruledesk:catalogChanged" in response.headers["HX-Trigger"]
    product = Product.get(Product.code == "P300")
    assert [o.code for o in catalog.options_of(product)] == ["40001", "40002"]


def test_product_form_error_names_row_and_saves_nothing(login, world):
    client = login("admin")
    before = Product.select().count()
    response = client.post("/products/new", headers={"HX-Request": "true"}, data=form(
        product_raw(options=[option("40001"), option("30001")])))
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "HX-Trigger" not in response.headers
    assert "Option row 2: option code 30001 is already used by product P100." in body
    assert 'name="options-1-code" value="30001"' in body  # the typed rows come back
    assert Product.select().count() == before


def test_option_row_fragment(login):
    body = login("admin").get("/products/option-row?index=1004").get_data(as_text=True)
    assert 'name="options-1004-code"' in body and "<form" not in body


def test_product_delete_only_when_unused(login, world):
    new_order(world)
    client = login("admin")
    body = client.get(f"/products/{world.tee.id}", headers={"HX-Request": "true"}).get_data(
        as_text=True)
    assert "Delete product" not in body and "cannot be deleted" in body
    refused = client.post(f"/products/{world.tee.id}/delete", headers={"HX-Request": "true"})
    assert "deactivate it instead" in refused.get_data(as_text=True)
    assert Product.get_or_none(Product.id == world.tee.id) is not None
    done = client.post(f"/products/{world.citrus.id}/delete", headers={"HX-Request": "true"})
    assert done.status_code == 200 and "catalogChanged" in done.headers["HX-Trigger"]
    assert Product.get_or_none(Product.id == world.citrus.id) is None


def test_channel_add_edit_and_groups_over_http(login, world):
    client = login("admin")
    hx = {"HX-Request": "true"}
    response = client.post("/channels/new", headers=hx,
                           data={"name": "G마켓", "group": str(world.st11.group_id), "active": "1"})
    assert "ruledesk:groupsChanged" in response.headers["HX-Trigger"]
    gmarket = Channel.get(Channel.name == "G마켓")
    dup = client.post(f"/channels/{gmarket.id}", headers=hx, data={"name": "쿠팡", "active": "1"})
    assert "already exists" in dup.get_data(as_text=True)
    assert Channel.get_by_id(gmarket.id).name == "G마켓"
    client.post("/channels/groups", headers=hx, data={"name": "종합몰"})
    group = ChannelGroup.get(ChannelGroup.name == "종합몰")
    client.post(f"/channels/groups/{group.id}", headers=hx, data={"name": "종합몰 A"})
    assert ChannelGroup.get_by_id(group.id).name == "종합몰 A"
    refused = client.post(f"/channels/groups/{world.st11.group_id}/delete", headers=hx)
    assert "still has 3 channels" in refused.get_data(as_text=True)
    client.post(f"/channels/groups/{group.id}/delete", headers=hx)
    assert ChannelGroup.get_or_none(ChannelGroup.id == group.id) is None
    listing = client.get(f"/channels?group={world.st11.group_id}&active=1", headers=hx)
    assert "G마켓" in listing.get_data(as_text=True) and "자사몰" not in listing.get_data(
        as_text=True)


def test_supplier_over_http(login, world):
    client = login("admin")
    hx = {"HX-Request": "true"}
    bad = client.post("/suppliers/new", headers=hx, data={"name": "새 공급처", "phone": "abc"})
    assert "not a valid phone number" in bad.get_data(as_text=True)
    assert not Supplier.select().where(Supplier.name == "새 공급처").exists()
    client.post(f"/suppliers/{world.supplier.id}", headers=hx,
                data={"name": "공급처 1", "phone": "010 1234 5678"})
    fresh = Supplier.get_by_id(world.supplier.id)
    assert (fresh.phone, fresh.active) == ("010-1234-5678", False)
    assert "공급처 1" in client.get("/suppliers?active=0").get_data(as_text=True)


def test_bad_ids_are_404(login):
    client = login("admin")
    for url in ("/products/999", "/products/99999999999999999999999", "/channels/999",
                "/channels/groups/999", "/suppliers/999", "/products/x"):
        assert client.get(url).status_code == 404, url
    assert client.post("/products/999", data={}).status_code == 404
    assert client.post("/channels/groups/999/delete").status_code == 404


POSTS = [
    ("/products/new", lambda w: form(product_raw())),
    ("/products/{tee}", lambda w: form(product_raw(code="P100", name="새 이름", options=[
        dict(option("30001"), id=str(w.tee_m.id)), dict(option("30002"), id=str(w.tee_l.id))]))),
    ("/products/{citrus}/delete", lambda w: {}),
    ("/channels/new", lambda w: {"name": "G마켓", "active": "1"}),
    ("/channels/{st11}", lambda w: {"name": "바뀐 이름", "active": "1"}),
    ("/channels/groups", lambda w: {"name": "새 그룹"}),
    ("/channels/groups/{group}", lambda w: {"name": "새 이름"}),
    ("/channels/groups/{empty}/delete", lambda w: {}),
    ("/suppliers/new", lambda w: {"name": "새 공급처", "active": "1"}),
    ("/suppliers/{supplier}", lambda w: {"name": "바뀐 공급처", "active": "1"}),
]
GETS = ["/products/new", "/products/option-row", "/channels/new", "/channels/{st11}",
        "/channels/groups/{group}", "/suppliers/new", "/suppliers/{supplier}"]


def _url(template, w):
    empty = ChannelGroup.get_or_create(name="빈 그룹")[0]
    return template.format(tee=w.tee.id, citrus=w.citrus.id, st11=w.st11.id,
                           group=w.mall.group_id, supplier=w.supplier.id, empty=empty.id)


def _snapshot():
    return [list(m.select().order_by(m.id).tuples())
            for m in (Product, ProductOption, Channel, ChannelGroup, Supplier)]


@pytest.mark.parametrize("role", ["viewer", "agent"])
def test_viewers_and_agents_cannot_change_master_data(login, world, role):
    client = login(role)
    urls = [_url(url, world) for url, _ in POSTS]
    before = _snapshot()
    for url, (_, data) in zip(urls, POSTS):
        response = client.post(url, data=data(world), headers={"HX-Request": "true"})
        assert response.status_code == 403, url
    for url in GETS:
        assert client.get(_url(url, world)).status_code == 403, url
    assert _snapshot() == before


def test_admin_may_make_every_change(login, world):
    client = login("admin")
    urls = [_url(url, world) for url, _ in POSTS]
    for url, (_, data) in zip(urls, POSTS):
        response = client.post(url, data=data(world), headers={"HX-Request": "true"})
        assert response.status_code == 200, url
        assert "error" not in response.get_data(as_text=True), url
    assert Channel.get_by_id(world.st11.id).name == "바뀐 이름"
    assert Supplier.get_by_id(world.supplier.id).name == "바뀐 공급처"
    assert Product.get_or_none(Product.id == world.citrus.id) is None
    assert Product.get_by_id(world.tee.id).name == "새 이름"
    assert Product.select().where(Product.code == "P300").exists()
    assert Channel.select().where(Channel.name == "G마켓").exists()
    assert ChannelGroup.get_by_id(world.mall.group_id).name == "새 이름"
    assert not ChannelGroup.select().where(ChannelGroup.name == "빈 그룹").exists()
    assert Supplier.select().where(Supplier.name == "새 공급처").exists()


def test_group_filter_reloads_with_the_chosen_group(login, world):
    body = login("viewer").get(f"/channels/group-filter?group={world.mall.group_id}",
                               headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'id="group-filter"' in body
    assert f'<option value="{world.mall.group_id}" selected>' in body


def test_channel_form_sets_auto_combine_for_imports(app, world, login):
    admin = login("admin")
    response = admin.post(f"/channels/{world.st11.id}",
                          data={"name": "11번가", "group": str(world.st11.group_id),
                                "active": "1", "auto_combine": "1"})
    assert response.status_code == 200
    from engine.models import Channel
    assert Channel.get_by_id(world.st11.id).auto_combine
    assert 'name="auto_combine" value="1" checked' in admin.get(
        f"/channels/{world.st11.id}").get_data(as_text=True)
