"""A channel's marketplace credentials, encrypted at rest (Fernet) and never shown back in full.

The key is RULEDESK_CREDENTIALS_KEY, else a key file made once under the instance folder
(mode 0600). The app passes the key (or the file's path) in at start (``configure``); the file
is only created the first time a secret is written or read, so a store without connectors
never needs one. Losing the key loses the secrets (they must be typed again), never the rest
of the store: that is why they are a column of their own and not mixed into settings.
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Callable

from cryptography.fernet import Fernet, InvalidToken

from engine.errors import ConfigError
from engine.text import N_

ENV = "RULEDESK_CREDENTIALS_KEY"
KEY_FILE = "credentials_key"
MASK = "••••"

_lock = threading.Lock()
_state: dict = {"key": None, "file": None, "fernet": None}


def configure(key: str | bytes | None = None,
              key_file: str | Path | Callable[[], Path] | None = None) -> None:
    """Use ``key`` (a Fernet key), else the key in ``key_file`` (made on first use; a
    callable is asked then, so the app's instance folder may still move before that)."""
    with _lock:
        _state.update(key=key.encode() if isinstance(key, str) else key,
                      file=key_file if callable(key_file) or key_file is None
                      else Path(key_file), fernet=None)


def _key_from_file(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(Fernet.generate_key())
    return path.read_bytes().strip()


def _fernet() -> Fernet:
    with _lock:
        if _state["fernet"] is None:
            key = _state["key"]
            if key is None and _state["file"] is not None:
                path = Path(_state["file"]() if callable(_state["file"]) else _state["file"])
                try:
                    key = _key_from_file(path)
                except FileExistsError:   # another process made it at the same moment
                    key = path.read_bytes().strip()
            if key is None:
                raise ConfigError(N_("No credentials key is configured (set %(env)s)."),
                                  env=ENV)
            try:
                _state["fernet"] = Fernet(key)
            except (ValueError, TypeError):
                raise ConfigError(N_("The credentials key is not a valid Fernet key (%(env)s)."),
                                  env=ENV)
        return _state["fernet"]


def encrypt(values: dict) -> str:
    """The token stored in ``Channel.credentials``; an empty dict is stored as ""."""
    values = {k: v for k, v in values.items() if v}
    if not values:
        return ""
    return _fernet().encrypt(json.dumps(values, ensure_ascii=False).encode()).decode()


def decrypt(token: str) -> dict:
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken:
        raise ConfigError(N_("The stored credentials cannot be read with this key (was "
                             "%(env)s changed?); enter them again."), env=ENV)


def mask(value: str | None) -> str:
    """"••••1a2b": enough to recognise a secret, never enough to use it."""
    if not value:
        return ""
    return MASK + (value[-4:] if len(value) >= 12 else "")
