"""SMS gateways behind one small interface, chosen by `YIWANG_SMS_BACKEND` (a dotted path):

- `ConsoleBackend` (the default): writes each message to the log and standard output — the demo and tests;
- `MemoryBackend`: keeps messages in `MemoryBackend.outbox`, like Django's locmem e-mail backend;
- `HttpGatewayBackend`: a generic HTTP-JSON gateway (`YIWANG_SMS_URL`, `YIWANG_SMS_TOKEN`), the shape a real
  provider's adapter takes.

A backend's `send(phone=, text=)` returns a `SmsReceipt` or raises `SmsNotSent` — `permanent=True` when
trying again cannot help (the gateway refused the number or the request). Callers go through
`yiwang.notifications.services.sms_send`, not a backend directly.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from yiwang.core.errors import DomainError
from yiwang.notifications import transport

log = logging.getLogger(__name__)


class SmsNotSent(DomainError):
    code = "sms_not_sent"
    status = 503
    default_message = _("The text message could not be sent. Please try again later.")

    def __init__(self, message=None, *, permanent: bool = False, status_code: int | None = None,
                 response: str = "", detail: str = ""):
        super().__init__(message)
        self.permanent = permanent
        self.status_code = status_code
        self.response = response
        self.detail = detail  # for the delivery log, in English


@dataclass(frozen=True)
class SmsReceipt:
    reference: str = ""  # the gateway's message id, when it gives one
    status_code: int | None = None
    response: str = ""
    duration_ms: int = 0


class BaseBackend:
    def send(self, *, phone: str, text: str) -> SmsReceipt:
        raise NotImplementedError


class ConsoleBackend(BaseBackend):
    """Prints "SMS to <phone>: <text>" — nothing leaves the machine."""

    def send(self, *, phone: str, text: str) -> SmsReceipt:
        line = f"SMS to {phone}: {text}"
        log.info("%s", line)
        print(line, file=sys.stdout, flush=True)
        return SmsReceipt(reference="console")


class MemoryBackend(BaseBackend):
    """Collects (phone, text) pairs in `outbox` (a class attribute; tests empty it)."""

    outbox: list[tuple[str, str]] = []

    def send(self, *, phone: str, text: str) -> SmsReceipt:
        MemoryBackend.outbox.append((phone, text))
        return SmsReceipt(reference=f"memory-{len(MemoryBackend.outbox)}")


class HttpGatewayBackend(BaseBackend):
    """POSTs `{"to": phone, "text": text}` as JSON to `YIWANG_SMS_URL` with `Authorization: Bearer
    <YIWANG_SMS_TOKEN>`. A 2xx answer is a sent message (its JSON `id`, if any, is kept as the reference); 4xx
    other than 408 and 429 is a refusal that retrying cannot change; anything else (5xx, 408, 429, a timeout,
    no connection) is tried again later. A provider whose API differs gets its own small subclass."""

    def __init__(self, *, url: str | None = None, token: str | None = None, timeout: float | None = None):
        self.url = url if url is not None else settings.YIWANG_SMS_URL
        self.token = token if token is not None else settings.YIWANG_SMS_TOKEN
        self.timeout = timeout if timeout is not None else settings.YIWANG_SMS_TIMEOUT

    def payload(self, *, phone: str, text: str) -> dict:
        return {"to": phone, "text": text}

    def send(self, *, phone: str, text: str) -> SmsReceipt:
        if not self.url:
            raise SmsNotSent(permanent=True, detail="YIWANG_SMS_URL is not set")
        body = json.dumps(self.payload(phone=phone, text=text), ensure_ascii=False).encode()
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        result = transport.post(self.url, body, headers, timeout=self.timeout)
        if result.ok:
            try:
                reference = str(json.loads(result.body or "{}").get("id", ""))
            except (ValueError, AttributeError):
                reference = ""
            return SmsReceipt(reference=reference, status_code=result.status, response=result.body,
                              duration_ms=result.duration_ms)
        permanent = result.status is not None and 400 <= result.status < 500 and result.status not in (408, 429)
        raise SmsNotSent(permanent=permanent, status_code=result.status, response=result.body,
                         detail=result.error or f"HTTP {result.status}")


def get_backend() -> BaseBackend:
    return import_string(settings.YIWANG_SMS_BACKEND)()
