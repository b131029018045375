"""Real-browser fixtures: Debian's chromium driven by playwright against a live waitress server.

* ``browser``      one headless chromium per test session (skipped when /usr/bin/chromium is
                   missing, except under CI=true where that is a failure);
* ``live_server``  the app of this test (same store as the ``database`` fixture, so the suite
                   runs on SQLite and on PostgreSQL) served by waitress on 127.0.0.1, CSRF on;
* ``page``         a fresh context + page per test, Korean locale and Seoul time, with every
                   request that does not go to the live server aborted (no test touches the
                   internet);
* ``log_in``       fills the real login form.
"""
from __future__ import annotations

import os
import threading
import pytest

from tests.conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage"]
TIMEOUT_MS = 10_000


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        reason = (f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium "
                  "fonts-noto-cjk) to run the browser tests")
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (CI=true: the browser tests must run)", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class LiveServer:
    """The app served by waitress in a daemon thread; ``url`` is its origin."""

    def __init__(self, app):
        from waitress import create_server

        self.app = app
        self.server = create_server(app, host="127.0.0.1", port=0, threads=4)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, name="live-server", daemon=True)
        self.thread.start()

    def _run(self):
        try:
            self.server.run()
        except BaseException as exc:  # noqa: BLE001 - reported at teardown
            self.errors.append(exc)

    def stop(self):
        """Close every connection and the listening socket *inside* the server's loop (no
        cross-thread close of a descriptor it may be selecting on), then end its threads."""
        server = self.server

        def close_all():
            for channel in list(server._map.values()):
                if channel is not server and channel is not server.trigger:
                    channel.close()
            server.close()  # the listening socket and the trigger; the loop then ends

        try:
            server.trigger.pull_trigger(close_all)
        except OSError:
            server.close()
        self.thread.join(timeout=5)
        server.task_dispatcher.shutdown(timeout=5)


@pytest.fixture
def live_app(database, database_url, world, tmp_path):
    """The app for the browser: same store as the test, real login, CSRF enforced."""
    from app import create_app

    app = create_app({
        "TESTING": True, "DATABASE_URL": database_url, "DEMO": False,
        "SECRET_KEY": "browser-test", "WTF_CSRF_ENABLED": True, "MASTER_PASSWORD": PASSWORD,
    })
    app.instance_path = str(tmp_path)
    yield app
    store = app.extensions["ruledesk.db"]
    if not store.is_closed():
        store.close()


@pytest.fixture
def live_server(live_app):
    server = LiveServer(live_app)
    yield server
    server.stop()
    assert not server.errors, server.errors
    assert not server.thread.is_alive(), "the live server thread did not stop"


@pytest.fixture
def context(browser, live_server):
    context = browser.new_context(locale="ko-KR", timezone_id="Asia/Seoul",
                                  viewport={"width": 1440, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    origin = live_server.url + "/"
    blocked: list[str] = []

    def only_live_server(route):
        url = route.request.url
        if url.startswith(origin):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    context.route("**/*", only_live_server)
    context.blocked = blocked
    yield context
    context.close()
    assert not blocked, f"the page asked for URLs outside the live server: {blocked}"


@pytest.fixture
def page(context, live_server):
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    page.base_url = live_server.url
    yield page
    page.close()
    assert not errors, f"JavaScript errors in the page: {errors}"


@pytest.fixture
def log_in(page, live_server):
    """log_in("agent") fills the login form and lands on the order console."""
    def log_in(username, password=PASSWORD):
        page.goto(live_server.url + "/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("form.login-card button.primary")
        page.wait_for_url(live_server.url + "/orders/**")
        page.wait_for_load_state("load")
        return page
    return log_in
