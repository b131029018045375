"""Issue #7's "done when", end to end in a real chromium, through the screens only.

"On a fresh install with the demo marketplace running, enabling 주문수집 every hour shows new
orders in the console, 운송장 전송 marks invoices as sent at the demo marketplace, the job log
and change history show it all, and the result SMS lands in the outbox (or waits out the
do-not-disturb hours)."

The demo marketplace runs in this process on a free port with six hours of orders waiting, and
the install has what the demo data gives it (engine.demo.load_connector_demo): the 데모마켓
channel connected with its key and one job of each connector kind, all off; the demo catalog,
so the market's orders resolve to our products; a registered sender number. The live server
reads the real clock (``g.now``), so the market does too. Selectors use ids, names, classes and
data attributes only, never visible UI text.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import urllib.request

import pytest
from playwright.sync_api import expect

from engine import clock, demo, jobs
from engine.connectors import demo_market
from engine.models import (
    Channel, Job, JobChange, JobRun, Message, Order, Product, ProductOption, SenderNumber, utcnow,
)

pytestmark = pytest.mark.browser

PHONE = "010-5555-6666"
TRACKING = "612345678"


def settled(page):
    """Wait until htmx has swapped and wired what it fetched (its hx- attributes live)."""
    page.wait_for_function(
        "!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')")


@pytest.fixture
def market(tmp_path):
    """The demo marketplace on a free port, on the same (real) clock as the live server, with
    its usual six hours of backlog: slot k always makes the same orders."""
    m = demo_market.DemoMarket(tmp_path / "market.json", clock=utcnow)
    server = demo_market.serve(m, "127.0.0.1", 0)
    m.url = "http://127.0.0.1:%d" % server.server_address[1]
    yield m
    server.shutdown()
    server.server_close()


@pytest.fixture
def fresh_install(world, live_app, market):
    """What a fresh install starts with, as the demo data makes it (after the app configured
    the credentials key, so the channel's key is encrypted with it)."""
    known = {o.code for o in ProductOption.select()}
    products = {}
    for item in demo.catalog():
        if item.option_code in known:
            continue
        if item.product_code not in products:
            products[item.product_code] = Product.create(code=item.product_code,
                                                         name=item.product_name)
        ProductOption.create(product=products[item.product_code], code=item.option_code,
                             name=item.option_name, price_a=item.price)
    demo.load_connector_demo(utcnow(), market.url)
    SenderNumber.create(number="15881234", label="대표번호", registered=True)
    world.channel = Channel.get(Channel.name == demo.DEMO_CHANNEL)
    world.collect = Job.get(Job.name == "데모마켓 주문수집")
    world.send = Job.get(Job.name == "데모마켓 운송장 전송")
    assert not world.collect.enabled and not world.send.enabled
    return world


def market_status(market):
    """What the market says it received, read from its own /status.json."""
    with urllib.request.urlopen(market.url + "/status.json", timeout=5) as response:
        return json.loads(response.read().decode("utf-8"))


def run_now(page, job):
    with page.expect_navigation():
        page.click("header.topbar nav a[href='/jobs/']")
    settled(page)
    page.click(f"#job-{job.id} [data-action=run-now]")   # the confirm is accepted
    runs = page.locator("#dialog .job-runs")
    expect(runs).to_be_visible()
    expect(runs.locator("tr[data-status=done]")).to_have_count(1)
    expect(page.locator(f"#job-{job.id} [data-last-status=done]")).to_be_visible()
    settled(page)
    runs.locator("footer button.primary").click()
    expect(page.locator("#dialog")).to_be_hidden()


def test_done_when_hourly_collection_and_invoices_show_everywhere(fresh_install, market, page,
                                                                  log_in):
    w = fresh_install
    page.on("dialog", lambda d: d.accept())              # "run now?" confirms
    log_in("admin")
    assert Order.select().where(Order.channel == w.channel.id).count() == 0

    # --- 주문수집: on, every hour, result SMS to a verified phone -----------------------------
    page.click("header.topbar nav a[href='/jobs/']")
    page.click(f"#job-{w.collect.id} td.job-name a")
    page.wait_for_url(f"**/jobs/{w.collect.id}")
    page.check("#f-enabled")
    page.check("#repeat-every")
    page.select_option("#f-every_hours", "1")
    page.check("#nk-sms")
    page.fill("#f-notify_phone", PHONE)
    expect(page.locator("#phone-verify")).to_be_visible()          # a new number needs a code
    page.click("[data-action=send-code]")
    expect(page.locator("#phone-sent [data-code-sent]")).to_be_visible()
    sent = Message.select().where(Message.to == "01055556666").get()  # what the phone received
    page.fill("#f-notify_code", re.search(r"\b(\d{6})\b", sent.body).group(1))
    page.click("[data-action=check-code]")
    expect(page.locator("#phone-check [data-code-ok]")).to_be_visible()
    page.fill("#f-dnd_from", "22:00")
    page.fill("#f-dnd_to", "08:00")
    page.click("[data-action=save]")
    page.wait_for_url(f"**/jobs/{w.collect.id}?saved=1")
    expect(page.locator("[data-saved]")).to_be_visible()
    job = Job.get_by_id(w.collect.id)
    assert (job.enabled, job.every_hours, job.notify["phone"]) == (True, 1, PHONE)

    run_now(page, job)
    expect(page.locator(f"#job-{job.id} input[role=switch]")).to_be_checked()
    collected = Order.select().where(Order.channel == w.channel.id)
    made = market_status(market)["orders"]
    assert made > 0 and collected.count() == made

    # --- the new orders are in the console ----------------------------------------------------
    page.click("header.topbar nav a[href='/orders/']")
    page.wait_for_url("**/orders/**")
    page.select_option("#search-form [name=channel]", str(w.channel.id))
    page.click("#search-form button.primary")
    rows = page.locator("#results tr[id^=order-row-]")
    expect(rows).to_have_count(min(made, 50))
    open_at_market = sorted(no for no, o in market.state["orders"].items()
                            if o["status"] != "cancelled")
    target = next(o for o in collected.order_by(Order.order_no)
                  if o.order_no in open_at_market and o.state == "접수")

    # --- an invoice and shipping, in the console ----------------------------------------------
    settled(page)
    page.fill("#search-form [name=q]", target.order_no)
    page.click("#search-form button.primary")
    expect(rows).to_have_count(1)
    settled(page)
    page.click(f"#order-row-{target.id} td:nth-child(7)")
    panel = page.locator("#order-panel")
    expect(panel.locator(".panel-head")).to_contain_text(f"#{target.id}")
    settled(page)
    panel.locator("[data-op=invoice]").click()
    dialog = page.locator("#dialog form[data-dialog=invoice]")
    expect(dialog).to_be_visible()
    settled(page)
    dialog.locator("select[name=courier]").select_option("CJ대한통운")
    dialog.locator("input[name=tracking_no]").fill(TRACKING)
    dialog.locator("footer button.primary").click()
    expect(page.locator("#dialog")).to_be_hidden()
    expect(panel.locator(".badge.state-송장")).to_be_visible()
    settled(page)
    panel.locator("[data-op=ship]").click()
    dialog = page.locator("#dialog form[data-dialog=ship]")
    expect(dialog).to_be_visible()
    settled(page)
    dialog.locator("footer button.primary").click()
    expect(page.locator("#dialog")).to_be_hidden()
    expect(panel.locator(".badge.state-배송")).to_be_visible()
    assert target.order_no not in market_status(market)["invoices"]

    # --- 운송장 전송: the market has the tracking number ---------------------------------------
    run_now(page, w.send)
    pushed = market_status(market)["invoices"]
    assert list(pushed) == [target.order_no]
    assert (pushed[target.order_no]["courier"], pushed[target.order_no]["trackingNo"]) == \
        ("CJ대한통운", TRACKING)

    # --- the job log has both runs -----------------------------------------------------------
    page.click("nav.subnav a[data-tab=log]")
    page.wait_for_url("**/jobs/log*")
    log_rows = page.locator("#results tr.run")
    expect(log_rows).to_have_count(2)
    expect(page.locator("#results tr.run[data-status=done][data-trigger=manual]")) \
        .to_have_count(2)
    runs = {r.job_id: r for r in JobRun.select()}
    expect(page.locator(f"#run-{runs[w.collect.id].id} .run-title")).to_contain_text(
        "데모마켓 주문수집")
    expect(page.locator(f"#run-{runs[w.send.id].id} .run-title")).to_contain_text(
        "데모마켓 운송장 전송")
    assert runs[w.send.id].counts == {"sent": 1, "failed": 0}

    # --- the change history shows who switched it on, with which notification ------------
    page.click("nav.subnav a[data-tab=history]")
    page.wait_for_url("**/jobs/history*")
    page.select_option("#s-job_id", str(w.collect.id))
    expect(page).to_have_url(re.compile(rf"job_id={w.collect.id}\b"))
    expect(page.locator("#results article.change")).to_have_count(2)   # created, switched on
    change = JobChange.select().where(JobChange.job_id == w.collect.id) \
        .order_by(JobChange.id.desc()).first()
    article = page.locator(f"#change-{change.id}")
    expect(article).to_be_visible()
    expect(article).to_have_class(re.compile(r"\bchange-update\b"))
    expect(article.locator("tr.changed[data-key=enabled]")).to_have_count(1)
    expect(article.locator("tr.changed[data-key=notify] pre.after")).to_contain_text(PHONE)
    assert change.actor_id == w.admin.id

    # --- the result SMS is in the outbox (held until do-not-disturb ends, at night) ----------
    page.click("header.topbar nav a[href='/messages/send']")
    page.click("a[data-tab=history][href$='/messages/history']")
    page.wait_for_url("**/messages/history*")
    result = Message.select().where(Message.batch == f"job-{w.collect.id}").get()
    row = page.locator(f"#msg-{result.id}")
    expect(row).to_be_visible()
    expect(row.locator("td.excerpt")).to_contain_text("[스케줄러] 데모마켓 주문수집")
    assert result.to == "01055556666" and f"collected {made}" in result.body
    local = clock.to_local(runs[w.collect.id].started_at, clock.zone("Asia/Seoul"))
    night = local.hour >= 22 or local.hour < 8
    if night:   # waits for 08:00 Seoul time
        release = jobs.dnd_release(["22:00", "08:00"], local)
        assert result.status == "queued"
        assert result.send_after == clock.to_utc(release, clock.zone("Asia/Seoul"))
        assert result.send_after > utcnow() - dt.timedelta(minutes=1)
    else:
        assert result.send_after is None or result.send_after <= runs[w.collect.id].started_at \
            + dt.timedelta(minutes=1)
