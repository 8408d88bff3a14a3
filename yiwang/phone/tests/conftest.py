"""The phone pages' tests: the case loop's cast (yiwang/cases/tests/conftest.py), texts kept in memory, and small
real photos."""

import io
import re

import pytest

from yiwang.cases.tests.conftest import IN_A, IN_B, MONDAY, cast, category, journal, report  # noqa: F401


@pytest.fixture
def outbox(settings):
    from yiwang.notifications.sms import MemoryBackend

    settings.YIWANG_SMS_BACKEND = "yiwang.notifications.sms.MemoryBackend"
    MemoryBackend.outbox.clear()
    yield MemoryBackend.outbox
    MemoryBackend.outbox.clear()


def last_code(outbox) -> str:
    return re.search(r"\b(\d{6})\b", outbox[-1][1]).group(1)


def jpeg(colour=(200, 60, 40), size=(64, 48)) -> bytes:
    """A small real JPEG."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG", quality=80)
    return out.getvalue()


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()
    yield
