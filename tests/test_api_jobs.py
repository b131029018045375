"""The jobs API (/api/v1/jobs): the job's one schema over JSON, next runs in ISO 8601 of the app
zone, run now, the job log with filters and paging, the phone-change code; bearer tokens,
"read" to read, "automation" to change; 401/403/409/422, never a 500."""
from __future__ import annotations

import re

import pytest

from engine import jobs
from engine.models import Job, JobChange, JobRun, Message, SenderNumber
from tests.conftest import NOW, PASSWORD

JOB = {
    "name": "주문수집 평일",
    "kind": "collect_orders",
    "enabled": True,
    "weekdays": ["mon", "tue", "wed", "thu", "fri"],
    "start": "09:00",
    "end": "18:00",
    "every_hours": 3,
    "skip_holidays": True,
    "holiday_country": "KR",
    "blackouts": [["12:00", "13:00"]],
    "channels": ["11번가", "쿠팡"],
    "options": {"confirm": True},
    "missed": "run_once",
}
TZ = jobs.clock.zone("Asia/Seoul")


class Api:
    def __init__(self, client, token=None):
        self.client, self.token = client, token

    def open(self, method, path, json=None, **kwargs):
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        if json is not None:
            kwargs["json"] = json
        return self.client.open("/api/v1/jobs" + path, method=method, headers=headers,
                                **kwargs)

    def get(self, path="", **kwargs):
        return self.open("GET", path, **kwargs)

    def post(self, path="", json=None, **kwargs):
        return self.open("POST", path, json, **kwargs)

    def put(self, path, json=None, **kwargs):
        return self.open("PUT", path, json, **kwargs)


@pytest.fixture
def api(app, world):
    def as_user(username):
        client = app.test_client()
        response = client.post("/api/v1/token", json={"username": username, "password": PASSWORD})
        assert response.status_code == 200, response.get_data(as_text=True)
        return Api(client, response.json["token"])
    return as_user


def error(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return response.json["error"]


def test_create_list_and_get_a_job(api):
    admin = api("admin")
    created = admin.post("", JOB)
    assert created.status_code == 201, created.json
    body = created.json
    assert body["id"] and body["version"] == 1 and body["lookback_days"] == 14
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:00:00\+09:00", body["next_run_at"])
    assert body["last_success_at"] is None
    for key, value in JOB.items():
        assert body[key] == value, key
    listed = api("viewer").get()
    assert listed.status_code == 200
    assert listed.json["total"] == 1 and listed.json["maintenance"] is False
    row = listed.json["jobs"][0]
    assert {"id", "version", "next_run_at", "last_success_at"} <= set(row)
    assert row["name"] == JOB["name"] and row["blackouts"] == [["12:00", "13:00"]]
    one = api("agent").get(f"/{body['id']}")
    assert one.status_code == 200 and one.json["channels"] == ["11번가", "쿠팡"]
    assert error(admin.get("/999"), 404)["code"] == "not_found"


def test_what_the_api_returns_can_be_sent_back_unchanged(api):
    admin = api("admin")
    job = admin.post("", {**JOB, "once_a_day": True, "every_hours": None}).json
    again = admin.put(f"/{job['id']}", job)
    assert again.status_code == 200, again.json
    assert again.json["version"] == 2 and again.json["once_a_day"] is True
    assert "every_hours" not in again.json


@pytest.mark.parametrize("body, fields", [
    ({"weekdays": []}, {"weekdays"}),
    ({"weekdays": "mon"}, {"weekdays"}),
    ({"weekdays": 5, "start": 9, "blackouts": 3}, {"weekdays", "start", "blackouts"}),
    ({"start": "25:00", "kind": "dance"}, {"start", "kind"}),
    ({"every_hours": 0}, {"every_hours"}),
    ({"every_hours": "three"}, {"every_hours"}),
    ({"blackouts": [["10:00", "11:00"]] * 4}, {"blackouts"}),
    ({"blackouts": [[9, 10]]}, {"blackouts"}),
    ({"channels": ["없는몰"]}, {"channels"}),
    ({"channels": [{"x": 1}]}, {"channels"}),
    ({"options": [1]}, {"options"}),
    ({"options": {"confirm": "yes"}}, {"options"}),
    ({"kind": "collect_inquiries", "options": {"types": ["spam"]}}, {"options"}),
    ({"notify": {"kind": "sms", "phone": "010-1234-5678", "dnd": [22, 8]}}, {"notify"}),
    ({"notify": "sms"}, {"notify"}),
    ({"missed": ["skip"]}, {"missed"}),
    ({"holiday_country": 82}, {"holiday_country"}),
    ({"lookback_days": 0}, {"lookback_days"}),
])
def test_bad_input_is_422_naming_each_field_and_nothing_is_saved(api, body, fields):
    err = error(api("admin").post("", {**JOB, **body}), 422)
    assert err["code"] == "validation" and fields <= set(err["fields"]), err
    assert Job.select().count() == 0


def test_not_json_is_400_and_unknown_routes_are_json(api):
    admin = api("admin")
    response = admin.client.post("/api/v1/jobs", data="[1]",
                                 headers={"Authorization": f"Bearer {admin.token}"})
    assert error(response, 400)["code"] == "bad_request"
    assert error(admin.open("DELETE", "/1"), 405)


def test_roles_and_tokens(api, app, world):
    job = jobs.save_job(world.admin, JOB, now=NOW)
    for role in ("viewer", "agent"):
        client = api(role)
        assert error(client.post("", {**JOB, "name": "x"}), 403)["code"] == "forbidden"
        assert error(client.put(f"/{job.id}", JOB), 403)
        assert error(client.post(f"/{job.id}/run"), 403)
        assert error(client.post("/phone-code", {"phone": "010-1234-5678"}), 403)
    assert error(Api(app.test_client()).get(), 401)["code"] == "unauthenticated"
    for user in (world.admin, world.general_admin, world.master):
        assert api(user.username).put(f"/{job.id}", JOB).status_code == 200, user.role
    assert JobRun.select().count() == 0 and Job.select().count() == 1


def test_put_with_a_stale_version_is_409_and_changes_nothing(api, world):
    job = jobs.save_job(world.admin, JOB, now=NOW)
    admin = api("admin")
    assert admin.put(f"/{job.id}", {**JOB, "version": 1, "start": "08:00"}).status_code == 200
    err = error(admin.put(f"/{job.id}", {**JOB, "version": 1, "start": "07:00"}), 409)
    assert err["code"] == "conflict" and err["field"] == "version"
    assert Job.get_by_id(job.id).start == "08:00"
    assert JobChange.select().count() == 2


def test_next_runs_in_iso_8601_of_the_app_zone(api, world):
    monday = jobs.save_job(world.admin, {**JOB, "weekdays": ["mon"], "every_hours": 4,
                                         "blackouts": []}, now=NOW)
    viewer = api("viewer")
    response = viewer.get(f"/{monday.id}/next-runs?count=4&from=2026-11-23T00:00:00%2B09:00")
    assert response.status_code == 200
    assert response.json["runs"] == ["2026-11-23T09:00:00+09:00", "2026-11-23T13:00:00+09:00",
                                      "2026-11-23T17:00:00+09:00", "2026-11-30T09:00:00+09:00"]
    # a "from" in UTC, or without offset (the app's zone), or with an unencoded "+"
    utc = viewer.get(f"/{monday.id}/next-runs?count=1&from=2026-11-22T15:00:00Z").json
    local = viewer.get(f"/{monday.id}/next-runs?count=1&from=2026-11-23T00:00").json
    plus = viewer.get(f"/{monday.id}/next-runs?count=1&from=2026-11-23T00:00:00+09:00").json
    assert utc["runs"] == local["runs"] == plus["runs"] == ["2026-11-23T09:00:00+09:00"]
    assert len(viewer.get(f"/{monday.id}/next-runs").json["runs"]) == 10


def test_next_runs_skip_a_korean_substitute_holiday(api, world):
    daily = jobs.save_job(world.admin, {**JOB, "once_a_day": True, "every_hours": None,
                                        "blackouts": []}, now=NOW)
    runs = api("viewer").get(f"/{daily.id}/next-runs?count=3&from=2026-10-02T08:00:00%2B09:00")
    assert runs.json["runs"] == ["2026-10-02T09:00:00+09:00", "2026-10-06T09:00:00+09:00",
                                 "2026-10-07T09:00:00+09:00"]       # 10-05: 개천절 대체 휴일


@pytest.mark.parametrize("query, field", [
    ("count=0", "count"), ("count=abc", "count"), ("count=101", "count"),
    ("from=yesterday", "from"), ("from=2026-13-01", "from"),
])
def test_bad_next_runs_parameters_are_422(api, world, query, field):
    job = jobs.save_job(world.admin, JOB, now=NOW)
    err = error(api("viewer").get(f"/{job.id}/next-runs?{query}"), 422)
    assert field in err["fields"]


def test_run_now_returns_the_runs_and_refuses_during_maintenance(api, world):
    job = jobs.save_job(world.admin, JOB, now=NOW)
    admin = api("admin")
    response = admin.post(f"/{job.id}/run")
    assert response.status_code == 200
    runs = response.json["runs"]
    assert [(r["channel"], r["trigger"], r["status"]) for r in sorted(
        runs, key=lambda r: r["channel"])] == [("11번가", "manual", "failed"),
                                                ("쿠팡", "manual", "failed")]
    assert runs[0]["title"].startswith("주문수집 평일 (") and "connector" in runs[0]["error"]
    assert runs[0]["started_at"].endswith("+09:00") and runs[0]["duration_seconds"] >= 0
    jobs.set_maintenance(world.admin, True)
    err = error(admin.post(f"/{job.id}/run"), 409)
    assert err["code"] == "state" and JobRun.select().count() == 2
    assert api("viewer").get().json["maintenance"] is True


def test_job_log_filters_and_paging(api, world):
    batch = jobs.save_job(world.admin, {**JOB, "name": "재오소리", "kind": "rule_batch",
                                        "channels": "all", "options": {}}, now=NOW)
    orders = jobs.save_job(world.admin, {**JOB, "start": "10:00"}, now=NOW)
    jobs.run_due(batch.next_run_at, TZ)                   # scheduled, 2026-04-01 09:00 KST
    jobs.run_now(world.admin, orders.id, NOW)             # 2026-03-31, two accounts fail
    viewer = api("viewer")
    everything = viewer.get("/log").json
    assert everything["total"] == 3 and everything["page"] == 1
    titles = {r["title"] for r in everything["runs"]}
    assert "[스케줄러] 재오소리" in titles and "주문수집 평일 (쿠팡)" in titles
    assert viewer.get("/log?status=failed").json["total"] == 2
    assert viewer.get("/log?channel=쿠팡").json["total"] == 1
    assert viewer.get(f"/log?job_id={batch.id}").json["total"] == 1
    assert viewer.get("/log?trigger=schedule").json["total"] == 1
    assert viewer.get("/log?from=2026-04-01").json["total"] == 1
    assert viewer.get("/log?from=2026-03-31&to=2026-03-31").json["total"] == 2
    paged = viewer.get("/log?per_page=2&page=2").json
    assert paged["total"] == 3 and paged["pages"] == 2 and len(paged["runs"]) == 1
    err = error(viewer.get("/log?status=maybe&per_page=0&from=x"), 422)
    assert {"status", "per_page", "from"} <= set(err["fields"])


def test_a_new_notification_number_needs_its_code(api, world):
    SenderNumber.create(number="15881234")
    job = jobs.save_job(world.admin, {**JOB, "notify": {"kind": "sms",
                                                        "phone": "010-1111-2222"}}, now=NOW)
    admin = api("admin")
    new = {**JOB, "notify": {"kind": "sms", "phone": "010-9999-8888"}}
    err = error(admin.put(f"/{job.id}", new), 422)
    assert "notify_code" in err["fields"]
    sent = admin.post("/phone-code", {"phone": "010-9999-8888", "job_id": job.id})
    assert sent.status_code == 201 and sent.json["expires_at"].endswith("+09:00")
    body = Message.get(Message.to == "01099998888").body
    code = re.search(r"\b(\d{6})\b", body).group(1)
    wrong = "000000" if code != "000000" else "111111"
    assert "notify_code" in error(admin.put(f"/{job.id}", {**new, "notify_code": wrong}),
                                  422)["fields"]
    assert Job.get_by_id(job.id).notify["phone"] == "010-1111-2222"
    saved = admin.put(f"/{job.id}", {**new, "notify_code": code})
    assert saved.status_code == 200 and saved.json["notify"]["phone"] == "010-9999-8888"
    assert "notify_code" not in saved.json
    err = error(admin.post("/phone-code", {"phone": "not a phone"}), 422)
    assert err["field"] == "notify_phone"
