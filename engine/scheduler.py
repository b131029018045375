"""The in-process ticking loop.

``schedule`` is only the clock here (see shared/stack.md): it calls each registered duty
every few seconds; each duty decides for itself what is due from the store, with
compare-and-swap claims, so several processes ticking at once never do one thing twice.
Scheduled jobs (issue 7) register here as one more duty.
"""
from __future__ import annotations

import logging
import threading
from typing import Callable

import schedule

log = logging.getLogger("ruledesk.scheduler")


class Ticker:
    """Run duties on their intervals; the caller owns the loop (``run_pending``) or a thread."""

    def __init__(self):
        self.clock = schedule.Scheduler()
        self.names: list[str] = []

    def every(self, seconds: int, name: str, duty: Callable[[], object]) -> None:
        self.clock.every(seconds).seconds.do(self._run, name, duty)
        self.names.append(name)

    @staticmethod
    def _run(name: str, duty: Callable[[], object]) -> None:
        try:
            duty()
        except Exception:  # one failing duty must not stop the loop or the others
            log.exception("scheduler duty %s failed", name)

    def run_pending(self) -> None:
        self.clock.run_pending()

    def start(self, stop: threading.Event, poll_seconds: float = 1.0) -> threading.Thread:
        """Tick in a daemon thread until ``stop`` is set."""
        def loop():
            log.info("scheduler started: %s", ", ".join(self.names))
            # every duty once at start: after a restart, due messages, a missed job slot and
            # waiting tickets are handled at once, not an interval later
            self.clock.run_all()
            while not stop.is_set():
                self.run_pending()
                stop.wait(poll_seconds)
        thread = threading.Thread(target=loop, name="ruledesk-scheduler", daemon=True)
        thread.start()
        return thread
