"""The consoles in a real browser (Debian's Chromium, desktop, zh-CN): the desk works its inbox by keyboard, a
dispatcher sends a case to the suggested unit, the unit signs for it and feeds back with a photo, a leader urges
an overdue case with one click, and a street's staff member cannot open another street's case."""

import pytest

from yiwang.cases.choices import Status
from yiwang.cases.models import Case, CaseAttachment, CaseSupervision
from yiwang.console.tests.conftest import LAST_WEEK, jpeg, sign_in
from yiwang.web.testing.browser import no_violations, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]




def test_the_desk_accepts_and_files_a_new_report_from_the_inbox_by_keyboard(page, live_server, cast, loop):
    from yiwang.cases.services import Upload

    older = loop("reported", attachments=[Upload(name="pile.jpg", content=jpeg("gray"))])
    loop("reported", description="另一处垃圾")
    sign_in(page, live_server, cast.shift_lead)
    assert "/console/inbox/" in page.url
    assert page.locator("#case-title").inner_text().endswith(older.number)  # oldest first
    assert page.locator(".thumbs img").count() == 1
    page.locator("#case-map .leaflet-interactive").first.wait_for()
    assert page.locator("#case-map .leaflet-interactive").count() == 2  # the grid polygon and the case point
    screenshot(page, "console-inbox-desktop")
    no_violations(page)

    page.keyboard.press("a")
    page.wait_for_url("**queue=accepted**")
    assert Case.objects.get(pk=older.pk).status == Status.ACCEPTED
    assert "已受理" in page.locator(".messages").inner_text() or older.number in page.locator(".messages").inner_text()
    page.keyboard.press("f")
    page.wait_for_url("**queue=dispatch**")
    case = Case.objects.get(pk=older.pk)
    assert case.status == Status.FILED and case.routing["suggested_unit"] == cast.world.unit_a.pk
    # The dispatch form now waits with the matrix's unit chosen.
    assert page.locator("#f-dispatch-unit").input_value() == str(cast.world.unit_a.pk)


def test_an_acceptor_moves_on_to_the_next_report_after_accepting(page, live_server, cast, loop):
    first = loop("reported")
    second = loop("reported", description="第二处垃圾")
    sign_in(page, live_server, cast.acceptor)
    page.keyboard.press("j")  # j / k move through the queue
    page.wait_for_url(f"**case={second.pk}**")
    page.keyboard.press("k")
    page.wait_for_url(f"**case={first.pk}**")
    assert page.locator("#case-title").inner_text().endswith(first.number)
    page.keyboard.press("a")
    page.wait_for_url(f"**case={second.pk}**")
    assert Case.objects.get(pk=first.pk).status == Status.ACCEPTED
    assert Case.objects.get(pk=second.pk).status == Status.REPORTED
    assert page.locator("form[aria-labelledby=h-file]").count() == 0  # an acceptor does not file


def test_a_dispatcher_dispatches_with_the_suggested_unit(page, live_server, cast, loop):
    case = loop("filed")
    sign_in(page, live_server, cast.dispatcher)
    page.goto(f"{live_server.url}/console/inbox/?queue=dispatch")
    assert "甲区城管局" in page.locator("#h-routing").inner_text()
    assert page.locator("#f-dispatch-unit").input_value() == str(cast.world.unit_a.pk)
    with page.expect_navigation():
        page.keyboard.press("d")
    page.locator(".messages").wait_for()
    case.refresh_from_db()
    assert case.status == Status.DISPATCHED and case.lead_unit_id == cast.world.unit_a.pk
    assert case.routing["overridden"] is False


def test_dispatch_without_a_unit_shows_the_error_next_to_the_field_and_keeps_the_note(page, live_server, cast,
                                                                                      loop):
    case = loop("filed")
    sign_in(page, live_server, cast.dispatcher)
    page.goto(f"{live_server.url}/console/cases/{case.pk}/")
    page.select_option("#f-dispatch-unit", "")
    page.fill("#f-dispatch-note", "请尽快处理")
    page.click("form[aria-labelledby=h-dispatch] button[type=submit]")
    error = page.locator("#e-dispatch-unit")
    error.wait_for(state="visible")
    assert "请选择" in error.inner_text()
    assert page.locator("#f-dispatch-unit").get_attribute("aria-invalid") == "true"
    assert page.locator("#f-dispatch-note").input_value() == "请尽快处理"
    assert Case.objects.get(pk=case.pk).status == Status.FILED


def test_unit_staff_sign_for_and_feed_back_with_a_photo(new_page, live_server, cast, loop):
    case = loop("dispatched")
    page = new_page("desktop")
    sign_in(page, live_server, cast.unit)
    assert "/console/unit/" in page.url
    screenshot(page, "console-unit-desktop")
    no_violations(page)
    page.keyboard.press("s")  # the first row's one-click sign
    page.wait_for_load_state()
    page.wait_for_function("() => !document.querySelector('form[action$=\"/do/sign/\"]')")
    assert Case.objects.get(pk=case.pk).status == Status.IN_PROGRESS

    page.goto(f"{live_server.url}/console/cases/{case.pk}/")
    photo = {"name": "done.jpg", "mimeType": "image/jpeg", "buffer": jpeg("green")}
    page.set_input_files("#f-feedback-attachments", photo)
    page.click("form[aria-labelledby=h-feedback] button[type=submit]")  # no result typed yet
    page.locator("#e-feedback-result").wait_for(state="visible")
    assert "处置情况" in page.locator("#e-feedback-result").inner_text()
    # Nothing chosen is lost: the photo is still in the form.
    assert page.evaluate("document.getElementById('f-feedback-attachments').files.length") == 1
    page.fill("#f-feedback-result", "已清运完毕")
    page.click("form[aria-labelledby=h-feedback] button[type=submit]")
    page.wait_for_url(f"**/console/cases/{case.pk}/")
    page.locator(".thumbs img").first.wait_for()
    case.refresh_from_db()
    assert case.status == Status.HANDLED and case.result == "已清运完毕"
    assert CaseAttachment.objects.filter(case=case, action="feedback").count() == 1
    screenshot(page, "console-case-desktop")
    no_violations(page)

    phone = new_page("phone")
    sign_in(phone, live_server, cast.unit, next_url=f"/console/cases/{case.pk}/")
    screenshot(phone, "console-case-phone")
    no_violations(phone)


def test_a_leader_urges_a_red_case_with_one_click(page, live_server, cast, loop):
    case = loop("dispatched", now=LAST_WEEK)
    sign_in(page, live_server, cast.leader, next_url="/console/leader/")
    row = page.locator("tr[data-row]", has_text=case.number)
    assert row.locator(".light-red").count() == 1
    screenshot(page, "console-leader-desktop")
    no_violations(page)
    row.locator("button", has_text="催办").click()
    page.wait_for_load_state()
    page.locator(".messages").wait_for()
    urge = CaseSupervision.objects.get(case=case)
    assert urge.action == "urge" and urge.leader_id == cast.leader.pk
    assert Case.objects.get(pk=case.pk).supervised


def test_a_street_cannot_open_another_streets_case_by_url(page, live_server, cast, loop):
    case = loop("filed")
    sign_in(page, live_server, cast.dispatcher_b)
    response = page.goto(f"{live_server.url}/console/cases/{case.pk}/")
    assert response.status == 404
    assert case.number not in page.content()
    assert "找不到" in page.locator("h1").inner_text()
    screenshot(page, "console-404-desktop")
    no_violations(page)


def test_the_case_list_by_light_unit_and_grid(page, live_server, cast, loop):
    loop("dispatched", now=LAST_WEEK)
    loop("filed")
    sign_in(page, live_server, cast.dispatcher, next_url="/console/cases/?status=open")
    assert page.locator("tr[data-row]").count() == 2
    page.click("a.light-red")
    page.wait_for_load_state()
    assert page.locator("tr[data-row]").count() == 1
    screenshot(page, "console-cases-desktop")
    no_violations(page)


def test_an_acceptor_rejects_by_keyboard_and_an_empty_reason_is_refused_in_place(page, live_server, cast, loop):
    case = loop("reported")
    sign_in(page, live_server, cast.acceptor)
    page.keyboard.press("r")  # to the reason
    assert page.evaluate("document.activeElement.id") == "f-reject-reason"
    page.keyboard.press("Control+Enter")  # nothing typed yet
    page.locator("#e-reject-reason").wait_for(state="visible")
    assert page.locator("#e-reject-reason").inner_text() == "请填写原因。"
    assert page.evaluate("document.activeElement.id") == "f-reject-reason"  # back on the field
    no_violations(page)
    page.keyboard.type("不属于城市管理范围")
    with page.expect_navigation():
        page.keyboard.press("Control+Enter")
    case.refresh_from_db()
    assert case.status == Status.REJECTED
    from yiwang.core.models import AuditEntry

    entry = AuditEntry.objects.filter(object_type="cases.case", object_id=str(case.pk), action="case.reject").get()
    assert entry.reason == "不属于城市管理范围"


def test_a_video_plays_on_the_case_page(page, live_server, cast, loop, settings, tmp_path):
    """A report's video is a player on the case page, its poster shown: it plays with the page's sign-in (a link
    to the file opened a sandboxed player that had no sign-in, and stayed empty)."""
    from yiwang.cases.services import Upload
    from yiwang.media.tests import files

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    case = loop("reported", attachments=[Upload(name="clip.mp4", content=files.video(
        seconds=2, fps=10, size=(320, 240), codec="h264"))])
    sign_in(page, live_server, cast.shift_lead)
    page.goto(f"{live_server.url}/console/cases/{case.pk}/")
    video = page.locator(".thumbs video")
    assert video.count() == 1 and video.get_attribute("aria-label") == "视频 1（收到上报）"
    assert video.get_attribute("poster").endswith(f"/{case.attachments.get().pk}/thumb/")
    played = video.evaluate("""(video) => new Promise((done) => {
        video.muted = true;
        video.addEventListener("loadeddata", () => done({ready: video.readyState, width: video.videoWidth}));
        video.addEventListener("error", () => done({error: video.error && video.error.message}));
        setTimeout(() => done({timeout: video.readyState}), 10000);
        video.preload = "auto";
        video.load();
    })""")
    assert played.get("ready", 0) >= 2 and played["width"] == 320, played
    no_violations(page)


def test_an_iphones_hevc_video_plays_through_its_copy(page, live_server, cast, loop, settings, tmp_path):
    """Chromium plays no HEVC (the video itself fails: "no supported streams"), nor do most office browsers.
    Once the report commits, the task worker (run in-process here) makes the H.264 copy, and the page's
    player plays that, upright."""
    from huey.contrib.djhuey import HUEY

    from yiwang.cases.services import Upload
    from yiwang.media.tests import files
    from yiwang.media.tests.test_playable import hevc_or_skip

    hevc_or_skip()
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    was, HUEY.immediate = HUEY.immediate, True
    try:
        case = loop("reported", attachments=[Upload(name="IMG_0042.MOV", content=files.video(
            seconds=2, fps=10, size=(320, 240), codec="hevc", rotation=-90, container="mov"))])
    finally:
        HUEY.immediate = was
    attachment = case.attachments.get()
    assert attachment.codecs == "hevc" and attachment.playable
    sign_in(page, live_server, cast.shift_lead)
    page.goto(f"{live_server.url}/console/cases/{case.pk}/")
    video = page.locator(".thumbs video")
    played = video.evaluate("""(video) => new Promise((done) => {
        video.muted = true;
        video.addEventListener("loadeddata", () => done({ready: video.readyState, width: video.videoWidth,
                                                          height: video.videoHeight, src: video.currentSrc}));
        setTimeout(() => done({timeout: video.readyState, error: video.error && video.error.message}), 10000);
        video.preload = "auto";
        video.load();
    })""")
    assert played.get("ready", 0) >= 2 and (played["width"], played["height"]) == (240, 320), played
    assert played["src"].endswith(f"/media/cases/{attachment.pk}/play/")
    assert page.locator("[data-copy-pending]").count() == 0
    no_violations(page)

    # Opened on its own ("open video in new tab"), the copy is Chromium's player document: sandboxed (no script
    # runs there, nor can Playwright's), but allowed its media and its origin, so the player's requests are
    # sent and carry the sign-in. (The HEVC itself opened so is a download: Chromium has no player for it.)
    requests = []
    page.on("response", lambda response: requests.append((response.request.resource_type, response.status)))
    page.goto(f"{live_server.url}/media/cases/{attachment.pk}/play/")
    page.wait_for_timeout(1500)
    player = [status for kind, status in requests if kind == "media"]
    assert player and all(status == 206 for status in player), requests


def test_the_case_maps_zoom_buttons_speak_the_pages_language(page, live_server, cast, loop):
    case = loop("reported")
    sign_in(page, live_server, cast.acceptor)
    page.goto(f"{live_server.url}/console/cases/{case.pk}/")
    zoom_in = page.locator("#case-map .leaflet-control-zoom-in")
    zoom_in.wait_for()
    assert zoom_in.get_attribute("title") == "放大"
    assert page.locator("#case-map .leaflet-control-zoom-out").get_attribute("aria-label") == "缩小"


def test_slash_searches_by_number_from_a_page_without_a_search_box(page, live_server, cast, loop):
    loop("reported")
    sign_in(page, live_server, cast.acceptor)
    assert "/console/inbox/" in page.url
    with page.expect_navigation():
        page.keyboard.press("/")
    assert "/console/cases/" in page.url
    page.wait_for_function("document.activeElement && document.activeElement.id === 'q-number'")
    page.keyboard.type("YW")
    assert page.locator("#q-number").input_value() == "YW"
