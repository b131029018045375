"""The rules API (/api/v1/rules): the TOML schema over JSON, dry run, run log, changes and
revert; bearer tokens, "read" to read, "automation" to change; 401/403/422, never a 500."""
from __future__ import annotations

import pytest

from engine import config, orders, rules
from engine.models import Order, Rule, RuleChange, RuleRun
from tests.conftest import NOW, PASSWORD, new_order

RULE = {
    "name": "与信エラー → 결제NG",
    "enabled": True,
    "order": 40,
    "trigger": {"record": "order", "event": "becomes", "field": "payment_status",
                "value": "与信審査エラー"},
    "when": "total > 10000",
    "actions": [{"type": "set_handling_status", "status": "결제NG"},
                {"type": "write_cs_line", "text": "결제 확인 필요"}],
}


class Api:
    def __init__(self, client, token=None):
        self.client, self.token = client, token

    def open(self, method, path, json=None, **kwargs):
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        if json is not None:
            kwargs["json"] = json
        return self.client.open("/api/v1/rules" + path, method=method, headers=headers,
                                **kwargs)

    def get(self, path="", **kwargs):
        return self.open("GET", path, **kwargs)

    def post(self, path="", json=None, **kwargs):
        return self.open("POST", path, json, **kwargs)

    def put(self, path, json=None, **kwargs):
        return self.open("PUT", path, json, **kwargs)

    def delete(self, path):
        return self.open("DELETE", path)


@pytest.fixture
def api(app, world):
    rules.forget_index()

    def as_user(username):
        client = app.test_client()
        response = client.post("/api/v1/token", json={"username": username, "password": PASSWORD})
        assert response.status_code == 200, response.get_data(as_text=True)
        return Api(client, response.json["token"])
    yield as_user
    rules.forget_index()


def error(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return response.json["error"]


# --- create, read, update, delete -------------------------------------------------------------

def test_create_list_get_update_delete(api, world):
    admin = api("admin")
    created = admin.post(json=RULE)
    assert created.status_code == 201, created.get_data(as_text=True)
    body = created.json
    assert body["version"] == 1 and body["warnings"] == []
    assert {k: body[k] for k in RULE} == RULE
    rule_id = body["id"]

    listed = api("viewer").get()
    assert listed.status_code == 200 and listed.json["total"] == 1
    assert listed.json["rules"][0]["id"] == rule_id
    assert listed.json["rules"][0]["trigger"] == RULE["trigger"]
    got = api("viewer").get(f"/{rule_id}")
    assert got.status_code == 200 and got.json["actions"] == RULE["actions"]

    changed = {**got.json, "when": "total > 50000", "stop": True}
    updated = admin.put(f"/{rule_id}", json=changed)
    assert updated.status_code == 200, updated.get_data(as_text=True)
    assert updated.json["version"] == 2 and updated.json["when"] == "total > 50000"
    assert updated.json["stop"] is True
    assert Rule.get_by_id(rule_id).stop_processing

    gone = admin.delete(f"/{rule_id}")
    assert gone.status_code == 200 and gone.json["deleted"] is True
    assert Rule.select().count() == 0
    assert error(api("viewer").get(f"/{rule_id}"), 404)["code"] == "not_found"
    assert [c.change for c in RuleChange.select().order_by(RuleChange.id)] == [
        "create", "update", "delete"]


def test_what_the_api_returns_loads_back_as_toml_unchanged(api, world, tmp_path):
    admin = api("admin")
    admin.post(json=RULE)
    exported = config.export()
    path = tmp_path / "rules.toml"
    path.write_text(exported, encoding="utf-8")
    assert config.check([path]) == []
    report = config.load([path])
    assert report.changed == 0 and report.created == 0


def test_stale_version_is_a_conflict_and_changes_nothing(api, world):
    admin = api("admin")
    rule_id = admin.post(json=RULE).json["id"]
    admin.put(f"/{rule_id}", json={**RULE, "when": "total > 1", "version": 1})
    stale = admin.put(f"/{rule_id}", json={**RULE, "when": "total > 2", "version": 1})
    assert error(stale, 409)["code"] == "conflict"
    assert Rule.get_by_id(rule_id).condition == "total > 1"


def test_create_warns_about_crowded_and_conflicting_triggers(api, world):
    admin = api("admin")
    admin.post(json=RULE)
    second = admin.post(json={**RULE, "name": "둘째", "actions": [
        {"type": "set_handling_status", "status": "주문확정"}]})
    assert second.status_code == 201 and len(second.json["warnings"]) == 2


# --- validation ---------------------------------------------------------------------------------

@pytest.mark.parametrize("change, field, words", [
    ({"when": 'paymnet_method == "代金引換"'}, "when", "payment_method"),
    ({"when": "total > 1 and and hold"}, "when", "15"),
    ({"when": "$range(10) == []"}, "when", "$range"),
    ({"when": "not " * 480 + "hold"}, "when", ""),
    ({"actions": [{"type": "set_handling_status", "status": "없는상태"}]},
     "actions-0-status", ""),
    ({"actions": [{"type": "set_handling_status", "status": "결제NG", "colour": "x"}]},
     "actions-0-colour", "colour"),
    ({"actions": [{"type": "explode"}]}, "actions-0-type", "set_handling_status"),
    ({"actions": []}, "actions", ""),
    ({"actions": "hold"}, "actions", ""),
    ({"trigger": {"event": "becomes", "field": "buyer_mobile", "value": "x"}}, "field", ""),
    ({"trigger": {"event": "becomes", "field": "payment_status"}}, "value", ""),
    ({"trigger": "becomes"}, "event", ""),
    ({"name": ["x"]}, "name", ""),
    ({"order": "first"}, "order", ""),
])
def test_bad_rules_are_422_naming_the_field_and_nothing_is_saved(api, world, change, field,
                                                                  words):
    response = api("admin").post(json={**RULE, **change})
    body = error(response, 422)
    assert body["code"] == "validation" and field in body["fields"], body
    assert words in body["fields"][field]
    assert Rule.select().count() == 0 and RuleChange.select().count() == 0


def test_bodies_that_are_not_objects_are_400(api, world):
    admin = api("admin")
    response = admin.client.post("/api/v1/rules", data="[1, 2]",
                                 headers={"Authorization": f"Bearer {admin.token}",
                                          "Content-Type": "application/json"})
    assert error(response, 400)["code"] == "bad_request"
    response = admin.client.post("/api/v1/rules", data="{nope",
                                 headers={"Authorization": f"Bearer {admin.token}"})
    assert error(response, 400)["code"] == "bad_request"


def test_a_taken_name_is_422_on_the_name(api, world):
    admin = api("admin")
    admin.post(json=RULE)
    assert "name" in error(admin.post(json=RULE), 422)["fields"]


# --- who may ------------------------------------------------------------------------------------

def test_without_a_token_every_route_is_401(api, world):
    anonymous = Api(api("admin").client)
    for method, path in [("GET", ""), ("POST", ""), ("GET", "/1"), ("PUT", "/1"),
                         ("DELETE", "/1"), ("POST", "/1/dry-run"), ("GET", "/log"),
                         ("GET", "/changes"), ("POST", "/changes/1/revert")]:
        response = anonymous.open(method, path, json={})
        assert error(response, 401)["code"] == "unauthenticated", (method, path)
        assert "Bearer" in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize("role", ["viewer", "agent"])
def test_reading_roles_cannot_change_rules(api, world, role):
    rule = rules.save_rule(world.admin, RULE, now=NOW)
    change = RuleChange.get()
    order = new_order(world)
    client = api(role)
    assert client.get().status_code == 200 and client.get("/log").status_code == 200
    assert client.get("/changes").status_code == 200
    for method, path, body in [("POST", "", RULE), ("PUT", f"/{rule.id}", RULE),
                               ("DELETE", f"/{rule.id}", None),
                               ("POST", f"/{rule.id}/dry-run", {"order_id": order.id}),
                               ("POST", f"/changes/{change.id}/revert", {})]:
        assert error(client.open(method, path, body), 403)["code"] == "forbidden", path
    assert Rule.get_by_id(rule.id).version == 1 and RuleChange.select().count() == 1


# --- dry run, log, changes -----------------------------------------------------------------------

def test_dry_run_of_a_saved_rule(api, world):
    admin = api("admin")
    rule_id = admin.post(json={**RULE, "when": "total > 30000"}).json["id"]
    order = new_order(world)                         # 25,800
    missed = admin.post(f"/{rule_id}/dry-run", json={"order_id": order.id})
    assert missed.status_code == 200 and missed.json["matched"] is False
    assert "total > 30000" in missed.json["reason"] and "25800" in missed.json["reason"]
    admin.put(f"/{rule_id}", json={**RULE, "when": "total > 10000"})
    hit = admin.post(f"/{rule_id}/dry-run", json={"order_id": order.id})
    assert hit.json["matched"] is True
    assert hit.json["changes"]["handling_status"] == ["", "결제NG"]
    assert [r["ok"] for r in hit.json["results"]] == [True, True]
    assert Order.get_by_id(order.id).handling_status_id is None
    assert RuleRun.select().count() == 0
    assert "order_id" in error(admin.post(f"/{rule_id}/dry-run", json={}), 422)["fields"]
    assert error(admin.post(f"/{rule_id}/dry-run", json={"order_id": 999999}), 404)
    assert error(admin.post("/999/dry-run", json={"order_id": order.id}), 404)


def test_run_log_with_filters_and_paging(api, world):
    admin = api("admin")
    good = admin.post(json={**RULE, "when": ""}).json["id"]
    admin.post(json={"name": "웹훅", "trigger": {"event": "becomes", "field": "payment_status",
                                                 "value": "取消完了"},
                     "actions": [{"type": "call_webhook", "url": "http://127.0.0.1:9/",
                                  "timeout": 1}]})
    first, second = new_order(world), new_order(world)
    ctx = orders.Context(world.agent, NOW)
    orders.perform("set_payment_status", first.id, {"payment_status": "与信審査エラー"}, ctx)
    orders.perform("set_payment_status", second.id, {"payment_status": "取消完了"}, ctx)
    viewer = api("viewer")
    log = viewer.get("/log").json
    assert log["total"] == 2 and [r["record_id"] for r in log["runs"]] == [second.id, first.id]
    assert log["runs"][1]["actions"][0] == {"type": "set_handling_status", "ok": True,
                                            "result": "handling status → 결제NG"}
    assert viewer.get("/log?outcome=failed").json["runs"][0]["rule"] == "웹훅"
    assert viewer.get(f"/log?rule_id={good}").json["total"] == 1
    assert viewer.get(f"/log?record_id={second.id}").json["runs"][0]["outcome"] == "failed"
    paged = viewer.get("/log?per_page=1&page=2").json
    assert (paged["total"], paged["pages"], paged["page"]) == (2, 2, 2)
    assert paged["runs"][0]["record_id"] == first.id
    bad = error(viewer.get("/log?outcome=nope&record_id=x&per_page=1000"), 422)
    assert {"outcome", "record_id", "per_page"} <= set(bad["fields"])


def test_changes_and_revert(api, world):
    admin = api("admin")
    rule_id = admin.post(json=RULE).json["id"]
    admin.put(f"/{rule_id}", json={**RULE, "when": "total > 99999"})
    changes = api("viewer").get(f"/changes?rule_id={rule_id}").json
    assert changes["total"] == 2 and changes["changes"][0]["change"] == "update"
    update = changes["changes"][0]
    assert update["before"]["when"] == "total > 10000"
    assert update["after"]["when"] == "total > 99999"
    assert update["actor"] == "admin"
    reverted = admin.post(f"/changes/{update['id']}/revert")
    assert reverted.status_code == 200, reverted.get_data(as_text=True)
    assert reverted.json["rule"]["when"] == "total > 10000"
    assert reverted.json["rule"]["version"] == 3
    assert reverted.json["change"]["change"] == "revert"
    # undoing the creation deletes the rule
    create = RuleChange.get(RuleChange.change == "create")
    undone = admin.post(f"/changes/{create.id}/revert")
    assert undone.status_code == 200 and undone.json["rule"] is None
    assert Rule.select().count() == 0
    assert error(admin.post("/changes/99999/revert"), 404)["code"] == "not_found"
    assert error(api("viewer").get("/changes?rule_id=abc"), 422)["fields"]["rule_id"]
