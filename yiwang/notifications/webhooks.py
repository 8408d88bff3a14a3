"""Case events for department systems: the payload, its signature and the POST.

The body is JSON, fixed when the event happens (the case as it was then) and sent byte for byte on every
attempt. Headers:

    X-Yiwang-Event:      case.dispatch
    X-Yiwang-Delivery:   a UUID, the same on every retry of one delivery (receivers drop repeats by it)
    X-Yiwang-Timestamp:  Unix seconds of this attempt
    X-Yiwang-Signature:  sha256=<hex HMAC-SHA256 with the subscription's secret over "<timestamp>.<body>">

A receiver recomputes the HMAC over the raw body it received, compares in constant time, and refuses a
timestamp more than five minutes from its own clock (README, "Notifications and webhooks").

The payload carries what a department system needs to route and track the case and nothing personal: no
reporter name or phone, and none of the free text (description, address, notes, reasons), which can hold
both. A receiver reads the rest through the REST API (`api_path`), with its own account, scoped and
journaled like anyone's.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from django.conf import settings

from yiwang.notifications import transport

SIGNATURE_HEADER = "X-Yiwang-Signature"


def _iso(value):
    return value.isoformat() if value is not None else None


def case_payload(*, case, event: str, occurred_at) -> str:
    """The JSON body for one case event (one query for the related codes and names)."""
    from yiwang.cases.models import Case

    related = Case.objects.filter(pk=case.pk).values(
        "category__code", "category__name", "lead_unit__code", "lead_unit__name", "grid__code").first() or {}
    data = {
        "event": event,
        "occurred_at": _iso(occurred_at),
        "case": {
            "id": case.pk,
            "number": case.number,
            "status": case.status,
            "channel": case.channel,
            "category": ({"code": related.get("category__code"), "name": related.get("category__name")}
                         if related.get("category__code") else None),
            "urgency": case.urgency,
            "region_path": case.region_path,
            "level_path": case.level_path,
            "grid": related.get("grid__code"),
            "lead_unit": ({"code": related.get("lead_unit__code"), "name": related.get("lead_unit__name")}
                          if related.get("lead_unit__code") else None),
            "supervised": case.supervised,
            "reported_at": _iso(case.reported_at),
            "due_at": _iso(case.due_at),
            "handle_due_at": _iso(case.handle_due_at),
            "close_due_at": _iso(case.close_due_at),
            "closed_at": _iso(case.closed_at),
            "api_path": f"/api/v1/cases/{case.pk}/",
        },
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def post(*, url: str, secret: str, event: str, delivery_id: str, body: str) -> transport.HttpResult:
    raw = body.encode()
    # Transport time, not the domain clock: the receiver compares it with its own wall clock.
    timestamp = str(int(time.time()))
    headers = {
        "X-Yiwang-Event": event,
        "X-Yiwang-Delivery": delivery_id,
        "X-Yiwang-Timestamp": timestamp,
        SIGNATURE_HEADER: sign(secret, timestamp, raw),
    }
    return transport.post(url, raw, headers, timeout=settings.YIWANG_WEBHOOK_TIMEOUT)
