"""One small HTTP POST for the outbound channels that speak HTTP (webhooks, the SMS gateway). Only the task
queue's worker calls it, never a web request: it waits up to `timeout` seconds."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from dataclasses import dataclass

SNIPPET = 500  # characters of the answer kept in the delivery log


@dataclass(frozen=True)
class HttpResult:
    status: int | None  # None: no answer (timeout, refused connection, bad address)
    body: str  # the start of the answer
    duration_ms: int
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect would turn the POST into a GET without its body (or resend it unsigned elsewhere): it counts as
    # a failed attempt, and the log shows the 3xx.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> HttpResult:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8",
                                              "User-Agent": "Yiwang", **headers})
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        with _opener.open(request, timeout=timeout) as response:
            text = response.read(SNIPPET * 4).decode("utf-8", "replace")[:SNIPPET]
            return HttpResult(status=response.status, body=text, duration_ms=took())
    except urllib.error.HTTPError as exc:  # an answer, but not 2xx
        try:
            text = exc.read(SNIPPET * 4).decode("utf-8", "replace")[:SNIPPET]
        except Exception:  # noqa: BLE001 — the body of an error answer is a courtesy
            text = ""
        return HttpResult(status=exc.code, body=text, duration_ms=took(), error=f"HTTP {exc.code}")
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        return HttpResult(status=None, body="", duration_ms=took(), error=f"{type(exc).__name__}: {reason}"[:500])
