"""Thin Flask blueprints, one per area; they parse requests and render, the engine decides."""
from __future__ import annotations


def register(app):
    from views import (
        api, api_jobs, api_messages, api_rules, auth, catalog, jobs, messages, orders, rules,
        settings, web,
    )

    web.init_app(app)
    for module in (auth, orders, messages, rules, jobs, catalog, settings, api, api_messages,
                   api_rules, api_jobs):
        app.register_blueprint(module.bp)
