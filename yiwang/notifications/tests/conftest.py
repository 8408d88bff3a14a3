"""Fixtures for the outbound side: the case loop's cast, the task queue run in-process, a memory SMS gateway,
and a stub HTTP server on loopback standing in for department systems and SMS gateways."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from yiwang.cases.tests.conftest import cast, report  # noqa: F401 — the case loop's fixtures


@pytest.fixture(autouse=True)
def _outbound(settings):
    """Tasks run in the caller (huey's immediate mode, in-memory storage: nothing reaches var/tasks.sqlite3),
    SMS go to memory, e-mail to django.core.mail.outbox (pytest-django's locmem backend), and the cast's fixed
    Monday counts as news whatever today's date."""
    from huey.contrib.djhuey import HUEY

    from yiwang.notifications.sms import MemoryBackend

    settings.YIWANG_SMS_BACKEND = "yiwang.notifications.sms.MemoryBackend"
    settings.YIWANG_OUTBOUND_MAX_AGE = 0
    settings.YIWANG_NOTIFY_CHANNELS = ["sms", "email"]
    settings.YIWANG_DELIVERY_BACKOFF = [60, 300, 1800, 7200, 43200]
    settings.YIWANG_WEBHOOK_ALLOW_LOCAL = True  # the stub receivers listen on 127.0.0.1
    from yiwang.notifications.services import forget_subscriptions

    MemoryBackend.outbox.clear()
    forget_subscriptions()
    was = HUEY.immediate
    HUEY.immediate = True
    yield
    HUEY.immediate = was
    MemoryBackend.outbox.clear()
    forget_subscriptions()  # the rolled-back subscriptions of this test must not be offered to the next


class Stub:
    """A local HTTP server answering from a script: each answer is (status, body) or (status, body, delay
    seconds); the last one repeats. Every request is kept as (path, headers, raw body)."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.requests = []
        self.check = None  # optional: a function(headers, raw body) -> (status, body), a real receiver
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                stub.requests.append((self.path, dict(self.headers), raw))
                if stub.check is not None:
                    status, body, delay = (*stub.check(self.headers, raw), 0)
                else:
                    answer = stub.answers.pop(0) if len(stub.answers) > 1 else stub.answers[0]
                    status, body, delay = (*answer, 0)[:3]
                if delay:
                    time.sleep(delay)
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up waiting (a timeout test)
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def stub():
    """stub(answers=[(200, {"ok": True})]) → a running Stub on 127.0.0.1, shut down after the test."""
    made = []

    def make(answers=((200, {"ok": True}),)):
        server = Stub(answers)
        made.append(server)
        return server

    yield make
    for server in made:
        server.close()
