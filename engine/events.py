"""Domain events: what changed on which record, raised by every path that changes data.

An operation records its events while its transaction runs and they are dispatched after
the transaction commits, so automation never sees a change that was rolled back and a
failing rule never undoes the agent's own change. Form edits, bulk actions, the API,
imports, scheduled jobs and rule actions all go through the same operations, so they all
raise events exactly alike: no silent non-execution.
"""
from __future__ import annotations

import datetime as dt
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable

CREATED, CHANGED, STAGE_ENTERED, BATCH = "created", "changed", "stage_entered", "batch"


@dataclass(frozen=True)
class Event:
    record: str                      # "order", "ticket", …
    record_id: int
    kind: str                        # CREATED | CHANGED | STAGE_ENTERED | BATCH
    at: dt.datetime
    actor_id: int | None = None
    changes: dict = field(default_factory=dict)   # field → (old, new)
    key: str = ""        # distinguishes two changes of one record (e.g. its version)

    def changed(self, name: str) -> bool:
        return name in self.changes


_listeners: list[Callable[[list[Event]], None]] = []
_local = threading.local()


def listen(listener: Callable[[list[Event]], None]) -> None:
    """Register a dispatcher (the rule engine does); called with the events of a commit."""
    if listener not in _listeners:
        _listeners.append(listener)


def unlisten(listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def _buffer() -> list[Event] | None:
    return getattr(_local, "buffer", None)


def raise_event(event: Event) -> None:
    """Record an event; it is dispatched when the outermost ``collecting`` block ends."""
    buffer = _buffer()
    if buffer is None:
        _dispatch([event])
    else:
        buffer.append(event)


@contextmanager
def collecting():
    """Hold events raised inside; dispatch them when the block ends without an error.

    Wrap the transaction of an operation in it: on an exception nothing is dispatched, as
    nothing was committed. Nested blocks belong to the outermost one.
    """
    outer = _buffer() is None
    if outer:
        _local.buffer = []
    mark = len(_local.buffer)
    try:
        yield
    except BaseException:
        if outer:
            _local.buffer = None
        else:
            del _local.buffer[mark:]   # the inner block's changes were rolled back
        raise
    if outer:
        events, _local.buffer = _local.buffer, None
        if events:
            _dispatch(events)


@contextmanager
def capturing():
    """Collect the events raised inside into the yielded list, without dispatching them.

    The rule engine runs actions inside it: their events join the running cascade instead
    of starting a new one.
    """
    saved = _buffer()
    captured: list[Event] = []
    _local.buffer = captured
    try:
        yield captured
    finally:
        _local.buffer = saved


def _dispatch(events: list[Event]) -> None:
    for listener in list(_listeners):
        listener(events)
