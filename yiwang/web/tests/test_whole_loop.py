"""The whole loop in a real browser, as the people in it do it (Debian's Chromium, in Chinese): a resident
reports on the phone with a photo and the phone's position; the desk accepts and files in the console; the
dispatcher dispatches; the unit signs for it and feeds back with a photo; the grid worker checks on site with a
photo and closes it; the resident reads the timeline and rates. Every step is checked in the database too."""

import datetime as dt
import io

import pytest

from yiwang.cases.choices import Status
from yiwang.cases.models import Case, CaseAttachment
from yiwang.cases.tests.conftest import IN_A, cast  # noqa: F401
from yiwang.console.tests.conftest import sign_in
from yiwang.core.models import AuditEntry
from yiwang.web.testing.browser import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}


def jpeg(color: str) -> dict:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (120, 90), color).save(buffer, "JPEG")
    return {"name": f"{color}.jpg", "mimeType": "image/jpeg", "buffer": buffer.getvalue()}


def signed_in(new_page, live_server, user, size):
    """A page whose browser holds `user`'s session (as after the phone's one-time code or the staff sign-in,
    which their own tests walk)."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    page = new_page(size, geolocation={"latitude": IN_A["lat"], "longitude": IN_A["lon"]},
                    permissions=["geolocation"])
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])
    return page



def test_a_report_goes_round_the_whole_loop_in_the_browser(new_page, live_server, cast):  # noqa: F811
    # 1. The resident reports on the phone: a photo, the phone's position, a description, a category.
    phone = signed_in(new_page, live_server, cast.resident, "phone")
    phone.goto(f"{live_server.url}/m/report/")
    phone.set_input_files("#album", jpeg("gray"))
    phone.click("#use-gps")
    phone.locator("#place-result").filter(has_text="甲1网格").wait_for()
    assert "甲社区" in phone.locator("#place-result").inner_text()
    phone.fill("#description", "小区门口垃圾堆积，无人清运")
    phone.fill("#cat-search", "暴露垃圾")
    phone.wait_for_selector("#cat-list input[value=E0102]")
    phone.check("#cat-list input[value=E0102]")
    phone.click("#send")
    phone.wait_for_url("**/m/mine/**")  # a signed-in resident lands on the report itself
    case = Case.objects.get(description="小区门口垃圾堆积，无人清运")
    assert case.reporter == cast.resident and case.grid == cast.world.grid_a and case.channel == "app"
    assert case.attachments.filter(action="report").count() == 1
    screenshot(phone, "loop-1-resident-sent-phone")

    # 2. The shift lead accepts and files it from the console inbox, by keyboard.
    desk = new_page("desktop")
    sign_in(desk, live_server, cast.shift_lead, "/console/inbox/")
    assert desk.locator("#case-title").inner_text().endswith(case.number)
    desk.keyboard.press("a")
    desk.wait_for_url("**queue=accepted**")
    desk.keyboard.press("f")
    desk.wait_for_url("**queue=dispatch**")
    case.refresh_from_db()
    assert case.status == Status.FILED

    # 3. The dispatcher sends it to the suggested unit.
    dispatcher = new_page("desktop")
    sign_in(dispatcher, live_server, cast.dispatcher, "/console/inbox/?queue=dispatch")
    with dispatcher.expect_navigation():
        dispatcher.keyboard.press("d")
    case.refresh_from_db()
    assert case.status == Status.DISPATCHED and case.lead_unit == cast.world.unit_a

    # 4. The unit signs for it and feeds back with a photo.
    unit = new_page("desktop")
    sign_in(unit, live_server, cast.unit, f"/console/cases/{case.pk}/")
    unit.keyboard.press("s")
    unit.wait_for_function("() => !document.querySelector('form[action$=\"/do/sign/\"]')")
    unit.goto(f"{live_server.url}/console/cases/{case.pk}/")
    unit.set_input_files("#f-feedback-attachments", jpeg("green"))
    unit.fill("#f-feedback-result", "已清运完毕，现场已清洁")
    with unit.expect_navigation():
        unit.click("form[aria-labelledby=h-feedback] button[type=submit]")
    unit.locator(".thumbs img").first.wait_for()
    case.refresh_from_db()
    assert case.status == Status.HANDLED
    assert CaseAttachment.objects.filter(case=case, action="feedback").count() == 1

    # 5. The grid worker checks on site with a photo and closes it.
    worker = signed_in(new_page, live_server, cast.grid_worker, "phone")
    worker.goto(f"{live_server.url}/m/grid/case/{case.pk}/")
    worker.set_input_files("#verify-photos", jpeg("white"))
    with worker.expect_navigation():
        worker.locator("form[action$='/verify/'] button[type=submit]").click()
    case.refresh_from_db()
    assert case.status == Status.CLOSED
    assert CaseAttachment.objects.filter(case=case, action="verify").count() == 1
    screenshot(worker, "loop-5-grid-worker-phone")

    # 6. The resident reads the progress in plain words and rates it.
    phone.goto(f"{live_server.url}/m/mine/{case.pk}/")
    progress = phone.locator("main").inner_text()
    for words in ("已受理", "甲区城管局", "已清运完毕"):
        assert words in progress, words
    assert "shift_a" not in progress and "dispatcher_a" not in progress  # no staff names for the public
    screenshot(phone, "loop-6-resident-timeline-phone")
    phone.check("#rating-satisfied")
    with phone.expect_navigation():
        phone.locator("section[aria-labelledby=rate-title] button[type=submit]").click()
    case.refresh_from_db()
    assert case.status == Status.RATED and case.rating == "satisfied"
    actions = list(AuditEntry.objects.filter(object_type="cases.case", object_id=str(case.pk))
                   .order_by("id").values_list("action", flat=True))
    assert actions == ["case.report", "case.accept", "case.file", "case.dispatch", "case.sign", "case.feedback",
                       "case.verify", "case.rate"]
    assert dt.timedelta(0) <= case.closed_at - case.reported_at < dt.timedelta(minutes=10)
