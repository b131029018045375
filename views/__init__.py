"""Thin Flask blueprints, one per area; they parse requests and render, the engine decides."""
from __future__ import annotations


def register(app):
    from views import api, auth, catalog, orders, settings, web

    web.init_app(app)
    for module in (auth, orders, catalog, settings, api):
        app.register_blueprint(module.bp)
