"""Message providers: where a stored message goes when it is delivered.

``outbox`` (the default) keeps everything on this machine and plays the carrier's part for
the rules we can check (a sender number that is not pre-registered fails with the carrier's
own wording); ``solapi`` sends SMS/LMS/AlimTalk through SOLAPI's official SDK; ``smtp``
sends email with smtplib. Each raises ``TransientError`` (retry later) or ``PermanentError``
(shown to the user) so the delivery loop treats them all alike.
"""
from __future__ import annotations

import smtplib
import ssl
import uuid
from dataclasses import dataclass
from email.message import EmailMessage

from engine.models import Message, SenderNumber

UNREGISTERED_SENDER = "회신번호 사전 등록제 번호규칙 위반"


class DeliveryError(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class TransientError(DeliveryError):
    """Try again later (network, rate limit, provider 5xx)."""


class PermanentError(DeliveryError):
    """Will never succeed as it is (bad number, unregistered sender, rejected template)."""


@dataclass
class Receipt:
    provider_id: str
    carrier_result: str


class OutboxProvider:
    """Stores and shows; nothing leaves the machine."""

    name = "outbox"

    def send(self, message: Message) -> Receipt:
        if message.kind != "EMAIL":
            sender = SenderNumber.get_or_none(SenderNumber.number == message.sender)
            if sender is None or not sender.registered:
                raise PermanentError(UNREGISTERED_SENDER)
        return Receipt("outbox-" + uuid.uuid4().hex[:16], "전송완료")


class SolapiProvider:
    """SMS / LMS / AlimTalk through the official ``solapi`` SDK (``base_url`` is the test seam)."""

    name = "solapi"

    def __init__(self, api_key: str, api_secret: str, pf_id: str = "",
                 base_url: str | None = None):
        from solapi import SolapiMessageService

        self.service = SolapiMessageService(api_key, api_secret)
        if base_url:
            self.service.base_url = base_url.rstrip("/")
        self.pf_id = pf_id

    def send(self, message: Message) -> Receipt:
        from solapi.model import RequestMessage
        from solapi.model.kakao.kakao_option import KakaoOption
        from solapi.model.message_type import MessageType

        fields = {"to": message.to, "from_": message.sender, "text": message.body}
        if message.kind == "ALIMTALK":
            template = message.template
            fields["type"] = MessageType.ATA
            fields["kakao_options"] = KakaoOption(
                pf_id=self.pf_id, template_id=template.alimtalk_code if template else "",
                variables=None, disable_sms=True)
        else:
            fields["type"] = {"SMS": MessageType.SMS, "LMS": MessageType.LMS,
                              "MMS": MessageType.MMS}[message.kind]
            if message.kind != "SMS" and message.subject:
                fields["subject"] = message.subject
        try:
            response = self.service.send(RequestMessage(**fields))
        except Exception as exc:  # the SDK raises bare Exception(code, message) on HTTP errors
            raise _solapi_error(exc)
        failed = response.failed_message_list or []
        if failed:
            first = failed[0]
            raise PermanentError(f"{getattr(first, 'status_code', '')} "
                                 f"{getattr(first, 'status_message', '')}".strip())
        group = response.group_info
        return Receipt(getattr(group, "group_id", "") or "", "접수완료")


def _solapi_error(exc: Exception) -> DeliveryError:
    """Map SDK errors: connection problems and 429/5xx are transient, the rest permanent."""
    text = " ".join(str(a) for a in exc.args) or exc.__class__.__name__
    transient_markers = ("Connection", "Timeout", "429", "500", "502", "503", "504",
                         "TooManyRequests", "InternalError")
    if any(marker in text or marker in exc.__class__.__name__ for marker in transient_markers):
        return TransientError(text)
    return PermanentError(text)


class SmtpProvider:
    """Email through smtplib (STARTTLS when ``starttls``)."""

    name = "smtp"

    def __init__(self, host: str, port: int = 25, username: str = "", password: str = "",
                 sender: str = "ruledesk@localhost", starttls: bool = False, timeout: float = 10):
        self.host, self.port, self.username, self.password = host, port, username, password
        self.sender, self.starttls, self.timeout = sender, starttls, timeout

    def send(self, message: Message) -> Receipt:
        email = EmailMessage()
        email["From"] = message.sender or self.sender
        email["To"] = message.to
        email["Subject"] = message.subject
        email["Message-ID"] = f"<{message.idempotency_key.replace(':', '.')}@ruledesk>"
        email.set_content(message.body)
        if message.html:
            email.add_alternative(message.html, subtype="html")
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password)
                refused = smtp.send_message(email)
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, OSError) as exc:
            raise TransientError(str(exc) or exc.__class__.__name__)
        except smtplib.SMTPResponseException as exc:
            error = TransientError if 400 <= exc.smtp_code < 500 else PermanentError
            raise error(f"{exc.smtp_code} {exc.smtp_error!r}")
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentError(str(exc.recipients))
        if refused:
            raise PermanentError(str(refused))
        return Receipt(email["Message-ID"], "250 OK")
