"""The consoles' tests reuse the case loop's cast (yiwang/cases/tests/conftest.py): street A's desk, unit A,
district A's leader, street B's dispatcher — and build every case state through the real services."""

import datetime as dt
import io

import pytest

from yiwang.cases.tests.conftest import IN_A, IN_B, MONDAY, TZ, cast, report  # noqa: F401, F811

PASSWORD = "pw-Secret-123"


def sign_in(page, live_server, user, next_url="/console/"):
    """Staff sign-in through the real /login/ form, as a person of the cast (all share PASSWORD)."""
    page.on("pageerror", lambda e: print("PAGEERROR", e))
    page.goto(f"{live_server.url}/login/?next={next_url}")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("main button[type=submit]")


# Long enough ago that a handling clock started then has run out: the case is red (overdue) today.
LAST_WEEK = dt.datetime(2026, 11, 9, 9, 0, tzinfo=TZ)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Uploaded photos go to a folder of the test's own."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    return settings.MEDIA_ROOT


def jpeg(color="red", size=(96, 72)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
def loop(cast, report):  # noqa: F811
    """loop(state, now=…) → a case of grid A1 brought to `state` through the services by street A's desk."""
    from yiwang.cases import services

    def make(state="reported", *, now=None, **fields):
        now = now or dt.datetime.now(TZ) - dt.timedelta(minutes=5)
        case = report(now=now, **fields)
        if state == "reported":
            return case
        case = services.case_accept(actor=cast.shift_lead, case=case, now=now)
        if state == "accepted":
            return case
        case = services.case_file(actor=cast.shift_lead, case=case, now=now)
        if state == "filed":
            return case
        case = services.case_dispatch(actor=cast.dispatcher, case=case, unit=cast.world.unit_a, now=now)
        if state == "dispatched":
            return case
        case = services.case_sign(actor=cast.unit, case=case, now=now)
        assert state == "in_progress", state
        return case

    return make
