"""The phone pages in a real browser at phone size, in Chinese."""

import pytest

from yiwang.web.testing.browser import axe_violations, screenshot, signed_in

from .conftest import IN_A, category


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_anonymous_report_made_offline_is_sent_once_when_back_online(new_page, live_server, world):
    from yiwang.cases.models import Case

    category("E0102")
    page = new_page("phone", geolocation={"latitude": IN_A["lat"], "longitude": IN_A["lon"]},
                    permissions=["geolocation"])
    page.goto(f"{live_server.url}/m/report/")
    page.click("#use-gps")
    page.wait_for_function("document.getElementById('place-result').textContent.includes('甲1网格')")
    page.fill("#description", "路边有一堆垃圾")
    page.fill("#cat-search", "暴露垃圾")
    page.wait_for_selector("#cat-list input[value=E0102]")
    page.check("#cat-list input[value=E0102]")
    assert axe_violations(page) == []
    screenshot(page, "phone-report")
    page.fill("#contact_phone", "13812345678")
    page.context.set_offline(True)
    page.click("#send")
    page.wait_for_function("document.getElementById('yw-queue').textContent.includes('1')")
    assert Case.objects.count() == 0
    page.context.set_offline(False)
    page.wait_for_function("document.getElementById('yw-queue').textContent.includes('YW')", timeout=15000)
    assert Case.objects.filter(reporter_phone="13812345678").count() == 1


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_resident_signs_in_with_the_code_the_console_sms_backend_prints(new_page, live_server, world, settings,
                                                                          capsys):
    """Phone number, "send me a code", the code as the console backend prints it; a wrong code is refused in
    Chinese next to the code field (and counts); the right one signs in and lands on the page asked for."""
    import re

    from yiwang.accounts.models import User
    from yiwang.phone.models import LoginCode

    settings.YIWANG_SMS_BACKEND = "yiwang.notifications.sms.ConsoleBackend"
    page = new_page("phone")
    page.goto(f"{live_server.url}/m/mine/")  # signed out: sent to the sign-in page, to come back here
    assert page.url.startswith(f"{live_server.url}/m/login/")
    page.fill("#phone", "12345")
    page.click("button[value=send]")
    assert page.locator("#err-phone").inner_text() == "请输入 11 位手机号码，例如 13812345678。"
    assert page.get_attribute("#phone", "aria-invalid") == "true"
    capsys.readouterr()
    page.fill("#phone", "138 1234 5678")
    page.click("button[value=send]")
    page.wait_for_selector("#code")
    assert page.locator(".msg-success").inner_text() == "验证码已发送到您的手机，5 分钟内有效。"
    printed = capsys.readouterr().out
    code = re.search(r"SMS to 13812345678: .*?(\d{6})", printed)[1]

    wrong = f"{(int(code) + 1) % 10**6:06d}"
    page.fill("#code", wrong)
    page.click("button[value=verify]")
    assert page.locator("#err-code").inner_text() == "验证码不正确，还可以再试 4 次。"
    assert page.get_attribute("#code", "aria-invalid") == "true"
    assert "err-code" in page.get_attribute("#code", "aria-describedby")
    assert LoginCode.objects.get(phone="13812345678").attempts == 1
    assert not User.objects.filter(phone="13812345678").exists()
    screenshot(page, "phone-login-wrong-code")

    page.fill("#code", code)
    with page.expect_navigation():
        page.click("button[value=verify]")
    assert page.url == f"{live_server.url}/m/mine/"
    assert page.locator("h1").inner_text() == "我的上报"
    assert page.locator("button", has_text="退出").count() == 1  # signed in: the bar offers to sign out
    assert User.objects.get(phone="13812345678").username == "m13812345678"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("locale", "lamp"), [("zh-CN", "路灯"), ("en", "Street light")])
def test_the_words_typed_suggest_a_category_that_the_keyboard_can_choose(new_page, live_server, world, locale, lamp):
    category("C0120")  # loads the catalogue a transactional test's flush removed
    page = new_page("phone", locale=locale)
    page.goto(f"{live_server.url}/m/report/")
    page.locator("#description").press_sequentially("路灯不亮")
    suggested = page.locator("#cat-list input[value=C0120]")
    suggested.wait_for()
    assert page.locator("#cat-list label[for=cat-C0120-s]").inner_text().startswith(lamp)
    assert page.locator("#cat-list input").count() <= 4  # a few suggestions, not the catalogue
    page.focus("#cat-search")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.value") == "C0120"
    page.keyboard.press("Space")
    assert page.input_value("#category") == "C0120"
    assert lamp in page.locator("#cat-chosen").inner_text()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_report_page_is_usable_by_keyboard_and_in_large_text(new_page, live_server, world):
    category("E0102")
    page = new_page("phone")
    page.goto(f"{live_server.url}/m/report/")
    normal = page.evaluate("parseFloat(getComputedStyle(document.getElementById('description')).fontSize)")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    order = []
    for _ in range(40):
        page.keyboard.press("Tab")
        order.append(page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()"))
        if order[-1] == "yw-large":
            break
    assert order[-1] == "yw-large"
    page.keyboard.press("Enter")
    assert page.evaluate("document.documentElement.classList.contains('large')")
    assert page.get_attribute("#yw-large", "aria-pressed") == "true"
    large = page.evaluate("parseFloat(getComputedStyle(document.getElementById('description')).fontSize)")
    assert large >= normal * 1.2
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # nothing runs off the side
    for _ in range(60):
        page.keyboard.press("Tab")
        order.append(page.evaluate("document.activeElement.id"))
        if order[-1] == "send":
            break
    for control in ("photos", "album", "use-gps", "open-map", "address", "description", "cat-search",
                    "contact_phone", "send"):
        assert control in order, f"#{control} is not reached by Tab"
    assert axe_violations(page) == []
    screenshot(page, "phone-report-large-text")
    page.reload()  # remembered on this phone
    assert page.evaluate("document.documentElement.classList.contains('large')")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_without_javascript_a_refused_report_keeps_its_photo(new_page, live_server, world, settings, tmp_path):
    """The plain form (a browser without script): refused for the missing description, the page says so next to
    the field and shows the photo already uploaded; sent again without choosing it, the case has the photo."""
    import io

    from PIL import Image

    from yiwang.cases.models import Case

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    category("E0102")
    photo = io.BytesIO()
    Image.new("RGB", (120, 90), "orange").save(photo, "JPEG")
    page = new_page("phone", java_script_enabled=False)
    page.goto(f"{live_server.url}/m/report/")
    # Without JavaScript the position and map buttons could do nothing: not shown; the address is the way.
    assert page.locator("#address").is_visible() and not page.locator("#use-gps").is_visible()
    assert not page.locator("#open-map").is_visible()
    page.set_input_files("#album", {"name": "heap.jpg", "mimeType": "image/jpeg", "buffer": photo.getvalue()})
    page.fill("#address", "甲社区 东门")
    page.fill("#contact_phone", "13812345678")
    with page.expect_navigation():
        page.click("#send")
    assert page.locator("#err-description").inner_text() == "请描述问题。"
    assert page.get_attribute("#description", "aria-invalid") == "true"
    kept = page.locator("#kept-photos img")
    assert kept.count() == 1 and kept.evaluate("img => img.complete && img.naturalWidth") > 0
    assert page.input_value("#address") == "甲社区 东门" and page.input_value("#contact_phone") == "13812345678"
    assert Case.objects.count() == 0
    screenshot(page, "phone-report-kept-photo")
    page.fill("#description", "东门垃圾堆积")
    with page.expect_navigation():
        page.click("#send")
    case = Case.objects.get()
    assert page.url == f"{live_server.url}/m/report/sent/{case.number}/"
    assert case.description == "东门垃圾堆积" and case.address == "甲社区 东门"
    assert [(a.width, a.height) for a in case.attachments.all()] == [(120, 90)]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_without_javascript_a_refused_fix_on_the_spot_keeps_its_photo(new_page, live_server, cast, report, settings,
                                                                      tmp_path):
    """A grid worker's plain form: refused for what was done, the page says so next to the field, keeps the
    category chosen and shows the after-photo already uploaded; sent again without choosing it, the fix has it."""
    import io

    from PIL import Image

    from yiwang.cases.models import Case

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    case = report(actor=cast.resident, category=None)
    page = signed_in(new_page("phone", java_script_enabled=False), live_server, cast.grid_worker)
    photo = io.BytesIO()
    Image.new("RGB", (120, 90), "green").save(photo, "JPEG")
    page.goto(f"{live_server.url}/m/grid/case/{case.pk}/")
    page.select_option("#fix-category", "E0102")
    page.set_input_files("#fix-photos", {"name": "after.jpg", "mimeType": "image/jpeg", "buffer": photo.getvalue()})
    with page.expect_navigation():
        page.click("form[action$='/self-handle/'] button[type=submit]")
    assert page.locator("#err-fix-result").inner_text() == "请说明您在现场做了什么处理。"
    assert page.get_attribute("#fix-result", "aria-invalid") == "true"
    assert page.input_value("#fix-category") == "E0102"
    kept = page.locator("#kept-photos img")
    assert kept.count() == 1 and kept.evaluate("img => img.complete && img.naturalWidth") > 0
    assert Case.objects.get(pk=case.pk).status == "reported"
    screenshot(page, "phone-grid-fix-kept-photo")
    page.fill("#fix-result", "已清理干净")
    with page.expect_navigation():
        page.click("form[action$='/self-handle/'] button[type=submit]")
    case = Case.objects.get(pk=case.pk)
    assert case.self_handled and case.result == "已清理干净" and case.category.code == "E0102"
    assert [(a.width, a.height) for a in case.attachments.filter(action="self_handle")] == [(120, 90)]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_video_chosen_from_the_album_is_previewed_as_a_video_and_sent_untouched(new_page, live_server, world,
                                                                                  settings, tmp_path):
    """The album takes an MP4 and an iPhone's QuickTime .MOV beside a photo: each video is previewed as a video
    (never a broken image) and named a video; another kind of video (WebM) is refused before sending; the report
    sent has both videos, every packet as chosen (remuxed without their metadata)."""
    from yiwang.cases.models import Case
    from yiwang.media.tests import files

    from .conftest import jpeg

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    category("E0102")
    clip = files.video(seconds=3, size=(96, 64))
    mov = files.video(seconds=3, fps=10, size=(96, 64), codec="h264", container="mov")
    page = new_page("phone", geolocation={"latitude": IN_A["lat"], "longitude": IN_A["lon"]},
                    permissions=["geolocation"])
    page.goto(f"{live_server.url}/m/report/")
    assert page.get_attribute("#album", "accept") == "image/*,video/mp4,video/quicktime"
    assert page.get_attribute("#photos", "accept") == "image/*"
    page.set_input_files("#album", [{"name": "heap.jpg", "mimeType": "image/jpeg", "buffer": jpeg()},
                                    {"name": "clip.mp4", "mimeType": "video/mp4", "buffer": clip},
                                    {"name": "IMG_0042.MOV", "mimeType": "video/quicktime", "buffer": mov}])
    previews = page.locator("#photo-list li")
    assert previews.count() == 3
    assert page.locator("#photo-list img").count() == 1 and page.locator("#photo-list video").count() == 2
    assert page.get_attribute("#photo-list li:nth-child(2) video", "aria-label") == "clip.mp4"
    assert page.get_attribute("#photo-list li:nth-child(3) video", "aria-label") == "IMG_0042.MOV"
    assert page.get_attribute("#photo-list li:nth-child(3) button", "aria-label") == "删除视频 3"
    assert page.locator("#photos-hint").inner_text().startswith("照片和视频最多 9 个。")

    page.set_input_files("#album", {"name": "clip.webm", "mimeType": "video/webm", "buffer": b"\x1aE\xdf\xa3"})
    page.click("#use-gps")
    page.wait_for_function("document.getElementById('place-result').textContent.includes('甲1网格')")
    page.fill("#description", "路边有一堆垃圾")
    page.fill("#contact_phone", "13812345678")
    page.click("#send")
    assert page.locator("#err-photos").inner_text() == "这里只能上传照片和 MP4、MOV 视频。"
    assert Case.objects.count() == 0
    page.click("#photo-list li:nth-child(4) button")  # the .webm, removed
    assert page.locator("#photo-list li").count() == 3

    with page.expect_navigation():
        page.click("#send")
    case = Case.objects.get()
    assert page.url == f"{live_server.url}/m/report/sent/{case.number}/"
    kept = {}
    for video in case.attachments.filter(kind="video"):
        with video.file.open("rb") as stored:
            kept[video.content_type] = files.tracks(stored.read())
    assert kept == {"video/mp4": files.tracks(clip), "video/quicktime": files.tracks(mov)}
    assert case.attachments.filter(kind="photo").count() == 1


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_chromium_plays_an_iphone_mov_as_the_app_serves_it(new_page, live_server, cast, report, settings, tmp_path):
    """An H.264 .MOV is served as video/quicktime (with nosniff, in byte ranges): the player on the reporter's
    case page plays it in Chromium, as it plays an MP4, and shows its poster."""

    from yiwang.media.processing import Upload
    from yiwang.media.tests import files

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    mov = files.video(seconds=2, fps=10, size=(320, 240), codec="h264", container="mov")
    case = report(actor=cast.resident, attachments=[Upload("IMG_0042.MOV", mov)])
    assert case.attachments.get().content_type == "video/quicktime"
    page = signed_in(new_page("phone"), live_server, cast.resident)
    page.goto(f"{live_server.url}/m/mine/{case.pk}/")
    video = page.locator(".thumbs video")
    assert video.count() == 1 and video.get_attribute("aria-label") == "视频 1"
    poster = page.evaluate("""(url) => new Promise((done) => {
        const image = new Image();
        image.onload = () => done(image.naturalWidth);
        image.onerror = () => done(0);
        image.src = url;
    })""", video.get_attribute("poster"))
    assert poster == 320
    # The page's own player, with the page's sign-in: it plays where the case is shown.
    played = video.evaluate("""(video) => new Promise((done) => {
        video.muted = true;
        video.addEventListener("loadeddata", () => done({ready: video.readyState, width: video.videoWidth,
                                                         height: video.videoHeight}));
        video.addEventListener("error", () => done({error: video.error && video.error.message}));
        setTimeout(() => done({timeout: video.readyState}), 10000);
        video.preload = "auto";
        video.load();
    })""")
    assert played["ready"] >= 2 and (played["width"], played["height"]) == (320, 240), played


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_fix_on_the_spot_with_a_video_from_the_album_needs_no_photo(new_page, live_server, cast, report, settings,
                                                                      tmp_path):
    """The grid worker's fix: the camera button asks for a photo, but a video chosen with the album button fills
    the required field — its name is read out, and the fix is sent with it."""

    from yiwang.cases.models import Case
    from yiwang.media.tests import files

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    case = report(actor=cast.resident)
    page = signed_in(new_page("phone"), live_server, cast.grid_worker)
    page.goto(f"{live_server.url}/m/grid/case/{case.pk}/")
    form = "form[action$='/self-handle/']"
    page.fill("#fix-result", "已清理干净")
    page.click(f"{form} button[type=submit]")  # nothing chosen: asked for, not sent
    assert page.locator(f"{form} p.error").inner_text() == "请拍一张现场照片或一段视频，证明问题已解决。"
    page.set_input_files("#fix-album", {"name": "after.mp4", "mimeType": "video/mp4",
                                        "buffer": files.video(seconds=3, size=(96, 64))})
    assert page.locator(f"{form} p.hint[aria-live]").inner_text() == "after.mp4"
    assert axe_violations(page) == []
    with page.expect_navigation():
        page.click(f"{form} button[type=submit]")
    case = Case.objects.get(pk=case.pk)
    assert case.status == "handled" and case.self_handled
    assert [(a.kind, a.width) for a in case.attachments.filter(action="self_handle")] == [("video", 96)]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_grid_workers_map_shows_the_grid_and_its_cases(new_page, live_server, cast, report):
    """The map of my grid: its outline and a dot per open case in the deadline's colour, without a script error
    (a dot added before the map had a view broke the whole map)."""

    report(actor=cast.resident)
    report(actor=cast.resident)
    page = signed_in(new_page("phone"), live_server, cast.grid_worker)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server.url}/m/grid/")
    page.wait_for_selector("#grid-map path[data-light]")
    assert errors == []
    assert page.locator("#grid-map path[data-light]").count() == 2
    assert page.locator("#grid-map path.leaflet-interactive:not([data-light])").count() >= 1  # the outline
    screenshot(page, "phone-grid-map")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_categorys_questions_are_asked_on_the_page_and_sent_with_the_report(new_page, live_server, cast):
    """路灯 asks how many lamps are out: the page asks it once the category is chosen, says so if it is left
    unanswered, and sends the answer with the report."""
    from yiwang.cases.models import Case

    category("C0120")
    page = signed_in(new_page("phone", geolocation={"latitude": IN_A["lat"], "longitude": IN_A["lon"]},
                              permissions=["geolocation"]), live_server, cast.resident)
    page.goto(f"{live_server.url}/m/report/")
    page.click("#use-gps")
    page.wait_for_function("document.getElementById('place-result').textContent.includes('甲1网格')")
    page.fill("#description", "路灯不亮")
    page.fill("#cat-search", "路灯")
    page.wait_for_selector("#cat-list input[value=C0120]")
    page.check("#cat-list input[value=C0120]")
    page.wait_for_selector("#answer-lamps_out")
    assert page.locator("label[for=answer-since]").inner_text() == "发现时间 (选填)"
    page.click("#send")
    assert page.locator("#err-answers").inner_text() == "请回答：不亮的路灯盏数"
    assert Case.objects.count() == 0
    assert axe_violations(page) == []
    page.fill("#answer-lamps_out", "3")
    with page.expect_navigation():
        page.click("#send")
    case = Case.objects.get()
    assert case.category.code == "C0120" and case.answers == {"lamps_out": 3}
    assert page.url == f"{live_server.url}/m/mine/{case.pk}/"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_a_long_status_fits_the_phone_without_scrolling_sideways(new_page, live_server, cast, report, after_photo,
                                                                  locale):
    """In English a fixed case is "handled, awaiting verification": beside a category with a long word
    (Property-management dispute) the badge used to stay on one line and push my reports and my grid wider than
    a 390 px phone."""
    from yiwang.cases import services as cases

    case = report(category=category("S0103"))
    cases.case_self_handle(actor=cast.grid_worker, case=case, result="已清理", attachments=after_photo)
    for who, urls in ((cast.resident, ["/m/mine/", f"/m/mine/{case.pk}/"]),
                      (cast.community, ["/m/grid/", f"/m/grid/case/{case.pk}/"])):
        page = signed_in(new_page("phone", locale=locale), live_server, who)
        for url in urls:
            page.goto(f"{live_server.url}{url}")
            assert page.locator(".badge-handled").first.is_visible()
            width = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            assert width[0] <= width[1], (url, width)
