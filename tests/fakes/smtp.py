"""A real local SMTP server (aiosmtpd) that collects what it receives.

``LocalSmtp(rcpt_reply=...)`` starts ``aiosmtpd.controller.Controller`` on 127.0.0.1 with an
OS-chosen port; ``received`` holds each accepted envelope as (mail_from, rcpt_tos, bytes).
``rcpt_reply`` (e.g. ``"550 5.1.1 No such user"``) refuses every recipient with that reply;
``data_reply`` answers DATA with it instead of ``250``.
"""
from __future__ import annotations

import socket

from aiosmtpd.controller import Controller


def free_port() -> int:
    """A port nothing listens on (bound and released at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Collector:
    def __init__(self, rcpt_reply: str | None = None, data_reply: str | None = None):
        self.rcpt_reply, self.data_reply = rcpt_reply, data_reply
        self.received: list[tuple[str, list[str], bytes]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_reply:
            return self.data_reply
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos),
                              envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"


class LocalSmtp:
    def __init__(self, **replies):
        self.handler = Collector(**replies)
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=free_port())

    @property
    def port(self) -> int:
        return self.controller.port

    @property
    def received(self):
        return self.handler.received

    def __enter__(self) -> "LocalSmtp":
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()
