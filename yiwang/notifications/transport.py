"""One small HTTP POST for the outbound channels that speak HTTP (webhooks, the SMS gateway). Only the task
queue's worker calls it, never a web request: it waits up to `timeout` seconds."""

from __future__ import annotations

import ipaddress
import socket
import time
import urllib.error
import urllib.parse
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


def _forbidden(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast or ip.is_reserved


def local_target(url: str, *, resolve: bool) -> str:
    """Why `url` may not be posted to, or "". The server itself (loopback), link-local addresses (cloud
    metadata services) and the like are refused, so an administrator cannot point a webhook at the services
    beside Yiwang; private networks are allowed, since department systems live on the intranet. With
    `resolve`, host names are looked up too (at send time; a failed lookup is left to the POST to report)."""
    host = urllib.parse.urlsplit(url).hostname or ""
    if not host:
        return "no host in the address"
    try:
        addresses = [host] if _is_ip(host) else (
            [info[4][0] for info in socket.getaddrinfo(host, None)] if resolve or host == "localhost" else [])
    except OSError:
        return ""
    for address in addresses:
        if _forbidden(address):
            return f"{host} is a local address ({address})"
    return ""


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%")[0])
        return True
    except ValueError:
        return False
