"""The JSON API (/api/v1): bearer tokens, the same roles and refusals as the console."""
import pytest

from engine import orders
from engine.models import ApiToken, CsHistory, HandlingStatus, Order, User
from tests.conftest import PASSWORD, new_order


class Client:
    """A test client that sends one user's bearer token with every request."""

    def __init__(self, client, token=None):
        self.client, self.token = client, token

    def _headers(self):
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path, **kwargs):
        return self.client.get("/api/v1" + path, headers=self._headers(), **kwargs)

    def post(self, path, json=None, **kwargs):
        if json is not None:
            kwargs["json"] = json
        return self.client.post("/api/v1" + path, headers=self._headers(), **kwargs)

    def act(self, order_id, operation, **fields):
        return self.post(f"/orders/{order_id}/actions/{operation}", json=fields)


@pytest.fixture
def api(app, world):
    """api("agent") → a client holding a fresh token of that user (optionally in a language)."""
    def as_user(username, language=None):
        if language:
            User.update(language=language).where(User.username == username).execute()
        client = app.test_client()
        response = client.post("/api/v1/token", json={"username": username, "password": PASSWORD})
        assert response.status_code == 200, response.get_data(as_text=True)
        return Client(client, response.json["token"])
    return as_user


def error(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return response.json["error"]


def history_operations(order_id):
    return [h.operation for h in
            CsHistory.select().where(CsHistory.order == order_id).order_by(CsHistory.id)]


# --- tokens and authentication ------------------------------------------------------------

def test_token_is_issued_for_the_right_password_only(app, world):
    client = app.test_client()
    response = client.post("/api/v1/token", json={"username": "agent", "password": PASSWORD})
    assert response.status_code == 200
    token = response.json["token"]
    assert response.json["user"]["role"] == "agent"
    assert Client(client, token).get("/orders").status_code == 200

    wrong = client.post("/api/v1/token", json={"username": "agent", "password": "nope"})
    assert error(wrong, 401)["code"] == "unauthenticated"
    assert error(client.post("/api/v1/token", json={"username": "nobody", "password": PASSWORD}),
                 401)["code"] == "unauthenticated"
    assert ApiToken.select().count() == 1  # only the good login got a token


def test_without_a_valid_token_everything_is_401_even_with_a_session_cookie(app, world, order,
                                                                           login):
    browser = login("agent")  # logged in to the console: the cookie must not open the API
    for client in (Client(browser), Client(app.test_client(), "not-a-token")):
        response = client.get(f"/orders/{order.id}")
        assert error(response, 401)["code"] == "unauthenticated"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        error(client.act(order.id, "hold"), 401)
    assert not Order.get_by_id(order.id).hold


def test_a_deactivated_users_token_stops_working(api, world):
    agent = api("agent")
    assert agent.get("/orders").status_code == 200
    User.update(active=False).where(User.id == world.agent.id).execute()
    error(agent.get("/orders"), 401)


def test_viewer_reads_but_cannot_operate_or_create(api, world, order):
    viewer = api("viewer")
    assert viewer.get("/orders").json["total"] == 1
    assert viewer.get(f"/orders/{order.id}").json["id"] == order.id

    assert error(viewer.act(order.id, "hold"), 403)["code"] == "forbidden"
    error(viewer.post("/orders/bulk/hold", json={"ids": [order.id]}), 403)
    error(viewer.post("/orders", json={"channel": world.st11.id, "buyer_name": "x",
                                       "recipient_name": "x", "address": "x",
                                       "lines": [{"option_id": world.tee_m.id, "quantity": 1}]}),
          403)
    assert not Order.get_by_id(order.id).hold and Order.select().count() == 1


def test_every_api_route_declares_its_capability(app):
    capabilities = {rule.rule: app.view_functions[rule.endpoint].required_capability
                    for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")}
    assert capabilities.pop("/api/v1/token") == "public"
    assert capabilities and set(capabilities.values()) <= {"read", "operate"}
    assert capabilities["/api/v1/orders/<int:order_id>/actions/<operation>"] == "operate"


def test_api_requires_checks_the_capability_before_the_view_runs(app, api, world):
    """The decorator itself refuses, not only the engine (settings are not engine-guarded)."""
    from flask import g
    from views.api import api_requires

    @api_requires("settings")
    def probe():
        return {"user": g.api_user.username}
    app.add_url_rule("/api/v1/probe", "api_probe", probe)
    assert probe.required_capability == "settings"
    assert error(api("agent").get("/probe"), 403)["code"] == "forbidden"
    assert api("admin").get("/probe").json == {"user": "admin"}


def test_errors_come_in_the_token_users_language(app, api, world, order):
    from flask_babel import force_locale, gettext

    denied = "You do not have permission to do this."
    assert error(api("viewer", language="en").act(order.id, "hold"), 403)["message"] == denied
    in_korean = error(api("viewer", language="ko").act(order.id, "hold"), 403)["message"]
    anonymous = error(app.test_client().get("/api/v1/orders"), 401)["message"]
    with app.test_request_context(), force_locale("ko"):
        assert in_korean == gettext(denied)
        assert anonymous == gettext("The API token is missing, wrong or revoked.")


def test_api_posts_need_no_csrf_token_when_csrf_is_on(database_url, database, world):
    from app import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "DEMO": False,
                      "SECRET_KEY": "test", "WTF_CSRF_ENABLED": True})
    client = app.test_client()
    assert client.post("/login", data={"username": "agent", "password": PASSWORD}
                       ).status_code == 400  # the console is still protected
    response = client.post("/api/v1/token", json={"username": "agent", "password": PASSWORD})
    assert response.status_code == 200
    created = Client(client, response.json["token"]).post("/orders", json={
        "channel": "쿠팡", "buyer_name": "변다사", "recipient_name": "변다사", "address": "김해",
        "lines": [{"option_code": "30001", "quantity": 1}]})
    assert created.status_code == 201, created.get_data(as_text=True)


# --- reading ------------------------------------------------------------------------------

def test_list_filters_by_state_and_keyword_and_pages(api, world):
    a = new_order(world)
    b = new_order(world, recipient_name="장유리", recipient_mobile="010-1111-2222")
    c = new_order(world, channel=world.mall)
    orders.perform("invoice", a.id, {"courier": "CJ대한통운", "tracking_no": "1"},
                   orders.Context(world.agent, a.received_at))
    agent = api("agent")

    received = agent.get("/orders", query_string={"state": "접수"}).json
    assert [o["id"] for o in received["orders"]] == [c.id, b.id]
    assert received["total"] == 2

    found = agent.get("/orders", query_string={"state": "접수", "q": "장유리"}).json
    assert [o["id"] for o in found["orders"]] == [b.id]
    row = found["orders"][0]
    assert (row["channel"], row["channel_id"], row["channel_group"]) == ("11번가", world.st11.id,
                                                                        "오픈마켓")
    assert row["received_at"] == "2026-03-31T17:00:00+09:00"
    assert row["recipient"]["mobile"] == "010-1111-2222"
    assert [(l["option_code"], l["quantity"], l["amount"]) for l in row["lines"]] == [
        ("30001", 2, 2 * 12900)]
    assert row["total"] == 2 * 12900 and "history" not in row

    first = agent.get("/orders", query_string={"per_page": 2}).json
    second = agent.get("/orders", query_string={"per_page": 2, "page": 2}).json
    assert (first["total"], first["pages"], first["page"], first["per_page"]) == (3, 2, 1, 2)
    assert len(first["orders"]) == 2 and len(second["orders"]) == 1
    assert {o["id"] for o in first["orders"] + second["orders"]} == {a.id, b.id, c.id}
    assert agent.get("/orders", query_string={"group": world.mall.group_id}
                     ).json["orders"][0]["id"] == c.id


def test_list_queries_do_not_grow_with_the_page(api, world, monkeypatch):
    """Lines, channels and statuses are loaded per page, never per order (no N+1)."""
    from engine.models import db
    agent = api("agent")

    def queries_for_listing():
        seen = []
        execute_sql = db.obj.execute_sql
        monkeypatch.setattr(db.obj, "execute_sql",
                            lambda sql, *a, **k: seen.append(sql) or execute_sql(sql, *a, **k))
        assert agent.get("/orders").status_code == 200
        monkeypatch.undo()
        return len(seen)

    new_order(world)
    few = queries_for_listing()
    for _ in range(5):
        new_order(world, channel=world.mall)
    assert queries_for_listing() == few


def test_bad_filters_are_422_naming_every_field(api, world):
    agent = api("agent")
    err = error(agent.get("/orders", query_string={"state": "없음"}), 422)
    assert (err["code"], err["field"]) == ("validation", "state")
    err = error(agent.get("/orders", query_string={"date_from": "2026-13-01", "per_page": 500,
                                                   "page": "x"}), 422)
    assert set(err["fields"]) == {"date_from", "per_page", "page"}


def test_one_order_with_lines_and_history(api, world, order):
    body = api("viewer").get(f"/orders/{order.id}").json
    assert (body["id"], body["order_no"], body["state"], body["cs_state"]) == (
        order.id, "M20260331-0001", "접수", "정상")
    assert body["buyer"] == {"name": "변다사", "phone": "", "mobile": ""}
    assert body["recipient"]["zip_code"] == "50969" and body["recipient"]["memo"] == ""
    assert (body["hold"], body["handling_status"], body["courier"], body["version"]) == (
        False, None, None, 1)
    assert body["lines"] == [{"id": order.lines[0].id, "product_code": "P100",
                              "product": "순면 티셔츠", "option_code": "30001",
                              "option": "화이트-M", "quantity": 2, "cancelled_qty": 0,
                              "active_qty": 2, "price": 12900, "amount": 25800}]
    [created] = body["history"]
    assert (created["operation"], created["operator"], created["at"]) == (
        "create", "장유리", "2026-03-31T17:00:00+09:00")
    assert created["processed"] is False


def test_missing_order_unknown_route_and_wrong_method_answer_in_json(api, world, order):
    agent = api("agent")
    assert error(agent.get("/orders/99999"), 404)["code"] == "not_found"
    assert error(agent.act(99999, "hold"), 404)["code"] == "not_found"
    assert error(agent.get("/nothing/here"), 404)["code"] == "not_found"
    assert error(agent.get("/orders/abc"), 404)["code"] == "not_found"
    response = agent.client.delete(f"/api/v1/orders/{order.id}", headers=agent._headers())
    assert error(response, 405)["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


# --- creating -----------------------------------------------------------------------------

def test_create_order_by_channel_name_and_option_code(api, world):
    response = api("agent").post("/orders", json={
        "channel": "쿠팡", "order_no": "CP-1001", "buyer_name": "변다사",
        "buyer_mobile": "01089856279", "recipient_name": "장유리", "zip_code": "50969",
        "address": "경남 김해시 장유로 320", "shipping_fee": 3000, "cs_text": "전화 주문",
        "lines": [{"option_code": "30001", "quantity": 2},
                  {"option_id": world.citrus_5.id, "quantity": 1, "price": 15000}]})
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.json
    saved = Order.get_by_id(body["id"])
    assert (saved.channel_id, saved.order_no, saved.buyer_mobile) == (
        world.coupang.id, "CP-1001", "010-8985-6279")
    assert [(l.option_code, l.quantity, l.unit_price) for l in saved.lines] == [
        ("30001", 2, 12900), ("30003", 1, 15000)]
    assert body["total"] == 2 * 12900 + 15000 + 3000 == saved.total
    assert [(h["operation"], h["text"]) for h in body["history"]] == [("create", "전화 주문")]


def test_create_order_refuses_missing_buyer_and_unknown_product_creating_nothing(api, world):
    agent = api("agent")
    err = error(agent.post("/orders", json={
        "channel": world.st11.id, "buyer_name": "", "recipient_name": "x", "address": "x",
        "lines": [{"option_code": "NO-SUCH", "quantity": 1}]}), 422)
    assert err["field"] == "buyer_name"
    assert {"buyer_name", "lines-0-option_id"} <= set(err["fields"])
    err = error(agent.post("/orders", json={
        "channel": "없는 판매처", "buyer_name": "x", "recipient_name": "x", "address": "x",
        "lines": [{"option_id": world.tee_m.id, "quantity": 1}]}), 422)
    assert err["field"] == "channel"
    assert error(agent.post("/orders", json={"channel": world.st11.id, "lines": "30001"}),
                 422)["field"] == "lines"
    assert Order.select().count() == 0


# --- operations ---------------------------------------------------------------------------

def test_invoice_moves_the_order_to_invoiced_with_a_history_line(api, world, order):
    response = api("agent").act(order.id, "invoice", courier="CJ대한통운",
                                tracking_no="123456789012", cs_text="송장 직접 입력",
                                version=order.version)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.json
    assert (body["state"], body["courier"], body["tracking_no"], body["version"]) == (
        "송장", "CJ대한통운", "123456789012", order.version + 1)
    assert body["invoiced_at"] is not None
    newest = body["history"][0]
    assert (newest["operation"], newest["operator"], newest["text"]) == (
        "invoice", "장유리", "송장 직접 입력")
    assert newest["detail"] == "[택배사 : CJ대한통운, 송장번호 : 123456789012]"
    saved = Order.get_by_id(order.id)
    assert (saved.state, saved.tracking_no) == ("송장", "123456789012")
    assert history_operations(order.id) == ["create", "invoice"]


def test_tracking_number_with_letters_is_422_on_tracking_no(api, world, order):
    err = error(api("agent").act(order.id, "invoice", courier="CJ대한통운",
                                 tracking_no="12345678901O"), 422)
    assert err["field"] == "tracking_no" and "tracking_no" in err["fields"]
    assert Order.get_by_id(order.id).state == "접수"
    assert history_operations(order.id) == ["create"]


def test_cancel_while_invoiced_is_409(api, world, order):
    agent = api("agent", language="en")
    assert agent.act(order.id, "invoice", courier="CJ대한통운", tracking_no="1").status_code == 200
    err = error(agent.act(order.id, "cancel", reason="취소-고객변심"), 409)
    assert err["code"] == "state" and "delete the invoice" in err["message"]
    assert Order.get_by_id(order.id).cs_state == "정상"


def test_stale_version_is_409_saying_who_changed_it(api, world, order):
    read_version = api("agent").get(f"/orders/{order.id}").json["version"]
    assert api("agent2").act(order.id, "hold", version=read_version).status_code == 200
    err = error(api("agent", language="en").act(
        order.id, "change_shipping", recipient_name="다른이름", address="다른주소",
        version=read_version), 409)
    assert err["code"] == "conflict"
    assert "reload" in err["message"] and "함정리" in err["message"]
    assert Order.get_by_id(order.id).recipient_name == "변다사"
    assert error(api("agent").act(order.id, "release", version="two"), 422)["field"] == "version"


def test_every_operation_through_actions(api, world, order):
    """Walk one order through every operation the engine declares, checking each result."""
    agent = api("agent")
    done = []

    def act(operation, **fields):
        response = agent.act(order.id, operation, **fields)
        assert response.status_code == 200, (operation, response.get_data(as_text=True))
        done.append(operation)
        return response.json

    held = act("hold", alarm_at="2026-03-31T18:00", cs_text="고객 요청")
    assert held["hold"] and held["hold_alarm_at"] == "2026-03-31T18:00:00+09:00"
    assert not act("release")["hold"]
    changed = act("change_shipping", recipient_name="장유리", recipient_mobile="070-4481-8840",
                  zip_code="621-785", address="경남 김해시 장유면 부곡리")
    assert changed["recipient"]["zip_code"] == "621785"
    assert act("set_handling_status", handling_status="발송준비중")["handling_status"] == "발송준비중"
    assert act("invoice", courier="CJ대한통운", tracking_no="2133-0012")["tracking_no"] == "21330012"
    assert act("ship")["state"] == "배송"
    assert act("unship")["state"] == "송장"
    assert act("delete_invoice")["state"] == "접수"
    assert act("cancel", reason="취소-고객변심")["cs_state"] == "취소"
    restored = act("restore")
    assert (restored["state"], restored["cs_state"], restored["cancel_reason"]) == (
        "접수", "정상", None)
    assert act("set_payment_status", payment_status="与信審査エラー")["payment_status"] == \
        "与信審査エラー"
    assert act("set_payment_method", payment_method="代金引換")["payment_method"] == "代金引換"
    assert act("mark_shipping_list_exported")["shipping_list_exported"] is True
    act("invoice", courier="CJ대한통운", tracking_no="2133-0013")
    act("ship")
    assert act("set_delivery_date", delivery_date="2026-04-02")["delivery_date"] == "2026-04-02"
    again = ["invoice", "ship"]  # walked a second time

    # returns: 회수 of the shipped order, 개별취소 / 개별정상복귀, 반품예정 / 교환예정
    line_id = held["lines"][0]["id"]
    picked = act("pickup", courier="CJ대한통운", reason="반품-불량", register_inbound=True,
                 expected_card=25800, return_tracking_no="555")
    assert [(p["status"], p["expected_card"], p["return_tracking_no"])
            for p in picked["pickups"]] == [("요청", 25800, "555")]
    assert act("pickup_receive")["pickups"][0]["status"] == "접수"
    completed = act("pickup_complete", arrived_card=20000)["pickups"][0]
    assert (completed["status"], completed["outstanding"]) == ("완료", 5800)
    partly = act("partial_cancel", line_id=line_id, quantity=1, reason="반품-불량")
    assert partly["cs_state"] == "부분취소"
    assert (partly["lines"][0]["cancelled_qty"], partly["lines"][0]["amount"]) == (1, 12900)
    assert partly["total"] == 12900
    assert act("partial_restore", line_id=line_id, quantity=1)["cs_state"] == "정상"
    assert act("mark_return_expected")["return_expected"] is True
    assert act("unmark_return_expected")["return_expected"] is False
    marked = act("mark_exchange_expected", exchange_type="불량교환")
    assert (marked["exchange_expected"], marked["exchange_type"]) == (True, "불량교환")
    assert act("unmark_exchange_expected")["exchange_expected"] is False
    # 주문복사 / 주문전체복사 answer with the NEW order
    copy = act("copy", option_id=world.citrus_5.id, quantity=2)
    assert copy["id"] != order.id and copy["lines"][0]["option_code"] == "30003"
    assert copy["history"][0]["detail"] == f"[주문복사] <이전 주문 관리번호 : {order.id}>"
    copy_all = act("copy_all", channel="%d" % world.mall.id)
    assert (copy_all["channel"], copy_all["lines"][0]["quantity"]) == ("자사몰", 2)

    # back to 접수 for the products, priority and 합포 operations
    act("unship"), act("delete_invoice")
    again += ["unship", "delete_invoice"]
    assert act("change_product", line_id=line_id, option_id=world.tee_l.id
               )["lines"][0]["option_code"] == "30002"
    assert len(act("add_product", option_id=world.citrus_5.id, quantity=1)["lines"]) == 2
    assert act("set_priority", position="top")["priority"] == 1
    twin = new_order(world, recipient_name="장유리", recipient_mobile="070-4481-8840",
                     zip_code="621785", address="경남 김해시 장유면 부곡리")
    combined = act("combine", **{"with": twin.id})
    assert combined["combine_group"] == order.id
    assert Order.get_by_id(twin.id).combine_group == order.id
    assert act("uncombine")["combine_group"] is None
    act("combine", **{"with": twin.id})
    again.append("combine")
    assert act("delete_combine")["combine_group"] is None
    assert act("forbid_combine")["combine_forbidden"] is True
    assert act("allow_combine")["combine_forbidden"] is False
    gone = act("delete")
    assert gone["deleted"] is True and gone["deleted_at"]

    walked = len(done)
    for name in again:
        done.remove(name)
    assert sorted(done) == sorted(orders.OPERATIONS)  # a new operation needs a step here
    assert set(history_operations(order.id)) == {"create"} | set(done)
    saved = Order.get_by_id(order.id)
    assert (saved.cs_state, saved.recipient_name, saved.version) == ("정상", "장유리", 1 + walked)
    assert saved.deleted
    status = HandlingStatus.get(HandlingStatus.name == "발송준비중")
    assert saved.handling_status_id == status.id


def test_handling_status_by_id_and_cleared_with_null(api, world, order):
    agent = api("agent")
    status = HandlingStatus.get(HandlingStatus.name == "결제NG")
    assert agent.act(order.id, "set_handling_status",
                     handling_status=status.id).json["handling_status"] == "결제NG"
    assert agent.act(order.id, "set_handling_status",
                     handling_status=None).json["handling_status"] is None
    err = error(agent.act(order.id, "set_handling_status", handling_status="없는상태"), 422)
    assert err["field"] == "handling_status"


def test_unknown_operation_is_404(api, world, order):
    agent = api("agent")
    assert error(agent.act(order.id, "explode"), 404)["code"] == "not_found"
    assert error(agent.post("/orders/bulk/invoice", json={"ids": [order.id]}),
                 404)["code"] == "not_found"  # invoice is not a bulk operation
    assert history_operations(order.id) == ["create"]


def test_bulk_hold_is_all_or_nothing(api, world, order):
    agent = api("agent")
    second, third = new_order(world), new_order(world)
    assert agent.act(third.id, "hold").status_code == 200

    err = error(agent.post("/orders/bulk/hold", json={"ids": [order.id, second.id, third.id]}),
                409)
    assert err["code"] == "state"
    assert [d["id"] for d in err["details"]] == [third.id]
    assert not Order.get_by_id(order.id).hold and not Order.get_by_id(second.id).hold

    response = agent.post("/orders/bulk/hold", json={"ids": [second.id, order.id],
                                                     "cs_text": "일괄 보류"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [(o["id"], o["hold"]) for o in response.json["orders"]] == [(order.id, True),
                                                                       (second.id, True)]
    assert response.json["orders"][0]["lines"][0]["option_code"] == "30001"
    assert all(Order.get_by_id(i).hold for i in (order.id, second.id))
    assert error(agent.post("/orders/bulk/release", json={"ids": "1,2"}), 422)["field"] == "ids"


# --- malformed input is never a 500 ---------------------------------------------------------

def test_malformed_json_is_400(api, world, order):
    agent = api("agent")
    for body in ('{"courier": ', "[1, 2]", '"text"', "null"):
        response = agent.post(f"/orders/{order.id}/actions/hold", data=body,
                              content_type="application/json")
        assert error(response, 400)["code"] == "bad_request"
    assert error(agent.client.post("/api/v1/token", data="{oops",
                                   content_type="application/json"), 400)
    assert not Order.get_by_id(order.id).hold


@pytest.mark.parametrize("body", [
    {"channel": {"id": 1}, "lines": [{"option_id": [1], "quantity": "many"}]},
    {"channel": True, "buyer_name": 5, "shipping_fee": -1, "lines": [None, 7, "x"]},
    {"lines": [{"option_code": {"a": 1}, "quantity": 1.5, "price": "free"}]},
])
def test_odd_order_bodies_are_422_not_500(api, world, body):
    assert error(api("agent").post("/orders", json=body), 422)["code"] == "validation"
    assert Order.select().count() == 0


def test_odd_action_fields_are_422_not_500(api, world, order):
    agent = api("agent")
    assert error(agent.act(order.id, "hold", alarm_at=[2026]), 422)["field"] == "alarm_at"
    assert error(agent.act(order.id, "hold", version=True), 422)["field"] == "version"
    assert error(agent.act(order.id, "invoice", courier={"x": 1}, tracking_no=1),
                 422)["field"] == "courier"
    assert not Order.get_by_id(order.id).hold


# --- the CS operations of issue 6 -----------------------------------------------------------

def test_order_json_has_the_cs_fields(api, world, order):
    body = api("viewer").get(f"/orders/{order.id}").json
    assert {k: body[k] for k in ("combine_group", "combine_forbidden", "priority",
                                 "return_expected", "exchange_expected", "exchange_type",
                                 "deleted", "pickups")} == {
        "combine_group": None, "combine_forbidden": False, "priority": 0,
        "return_expected": False, "exchange_expected": False, "exchange_type": None,
        "deleted": False, "pickups": []}
    assert body["lines"][0]["cancelled_qty"] == 0 and body["lines"][0]["active_qty"] == 2
    listed = api("viewer").get("/orders").json["orders"][0]
    assert listed["pickups"] == [] and listed["lines"][0]["cancelled_qty"] == 0


def test_partial_cancel_above_what_is_left_is_422_and_changes_nothing(api, world, order):
    agent = api("agent", language="en")
    line_id = order.lines[0].id
    err = error(agent.act(order.id, "partial_cancel", line_id=line_id, quantity=3,
                          reason="반품-불량"), 422)
    assert (err["field"], err["message"]) == ("quantity", "Only 2 left to cancel on this line.")
    err = error(agent.act(order.id, "partial_cancel", line_id=999, quantity=1,
                          reason="반품-불량"), 422)
    assert err["field"] == "line_id"
    assert history_operations(order.id) == ["create"]
    assert Order.get_by_id(order.id).cs_state == "정상"


def test_combine_by_order_id_and_one_tracking_number_for_the_group(api, world, order):
    agent = api("agent")
    twin = new_order(world)
    elsewhere = new_order(world, address="부산광역시 해운대구")
    assert error(agent.act(order.id, "combine", **{"with": elsewhere.id}), 422)["field"] == "with"
    assert agent.act(order.id, "combine", **{"with": twin.id}).json["combine_group"] == order.id
    invoiced = agent.act(twin.id, "invoice", courier="CJ대한통운", tracking_no="77").json
    assert invoiced["tracking_no"] == "77"
    first = agent.get(f"/orders/{order.id}").json
    assert (first["state"], first["tracking_no"], first["combine_group"]) == ("송장", "77",
                                                                             order.id)
    err = error(agent.act(elsewhere.id, "invoice", courier="CJ대한통운", tracking_no="77"), 422)
    assert err["field"] == "tracking_no"


@pytest.mark.parametrize("operation, fields", [
    ("combine", {"with": 1}), ("partial_cancel", {"line_id": 1, "quantity": 1, "reason": "반품-불량"}),
    ("copy", {}), ("delete", {}), ("set_priority", {"position": "top"}),
    ("mark_return_expected", {}),
])
def test_viewer_cannot_run_the_cs_operations(api, world, order, operation, fields):
    assert error(api("viewer").act(order.id, operation, **fields), 403)["code"] == "forbidden"
    assert history_operations(order.id) == ["create"] and Order.select().count() == 1


def test_bulk_marks_through_the_api(api, world, order):
    second = new_order(world)
    response = api("agent").post("/orders/bulk/mark_exchange_expected",
                                 json={"ids": [order.id, second.id], "exchange_type": "상품교환"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [o["exchange_type"] for o in response.json["orders"]] == ["상품교환", "상품교환"]
