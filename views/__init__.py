"""Thin Flask blueprints, one per area; they parse requests and render, the engine decides."""
from __future__ import annotations


def register(app):
    from views import (
        aftersales, api_cs, cancels, cs, helpdesk, helpdesk_settings, imports, portal,
    )
    from views import (
        api, api_jobs, api_messages, api_returns, api_rules, auth, catalog, jobs, messages,
        orders, returns, rules, settings, web,
    )
    from views import api_connectors, connectors
    from views import api_helpdesk

    web.init_app(app)
    for module in (cs, cancels, imports, api_cs, helpdesk_settings, helpdesk, aftersales,
                   portal):
        app.register_blueprint(module.bp)
    app.register_blueprint(portal.help_bp)
    for module in (auth, orders, returns, messages, rules, catalog, settings, api,
                   api_messages, api_rules, api_returns, jobs, api_jobs, connectors,
                   api_connectors):
        app.register_blueprint(module.bp)
    app.register_blueprint(api_helpdesk.bp)
