"""The one clock. Services take `now` from here; tests and the demo's history freeze it with `frozen(at)` (or
pass `now=` to a service, which freezes it for that service's journal rows too)."""

import contextlib
import contextvars
from datetime import datetime

from django.utils import timezone

_frozen: contextvars.ContextVar[datetime | None] = contextvars.ContextVar("yiwang_clock_frozen", default=None)


def now() -> datetime:
    return _frozen.get() or timezone.now()


@contextlib.contextmanager
def frozen(at: datetime):
    token = _frozen.set(at)
    try:
        yield at
    finally:
        _frozen.reset(token)
