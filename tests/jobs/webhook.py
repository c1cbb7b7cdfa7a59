"""A real HTTP endpoint for tests: records SNS-style POSTs and confirms subscriptions via SubscribeURL."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(self.body)
        return doc


class WebhookReceiver:
    """`fail_first=N` answers 500 to the first N notifications (to exercise retries)."""

    def __init__(self, fail_first: int = 0, confirm: bool = True) -> None:
        self.received: list[Received] = []
        self.fail_first = fail_first
        self.confirm = confirm
        self.confirmed = threading.Event()
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                item = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.time())
                kind = item.headers.get("x-amz-sns-message-type")
                status = 200
                if kind == "Notification" and receiver.fail_first > 0:
                    receiver.fail_first -= 1
                    status = 500
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with receiver._cond:
                    receiver.received.append(item)
                    receiver._cond.notify_all()
                if kind == "SubscriptionConfirmation" and receiver.confirm:
                    # what the seed's endpoint does: GET the SubscribeURL
                    with urllib.request.urlopen(item.doc["SubscribeURL"], timeout=10) as resp:
                        resp.read()
                    receiver.confirmed.set()

            def log_message(self, *_args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/sns"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(
        self, kind: str, count: int = 1, timeout: float = 60.0, status_ok: bool = True
    ) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [r for r in self.received if r.headers.get("x-amz-sns-message-type") == kind]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"{count} {kind} message(s) not received in {timeout}s: {self.received}"
                    )
                self._cond.wait(left)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
