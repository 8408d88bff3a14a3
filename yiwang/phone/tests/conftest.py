"""The phone pages' tests: the case loop's cast (yiwang/cases/tests/conftest.py), texts kept in memory, and small
real photos."""

import io
import re

import pytest

from yiwang.cases.tests.conftest import (  # noqa: F401
    IN_A,
    IN_B,
    MONDAY,
    after_photo,
    cast,
    category,
    journal,
    media,
    report,
)


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


def error_next_to(html: str, field: str) -> str:
    """The text of the shown error message that belongs to `field` on a page — the element `err-<field>` which
    the field names in its aria-describedby — or "" when there is none."""
    found = re.search(rf'<p class="error" id="err-{field}"(?P<attrs>[^>]*)>(?P<text>.*?)</p>', html, re.S)
    if found is None or "hidden" in found["attrs"]:
        return ""
    described = re.search(rf'<(?:input|textarea|select)[^>]*\bid="{field}"[^>]*>', html, re.S)
    assert described and f"err-{field}" in described[0], f"#{field} does not point at its error message"
    return found["text"].strip()
