"""ruledesk: app factory and entry point.

``python app.py`` (or ``flask --app app run``) opens the store, migrates it, creates the
master account and the demo data on first start, and serves the web UI and the JSON API.
"""
from __future__ import annotations

import logging
import os
import secrets
import sys
import threading
from pathlib import Path

from flask import Flask, g, request, session
from flask_babel import Babel
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx
from peewee import IntegrityError

from engine import assignment, clock, demo, imports, jobs, rules, sending, store, users
from engine.models import User, db, utcnow
from engine.scheduler import Ticker

log = logging.getLogger("ruledesk")
ROOT = Path(__file__).resolve().parent
TRANSLATIONS = ROOT / "translations"

csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()


def _secret_key(instance: Path) -> str:
    """RULEDESK_SECRET_KEY, else a key kept in instance/secret_key so sessions survive restarts."""
    if os.environ.get("RULEDESK_SECRET_KEY"):
        return os.environ["RULEDESK_SECRET_KEY"]
    path = instance / "secret_key"
    instance.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def compile_translations() -> None:
    """Compile each translations/*/LC_MESSAGES/messages.po whose .mo is missing or older."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po_path in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po:
            catalog = read_po(po, locale=po_path.parent.parent.name)
        with mo_path.open("wb") as mo:
            write_mo(mo, catalog)


def _locale():
    if current_user and current_user.is_authenticated:
        return current_user.language
    return session.get("lang") or request.accept_languages.best_match(
        list(users.LANGUAGES)) or "ko"


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    instance = Path(app.instance_path)
    app.config.from_mapping(
        DATABASE_URL=store.default_url(app.instance_path),
        TIMEZONE=os.environ.get("RULEDESK_TIMEZONE", clock.DEFAULT_ZONE),
        DEMO=os.environ.get("RULEDESK_DEMO", "1") != "0",
        MASTER_PASSWORD=os.environ.get("RULEDESK_MASTER_PASSWORD"),
        PAGE_SIZE=50,
        SCHEDULER=os.environ.get("RULEDESK_SCHEDULER", "1") != "0",
        BABEL_DEFAULT_LOCALE="ko",
        BABEL_TRANSLATION_DIRECTORIES=str(TRANSLATIONS),
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
    )
    if test_config:
        app.config["SCHEDULER"] = False  # tests tick duties themselves, unless they ask
        app.config.update(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(instance)
    app.config["TZ"] = clock.zone(app.config["TIMEZONE"])

    compile_translations()
    Htmx(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_locale,
                   timezone_selector=lambda: app.config["TIMEZONE"])
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"

    from engine import credentials   # channel secrets: RULEDESK_CREDENTIALS_KEY or a key file
    credentials.configure(app.config.get("CREDENTIALS_KEY") or os.environ.get(credentials.ENV),
                          lambda: Path(app.instance_path) / credentials.KEY_FILE)

    database = store.open_store(app.config["DATABASE_URL"])
    app.extensions["ruledesk.db"] = database

    @app.before_request
    def _connect():
        db.connect(reuse_if_open=True)
        g.now = utcnow()

    @app.teardown_request
    def _close(exc):
        if not db.is_closed():
            db.close()

    with database.connection_context(), store.startup_lock(database):
        bootstrap(app)

    app.extensions["ruledesk.providers"] = sending.Providers.from_settings(os.environ)
    rules.install()  # committed changes run the automation rules
    if app.config["SCHEDULER"]:
        start_scheduler(app)

    from views import register
    register(app)
    register_cli(app)
    return app


def register_cli(app: Flask) -> None:
    """``flask config check|load|export`` (the declared data in TOML files), ``flask
    demo-market`` and ``flask scheduler run``."""
    import click

    from engine import config

    config_dir = Path(os.environ.get("RULEDESK_CONFIG_DIR", ROOT / "config"))

    def _paths(files):
        return [Path(f) for f in files] or config.default_paths(config_dir)

    group = click.Group("config", help="Check, load and export declared data (config/*.toml).")

    @group.command("check")
    @click.argument("files", nargs=-1, type=click.Path())
    def check(files):
        """Validate FILES (default: config/*.toml) and print file:line: message."""
        problems = config.check(_paths(files))
        for problem in problems:
            click.echo(str(problem), err=True)
        if problems:
            raise SystemExit(1)
        click.echo(f"ok: {len(_paths(files))} file(s)")

    @group.command("load")
    @click.argument("files", nargs=-1, type=click.Path())
    def load(files):
        """Apply FILES (default: config/*.toml) all or nothing."""
        from engine.errors import ConfigError
        try:
            report = config.load(_paths(files))
        except ConfigError as exc:
            click.echo(exc.render(), err=True)
            raise SystemExit(1)
        click.echo(f"loaded: {report.created} created, {report.changed} changed, "
                   f"{report.unchanged} unchanged")

    @group.command("export")
    @click.option("--out", type=click.Path(), default=None,
                  help="Write to this file instead of standard output.")
    def export(out):
        """Write the store's declared data as TOML that loads back unchanged."""
        text = config.export()
        if out:
            Path(out).write_text(text, encoding="utf-8")
            click.echo(f"written: {out}")
        else:
            click.echo(text, nl=False)

    app.cli.add_command(group)
    app.cli.add_command(demo_market_command)

    scheduler = click.Group("scheduler", help="The scheduler's duties in a process of their own.")

    @scheduler.command("run")
    def run_scheduler():
        """Deliver messages, run scheduled jobs and assign waiting tickets until stopped (for a
        web process started with RULEDESK_SCHEDULER=0; several may run: slots are leased)."""
        stop = app.extensions.get("ruledesk.scheduler") or start_scheduler(app)
        click.echo("ruledesk: scheduler running (Ctrl+C stops it)")
        try:
            while not stop.wait(1):
                pass
        except KeyboardInterrupt:
            stop.set()

    app.cli.add_command(scheduler)


def start_scheduler(app: Flask) -> threading.Event:
    """Tick the scheduler's duties in this process (RULEDESK_SCHEDULER=0 turns it off):
    deliver queued messages, run the scheduled jobs whose slot has come, and give tickets
    flagged "nobody available" to whoever is back from leave."""
    database = app.extensions["ruledesk.db"]
    providers = app.extensions["ruledesk.providers"]

    def deliver_messages():
        with database.connection_context():
            sending.deliver_due(utcnow(), providers)

    def run_jobs():
        with database.connection_context():
            jobs.run_due(utcnow(), app.config["TZ"])

    def assign_waiting_tickets():
        with database.connection_context():
            assignment.assign_waiting(utcnow(), app.config["TZ"])

    ticker = Ticker()
    ticker.every(5, "deliver messages", deliver_messages)
    ticker.every(20, "run scheduled jobs", run_jobs)
    ticker.every(60, "assign waiting tickets", assign_waiting_tickets)
    stop = threading.Event()
    ticker.start(stop)
    app.extensions["ruledesk.scheduler"] = stop
    return stop


@login_manager.user_loader
def _load_user(user_id: str):
    return User.get_or_none((User.id == int(user_id)) & (User.active == True)) \
        if user_id.isdigit() else None  # noqa: E712


def bootstrap(app: Flask) -> None:
    """First start: the master account, the choice lists and (unless disabled) the demo data."""
    try:
        master, generated = users.ensure_master(app.config["MASTER_PASSWORD"])
    except IntegrityError:  # another process created it at the same moment
        master, generated = None, None
    if generated:
        message = ("ruledesk: created user 'master' with password %s "
                   "(shown once; set RULEDESK_MASTER_PASSWORD to choose it)" % generated)
        print(message, file=sys.stderr, flush=True)
    demo.load_choice_lists()
    imports.fail_interrupted(utcnow())  # an import left "running" by a dead process
    if app.config["DEMO"]:
        from engine.demo_helpdesk import load_helpdesk_demo
        from engine.demo_messages import load_message_demo
        actor = master or User.get_or_none(User.role == "master")
        from engine.connectors import demo_market
        try:
            address = demo_market.address_from_env(os.environ.get(demo_market.ENV))
        except ValueError:
            address = None
        demo.load(utcnow(), actor, market_url=demo_market.base_url(address))
        load_message_demo(utcnow(), actor)
        load_helpdesk_demo(utcnow(), actor)


def _demo_market_command():
    import click

    @click.command("demo-market")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=8765, show_default=True, type=int)
    @click.option("--state", type=click.Path(), default=None,
                  help="The market's JSON state file (default: instance/demo_market.json).")
    def command(host, port, state):
        """Serve the demo marketplace (데모마켓) the demo channel's connector talks to."""
        from flask import current_app

        from engine.connectors import demo_market
        market = demo_market.DemoMarket(
            state or Path(current_app.instance_path) / "demo_market.json")
        server = demo_market.serve(market, host, port)
        click.echo(f"demo market: http://{host}:{server.server_address[1]}/ (Ctrl+C stops it)")
        try:
            server.thread.join()
        except KeyboardInterrupt:
            server.shutdown()
    return command


demo_market_command = _demo_market_command()


def start_demo_market(app: Flask):
    """With the demo data on, serve the demo marketplace in this process so the demo
    channel's jobs work at once (RULEDESK_DEMO_MARKET=host:port moves it, "off" stops it).
    A port already taken (another ruledesk, ``flask demo-market``) is left alone."""
    from engine.connectors import demo_market
    try:
        address = demo_market.address_from_env(os.environ.get(demo_market.ENV))
    except ValueError:
        log.warning("%s must be host:port or off", demo_market.ENV)
        return None
    if not app.config["DEMO"] or address is None:
        return None
    try:
        market = demo_market.DemoMarket(Path(app.instance_path) / "demo_market.json")
        server = demo_market.serve(market, *address)
    except OSError as exc:
        log.info("demo market not started on %s:%s (%s)", *address, exc)
        return None
    print(f"ruledesk: demo marketplace on {demo_market.base_url(address)}/",
          file=sys.stderr, flush=True)
    return server


def main() -> None:
    from waitress import serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    app = create_app()
    host = os.environ.get("RULEDESK_HOST", "127.0.0.1")
    port = int(os.environ.get("RULEDESK_PORT", "5000"))
    print(f"ruledesk: serving on http://{host}:{port}/", file=sys.stderr, flush=True)
    start_demo_market(app)
    serve(app, host=host, port=port, threads=8)


if __name__ == "__main__":
    main()
