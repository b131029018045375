"""A fake SOLAPI for ``POST /messages/v4/send-many/detail``, enough for the official SDK.

``FakeSolapi`` runs a ``ThreadingHTTPServer`` on 127.0.0.1 (OS-chosen port) in a daemon
thread, records each request (path, Authorization header, JSON body) and answers as told
by ``mode``:

- ``"ok"``: every message accepted; ``groupInfo.groupId`` is ``fake.group_id``;
- ``"failed"``: every message refused in ``failedMessageList`` (``status_code`` /
  ``status_message``), counted as registered-failed, as SOLAPI does;
- ``"http400"``: ``{"errorCode": error_code, "errorMessage": error_message}`` with 400;
- ``"http500"``: a 500 with a plain-text body;
- ``"garbage"``: a 200 whose body is not JSON (a broken proxy, a truncated answer).

The answer's shape follows ``solapi.model.response.send_message_response`` (5.0.3).
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SEND_PATH = "/messages/v4/send-many/detail"
DATE = "2026-03-31T08:00:00.000Z"


@dataclass
class Recorded:
    method: str
    path: str
    authorization: str
    body: dict


@dataclass
class FakeSolapi:
    mode: str = "ok"
    group_id: str = "G4V20260331170000FAKEGROUP0001"
    status_code: str = "3059"
    status_message: str = "변수 내용이 템플릿과 일치하지 않습니다."
    error_code: str = "ValidationError"
    error_message: str = "수신번호(to)가 올바르지 않습니다."
    requests: list[Recorded] = field(default_factory=list)

    def __post_init__(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                fake.requests.append(Recorded("POST", self.path,
                                              self.headers.get("Authorization", ""),
                                              json.loads(raw or b"{}")))
                if self.path != SEND_PATH:
                    return self.reply(404, {"errorCode": "NotFound",
                                            "errorMessage": self.path})
                status, payload = fake.answer(fake.requests[-1].body)
                self.reply(status, payload)

            def reply(self, status, payload):
                data = (payload if isinstance(payload, bytes)
                        else json.dumps(payload, ensure_ascii=False).encode())
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8"
                                 if not isinstance(payload, bytes) else "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):   # keep the test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)

    # --- lifecycle ---
    def start(self) -> "FakeSolapi":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- what was sent ---
    @property
    def messages(self) -> list[dict]:
        """Every message of every send request, in order."""
        return [m for r in self.requests if r.path == SEND_PATH for m in r.body["messages"]]

    # --- answers ---
    def answer(self, body: dict) -> tuple[int, object]:
        if self.mode == "http400":
            return 400, {"errorCode": self.error_code, "errorMessage": self.error_message}
        if self.mode == "http500":
            return 500, b"upstream connect error or disconnect/reset before headers"
        if self.mode == "garbage":
            return 200, b"<html>502 Bad Gateway</html>"
        messages = body.get("messages") or []
        failed = messages if self.mode == "failed" else []
        return 200, {
            "groupInfo": group_info(self.group_id, len(messages), len(failed)),
            "failedMessageList": [
                {"to": m.get("to"), "from": m.get("from"), "type": m.get("type", "SMS"),
                 "country": m.get("country", "82"), "messageId": "", "statusCode":
                 self.status_code, "statusMessage": self.status_message,
                 "accountId": "FAKEACCOUNT", "customFields": None} for m in failed],
            "messageList": [
                {"messageId": "M4V20260331FAKE%04d" % i, "statusCode": "2000",
                 "statusMessage": "정상 접수(이통사로 접수 예정) "}
                for i, m in enumerate(messages) if m not in failed],
        }


def group_info(group_id: str, total: int, failed: int) -> dict:
    cash = {"requested": 0, "replacement": 0, "refund": 0, "sum": 0}
    return {
        "count": {"total": total, "sentTotal": 0, "sentFailed": 0, "sentSuccess": 0,
                  "sentPending": 0, "sentReplacement": 0, "refund": 0,
                  "registeredFailed": failed, "registeredSuccess": total - failed},
        "countForCharge": {"sms": {}, "lms": {}, "mms": {}, "ata": {}},
        "balance": dict(cash), "point": dict(cash),
        "app": {"profit": {"sms": 0, "lms": 0, "mms": 0, "ata": 0}, "appId": None},
        "log": [{"createAt": DATE, "message": "[::ffff:127.0.0.1] 메시지 그룹이 생성되었습니다."}],
        "status": "SENDING" if total > failed else "FAILED",
        "allowDuplicates": False, "isRefunded": False,
        "accountId": "FAKEACCOUNT", "masterAccountId": None, "apiVersion": "4",
        "groupId": group_id, "price": {},
        "dateCreated": DATE, "dateUpdated": DATE,
    }
