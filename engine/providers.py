"""Message providers: where a stored message goes when it is delivered.

``outbox`` (the default) keeps everything on this machine and plays the carrier's part for
the rules we can check (a sender number that is not pre-registered fails with the carrier's
own wording); ``solapi`` sends SMS/LMS/AlimTalk through SOLAPI's official SDK; ``smtp``
sends email with smtplib. Each raises ``TransientError`` (retry later) or ``PermanentError``
(shown to the user) so the delivery loop treats them all alike.
"""
from __future__ import annotations

import hashlib
import json
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from email import policy
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


class UncertainError(DeliveryError):
    """The provider may have accepted the message (the request went out, no usable answer
    came back): neither retry it nor send a fallback; it must end up "unknown" (to be
    checked); ``deliver_due`` marks it so at once."""


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

    def request(self, message: Message):
        """The SDK's ``RequestMessage`` for one stored message."""
        from solapi.model import KakaoOption, MessageType, RequestMessage

        fields = {"to": message.to, "from_": message.sender, "text": message.body}
        if message.kind == "ALIMTALK":
            template = message.template
            fields["type"] = MessageType.ATA
            # disable_sms: SOLAPI must not send its own substitute; deliver_due queues ours
            fields["kakao_options"] = KakaoOption(
                pf_id=self.pf_id, template_id=(template.alimtalk_code or "") if template else "",
                disable_sms=True)
        else:
            try:
                fields["type"] = {"SMS": MessageType.SMS, "LMS": MessageType.LMS,
                                  "MMS": MessageType.MMS}[message.kind]
            except KeyError:
                raise PermanentError(f"SOLAPI cannot send a {message.kind} message")
            if message.kind != "SMS" and message.subject:
                fields["subject"] = message.subject
        return RequestMessage(**fields)

    def send(self, message: Message) -> Receipt:
        import pydantic

        try:
            request = self.request(message)
        except pydantic.ValidationError as exc:
            raise PermanentError(f"SOLAPI request: {exc.errors()[0].get('msg', exc)}"[:200])
        try:
            response = self.service.send(request)
        except Exception as exc:  # the SDK raises bare Exception(code, message) on HTTP errors
            raise _solapi_error(exc) from exc
        failed = response.failed_message_list or []
        if failed:
            raise PermanentError(_failed_text(failed))
        group = response.group_info
        return Receipt(getattr(group, "group_id", "") or "", "접수완료")


def _failed_text(failed) -> str:
    first = failed[0]
    return (f"{getattr(first, 'status_code', '') or ''} "
            f"{getattr(first, 'status_message', '') or ''}").strip() or "SOLAPI rejected it"


TRANSIENT_CODE_MARKERS = ("TooMany", "RateLimit", "Throttl", "Internal", "Unavailable",
                          "Timeout")


def _solapi_error(exc: Exception) -> DeliveryError:
    """Map what ``SolapiMessageService.send`` raises to transient / permanent / uncertain.

    solapi 5.0.3 (``solapi.lib.fetcher``): a 4xx raises ``Exception(errorCode, errorMessage)``
    (``"UnknownError"`` when the body has no errorCode; a non-JSON 4xx body raises the
    ``JSONDecodeError`` itself); a 5xx raises ``Exception("UnknownError", body)``; a 2xx that
    is not JSON raises ``Exception(body)``; a 2xx that does not validate raises pydantic's
    ``ValidationError``; every message refused raises ``MessageNotReceivedError``; network
    problems are httpx exceptions (connect errors were already retried 3 times).
    """
    import httpx
    import pydantic
    from solapi.error.MessageNotReceiveError import MessageNotReceivedError

    if isinstance(exc, MessageNotReceivedError):
        return PermanentError(_failed_text(exc.failed_messages or [None]))
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout,
                        httpx.WriteError, httpx.WriteTimeout, httpx.ProxyError)):
        # the request never reached SOLAPI whole: safe to try again
        return TransientError(f"{exc.__class__.__name__}: {exc}".rstrip(": "))
    if isinstance(exc, (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError,
                        httpx.CloseError)):
        # the request went out and no answer came back: it may have been accepted
        return UncertainError(f"{exc.__class__.__name__}: {exc}".rstrip(": "))
    if isinstance(exc, httpx.HTTPError):   # UnsupportedProtocol, LocalProtocolError: config
        return PermanentError(f"{exc.__class__.__name__}: {exc}".rstrip(": "))
    if isinstance(exc, pydantic.ValidationError):
        return UncertainError(f"SOLAPI answered something unexpected: {exc.error_count()} "
                              f"validation errors")
    if isinstance(exc, json.JSONDecodeError):   # a 4xx without a JSON body (a gateway's)
        return TransientError("SOLAPI answered a client error without a JSON body")
    args = [str(a) for a in exc.args]
    if type(exc) is Exception and len(args) == 1:   # 2xx, body not JSON
        return UncertainError(f"SOLAPI answered something unexpected: {args[0][:150]}")
    if type(exc) is Exception and len(args) == 2:
        code, text = args
        reason = f"{code} {text}".strip()[:200]
        if code == "UnknownError" or any(m in code for m in TRANSIENT_CODE_MARKERS):
            return TransientError(reason)
        return PermanentError(reason)
    return PermanentError((" ".join(args) or exc.__class__.__name__)[:200])


# 7-bit on the wire: with the default policy a Korean body is sent as raw 8-bit UTF-8, and
# smtplib neither checks for 8BITMIME nor declares BODY=8BITMIME; base64 parts always pass
MAIL_POLICY = policy.default.clone(cte_type="7bit")


class SmtpProvider:
    """Email through smtplib (STARTTLS when ``starttls``)."""

    name = "smtp"

    def __init__(self, host: str, port: int = 25, username: str = "", password: str = "",
                 sender: str = "ruledesk@localhost", starttls: bool = False, timeout: float = 10):
        self.host, self.port, self.username, self.password = host, port, username, password
        self.sender, self.starttls, self.timeout = sender, starttls, timeout

    def compose(self, message: Message) -> EmailMessage:
        email = EmailMessage(policy=MAIL_POLICY)
        email["From"] = message.sender or self.sender
        email["To"] = message.to
        email["Subject"] = message.subject
        # one Message-ID per stored message, stable across retries; the idempotency key
        # itself holds the recipient's "@" and ":" and would make an invalid msg-id
        digest = hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:32]
        email["Message-ID"] = f"<{digest}@ruledesk>"
        email.set_content(message.body)
        if message.html:
            email.add_alternative(message.html, subtype="html")
        return email

    def send(self, message: Message) -> Receipt:
        email = self.compose(message)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password)
                refused = smtp.send_message(email)
        # smtplib's exceptions are all OSErrors: the specific ones must come first
        except smtplib.SMTPRecipientsRefused as exc:
            raise _smtp_refused(exc.recipients)
        except smtplib.SMTPResponseException as exc:   # incl. connect/sender/data/auth
            raise _smtp_reply(exc.smtp_code, exc.smtp_error)
        except smtplib.SMTPNotSupportedError as exc:    # e.g. no STARTTLS: configuration
            raise PermanentError(str(exc) or exc.__class__.__name__)
        except (smtplib.SMTPException, OSError) as exc:  # down, disconnected, timed out
            raise TransientError(str(exc) or exc.__class__.__name__)
        if refused:
            raise _smtp_refused(refused)
        return Receipt(email["Message-ID"], "250 OK")


def _smtp_text(reply) -> str:
    if isinstance(reply, bytes):
        return reply.decode("utf-8", "replace")
    return str(reply)


def _smtp_reply(code: int, reply) -> DeliveryError:
    """5xx is final; 4xx (and smtplib's odd -1) is worth another try."""
    error = PermanentError if 500 <= code < 600 else TransientError
    return error(f"{code} {_smtp_text(reply)}"[:200])


def _smtp_refused(recipients: dict) -> DeliveryError:
    """{address: (code, reply)} of refused recipients (one per message here)."""
    address, (code, reply) = next(iter(recipients.items()))
    return _smtp_reply(code, reply)
