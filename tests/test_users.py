"""The users page: list, add, edit, and the role rules (never above one's own rank)."""
import pytest

from engine import users
from engine.models import User
from tests.conftest import PASSWORD


@pytest.fixture(autouse=True)
def english(request, world):
    """Pages in English (the message ids), so the tests read the words the code wrote."""
    if "app" in request.fixturenames:
        request.getfixturevalue("app")
    User.update(language="en").execute()


HX = {"HX-Request": "true"}


def new_user(client, **fields):
    data = {"username": "newbie", "display_name": "신입", "role": "agent", "language": "ko",
            "password": "long-enough-1"}
    data.update(fields)
    return client.post("/settings/users/new", data=data, headers=HX)


def edit(client, user, **fields):
    data = {"display_name": user.display_name, "role": user.role, "language": user.language,
            "active": "1" if user.active else ""}
    data.update(fields)
    return client.post(f"/settings/users/{user.id}", data=data, headers=HX)


def test_admin_lists_users_with_roles(login, world):
    page = login("admin").get("/settings/users")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    for name in ("master", "boss", "admin", "agent", "viewer"):
        assert f">{name}" in body
    assert "General admin" in body and "New user" in body
    # an admin may not edit the master or the general admin: no button for them
    assert f"/settings/users/{world.master.id}\"" not in body
    assert f"/settings/users/{world.general_admin.id}\"" not in body
    assert f"/settings/users/{world.agent.id}\"" in body


@pytest.mark.parametrize("role", ["viewer", "agent"])
def test_users_page_is_for_admins_only(login, world, role):
    client = login(role)
    before = list(User.select().order_by(User.id).dicts())
    assert client.get("/settings/users").status_code == 403
    assert client.get("/settings/users/new").status_code == 403
    assert client.get(f"/settings/users/{world.agent2.id}").status_code == 403
    assert new_user(client).status_code == 403
    assert edit(client, world.agent2, role="admin").status_code == 403
    assert list(User.select().order_by(User.id).dicts()) == before


def test_admin_adds_a_user_who_can_log_in(login, app, world):
    response = new_user(login("admin"), username="kim.cs", language="ja")
    assert "ruledesk:closeDialog" in response.headers["HX-Trigger"]
    made = User.get(User.username == "kim.cs")
    assert (made.role, made.language, made.active) == ("agent", "ja", True)
    fresh = app.test_client()
    assert fresh.post("/login", data={"username": "kim.cs",
                                      "password": "long-enough-1"}).status_code == 302


def test_admin_cannot_create_a_master(login, world):
    client = login("admin")
    before = User.select().count()
    for role in ("master", "general_admin"):
        body = new_user(client, role=role).get_data(as_text=True)
        assert "You cannot give a role above your own." in body
    assert User.select().count() == before
    # the form does not even offer the roles above one's own
    form = client.get("/settings/users/new", headers=HX).get_data(as_text=True)
    assert 'value="admin"' in form and 'value="master"' not in form


def test_master_may_create_a_general_admin(login, world):
    new_user(login("master"), username="boss2", role="general_admin")
    assert User.get(User.username == "boss2").role == "general_admin"


@pytest.mark.parametrize("fields, field_error", [
    ({"password": "short"}, "at least 8 characters"),
    ({"username": "admin"}, "The username admin is taken."),
    ({"username": "has space"}, "letters, digits and . _ - @ only"),
    ({"display_name": ""}, "Name is required."),
    ({"language": "fr"}, "choose one of the listed values"),
])
def test_bad_new_user_is_refused_with_a_message(login, world, fields, field_error):
    client = login("admin")
    before = User.select().count()
    body = new_user(client, **fields).get_data(as_text=True)
    assert field_error in body and 'class="error"' in body
    assert 'type="password"' in body and "long-enough-1" not in body  # never echoed
    assert User.select().count() == before


def test_admin_edits_an_agent(login, world):
    client = login("admin")
    response = edit(client, world.agent, display_name="장유리 팀장", role="admin", language="en",
                    active="", password="another-pass-9")
    assert "ruledesk:toast" in response.headers["HX-Trigger"]
    fresh = User.get_by_id(world.agent.id)
    assert (fresh.display_name, fresh.role, fresh.language, fresh.active) == (
        "장유리 팀장", "admin", "en", False)
    assert users.check_password(fresh, "another-pass-9")


def test_empty_password_keeps_the_old_one(login, world):
    edit(login("admin"), world.agent, display_name="새 이름", password="")
    fresh = User.get_by_id(world.agent.id)
    assert fresh.display_name == "새 이름" and users.check_password(fresh, PASSWORD)


def test_admin_cannot_edit_someone_above(login, world):
    client = login("admin")
    dialog = client.get(f"/settings/users/{world.general_admin.id}", headers=HX)
    body = dialog.get_data(as_text=True)
    assert "You cannot change a user ranked above you." in body and "name=\"role\"" not in body
    response = edit(client, world.general_admin, role="admin", display_name="강등")
    assert "You cannot" in response.get_data(as_text=True)
    assert User.get_by_id(world.general_admin.id).role == "general_admin"


def test_nobody_demotes_or_deactivates_themselves(login, world):
    client = login("admin")
    body = edit(client, world.admin, role="agent").get_data(as_text=True)
    assert "You cannot change your own role or deactivate yourself." in body
    body = edit(client, world.admin, active="").get_data(as_text=True)
    assert "You cannot change your own role or deactivate yourself." in body
    fresh = User.get_by_id(world.admin.id)
    assert (fresh.role, fresh.active) == ("admin", True)


def test_last_master_stays_master(login, world):
    client = login("master")
    body = edit(client, world.master, role="general_admin").get_data(as_text=True)
    assert "You cannot change your own role" in body
    second = User.create(username="master2", display_name="둘째", role="master",
                         password_hash=users.hash_password(PASSWORD))
    edit(client, second, role="admin")
    assert User.get_by_id(second.id).role == "admin"


def test_unknown_user_is_404(login):
    client = login("admin")
    assert client.get("/settings/users/999").status_code == 404
    assert client.get("/settings/users/99999999999999999999").status_code == 404
    assert client.post("/settings/users/999", data={"display_name": "x"}).status_code == 404
