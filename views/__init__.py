"""Thin Flask blueprints, one per area; they parse requests and render, the engine decides."""
from __future__ import annotations


def register(app):
    from views import (
        api_cs, cancels, cs, imports,
    )
    from views import (
        api, api_jobs, api_messages, api_returns, api_rules, auth, catalog, jobs, messages,
        orders, returns, rules, settings, web,
    )

    web.init_app(app)
    for module in (cs, cancels, imports, api_cs):
        app.register_blueprint(module.bp)
    for module in (auth, orders, returns, messages, rules, catalog, settings, api,
                   api_messages, api_rules, api_returns, jobs, api_jobs):
        app.register_blueprint(module.bp)
