"""The scheduler's pages (issue 7, seed 000): job list with toggles, maintenance and run now,
the job form with its live next-runs preview and the phone-change code, the job log with
filters and detail, the change history, closure days — and who may do what.

Assertions read ids, names, data attributes and data (dates, times, names), not UI text, so
they hold whichever language the catalogs give the strings.
"""
from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from werkzeug.datastructures import MultiDict

from engine import jobs, notify_phone, rules
from engine.models import (
    AppSetting, Closure, Job, JobChange, JobRun, Message, NotifyCode, SenderNumber,
)
from tests.conftest import NOW

HX = {"HX-Request": "true"}
TZ = jobs.clock.zone("Asia/Seoul")
WORKDAYS = ["mon", "tue", "wed", "thu", "fri"]


@pytest.fixture(autouse=True)
def fixed_now(monkeypatch):
    """Every request's g.now is NOW (2026-03-31 17:00 in Seoul, a Tuesday)."""
    monkeypatch.setattr("app.utcnow", lambda: NOW)


def text(response):
    return response.get_data(as_text=True)


def make_job(world, name="주문수집", actor=None, **values):
    raw = {"name": name, "kind": "collect_orders", "enabled": True, "weekdays": WORKDAYS,
           "start": "09:00", "end": "18:00", "every_hours": 3, "skip_holidays": True}
    raw.update(values)
    return jobs.save_job(actor or world.admin, raw, now=NOW)


def form(**overrides):
    """The job form as the page posts it (weekdays and channels repeat their name)."""
    pairs = [("name", "주문수집 평일"), ("kind", "collect_orders"), ("enabled", "1"),
             *[("weekdays", d) for d in WORKDAYS], ("start", "09:00"), ("end", "18:00"),
             ("repeat", "every"), ("every_hours", "3"), ("skip_holidays", "1"),
             ("holiday_country", "KR"), ("channels_mode", "all"), ("lookback_days", ""),
             ("opt_confirm", "1"), ("notify_kind", ""), ("missed", "run_once")]
    data = MultiDict()
    replaced = set()
    for key, value in pairs:
        if key in replaced:
            continue
        if key in overrides:
            replaced.add(key)
            value = overrides.pop(key)
            if isinstance(value, list):
                for item in value:
                    data.add(key, item)
                continue
        if value is not None:
            data.add(key, value)
    for key, value in overrides.items():
        for item in (value if isinstance(value, list) else [value]):
            data.add(key, item)
    return data


def label_of(body, name):
    """The class and inner HTML of the <label> of field ``name``."""
    match = re.search(r'<label class="field([^"]*)" for="f-%s">(.*?)</label>' % re.escape(name),
                      body, re.S)
    assert match, f"no field {name}"
    return match.group(1), match.group(2)


def runs_of(body):
    """The run times a preview fragment lists, as 'MM-DD HH:MM' (local)."""
    return [dt.datetime.fromisoformat(v).strftime("%m-%d %H:%M")
            for v in re.findall(r'<time data-run datetime="([^"]+)"', body)]


def skipped_of(body):
    return dict(re.findall(r'data-day="([\d-]+)">\s*<span class="pdate">[^<]*</span>\s*'
                           r'<span class="pdow">[^<]*</span>\s*<span class="pskip" '
                           r'data-skipped="([^"]+)"', body))


# --- reading ------------------------------------------------------------------------------------

def test_every_page_renders_read_only_for_a_viewer(app, world, login):
    job = make_job(world, blackouts=[["12:00", "13:00"]], channels=["11번가"])
    jobs.run_now(world.admin, job.id, NOW)     # fails: 11번가 has no connector
    run = JobRun.select().first()
    viewer = login("viewer")
    page = text(viewer.get("/jobs/"))
    assert f'id="job-{job.id}"' in page and "12:00" in page and "13:00" in page
    assert 'data-action="run-now"' not in page and 'data-action="new-job"' not in page
    assert re.search(r'role="switch" aria-label="[^"]*: 주문수집"\s+checked\s+disabled', page)
    body = text(viewer.get(f"/jobs/{job.id}"))
    assert "data-readonly" in body and 'data-action="save"' not in body
    assert 'hx-post="/jobs/preview"' not in body and "<time data-run" in body
    for url in ("/jobs/log", f"/jobs/log?job_id={job.id}", f"/jobs/log/{run.id}",
                "/jobs/history", f"/jobs/history?job_id={job.id}", "/jobs/closures"):
        assert viewer.get(url).status_code == 200, url
    assert viewer.get("/jobs/new").status_code == 403
    nav = re.findall(r'<a href="(/[a-z]+/)"', page.split("</nav>")[0])
    assert nav.index("/jobs/") == nav.index("/rules/") + 1     # right after "Automation"


def test_the_list_says_when_what_where_next_last_and_last_success(app, world, login):
    batch = make_job(world, "재오소리", kind="rule_batch", weekdays=jobs.WEEKDAYS,
                     start="05:00", end="06:00", once_a_day=True, every_hours=None,
                     skip_holidays=False)
    orders = make_job(world, channels=["11번가", "쿠팡"], blackouts=[["12:00", "13:00"]])
    jobs.run_now(world.admin, batch.id, NOW)
    page = text(login("admin").get("/jobs/"))
    row = page.split(f'id="job-{orders.id}"')[1].split("</tr>")[0]
    assert "09:00–18:00" in row and "12:00" in row and "13:00" in row and "11번가, 쿠팡" in row
    assert 'data-next="2026-04-01T09:00"' in row          # Wednesday 09:00 (now: Tue 17:00)
    batch_row = page.split(f'id="job-{batch.id}"')[1].split("</tr>")[0]
    assert 'data-last-status="done"' in batch_row and "03-31 17:00" in batch_row


def test_schedule_in_words(app):
    from views.jobs import schedule_words, weekday_words
    with app.test_request_context():
        check_words(weekday_words, schedule_words)


def check_words(weekday_words, schedule_words):
    assert weekday_words(["mon", "tue", "wed", "thu", "fri"]).count("–") == 1
    assert "," in weekday_words(["mon", "wed"]) and "–" not in weekday_words(["mon", "wed"])
    assert weekday_words(["sat", "sun"]).count(",") == 1
    words = schedule_words({"weekdays": WORKDAYS, "start": "09:00", "end": "18:00",
                            "every_hours": 3, "skip_holidays": True,
                            "blackouts": [["12:00", "13:00"]]})
    assert "09:00–18:00" in words and "3" in words and "12:00" in words and "13:00" in words
    assert words.count(", ") == 3


# --- who may change -----------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["viewer", "agent"])
def test_viewer_and_agent_get_403_on_every_post(app, world, login, role):
    job = make_job(world)
    closure = Closure.create(day=dt.date(2026, 5, 1), name="창립기념일")
    client = login(role)
    posts = [r for r in app.url_map.iter_rules()
             if r.endpoint.startswith("jobs.") and "POST" in r.methods]
    assert len(posts) == 11
    for url_rule in posts:
        assert app.view_functions[url_rule.endpoint].required_capability == "automation"
    before = (Job.get_by_id(job.id).version, JobRun.select().count(), Closure.select().count(),
              AppSetting.select().count(), Message.select().count(), NotifyCode.select().count())
    for url_rule in posts:
        url = url_rule.rule.replace("<int:job_id>", str(job.id)).replace(
            "<int:closure_id>", str(closure.id))
        for headers in ({}, HX):
            response = client.post(url, data=form(on="0", master_phone="010-1111-2222",
                                                   notify_phone="010-1111-2222",
                                                   day="2026-06-01", name="x"),
                                   headers=headers)
            assert response.status_code == 403, (url, response.status_code)
    after = (Job.get_by_id(job.id).version, JobRun.select().count(), Closure.select().count(),
             AppSetting.select().count(), Message.select().count(), NotifyCode.select().count())
    assert after == before
    assert client.get("/jobs/new").status_code == 403


# --- the form ------------------------------------------------------------------------------------

def test_admin_creates_a_job_with_every_field(app, world, login):
    admin = login("admin")
    assert admin.get("/jobs/new").status_code == 200
    response = admin.post("/jobs/new", data=form(
        name="문의 수집", kind="collect_inquiries", weekdays=["mon", "wed"], start="10:00",
        end="20:00", every_hours="2", holiday_country="JP", channels_mode="some",
        channels=["쿠팡", "자사몰"], lookback_days="7", opt_types=["qna", "review"],
        missed="skip", **{"blackouts-0-start": "12:00", "blackouts-0-end": "13:00",
                          "blackouts-2-start": "15:00", "blackouts-2-end": "16:00"}))
    assert response.status_code == 302, text(response)
    job = Job.get(Job.name == "문의 수집")
    assert response.headers["Location"] == f"/jobs/{job.id}?saved=1"
    assert (job.kind, job.weekdays, job.start, job.end, job.every_hours, job.once_a_day) == \
        ("collect_inquiries", ["mon", "wed"], "10:00", "20:00", 2, False)
    assert job.blackouts == [["12:00", "13:00"], ["15:00", "16:00"]]
    assert (job.skip_holidays, job.holiday_country, job.channels, job.lookback_days) == \
        (True, "JP", ["쿠팡", "자사몰"], 7)
    assert job.options == {"types": ["qna", "review"]} and job.missed == "skip"
    assert job.next_run_at == dt.datetime(2026, 4, 1, 1, 0)        # Wed 10:00 in Seoul
    assert JobChange.get(JobChange.job_id == job.id).actor_id == world.admin.id
    page = text(admin.get(f"/jobs/{job.id}?saved=1"))
    assert "data-saved" in page and 'value="qna" checked' in page


def test_defaults_of_a_kind_and_once_a_day(app, world, login):
    rules.forget_index()
    rules.save_rule(world.admin, {"name": "재오소리", "trigger": {"event": "batch"},
                                  "actions": [{"type": "hold"}]}, now=NOW)
    admin = login("admin")
    assert 'name="opt_rules" value="재오소리"' in text(admin.get("/jobs/new"))
    response = admin.post("/jobs/new", data=form(
        name="배치", kind="rule_batch", repeat="once", every_hours=None, start="05:00",
        end="06:00", opt_rules=["재오소리"], skip_holidays=None))
    assert response.status_code == 302, text(response)
    job = Job.get(Job.name == "배치")
    assert job.once_a_day and job.every_hours is None and job.lookback_days == 30
    assert job.options == {"rules": ["재오소리"]} and not job.skip_holidays
    rules.forget_index()


@pytest.mark.parametrize("overrides, fields", [
    ({"start": "25:00"}, {"start"}),
    ({"weekdays": []}, {"weekdays"}),
    ({"start": "18:00", "end": "09:00"}, {"end"}),
    ({"name": "", "lookback_days": "0"}, {"name", "lookback_days"}),
    ({"channels_mode": "some"}, {"channels"}),
    ({"blackouts-0-start": "07:00", "blackouts-0-end": "08:00"}, {"blackouts"}),
    ({"notify_kind": "sms", "notify_phone": "12"}, {"notify"}),
    ({"kind": "collect_inquiries", "opt_types": []}, {"options"}),
])
def test_errors_beside_their_fields_and_nothing_saved(app, world, login, overrides, fields):
    admin = login("admin")
    response = admin.post("/jobs/new", data=form(**overrides))
    assert response.status_code == 422
    body = text(response)
    assert "data-errors" in body
    marked = set(re.findall(r'data-error="(\w+)"', body))
    assert fields <= marked, marked
    assert Job.select().count() == 0 and JobChange.select().count() == 0
    if "name" not in fields:
        assert 'value="주문수집 평일"' in body                  # what was typed stays


def test_a_name_in_use_is_refused_beside_the_name(app, world, login):
    make_job(world, "주문수집 평일")
    response = login("admin").post("/jobs/new", data=form())
    assert response.status_code == 422 and 'data-error="name"' in text(response)
    assert Job.select().count() == 1


def test_editing_keeps_history_and_unticked_boxes_mean_off(app, world, login):
    job = make_job(world, "주문수집 평일")
    admin = login("admin")
    response = admin.post(f"/jobs/{job.id}", data=form(enabled=None, skip_holidays=None,
                                                        start="08:00", opt_confirm=None))
    assert response.status_code == 302, text(response)
    job = Job.get_by_id(job.id)
    assert (job.enabled, job.skip_holidays, job.start, job.version) == (False, False, "08:00", 2)
    assert job.next_run_at is None and job.options == {"confirm": False}
    change = JobChange.select().order_by(JobChange.id.desc()).first()
    assert change.before["start"] == "09:00" and change.after["start"] == "08:00"


# --- the live preview -------------------------------------------------------------------------------

def test_preview_lists_the_next_ten_runs_by_local_day(app, world, login):
    admin = login("admin")
    body = text(admin.post("/jobs/preview", headers=HX, data=form(
        weekdays=["mon"], every_hours="4", preview_from="2026-11-23")))
    assert "<html" not in body and 'data-count="10"' in body
    assert runs_of(body)[:4] == ["11-23 09:00", "11-23 13:00", "11-23 17:00", "11-30 09:00"]
    assert len(runs_of(body)) == 10
    assert 'data-day="2026-11-23"' in body and 'data-day="2026-11-24"' not in body
    # without a "from" date: from now (Tue 17:00 in Seoul), so Monday next week first
    now_body = text(admin.post("/jobs/preview", headers=HX, data=form(weekdays=["mon"],
                                                                      every_hours="4")))
    assert runs_of(now_body)[0] == "04-06 09:00"


def test_preview_skips_a_korean_substitute_holiday_and_names_it(app, world, login):
    admin = login("admin")
    # 2026-10-03 개천절 is a Saturday: its substitute holiday is Monday 10-05
    body = text(admin.post("/jobs/preview", headers=HX, data=form(
        repeat="once", every_hours=None, preview_from="2026-10-02")))
    assert runs_of(body)[:3] == ["10-02 09:00", "10-06 09:00", "10-07 09:00"]
    skipped = skipped_of(body)
    assert "2026-10-05" in skipped and "대체" in skipped["2026-10-05"]
    assert "2026-10-09" in skipped                                   # 한글날, a Friday
    plain = text(admin.post("/jobs/preview", headers=HX, data=form(
        repeat="once", every_hours=None, skip_holidays=None, preview_from="2026-10-02")))
    assert runs_of(plain)[:2] == ["10-02 09:00", "10-05 09:00"] and not skipped_of(plain)


def test_preview_applies_blackouts_and_shows_a_bad_setting(app, world, login):
    admin = login("admin")
    body = text(admin.post("/jobs/preview", headers=HX, data=form(
        every_hours="1", preview_from="2026-11-24",
        **{"blackouts-1-start": "12:00", "blackouts-1-end": "14:00"})))
    assert runs_of(body)[:6] == ["11-24 09:00", "11-24 10:00", "11-24 11:00", "11-24 14:00",
                                 "11-24 15:00", "11-24 16:00"]
    bad = text(admin.post("/jobs/preview", headers=HX, data=form(end="08:00")))
    assert 'data-error="true"' in bad and "data-preview-error" in bad and not runs_of(bad)


# --- closure days ---------------------------------------------------------------------------------

def test_a_closure_day_makes_the_preview_skip_it_and_moves_the_next_run(app, world, login):
    job = make_job(world, repeat=None, once_a_day=True, every_hours=None)
    assert job.next_run_at == dt.datetime(2026, 4, 1, 0, 0)           # Wed 04-01 09:00
    admin = login("admin")
    response = admin.post("/jobs/closures", data={"day": "2026-04-01", "name": "창립기념일"})
    assert response.status_code == 302
    assert Job.get_by_id(job.id).next_run_at == dt.datetime(2026, 4, 2, 0, 0)
    body = text(admin.post("/jobs/preview", headers=HX, data=form(
        repeat="once", every_hours=None, preview_from="2026-03-31")))
    assert runs_of(body)[:2] == ["03-31 09:00", "04-02 09:00"]
    assert skipped_of(body) == {"2026-04-01": "창립기념일"}
    page = text(admin.get("/jobs/closures"))
    assert 'data-day="2026-04-01"' in page and "창립기념일" in page
    closure = Closure.get()
    assert admin.post(f"/jobs/closures/{closure.id}/delete").status_code == 302
    assert Closure.select().count() == 0
    assert Job.get_by_id(job.id).next_run_at == dt.datetime(2026, 4, 1, 0, 0)


def test_closures_page_lists_public_holidays_and_refuses_bad_input(app, world, login):
    admin = login("admin")
    page = text(admin.get("/jobs/closures"))
    kr = page.split('data-country="KR"')[1].split("</section>")[0]
    jp = page.split('data-country="JP"')[1].split("</section>")[0]
    assert 'data-day="2026-05-25"' in kr and "대체" in kr     # 부처님오신날 substitute
    assert 'data-day="2026-05-06"' in jp                      # 振替休日 after 憲法記念日 on Sun
    assert 'data-day="2026-03-01"' not in kr                  # before today
    assert 'data-day="2027-03-31"' not in kr and 'data-day="2027-02-08"' in kr   # 12 months
    Closure.create(day=dt.date(2026, 4, 10), name="재고조사")
    twice = admin.post("/jobs/closures", data={"day": "2026-04-10", "name": "또"})
    assert twice.status_code == 422 and "has-error" in label_of(text(twice), "day")[0]
    blank = admin.post("/jobs/closures", data={"day": "", "name": ""})
    assert blank.status_code == 422
    assert "has-error" in label_of(text(blank), "name")[0]
    assert Closure.select().count() == 1


# --- list actions -----------------------------------------------------------------------------------

def test_toggle_switches_a_job_and_keeps_history(app, world, login):
    job = make_job(world)
    admin = login("admin")
    response = admin.post(f"/jobs/{job.id}/enabled", data={"on": ""}, headers=HX)
    assert response.status_code == 200 and 'id="jobs-main"' in text(response)
    header = response.headers["HX-Trigger"]
    assert header.isascii() and "ruledesk:toast" in json.loads(header)
    job = Job.get_by_id(job.id)
    assert not job.enabled and job.next_run_at is None and job.version == 2
    admin.post(f"/jobs/{job.id}/enabled", data={"on": "1"}, headers=HX)
    assert Job.get_by_id(job.id).enabled and JobChange.select().count() == 3


def test_maintenance_switch_pauses_everything_with_a_banner(app, world, login):
    job = make_job(world, "재오소리", kind="rule_batch")
    admin = login("admin")
    assert 'data-maintenance="on"' not in text(admin.get("/jobs/"))
    response = admin.post("/jobs/maintenance", data={"on": "1"}, headers=HX)
    assert response.status_code == 200 and 'data-maintenance="on"' in text(response)
    assert jobs.in_maintenance()
    assert jobs.run_due(job.next_run_at, TZ) == []
    refused = admin.post(f"/jobs/{job.id}/run", headers=HX)
    assert refused.status_code == 409 and "ruledesk:toast" in refused.headers["HX-Trigger"]
    assert JobRun.select().count() == 0
    assert 'data-maintenance="on"' in text(login("viewer").get("/jobs/"))
    admin.post("/jobs/maintenance", data={"on": ""}, headers=HX)
    assert not jobs.in_maintenance()
    assert 'data-maintenance="on"' not in text(admin.get("/jobs/"))


def test_run_now_runs_per_account_and_shows_the_runs(app, world, login):
    job = make_job(world, channels=["11번가", "쿠팡"])
    admin = login("admin")
    response = admin.post(f"/jobs/{job.id}/run", headers=HX)
    assert response.status_code == 200
    body = text(response)
    assert 'data-runs="2"' in body and body.count('data-status="failed"') == 2
    table = body.split("<tbody>")[1]
    assert "주문수집 (11번가)" in table and "[스케줄러]" not in table
    events = json.loads(response.headers["HX-Trigger"])
    assert response.headers["HX-Trigger"].isascii() and "ruledesk:jobsChanged" in events
    runs = list(JobRun.select().order_by(JobRun.channel))
    assert [(r.channel, r.trigger, r.status) for r in runs] == [
        ("11번가", "manual", "failed"), ("쿠팡", "manual", "failed")]


def test_a_job_that_missed_its_slots_is_flagged(app, world, login, monkeypatch):
    late = make_job(world, "늦은 작업", kind="rule_batch")              # next: Wed 09:00
    fine = make_job(world, "정상", kind="rule_batch", start="20:00", end="22:00")
    monkeypatch.setattr("app.utcnow", lambda: late.next_run_at + dt.timedelta(minutes=30))
    page = text(login("admin").get("/jobs/"))
    late_row = page.split(f'id="job-{late.id}"')[1].split("</tr>")[0]
    assert "data-flag" in late_row and "is-flagged" in late_row.split(">")[0]
    # it ran, but failing: "no success since" once the next slot passed without a success
    jobs.run_due(late.next_run_at, TZ)
    Job.update(last_success_at=None).where(Job.id == late.id).execute()
    monkeypatch.setattr("app.utcnow", lambda: dt.datetime(2026, 4, 1, 3, 10))  # Wed 12:10
    page = text(login("admin").get("/jobs/"))
    assert "data-flag" in page.split(f'id="job-{late.id}"')[1].split("</tr>")[0]
    fine_row = page.split(f'id="job-{fine.id}"')[1].split("</tr>")[0]
    assert "data-flag" not in fine_row


# --- job log --------------------------------------------------------------------------------------

def test_job_log_titles_filters_and_detail(app, world, login):
    batch = make_job(world, "재오소리", kind="rule_batch")
    orders = make_job(world, "주문수집", channels=["11번가", "쿠팡"], start="10:00")
    jobs.run_due(batch.next_run_at, TZ)                           # scheduled: 04-01 09:00
    jobs.run_now(world.admin, orders.id, NOW)                     # by hand, 2 accounts fail
    viewer = login("viewer")
    page = text(viewer.get("/jobs/log"))
    assert "[스케줄러] 재오소리" in page and "주문수집 (11번가)" in page
    assert page.count('class="run st-') == 3
    failed = text(viewer.get("/jobs/log?status=failed", headers=HX))
    assert "<html" not in failed and failed.count('class="run st-') == 2
    assert "재오소리" not in failed
    coupang = text(viewer.get("/jobs/log?channel=쿠팡"))
    assert coupang.count('class="run st-') == 1
    by_job = text(viewer.get(f"/jobs/log?job_id={batch.id}"))
    assert by_job.count('class="run st-') == 1
    scheduled = text(viewer.get("/jobs/log?trigger=schedule"))
    assert scheduled.count('class="run st-') == 1
    # dates are local days: the manual runs started 03-31, the scheduled one 04-01
    march = text(viewer.get("/jobs/log?date_from=2026-03-31&date_to=2026-03-31"))
    assert march.count('class="run st-') == 2
    april = text(viewer.get("/jobs/log?date_from=2026-04-01"))
    assert april.count('class="run st-') == 1
    bad = text(viewer.get("/jobs/log?date_from=31.03.2026"))
    assert "has-error" in re.search(r'<label class="field([^"]*)" for="s-date_from"', bad).group(1)
    run = JobRun.get(JobRun.channel == "쿠팡")
    detail = text(viewer.get(f"/jobs/log/{run.id}", headers=HX))
    assert f'data-run="{run.id}"' in detail and "connector" in detail
    assert "data-error" in detail and "2026-03-31 17:00" in detail
    alone = text(viewer.get(f"/jobs/log/{run.id}"))             # a link opened on its own
    assert "<html" in alone and f'data-run="{run.id}"' in alone
    assert viewer.get("/jobs/log/999").status_code == 404


# --- change history -------------------------------------------------------------------------------

def test_history_shows_who_changed_which_setting_before_and_after(app, world, login):
    job = make_job(world)
    jobs.save_job(world.general_admin, {**jobs.job_as_data(job), "start": "08:00",
                                        "channels": ["쿠팡"]}, job.id, now=NOW)
    other = make_job(world, "다른 작업")
    viewer = login("viewer")
    page = text(viewer.get("/jobs/history"))
    assert page.count('class="change change-') == 3
    change = page.split('class="change change-update"')[1].split("</article>")[0]
    assert re.search(r'<tr class="changed" data-key="start">.*?09:00.*?08:00', change, re.S)
    assert 'data-key="channels"' in change.split("diff-same")[0]
    assert '<tr class="same" data-key="end">' in change
    assert "총괄" in change                                      # who
    only = text(viewer.get(f"/jobs/history?job_id={other.id}", headers=HX))
    assert only.count('class="change change-') == 1 and "<html" not in only
    form_page = text(viewer.get(f"/jobs/{job.id}"))
    assert 'class="change-compact" data-key="start"' in form_page


# --- the notification phone needs a code ------------------------------------------------------------

@pytest.fixture
def sender(world):
    return SenderNumber.create(number="15881234", label="대표번호")


def code_from_outbox(phone_digits):
    message = (Message.select().where(Message.to == phone_digits)
               .order_by(Message.id.desc()).first())
    assert message is not None, "no code SMS in the outbox"
    return re.search(r"\b(\d{6})\b", message.body).group(1)


def test_the_master_sets_the_default_phone_which_needs_no_code(app, world, login, sender):
    assert login("admin").post("/jobs/master-phone",
                               data={"master_phone": "010-1111-2222"}).status_code == 403
    master = login(world.master.username)
    response = master.post("/jobs/master-phone", data={"master_phone": "01011112222"})
    assert response.status_code == 302
    assert notify_phone.master_phone() == "010-1111-2222"
    assert 'value="010-1111-2222"' in text(login("admin").get("/jobs/new"))
    admin = login("admin")
    response = admin.post("/jobs/new", data=form(notify_kind="sms",
                                                 notify_phone="010-1111-2222",
                                                 dnd_from="22:00", dnd_to="08:00"))
    assert response.status_code == 302, text(response)
    job = Job.get()
    assert job.notify == {"kind": "sms", "phone": "010-1111-2222", "dnd": ["22:00", "08:00"]}
    bad = master.post("/jobs/master-phone", data={"master_phone": "12"})
    assert bad.status_code == 422 and notify_phone.master_phone() == "010-1111-2222"


def test_changing_the_phone_needs_the_code_sent_to_the_new_number(app, world, login, sender):
    job = make_job(world, notify={"kind": "sms", "phone": "010-1111-2222"})
    admin = login("admin")
    new = dict(notify_kind="sms", notify_phone="010-5555-6666")

    # without a code: refused beside the code, nothing saved
    refused = admin.post(f"/jobs/{job.id}", data=form(**new))
    assert refused.status_code == 422 and 'data-error="notify_code"' in text(refused)
    assert Job.get_by_id(job.id).notify["phone"] == "010-1111-2222"

    # the code goes out by SMS through the outbox; only its hash is stored
    sent = admin.post("/jobs/phone/code", data={"notify_phone": "010-5555-6666",
                                                "job_id": str(job.id)}, headers=HX)
    assert "data-code-sent" in text(sent)
    code = code_from_outbox("01055556666")
    row = NotifyCode.get()
    assert row.phone == "01055556666" and code not in row.code_hash and len(row.code_hash) == 64
    message = Message.get(Message.to == "01055556666")
    assert (message.status, message.sender, message.kind) == ("queued", "15881234", "SMS")

    # a wrong code is refused and uses a try
    wrong = "000000" if code != "000000" else "111111"
    response = admin.post(f"/jobs/{job.id}", data=form(notify_code=wrong, **new))
    assert response.status_code == 422 and 'data-error="notify_code"' in text(response)
    assert NotifyCode.get().attempts == 1
    assert Job.get_by_id(job.id).notify["phone"] == "010-1111-2222"

    # the right code saves the new number and is used up
    response = admin.post(f"/jobs/{job.id}", data=form(notify_code=code, **new))
    assert response.status_code == 302, text(response)
    assert Job.get_by_id(job.id).notify["phone"] == "010-5555-6666"
    assert NotifyCode.get().used_at is not None
    # the number it has now needs no code again
    again = admin.post(f"/jobs/{job.id}", data=form(start="08:00", **new))
    assert again.status_code == 302


def test_an_expired_code_and_too_many_tries_are_refused(app, world, login, sender, monkeypatch):
    job = make_job(world, notify={"kind": "sms", "phone": "010-1111-2222"})
    admin = login("admin")
    new = dict(notify_kind="alimtalk", notify_phone="010-7777-8888")
    admin.post("/jobs/phone/code", data={"notify_phone": "010-7777-8888"}, headers=HX)
    code = code_from_outbox("01077778888")
    monkeypatch.setattr("app.utcnow", lambda: NOW + dt.timedelta(minutes=10, seconds=1))
    late = admin.post(f"/jobs/{job.id}", data=form(notify_code=code, **new))
    assert late.status_code == 422 and 'data-error="notify_code"' in text(late)
    assert Job.get_by_id(job.id).notify["phone"] == "010-1111-2222"

    admin.post("/jobs/phone/code", data={"notify_phone": "010-7777-8888"}, headers=HX)
    code = code_from_outbox("01077778888")
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        check = admin.post("/jobs/phone/verify", headers=HX,
                           data={"notify_phone": "010-7777-8888", "notify_code": wrong})
        assert "data-code-bad" in text(check)
    right = admin.post(f"/jobs/{job.id}", data=form(notify_code=code, **new))
    assert right.status_code == 422
    assert Job.get_by_id(job.id).notify["phone"] == "010-1111-2222"


def test_checking_the_code_first_then_saving(app, world, login, sender):
    admin = login("admin")
    admin.post("/jobs/phone/code", data={"notify_phone": "010-3333-4444"}, headers=HX)
    too_soon = admin.post("/jobs/phone/code", data={"notify_phone": "010-3333-4444"},
                          headers=HX)
    assert "data-code-error" in text(too_soon) and NotifyCode.select().count() == 1
    code = code_from_outbox("01033334444")
    ok = admin.post("/jobs/phone/verify", headers=HX,
                    data={"notify_phone": "010-3333-4444", "notify_code": code})
    assert "data-code-ok" in text(ok)
    response = admin.post("/jobs/new", data=form(notify_kind="sms",
                                                 notify_phone="010-3333-4444"))
    assert response.status_code == 302, text(response)
    assert Job.get().notify["phone"] == "010-3333-4444"


def test_no_registered_sender_no_code(app, world, login):
    body = text(login("admin").post("/jobs/phone/code", headers=HX,
                                    data={"notify_phone": "010-3333-4444"}))
    assert "data-code-error" in body and Message.select().count() == 0
