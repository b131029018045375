"""The permission audit: every route is guarded, and the guard holds for every role.

Routes are read from ``app.url_map``, so a route added later is audited without touching
this file: it must carry ``required_capability`` (set by ``views.web.requires`` or
``views.api.api_requires``), anonymous users are sent to the login page, and a role without
the capability gets 403 before the view runs. CSRF is checked end to end at the bottom.
"""
from __future__ import annotations

import re

import pytest
from werkzeug.routing import IntegerConverter

from engine import orders, users
from engine.models import CsHistory, Order
from tests.conftest import PASSWORD, make_user, new_order
from views.web import PUBLIC

HX = {"HX-Request": "true"}
KNOWN = set(users.CAPABILITIES) | {PUBLIC}
ROLES = list(users.ROLES)


def guarded_rules(app):
    """(rule, capability) for every rule but static files."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        yield rule, getattr(view, "required_capability", None)


def is_api(rule) -> bool:
    return rule.rule == "/api" or rule.rule.startswith("/api/")


def concrete(rule, order_id: int) -> str:
    """A real URL for ``rule``: ids of the test's order, an operation name for <name>."""
    values = {}
    for arg in rule.arguments:
        converter = rule._converters.get(arg)
        if isinstance(converter, IntegerConverter):
            values[arg] = order_id
        elif arg in ("name", "operation"):
            values[arg] = "hold"
        else:
            values[arg] = "x"
    built = rule.build(values, append_unknown=False)
    assert built, rule
    return built[1] if isinstance(built, tuple) else built


def html_rules(app, method, public=False):
    for rule, capability in guarded_rules(app):
        if method in rule.methods and not is_api(rule) and (capability == PUBLIC) == public:
            yield rule, capability


# --- every route is guarded ---------------------------------------------------------------

def test_every_route_requires_a_known_capability(app):
    unguarded = sorted(f"{rule.endpoint} {rule.rule}" for rule, capability in guarded_rules(app)
                       if capability not in KNOWN)
    assert not unguarded, "routes without @requires / @api_requires:\n" + "\n".join(unguarded)


def test_the_console_routes_exist_and_are_audited(app):
    """The audit is not vacuous: it sees the order console and its capabilities."""
    seen = {rule.endpoint: capability for rule, capability in guarded_rules(app)}
    assert seen["orders.index"] == "read" and seen["orders.panel"] == "read"
    for endpoint in ("orders.operation_dialog", "orders.operation_submit", "orders.bulk_dialog",
                     "orders.bulk_submit", "orders.new_order", "orders.create_order",
                     "orders.new_line"):
        assert seen[endpoint] == "operate", endpoint
    assert seen["auth.login"] == PUBLIC


def test_only_login_logout_language_and_the_public_ticket_form_are_public(app):
    public = {rule.endpoint for rule, capability in guarded_rules(app)
              if capability == PUBLIC and not is_api(rule)}
    assert public == {"auth.login", "auth.logout", "auth.language",
                      "help.teams", "help.form", "help.submit", "help.sent"}


# --- anonymous ----------------------------------------------------------------------------

def test_anonymous_get_of_every_page_goes_to_login(app, world, order):
    client = app.test_client()
    checked = 0
    for rule, _ in html_rules(app, "GET"):
        url = concrete(rule, order.id)
        response = client.get(url)
        assert response.status_code == 302, (url, response.status_code)
        assert response.headers["Location"].startswith("/login?next="), url
        response = client.get(url, headers=HX)
        assert response.status_code == 401, url
        assert response.headers["HX-Redirect"] == "/login", url
        checked += 1
    assert checked >= 10


def test_anonymous_post_changes_nothing(app, world, order):
    client = app.test_client()
    before = (Order.get_by_id(order.id).version, CsHistory.select().count())
    for rule, _ in html_rules(app, "POST"):
        url = concrete(rule, order.id)
        response = client.post(url, data={"version": order.version, "ids": [order.id],
                                          "reason": "취소-고객변심"})
        assert response.status_code == 302, (url, response.status_code)
        assert response.headers["Location"].startswith("/login"), url
    assert (Order.get_by_id(order.id).version, CsHistory.select().count()) == before


def test_api_without_a_token_is_401_for_every_guarded_route(app, world, order):
    client = app.test_client()
    checked = 0
    for rule, capability in guarded_rules(app):
        if not is_api(rule) or capability == PUBLIC:
            continue
        url = concrete(rule, order.id)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method, json={})
            assert response.status_code == 401, (method, url, response.status_code)
            checked += 1
    assert (Order.get_by_id(order.id).version, Order.select().count()) == (order.version, 1)
    assert checked >= 1


def test_login_page_is_public(app, world):
    response = app.test_client().get("/login")
    assert response.status_code == 200 and 'name="password"' in response.get_data(as_text=True)


def test_login_never_redirects_off_site(app, world):
    client = app.test_client()
    response = client.post("/login?next=//evil.example/x",
                           data={"username": "agent", "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/orders/"


def test_wrong_password_is_refused(app, world):
    response = app.test_client().post("/login", data={"username": "agent", "password": "nope"})
    assert response.status_code == 401


def test_deactivated_user_loses_access_at_once(app, world, login):
    client = login("agent")
    assert client.get("/orders/").status_code == 200
    world.agent.active = False
    world.agent.save()
    assert client.get("/orders/").status_code == 302


# --- roles ----------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_a_role_without_the_capability_gets_403_everywhere(app, world, order, login, role):
    """GET and POST of every guarded page: 403 before the view runs when the role lacks it."""
    user = getattr(world, role, None) or make_user(f"{role}@example.com", role)
    client = login(user.username)
    before = (Order.get_by_id(order.id).version, CsHistory.select().count())
    refused = 0
    for method in ("GET", "POST"):
        for rule, capability in html_rules(app, method):
            if users.can(user, capability):
                continue
            url = concrete(rule, order.id)
            response = client.open(url, method=method, data={"version": order.version,
                                                             "ids": [order.id]})
            assert response.status_code == 403, (role, method, url, response.status_code)
            refused += 1
    assert (Order.get_by_id(order.id).version, CsHistory.select().count()) == before
    if role == "viewer":
        assert refused >= 7  # at least the order console's operate routes


def order_posts(world, order):
    """Every POST of the order console with valid input, in an order that works: (url, form)."""
    posts = [(f"/orders/{order.id}/op/invoice", {"version": order.version,
                                                 "courier": "CJ대한통운", "tracking_no": "1"}),
             (f"/orders/{order.id}/op/hold", {"version": order.version + 1}),
             ("/orders/bulk/release", {"ids": [order.id]}),
             ("/orders/new", {"channel": world.st11.id, "buyer_name": "김", "recipient_name": "김",
                              "address": "서울", "lines-0-option_id": world.tee_m.id,
                              "lines-0-quantity": "1"})]
    return posts


def test_every_order_console_post_is_in_the_audit_list(app, world, order):
    posted = {rule.endpoint for rule, _ in html_rules(app, "POST")
              if rule.endpoint.startswith("orders.")}
    assert posted == {"orders.operation_submit", "orders.bulk_submit", "orders.create_order"}


def test_viewer_gets_403_on_every_order_console_post(app, world, order, login):
    viewer = login("viewer")
    before = (Order.select().count(), Order.get_by_id(order.id).version,
              CsHistory.select().count())
    for name in orders.OPERATIONS:
        response = viewer.post(f"/orders/{order.id}/op/{name}", headers=HX,
                               data={"version": order.version})
        assert response.status_code == 403, name
    for name, op in orders.OPERATIONS.items():
        if op.bulk:
            assert viewer.post(f"/orders/bulk/{name}", data={"ids": [order.id]}).status_code == 403
    for url, form in order_posts(world, order):
        assert viewer.post(url, data=form, headers=HX).status_code == 403, url
    for url in (f"/orders/{order.id}/op/hold", "/orders/bulk/hold", "/orders/new",
                f"/orders/new/line?option_id={world.tee_m.id}"):
        assert viewer.get(url, headers=HX).status_code == 403, url
    assert (Order.select().count(), Order.get_by_id(order.id).version,
            CsHistory.select().count()) == before
    # what a viewer may do: read
    assert viewer.get("/orders/").status_code == 200
    assert viewer.get(f"/orders/{order.id}", headers=HX).status_code == 200
    assert viewer.get("/orders/products?q=감귤", headers=HX).status_code == 200


@pytest.mark.parametrize("role", ["agent", "admin", "general_admin", "master"])
def test_agent_and_above_may_work_orders(app, world, login, role):
    client = login(getattr(world, role).username)
    for url, form in order_posts(world, new_order(world)):
        response = client.post(url, data=form, headers=HX)
        assert response.status_code == 200, (role, url)
        assert "ruledesk:closeDialog" in response.headers.get("HX-Trigger", ""), (role, url)


# --- CSRF ---------------------------------------------------------------------------------

@pytest.fixture
def csrf_app(database, database_url, world, tmp_path):
    from app import create_app

    app = create_app({
        "TESTING": True, "DATABASE_URL": database_url, "DEMO": False, "SECRET_KEY": "csrf",
        "WTF_CSRF_ENABLED": True, "MASTER_PASSWORD": PASSWORD,
    })
    app.instance_path = str(tmp_path)
    return app


def page_token(body: str) -> str:
    """The token as a page carries it: the hidden input, and the htmx header on <body>."""
    hidden = re.search(r'name="csrf_token" value="([^"]+)"', body).group(1)
    header = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', body)
    assert header and header.group(1) == hidden
    return hidden


def test_login_without_csrf_token_is_refused(csrf_app):
    client = csrf_app.test_client()
    response = client.post("/login", data={"username": "agent", "password": PASSWORD})
    assert response.status_code == 400


def test_operation_without_csrf_token_is_refused_and_with_it_works(csrf_app, world, order):
    client = csrf_app.test_client()
    token = page_token(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": "agent", "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302
    token = page_token(client.get("/orders/").get_data(as_text=True))
    url = f"/orders/{order.id}/op/hold"
    before = (Order.get_by_id(order.id).version, CsHistory.select().count())

    assert client.post(url, data={"version": order.version}, headers=HX).status_code == 400
    wrong = {**HX, "X-CSRFToken": token[:-4] + "AAAA"}
    assert client.post(url, data={"version": order.version}, headers=wrong).status_code == 400
    assert (Order.get_by_id(order.id).version, CsHistory.select().count()) == before
    assert not Order.get_by_id(order.id).hold

    response = client.post(url, data={"version": order.version},
                           headers={**HX, "X-CSRFToken": token})
    assert response.status_code == 200
    assert "ruledesk:closeDialog" in response.headers["HX-Trigger"]
    assert Order.get_by_id(order.id).hold

    # the bulk and new-order posts are protected the same way
    assert client.post("/orders/bulk/release", data={"ids": [order.id]},
                       headers=HX).status_code == 400
    assert Order.get_by_id(order.id).hold
    assert client.post("/orders/new", data={"buyer_name": "김"}, headers=HX).status_code == 400


def test_csrf_token_of_another_session_is_refused(csrf_app, world, order):
    other = csrf_app.test_client()
    foreign = page_token(other.get("/login").get_data(as_text=True))
    client = csrf_app.test_client()
    token = page_token(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"username": "agent", "password": PASSWORD, "csrf_token": token})
    response = client.post(f"/orders/{order.id}/op/hold", data={"version": order.version},
                           headers={**HX, "X-CSRFToken": foreign})
    assert response.status_code == 400
    assert not Order.get_by_id(order.id).hold
