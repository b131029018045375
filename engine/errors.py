"""One family of exceptions for every domain operation.

Views, the API and (later) rule actions all catch ``EngineError`` and turn it into a
response, so each error carries what a user needs: a message id (English source text,
translated by the view layer), its parameters, and the field it is about.
"""
from __future__ import annotations


class EngineError(Exception):
    """Base of every error a user can cause; never a 500."""

    status = 400
    code = "invalid"
    # params that hold message ids themselves (a field label, a state label)
    TRANSLATED_PARAMS = ("label", "state")

    def __init__(self, message: str, field: str | None = None, **params):
        super().__init__(message % params if params else message)
        self.message = message
        self.field = field
        self.params = params
        self.details: list[tuple[object, "EngineError"]] = []  # per-row causes (bulk)

    def render(self, gettext=lambda s: s) -> str:
        """Return the message translated with ``gettext`` and filled with its params.

        ``label`` and ``state`` params are message ids too (a field label, a state label), so
        they are translated with the message: "송장번호 항목은…", not "Tracking number 항목은…".
        """
        text = gettext(self.message)
        if not self.params:
            return text
        params = dict(self.params)
        for name in self.TRANSLATED_PARAMS:
            value = params.get(name)
            if isinstance(value, str):
                params[name] = gettext(value)
        return text % params


class ValidationError(EngineError):
    """Input that does not fit: a bad field value, a missing required field."""

    status = 422
    code = "validation"

    def __init__(self, message: str, field: str | None = None, errors=None, **params):
        super().__init__(message, field, **params)
        # every field error found, so a form can mark them all at once
        self.errors: dict[str, EngineError] = dict(errors or {})
        if field and field not in self.errors:
            self.errors[field] = self


class StateError(EngineError):
    """The operation is not allowed in the record's current state."""

    status = 409
    code = "state"


class ConflictError(EngineError):
    """Somebody else saved the record since it was read (optimistic lock)."""

    status = 409
    code = "conflict"


class NotFound(EngineError):
    status = 404
    code = "not_found"


class PermissionDenied(EngineError):
    status = 403
    code = "forbidden"


class AuthenticationError(EngineError):
    status = 401
    code = "unauthenticated"


class ConfigError(EngineError):
    """A declared-data file or setting that cannot be loaded."""

    code = "config"
