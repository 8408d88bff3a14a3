"""The one clock. Services take `now` from here; tests freeze it by passing `now=` or patching `now`."""

from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    return timezone.now()
