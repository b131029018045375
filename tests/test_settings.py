"""Settings: the configurable lists (handling statuses, couriers, cancel reasons)."""
import pytest

from engine import choices, orders
from engine.errors import NotFound, PermissionDenied, ValidationError
from engine.models import CancelReason, Courier, HandlingStatus, User
from tests.conftest import NOW


@pytest.fixture(autouse=True)
def english(request, world):
    """Pages in English (the message ids), so the tests read the words the code wrote."""
    if "app" in request.fixturenames:
        request.getfixturevalue("app")
    User.update(language="en").execute()


def names(key):
    return [item.name for item in choices.items(key)]


# --- engine: one implementation for the three lists ----------------------------------------

@pytest.mark.parametrize("key, model", [("statuses", HandlingStatus), ("couriers", Courier),
                                        ("cancel_reasons", CancelReason)])
def test_add_rename_and_unique_names_in_every_list(world, key, model):
    added = choices.add(world.admin, key, {"name": "새 항목"})
    assert names(key)[-1] == "새 항목" and added.active
    with pytest.raises(ValidationError) as err:
        choices.add(world.admin, key, {"name": " 새 항목 "})
    assert err.value.field == "name" and model.select().count() == len(names(key))
    first = choices.items(key)[0]
    with pytest.raises(ValidationError):
        choices.update(world.admin, key, first.id, {"name": "새 항목", "active": "1",
                                                     "color": "#123456"})
    choices.update(world.admin, key, first.id, {"name": "바뀐 이름", "active": "1",
                                                 "color": "#123456"})
    assert model.get_by_id(first.id).name == "바뀐 이름"


def test_colour_must_be_hex(world):
    status = choices.items("statuses")[0]
    for bad in ("red", "#12345", "#12345g", "123456", ""):
        with pytest.raises(ValidationError) as err:
            choices.update(world.admin, "statuses", status.id,
                           {"name": status.name, "color": bad, "active": "1"})
        assert err.value.field == "color", bad
    assert HandlingStatus.get_by_id(status.id).color == status.color
    choices.update(world.admin, "statuses", status.id,
                   {"name": status.name, "color": "#ABCDEF", "active": "1"})
    assert HandlingStatus.get_by_id(status.id).color == "#abcdef"


def test_move_up_and_down(world):
    before = names("couriers")
    third = choices.items("couriers")[2]
    choices.move(world.admin, "couriers", third.id, "up")
    assert names("couriers") == [before[0], before[2], before[1]] + before[3:]
    choices.move(world.admin, "couriers", third.id, "down")
    assert names("couriers") == before
    first = choices.items("couriers")[0]
    choices.move(world.admin, "couriers", first.id, "up")  # already on top: no change
    assert names("couriers") == before
    with pytest.raises(ValidationError):
        choices.move(world.admin, "couriers", first.id, "sideways")


def test_move_renumbers_ties(world):
    Courier.update(sort_order=0).execute()
    last = choices.items("couriers")[-1]
    choices.move(world.admin, "couriers", last.id, "up")
    assert names("couriers")[-2] == last.name
    assert sorted(c.sort_order for c in Courier.select()) == list(range(Courier.select().count()))


def test_deactivated_entries_leave_the_order_dialogs(world):
    courier = Courier.get(Courier.name == "한진택배")
    choices.set_active(world.admin, "couriers", courier.id, False)
    field = next(f for f in orders.OPERATIONS["invoice"].fields if f.name == "courier")
    assert "한진택배" not in [key for key, _ in field.choice_list()]
    assert "한진택배" in names("couriers")  # still listed in settings
    choices.set_active(world.admin, "couriers", courier.id, True)
    assert "한진택배" in [key for key, _ in field.choice_list()]


def test_usage_counts_orders(world, order):
    orders.perform("invoice", order.id, {"courier": "CJ대한통운", "tracking_no": "1"},
                   orders.Context(world.agent, NOW))
    counts = choices.usage("couriers")
    assert counts[Courier.get(Courier.name == "CJ대한통운").id] == 1
    assert counts[Courier.get(Courier.name == "한진택배").id] == 0


def test_only_settings_people_change_lists(world):
    for user in (world.viewer, world.agent):
        with pytest.raises(PermissionDenied):
            choices.add(user, "couriers", {"name": "새 택배"})
    with pytest.raises(NotFound):
        choices.add(world.admin, "nope", {"name": "x"})
    with pytest.raises(NotFound):
        choices.update(world.admin, "couriers", 9999, {"name": "x", "active": "1"})


# --- HTTP ---------------------------------------------------------------------------------

def test_settings_index_opens_handling_statuses(login):
    client = login("viewer")
    response = client.get("/settings/")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/settings/statuses")
    page = client.get("/settings/statuses").get_data(as_text=True)
    assert "발송준비중" in page and "#2563eb" in page
    assert "hx-post" not in page and "Users" not in page  # read-only, no users tab


@pytest.mark.parametrize("key", ["statuses", "couriers", "cancel_reasons"])
def test_admin_pages_show_controls(login, key):
    page = login("admin").get(f"/settings/{key}").get_data(as_text=True)
    assert "Move up" in page and "Deactivate" in page and "Add" in page
    assert "Users" in page


def test_add_with_error_then_success(login, world):
    client = login("admin")
    hx = {"HX-Request": "true"}
    before = HandlingStatus.select().count()
    bad = client.post("/settings/statuses", headers=hx, data={"name": "반품", "color": "#ff0000"})
    assert "반품 is already in the list." in bad.get_data(as_text=True)
    bad = client.post("/settings/statuses", headers=hx, data={"name": "보류중", "color": "blue"})
    assert "The colour must look like" in bad.get_data(as_text=True)
    assert HandlingStatus.select().count() == before
    good = client.post("/settings/statuses", headers=hx, data={"name": "보류중", "color": "#FF8800"})
    assert "보류중" in good.get_data(as_text=True) and "ruledesk:toast" in good.headers["HX-Trigger"]
    assert HandlingStatus.get(HandlingStatus.name == "보류중").color == "#ff8800"


def test_edit_dialog_move_and_deactivate_over_http(login, world):
    client = login("admin")
    hx = {"HX-Request": "true"}
    reason = CancelReason.get(CancelReason.name == "반품-불량")
    dialog = client.get(f"/settings/cancel_reasons/{reason.id}", headers=hx)
    assert 'value="반품-불량"' in dialog.get_data(as_text=True)
    saved = client.post(f"/settings/cancel_reasons/{reason.id}", headers=hx,
                        data={"name": "반품-제품불량", "active": "1"})
    assert "ruledesk:closeDialog" in saved.headers["HX-Trigger"]
    assert CancelReason.get_by_id(reason.id).name == "반품-제품불량"
    client.post(f"/settings/cancel_reasons/{reason.id}/move", headers=hx,
                data={"direction": "up"})
    assert names("cancel_reasons")[0] == "반품-제품불량"
    client.post(f"/settings/cancel_reasons/{reason.id}/active", headers=hx, data={"active": "0"})
    assert not CancelReason.get_by_id(reason.id).active


def test_bad_urls_are_404(login):
    client = login("admin")
    for url in ("/settings/nope", "/settings/couriers/999", "/settings/couriers/x"):
        assert client.get(url).status_code == 404, url
    assert client.post("/settings/couriers/999", data={"name": "x"}).status_code == 404
    assert client.post("/settings/couriers/999/move", data={"direction": "up"}).status_code == 404
    assert client.post("/settings/nope", data={"name": "x"}).status_code == 404


def _posts(key, item_id):
    return [(f"/settings/{key}", {"name": "새 항목", "color": "#000000"}),
            (f"/settings/{key}/{item_id}", {"name": "새 이름", "color": "#000000", "active": "1"}),
            (f"/settings/{key}/{item_id}/move", {"direction": "down"}),
            (f"/settings/{key}/{item_id}/active", {"active": "0"})]


@pytest.mark.parametrize("role", ["viewer", "agent"])
@pytest.mark.parametrize("key, model", [("statuses", HandlingStatus), ("couriers", Courier),
                                        ("cancel_reasons", CancelReason)])
def test_viewers_and_agents_get_403_and_nothing_changes(login, role, key, model):
    client = login(role)
    first = model.ordered().first()
    before = list(model.select().order_by(model.id).dicts())
    for url, data in _posts(key, first.id):
        assert client.post(url, data=data, headers={"HX-Request": "true"}).status_code == 403, url
    assert client.get(f"/settings/{key}/{first.id}").status_code == 403
    assert list(model.select().order_by(model.id).dicts()) == before


@pytest.mark.parametrize("key, model", [("statuses", HandlingStatus), ("couriers", Courier),
                                        ("cancel_reasons", CancelReason)])
def test_admin_makes_every_change(login, key, model):
    client = login("admin")
    first = model.ordered().first()
    for url, data in _posts(key, first.id):
        response = client.post(url, data=data, headers={"HX-Request": "true"})
        assert response.status_code == 200 and 'class="error"' not in response.get_data(
            as_text=True), url
    fresh = model.get_by_id(first.id)
    assert (fresh.name, fresh.active) == ("새 이름", False)
    assert model.ordered().first().id != first.id
    assert model.select().where(model.name == "새 항목").exists()
