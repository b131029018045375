"""The scheduler in a real browser: the job form's next-runs preview follows the repeat
interval, the weekdays and a new blackout window live, without a page reload, and the job
saves.

Selectors use ids, names, classes and data attributes only, never visible text, so the test
holds whichever UI language is active.
"""
from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from engine.models import Job, JobChange

pytestmark = pytest.mark.browser

RUNS = "#job-preview time[data-run]"


def settled(page):
    """Wait until htmx has no request in flight and has settled what it swapped in."""
    page.wait_for_function("!document.querySelector('.htmx-request, .htmx-settling, "
                           ".htmx-swapping, .htmx-added')")


def run_times(page, n=None):
    """The preview's run times as 'MM-DD HH:MM' (local), read from their datetime attribute."""
    values = page.locator(RUNS).evaluate_all("els => els.map(e => e.getAttribute('datetime'))")
    times = [dt.datetime.fromisoformat(v).strftime("%m-%d %H:%M") for v in values]
    return times[:n] if n else times


def expect_first_runs(page, expected):
    """Wait for the preview to show ``expected`` first (it is swapped in by htmx)."""
    first = page.locator(RUNS).first
    expect(first).to_have_attribute("datetime", dt.datetime.strptime(
        "2026-" + expected[0], "%Y-%m-%d %H:%M").replace(
            tzinfo=dt.timezone(dt.timedelta(hours=9))).isoformat())
    page.wait_for_function(
        """expected => {
             const els = [...document.querySelectorAll('#job-preview time[data-run]')];
             const got = els.slice(0, expected.length).map(e => {
               const v = e.getAttribute('datetime');
               return v.slice(5, 10) + ' ' + v.slice(11, 16);
             });
             return JSON.stringify(got) === JSON.stringify(expected);
           }""", arg=expected)
    settled(page)
    assert run_times(page, len(expected)) == expected


def test_the_preview_follows_the_form_live_and_the_job_saves(world, page, log_in,
                                                             live_server):
    base = live_server.url
    log_in("admin")
    page.click("header.topbar nav a[href='/jobs/']")
    expect(page.locator("#jobs-main")).to_be_visible()
    page.click("[data-action=new-job]")
    page.wait_for_url(base + "/jobs/new")
    page.evaluate("window.__sameDocument = true")       # gone if the page reloads

    page.fill("#f-name", "주문수집 월요일")
    expect(page.locator("#f-kind")).to_have_value("collect_orders")
    # a fixed "from" day makes the preview deterministic: Monday 2026-11-23
    page.fill("#preview-from", "2026-11-23")
    # the defaults: Mon–Fri 09:00–18:00 every 3 hours
    expect_first_runs(page, ["11-23 09:00", "11-23 12:00", "11-23 15:00", "11-24 09:00"])
    expect(page.locator("#job-preview .preview-body")).to_have_attribute("data-count", "10")

    # the repeat interval
    page.select_option("#f-every_hours", "4")
    expect_first_runs(page, ["11-23 09:00", "11-23 13:00", "11-23 17:00", "11-24 09:00"])

    # the weekdays: Mondays only
    for day in ("tue", "wed", "thu", "fri"):
        page.click(f"label[for=wd-{day}]")
    expect_first_runs(page, ["11-23 09:00", "11-23 13:00", "11-23 17:00", "11-30 09:00"])
    expect(page.locator("#job-preview li.pday")).to_have_count(4)      # 10 runs, 3 a Monday

    # a blackout window: the new row comes with 12:00–13:00 (no slot there); 12:00–14:00
    # takes the 13:00 run out
    expect(page.locator("#blackout-rows .blackout-row")).to_have_count(0)
    page.click("[data-action=add-blackout]")
    expect(page.locator("#blackout-rows .blackout-row")).to_have_count(1)
    settled(page)
    expect_first_runs(page, ["11-23 09:00", "11-23 13:00", "11-23 17:00", "11-30 09:00"])
    page.fill("input[name='blackouts-0-end']", "14:00")
    expect_first_runs(page, ["11-23 09:00", "11-23 17:00", "11-30 09:00", "11-30 17:00"])

    # a bad time shows in the preview, a good one brings the runs back
    page.fill("#f-end", "08:00")
    expect(page.locator("#job-preview [data-preview-error]")).to_be_visible()
    page.fill("#f-end", "18:00")
    expect_first_runs(page, ["11-23 09:00", "11-23 17:00"])

    assert page.evaluate("window.__sameDocument") is True             # no reload so far

    page.click("[data-action=save]")
    page.wait_for_url(base + "/jobs/*?saved=1")
    expect(page.locator("[data-saved]")).to_be_visible()
    job = Job.get(Job.name == "주문수집 월요일")
    assert (job.weekdays, job.every_hours, job.blackouts, job.enabled) == \
        (["mon"], 4, [["12:00", "14:00"]], True)
    assert JobChange.select().where(JobChange.job_id == job.id).count() == 1
    # the saved job's page shows the same runs for its days (from now on)
    expect(page.locator(RUNS).first).to_be_visible()
    assert all(dt.datetime.fromisoformat(v).weekday() == 0 for v in page.locator(RUNS)
               .evaluate_all("els => els.map(e => e.getAttribute('datetime'))"))

    # back on the list, the job is there, switched on
    page.click("header.topbar nav a[href='/jobs/']")
    row = page.locator(f"#job-{job.id}")
    expect(row).to_be_visible()
    expect(row.locator("input[role=switch]")).to_be_checked()


def test_run_now_opens_its_runs_and_maintenance_shows_a_banner(world, page, log_in,
                                                                 live_server):
    from engine import jobs
    from tests.conftest import NOW

    job = jobs.save_job(world.admin, {"name": "재오소리", "kind": "rule_batch", "enabled": True,
                                      "weekdays": list(jobs.WEEKDAYS), "start": "05:00",
                                      "end": "06:00", "once_a_day": True}, now=NOW)
    log_in("admin")
    page.goto(live_server.url + "/jobs/")
    page.on("dialog", lambda d: d.accept())              # "run now?" confirm
    page.click(f"#job-{job.id} [data-action=run-now]")
    expect(page.locator("#dialog")).to_have_attribute("open", "")
    expect(page.locator("#dialog .job-runs tr[data-status=done]")).to_have_count(1)
    expect(page.locator(f"#job-{job.id} [data-last-status=done]")).to_be_visible()  # refreshed
    page.click("#dialog .job-runs footer button.primary")
    expect(page.locator("#dialog")).not_to_have_attribute("open", "")
    # the shared dialog still works after the first one (its body was not replaced)
    expect(page.locator("#dialog-body")).to_have_count(1)

    page.click("label.switch:has([data-action=maintenance])")
    expect(page.locator("[data-maintenance=on]")).to_be_visible()
    expect(page.locator(f"#job-{job.id} [data-action=run-now]")).to_be_disabled()
    assert jobs.in_maintenance()
    page.click("label.switch:has([data-action=maintenance])")
    expect(page.locator("[data-maintenance=on]")).to_have_count(0)
    assert not jobs.in_maintenance()
