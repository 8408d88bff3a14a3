"""The phone pages over HTTP: who sees what, and refusals in Chinese next to the field."""

import datetime as dt
import hashlib
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from yiwang.cases import services as cases
from yiwang.cases.models import Case
from yiwang.cases.tests.conftest import fix_photo

from .conftest import IN_A, MONDAY, category, error_next_to, journal, jpeg, last_code

pytestmark = pytest.mark.django_db


def test_a_resident_cannot_see_another_residents_report(client, report, cast):
    case = report(actor=cast.resident)
    client.force_login(cast.resident2)
    assert client.get(f"/m/mine/{case.pk}/").status_code == 404
    client.force_login(cast.resident)
    assert client.get(f"/m/mine/{case.pk}/").status_code == 200


def test_a_grid_worker_cannot_act_outside_their_grid(client, report, cast):
    case = report(actor=cast.resident)
    client.force_login(cast.grid_worker2)  # grid A2; the case is in A1
    assert client.get(f"/m/grid/case/{case.pk}/").status_code == 404
    photo = SimpleUploadedFile("p.jpg", jpeg(), content_type="image/jpeg")
    assert client.post(f"/m/grid/case/{case.pk}/verify/", {"photos": photo}).status_code == 404
    assert Case.objects.get(pk=case.pk).status == "reported"


def test_bad_report_input_is_refused_in_chinese_next_to_the_field_and_kept(client, cast):
    client.force_login(cast.resident)
    response = client.post("/m/report/", {"description": "", "address": "某处"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert response.json()["errors"]["description"] == ["请描述问题。"]
    response = client.post("/m/report/", {"description": "", "address": "某处"})  # without the page's script
    assert response.status_code == 400
    assert error_next_to(response.content.decode(), "description") == "请描述问题。"
    response = client.post("/m/report/", {"description": "路边垃圾", "address": "不存在的地方"})
    page = response.content.decode()
    assert response.status_code == 400 and "路边垃圾" in page and 'value="不存在的地方"' in page
    assert error_next_to(page, "address") == "请给出位置：您的定位、地图上的一点，或写明社区、街道的地址。"
    assert error_next_to(page, "description") == ""
    assert not Case.objects.exists()


@pytest.mark.parametrize(("language", "described", "bad_phone"), [
    ("zh-hans", "请描述问题。", "请输入 11 位手机号码，例如 13812345678。"),
    ("en", "Describe the problem.", "Enter an 11-digit mobile phone number, such as 13812345678."),
])
def test_an_anonymous_reports_bad_input_is_refused_next_to_the_field_in_the_readers_language(
        client, world, language, described, bad_phone):
    data = {"description": "", "contact_phone": "13812345678", **IN_A}
    response = client.post("/m/report/", data, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 400
    assert error_next_to(response.content.decode(), "description") == described
    response = client.post("/m/report/", {**data, "description": "路边垃圾", "contact_phone": "12345"},
                           HTTP_ACCEPT_LANGUAGE=language)
    page = response.content.decode()
    assert response.status_code == 400 and error_next_to(page, "contact_phone") == bad_phone
    assert error_next_to(page, "description") == "" and 'value="12345"' in page
    response = client.post("/m/report/", {**data, "contact_phone": "12345"}, HTTP_ACCEPT="application/json",
                           HTTP_ACCEPT_LANGUAGE=language)
    assert response.json()["errors"] == {"description": [described]}
    response = client.post("/m/login/", {"action": "send", "phone": "12345"}, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 400 and error_next_to(response.content.decode(), "phone") == bad_phone
    assert not Case.objects.exists()


def test_a_report_with_a_photo_and_a_key_is_created_once(client, cast):
    client.force_login(cast.resident)
    data = lambda: {"description": "路边垃圾", "category": "E0102", **IN_A,  # noqa: E731
                    "photos": SimpleUploadedFile("p.jpg", jpeg(), content_type="image/jpeg")}
    first = client.post("/m/report/", data(), HTTP_ACCEPT="application/json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post("/m/report/", data(), HTTP_ACCEPT="application/json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201 and again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and Case.objects.count() == 1
    case = Case.objects.get()
    assert case.channel == "app" and case.reporter == cast.resident and case.attachments.count() == 1


def test_sign_in_by_code_over_http(client, outbox, world):
    assert client.post("/m/login/", {"action": "send", "phone": "123"}).status_code == 400
    client.post("/m/login/", {"action": "send", "phone": "13812345678"})
    response = client.post("/m/login/", {"action": "verify", "phone": "13812345678", "code": last_code(outbox)})
    assert response.status_code == 302
    assert client.get("/m/mine/").status_code == 200


def test_grid_worker_verifies_in_own_grid(client, report, cast, after_photo):
    case = report(actor=cast.grid_worker, channel="patrol")
    cases.case_self_handle(actor=cast.grid_worker, case=case, result="已清理", attachments=after_photo)
    client.force_login(cast.community)
    photo = SimpleUploadedFile("p.jpg", jpeg(), content_type="image/jpeg")
    response = client.post(f"/m/grid/case/{case.pk}/verify/", {"photos": photo})
    assert response.status_code == 302 and Case.objects.get(pk=case.pk).status == "closed"


def translated(msgid: str, language: str = "zh-hans") -> str:
    """A new msgid's text in Chinese once the lead merged this branch's translations (the msgid until then)."""
    from django.utils import translation

    with translation.override(language):
        return translation.gettext(msgid)


def kept_title(page: str) -> str:
    found = re.search(r'<p class="kept-title" id="kept-photos-title">(.*?)</p>', page)
    return found[1] if found else ""


def kept_tokens(page: str) -> list[str]:
    return re.findall(r'<input type="hidden" name="kept_photos" value="([^"]+)">', page)


def test_photos_of_a_refused_report_without_script_are_kept_and_attached_when_sent_again(client, world, media):
    """A plain form post (no script): refused for the description, then for the phone — the photos chosen stay
    uploaded, shown as thumbnails, and the report made at last has them without choosing them again."""
    category("E0102")
    data = {"contact_phone": "13812345678", "category": "E0102", **IN_A}
    first = SimpleUploadedFile("a.jpg", jpeg(size=(64, 48)), content_type="image/jpeg")
    response = client.post("/m/report/", {**data, "description": "", "photos": first})
    page = response.content.decode()
    assert response.status_code == 400 and error_next_to(page, "description") == "请描述问题。"
    assert kept_title(page) == translated("Photos already uploaded")  # 已上传的照片
    assert len(kept_tokens(page)) == 1
    thumb = client.get(f"/m/report/kept/{kept_tokens(page)[0]}/")
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/jpeg"
    assert b"".join(thumb.streaming_content)[:2] == b"\xff\xd8"
    assert Client().get(f"/m/report/kept/{kept_tokens(page)[0]}/").status_code == 404  # another session

    # Refused again for the phone, with one more photo: both are kept.
    second = SimpleUploadedFile("b.jpg", jpeg(colour=(20, 90, 200), size=(80, 60)), content_type="image/jpeg")
    response = client.post("/m/report/", {**data, "description": "路边垃圾", "contact_phone": "12345",
                                          "kept_photos": kept_tokens(page), "photos": second})
    page = response.content.decode()
    assert response.status_code == 400
    assert error_next_to(page, "contact_phone") == "请输入 11 位手机号码，例如 13812345678。"
    tokens = kept_tokens(page)
    assert len(tokens) == 2 and "路边垃圾" in page and not Case.objects.exists()

    # Fixed, the first photo marked for removal, nothing chosen again.
    response = client.post("/m/report/", {**data, "description": "路边垃圾", "kept_photos": tokens,
                                          "kept_remove": tokens[0]})
    assert response.status_code == 302
    case = Case.objects.get()
    assert response["Location"] == f"/m/report/sent/{case.number}/"
    assert [(a.width, a.height, a.action) for a in case.attachments.all()] == [(80, 60, "report")]
    assert case.description == "路边垃圾" and case.grid == world.grid_a
    assert client.get(f"/m/report/kept/{tokens[1]}/").status_code == 404  # spent with the report


def test_a_kept_photo_is_only_for_the_session_that_uploaded_it(client, world, media):
    category("E0102")
    data = {"contact_phone": "13812345678", "category": "E0102", **IN_A}
    photo = SimpleUploadedFile("a.jpg", jpeg(), content_type="image/jpeg")
    tokens = kept_tokens(client.post("/m/report/", {**data, "description": "", "photos": photo}).content.decode())
    assert len(tokens) == 1
    other = Client()  # another session, sending the token: refused as if it had expired, and nothing leaks
    response = other.post("/m/report/", {**data, "description": "路边垃圾", "kept_photos": tokens})
    page = response.content.decode()
    gone = translated("A photo uploaded earlier is no longer available. Please choose it again.")
    assert response.status_code == 400 and error_next_to(page, "photos") == gone
    assert kept_tokens(page) == [] and not Case.objects.exists()
    assert other.get(f"/m/report/kept/{tokens[0]}/").status_code == 404
    response = other.post("/m/report/", {**data, "description": "路边垃圾"})  # as the page now stands
    assert response.status_code == 302 and Case.objects.get().attachments.count() == 0


def test_a_bad_file_among_good_photos_is_refused_and_the_good_ones_are_kept(client, world, media):
    category("E0102")
    data = {"contact_phone": "13812345678", "category": "E0102", "description": "路边垃圾", **IN_A}
    good = SimpleUploadedFile("a.jpg", jpeg(), content_type="image/jpeg")
    bad = SimpleUploadedFile("b.jpg", b"not a photo at all", content_type="image/jpeg")
    response = client.post("/m/report/", {**data, "photos": [good, bad]})
    page = response.content.decode()
    assert response.status_code == 400 and "b.jpg" in error_next_to(page, "photos")
    assert len(kept_tokens(page)) == 1 and not Case.objects.exists()
    response = client.post("/m/report/", {**data, "kept_photos": kept_tokens(page)})
    assert response.status_code == 302 and Case.objects.get().attachments.count() == 1


def test_a_patrol_reports_after_photo_is_kept_when_refused_for_what_was_done(client, cast, media):
    client.force_login(cast.grid_worker)
    data = {"description": "井盖缺失", "category": "E0102", "fixed": "1", **IN_A}
    after = SimpleUploadedFile("after.jpg", jpeg(size=(72, 40)), content_type="image/jpeg")
    response = client.post("/m/grid/report/", {**data, "fixed_result": "", "after_photos": after})
    page = response.content.decode()
    assert response.status_code == 400 and error_next_to(page, "fixed_result") == "请说明您在现场做了什么处理。"
    tokens = re.findall(r'name="kept_after_photos" value="([^"]+)"', page)
    assert len(tokens) == 1 and kept_tokens(page) == []
    response = client.post("/m/grid/report/", {**data, "fixed_result": "已补上井盖", "kept_after_photos": tokens})
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.channel == "patrol" and case.self_handled
    assert [(a.width, a.action) for a in case.attachments.all()] == [(72, "self_handle")]


# --- the grid worker's forms keep what was typed and the good photos when refused without script --------------

def grid_kept_tokens(page: str) -> list[str]:
    return re.findall(r'<input type="hidden" name="kept_photos" value="([^"]+)">', page)


def step_photos(case, action: str) -> list[tuple[int, int]]:
    return [(a.width, a.height) for a in case.attachments.filter(action=action).order_by("id")]


@pytest.fixture
def handled(report, cast, after_photo):
    """A case in grid A1 fixed on the spot by its grid worker: the community's staff check it."""
    case = report(actor=cast.resident)
    return cases.case_self_handle(actor=cast.grid_worker, case=case, result="已清理", attachments=after_photo)


def test_a_refused_check_keeps_the_note_and_the_good_photo_and_closes_with_it_when_sent_again(
        client, cast, handled, media):
    client.force_login(cast.community)
    url = f"/m/grid/case/{handled.pk}/verify/"
    good = SimpleUploadedFile("a.jpg", jpeg(size=(70, 50)), content_type="image/jpeg")
    bad = SimpleUploadedFile("b.jpg", b"not a photo at all", content_type="image/jpeg")
    response = client.post(url, {"note": "现场" * 1001, "photos": [good, bad]})
    page = response.content.decode()
    assert response.status_code == 400
    assert error_next_to(page, "verify-note") == "最多 2000 个字（现在 2002 个）。"
    assert error_next_to(page, "verify-photos") == "b.jpg 不是照片（JPEG、PNG、WebP、HEIC）或 MP4、MOV 视频。"
    assert f'value="{"现场" * 1001}"' in page  # the note typed is still there
    tokens = grid_kept_tokens(page)
    assert len(tokens) == 1 and kept_title(page) == "已上传的照片"
    assert re.search(r'<input id="verify-photos"[^>]*\brequired\b', page) is None  # the kept photo will do
    assert Case.objects.get(pk=handled.pk).status == "handled" and step_photos(handled, "verify") == []

    response = client.post(url, {"note": "已核实", "kept_photos": tokens})  # nothing chosen again
    assert response.status_code == 302
    case = Case.objects.get(pk=handled.pk)
    assert case.status == "closed" and step_photos(case, "verify") == [(70, 50)]
    assert client.get(f"/m/report/kept/{tokens[0]}/").status_code == 404  # spent with the check


def test_a_check_without_any_photo_is_refused_next_to_the_photo_field(client, cast, handled, media):
    client.force_login(cast.community)
    response = client.post(f"/m/grid/case/{handled.pk}/verify/", {"note": "已核实"})
    page = response.content.decode()
    assert response.status_code == 400 and error_next_to(page, "verify-photos") == "请拍一张现场照片或一段视频，证明问题已解决。"
    assert 'value="已核实"' in page and Case.objects.get(pk=handled.pk).status == "handled"


def test_a_refused_rework_keeps_its_photo_and_sends_it_with_the_reason(client, cast, handled, media):
    client.force_login(cast.community)
    url = f"/m/grid/case/{handled.pk}/rework/"
    photo = SimpleUploadedFile("a.jpg", jpeg(size=(60, 44)), content_type="image/jpeg")
    response = client.post(url, {"reason": "  ", "photos": photo})
    page = response.content.decode()
    assert response.status_code == 400 and error_next_to(page, "rework-reason") == "请说明哪里还没有解决。"
    tokens = grid_kept_tokens(page)
    assert len(tokens) == 1 and kept_title(page) == "已上传的照片"

    # Refused by the service this time (a bad file among them): the reason typed and the kept photo stay.
    bad = SimpleUploadedFile("b.jpg", b"not a photo at all", content_type="image/jpeg")
    response = client.post(url, {"reason": "垃圾还在", "kept_photos": tokens, "photos": bad})
    page = response.content.decode()
    assert response.status_code == 400
    assert error_next_to(page, "rework-photos") == "b.jpg 不是照片（JPEG、PNG、WebP、HEIC）或 MP4、MOV 视频。"
    assert "垃圾还在</textarea>" in page and grid_kept_tokens(page) == tokens
    assert Case.objects.get(pk=handled.pk).status == "handled"

    response = client.post(url, {"reason": "垃圾还在", "kept_photos": tokens})
    assert response.status_code == 302
    case = Case.objects.get(pk=handled.pk)
    assert case.status == "filed" and case.rework_count == 1 and step_photos(case, "rework") == [(60, 44)]


def test_a_refused_fix_on_the_spot_keeps_what_was_typed_and_the_after_photo(client, cast, report, media):
    case = report(actor=cast.resident, category=None)
    client.force_login(cast.grid_worker)
    url = f"/m/grid/case/{case.pk}/self-handle/"
    after = SimpleUploadedFile("after.jpg", jpeg(size=(72, 40)), content_type="image/jpeg")
    response = client.post(url, {"result": "已清理干净", "category": "", "photos": after})
    page = response.content.decode()
    assert response.status_code == 400 and error_next_to(page, "fix-category") == "请先选择问题类别。"
    assert "已清理干净</textarea>" in page
    tokens = grid_kept_tokens(page)
    assert len(tokens) == 1 and kept_title(page) == "已上传的照片"

    response = client.post(url, {"result": "", "category": "E0102", "kept_photos": tokens})
    page = response.content.decode()
    assert response.status_code == 400 and error_next_to(page, "fix-result") == "请说明您在现场做了什么处理。"
    assert '<option value="E0102" selected>' in page and grid_kept_tokens(page) == tokens
    assert Case.objects.get(pk=case.pk).status == "reported"

    response = client.post(url, {"result": "已清理干净", "category": "E0102", "kept_photos": tokens})
    assert response.status_code == 302
    case = Case.objects.get(pk=case.pk)
    assert case.self_handled and case.result == "已清理干净" and case.category.code == "E0102"
    assert step_photos(case, "self_handle") == [(72, 40)]


@pytest.mark.parametrize("verb", ["verify", "rework", "self-handle"])
def test_a_kept_photo_of_another_session_is_refused_on_the_grid_forms(client, cast, report, after_photo, verb):
    case = report(actor=cast.resident)
    if verb == "self-handle":
        worker, refused, fixed = cast.grid_worker, {"result": ""}, {"result": "已清理"}
    else:
        case = cases.case_self_handle(actor=cast.grid_worker, case=case, result="已清理", attachments=after_photo)
        worker = cast.community
        refused, fixed = ({"note": "x" * 2001}, {"note": "已核实"}) if verb == "verify" else ({"reason": ""}, {"reason": "垃圾还在"})
    client.force_login(worker)
    url = f"/m/grid/case/{case.pk}/{verb}/"
    photo = SimpleUploadedFile("a.jpg", jpeg(), content_type="image/jpeg")
    tokens = grid_kept_tokens(client.post(url, {**refused, "photos": photo}).content.decode())
    assert len(tokens) == 1
    other = Client()
    other.force_login(worker)  # the same person in another session: the token names nothing there
    response = other.post(url, {**fixed, "kept_photos": tokens})
    page = response.content.decode()
    field = {"verify": "verify-photos", "rework": "rework-photos", "self-handle": "fix-photos"}[verb]
    assert response.status_code == 400 and error_next_to(page, field) == "之前上传的一张照片已无法使用，请重新选择。"
    assert grid_kept_tokens(page) == []
    before = Case.objects.get(pk=case.pk)
    assert before.status == case.status
    assert before.attachments.exclude(action__in=["report", "self_handle"]).count() == 0
    assert before.attachments.filter(action="self_handle").count() == (0 if verb == "self-handle" else 1)


# --- a fix on the spot carries a photo of the result, whatever the page's script did -------------------------

FIX_PHOTO_REQUIRED = "请上传处置后的照片或视频。"


def test_a_fix_on_the_spot_without_a_photo_is_refused_next_to_the_photo_field(client, cast, report, media):
    case = report(actor=cast.resident, category=None)
    client.force_login(cast.grid_worker)
    page = client.get(f"/m/grid/case/{case.pk}/").content.decode()
    assert re.search(r'<input id="fix-photos"[^>]*\brequired\b', page)  # the script asks before sending
    url = f"/m/grid/case/{case.pk}/self-handle/"
    response = client.post(url, {"result": "已清理干净", "category": "E0102"})  # sent without the script
    page = response.content.decode()
    assert response.status_code == 400 and error_next_to(page, "fix-photos") == FIX_PHOTO_REQUIRED
    assert "已清理干净</textarea>" in page and '<option value="E0102" selected>' in page
    case = Case.objects.get(pk=case.pk)
    assert case.status == "reported" and not case.self_handled and case.category is None
    assert journal(case) == ["case.report"] and not case.attachments.exists()

    photo = SimpleUploadedFile("after.jpg", jpeg(size=(72, 40)), content_type="image/jpeg")
    response = client.post(url, {"result": "已清理干净", "category": "E0102", "photos": photo})
    assert response.status_code == 302
    case = Case.objects.get(pk=case.pk)
    assert case.status == "handled" and step_photos(case, "self_handle") == [(72, 40)]


def test_a_patrol_report_fixed_without_an_after_photo_is_refused_next_to_the_after_photo(client, cast, media):
    client.force_login(cast.grid_worker)
    data = {"description": "井盖缺失", "category": "E0102", "fixed": "1", "fixed_result": "已补上井盖", **IN_A}
    answer = client.post("/m/grid/report/", data, HTTP_ACCEPT="application/json")
    assert answer.status_code == 400 and answer.json()["errors"] == {"after_photos": [FIX_PHOTO_REQUIRED]}
    before = SimpleUploadedFile("before.jpg", jpeg(size=(80, 60)), content_type="image/jpeg")
    response = client.post("/m/grid/report/", {**data, "photos": before})  # without the script
    page = response.content.decode()
    assert response.status_code == 400 and error_next_to(page, "after_photos") == FIX_PHOTO_REQUIRED
    assert error_next_to(page, "photos") == "" and "已补上井盖</textarea>" in page
    assert len(kept_tokens(page)) == 1  # the photo of the problem stays uploaded
    assert not Case.objects.exists()  # not even the report: it is one step with the fix

    after = SimpleUploadedFile("after.jpg", jpeg(size=(72, 40)), content_type="image/jpeg")
    response = client.post("/m/grid/report/", {**data, "kept_photos": kept_tokens(page), "after_photos": after})
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.status == "handled" and step_photos(case, "report") == [(80, 60)]
    assert step_photos(case, "self_handle") == [(72, 40)]


# --- a kept photo serves the form it was kept for, and no other -----------------------------------------------

def test_a_kept_photo_cannot_be_replayed_on_another_form_or_case(client, cast, report, after_photo, person):
    """A grid worker: a photo kept on the report form, on the check of case A — none of them may be sent with
    another form of the same session, nor with the same step on case B; each still serves its own."""
    colleague = person("grid_worker", grid=cast.world.grid_a, username="gw_a1_b")  # fixed A and B on the spot
    first = cases.case_self_handle(actor=colleague, case=report(actor=cast.resident), result="已清理",
                                   attachments=after_photo)
    second = cases.case_self_handle(actor=colleague, case=report(actor=cast.resident), result="已清理",
                                    attachments=after_photo)
    client.force_login(cast.grid_worker)
    gone = "之前上传的一张照片已无法使用，请重新选择。"
    photo = lambda size: SimpleUploadedFile("a.jpg", jpeg(size=size), content_type="image/jpeg")  # noqa: E731
    data = {"description": "井盖缺失", "category": "E0102", **IN_A}
    reported = client.post("/m/grid/report/", {**data, "description": "", "photos": photo((50, 30))})
    on_report = kept_tokens(reported.content.decode())
    checked = client.post(f"/m/grid/case/{first.pk}/verify/", {"note": "x" * 2001, "photos": photo((70, 50))})
    on_check = grid_kept_tokens(checked.content.decode())
    assert len(on_report) == len(on_check) == 1

    for url, tokens, field in (
            (f"/m/grid/case/{first.pk}/verify/", on_report, "verify-photos"),  # the report form's, on a check
            (f"/m/grid/case/{second.pk}/verify/", on_check, "verify-photos"),  # the check of A, on B
            (f"/m/grid/case/{first.pk}/rework/", on_check, "rework-photos"),  # the check of A, on A's rework
    ):
        response = client.post(url, {"note": "已核实", "reason": "垃圾还在", "kept_photos": tokens})
        page = response.content.decode()
        assert response.status_code == 400 and error_next_to(page, field) == gone, url
        assert grid_kept_tokens(page) == []
    response = client.post("/m/grid/report/", {**data, "kept_photos": on_check})  # a check's, on the report form
    assert response.status_code == 400 and error_next_to(response.content.decode(), "photos") == gone
    response = client.post("/m/grid/report/", {**data, "fixed": "1", "fixed_result": "已补上井盖",
                                               "kept_after_photos": on_check})  # … as its after-photo
    assert response.status_code == 400 and error_next_to(response.content.decode(), "after_photos") == gone
    for case in (first, second):
        case = Case.objects.get(pk=case.pk)
        assert case.status == "handled" and step_photos(case, "verify") == step_photos(case, "rework") == []
    assert Case.objects.count() == 2

    # Each still serves the form it was kept for.
    response = client.post(f"/m/grid/case/{first.pk}/verify/", {"note": "已核实", "kept_photos": on_check})
    assert response.status_code == 302
    assert step_photos(Case.objects.get(pk=first.pk), "verify") == [(70, 50)]
    response = client.post("/m/grid/report/", {**data, "kept_photos": on_report})
    assert response.status_code == 302
    assert step_photos(Case.objects.exclude(pk__in=[first.pk, second.pk]).get(), "report") == [(50, 30)]


# --- short MP4 and MOV videos, as well as photos --------------------------------------------------------------

def mp4(size=(96, 64)) -> bytes:
    """A real small MP4 (three frames, encoded by PyAV), as a phone's camera writes one."""
    from yiwang.media.tests import files

    return files.video(seconds=3, size=size)


def video_file(name="clip.mp4", size=(96, 64)) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, mp4(size), content_type="video/mp4")


def file_inputs(page: str) -> dict[str, str]:
    """{id: the <input type="file"> tag} of a page."""
    return {found["id"]: found[0] for found in re.finditer(r'<input id="(?P<id>[^"]+)"[^>]*type="file"[^>]*>', page)}


def kept_labels(page: str, field: str = "photos") -> list[tuple[str, str]]:
    """(the thumbnail's alt text, the remove box's label) of each kept file of `field`, in order."""
    box = re.search(rf'<div class="kept" id="kept-{field}">(.*?)</div>', page, re.S)[1]
    return [(alt, " ".join(label.split())) for alt, label in
            re.findall(r'<img [^>]*alt="([^"]*)".*?<label for="kept-remove-[^"]+">(.*?)</label>', box, re.S)]


@pytest.mark.parametrize("who", ["anonymous", "grid_worker", "community"])
def test_each_file_field_takes_an_mp4_or_mov_video_while_the_camera_buttons_open_the_camera(client, cast, report,
                                                                                            after_photo, who):
    """A camera button asks for photos alone: with a video type beside it the phone's browser would offer a
    chooser instead of opening the camera. Each file field has a button beside it (the album) that takes an MP4
    or an iPhone's QuickTime MOV too, and its hint says a video will do."""
    if who == "anonymous":
        pages = [client.get("/m/report/").content.decode()]
    else:
        client.force_login(getattr(cast, who))
        case = report(actor=cast.resident)
        if who == "community":
            case = cases.case_self_handle(actor=cast.grid_worker, case=case, result="已清理", attachments=after_photo)
        pages = [client.get(f"/m/grid/case/{case.pk}/").content.decode()]
        if who == "grid_worker":
            pages.append(client.get("/m/grid/report/").content.decode())
    for page in pages:
        inputs = file_inputs(page)
        assert inputs
        fields = {}
        for tag in inputs.values():
            accept = re.search(r'accept="([^"]*)"', tag)[1]
            if 'capture="environment"' in tag:
                assert accept == "image/*", tag
            else:
                assert accept == "image/*,video/mp4,video/quicktime", tag
            fields.setdefault(re.search(r'name="([^"]+)"', tag)[1], []).append(accept)
        assert all("image/*,video/mp4,video/quicktime" in accepts for accepts in fields.values()), fields
    expected = {"anonymous": ["照片和视频最多 9 个。"], "grid_worker": ["须上传处置后的照片或视频，核查以此为据。"],
                "community": ["结案需要一张现场现状照片或一段视频。", "请拍一张现场照片或一段视频，证明问题已解决。"]}
    assert all(text in pages[0] for text in expected[who])
    if who == "grid_worker":
        assert 'id="after-hint">须上传处置后的照片或视频' in pages[1]


def test_a_report_with_an_mp4_video_is_made_with_the_video_and_its_poster(client, world, media):
    from yiwang.media.tests import files

    category("E0102")
    data = {"contact_phone": "13812345678", "category": "E0102", "description": "路边垃圾", **IN_A}
    response = client.post("/m/report/", {**data, "photos": video_file()})
    assert response.status_code == 302
    [attachment] = Case.objects.get().attachments.all()
    assert (attachment.kind, attachment.width, attachment.height, attachment.duration) == ("video", 96, 64, 3.0)
    assert attachment.content_type == "video/mp4" and attachment.thumbnail
    with attachment.file.open("rb") as stored:
        kept = stored.read()
    assert files.tracks(kept) == files.tracks(mp4())  # the same video, remuxed without its metadata
    assert hashlib.sha256(kept).hexdigest() == attachment.sha256 and kept[4:8] == b"ftyp"


def test_a_report_with_an_iphone_mov_is_made_with_the_video_kept_as_quicktime(client, world, media):
    """An iPhone records QuickTime (.MOV, ftyp brand `qt  `): the report is made with it, kept (remuxed, every
    packet as sent) as video/quicktime with its poster. Refused for the description first, it stays uploaded as
    a video too."""
    from yiwang.media.tests import files

    category("E0102")
    mov = files.video(seconds=3, size=(96, 64), container="mov")
    data = {"contact_phone": "13812345678", "category": "E0102", **IN_A}
    sent = SimpleUploadedFile("IMG_0042.MOV", mov, content_type="video/quicktime")
    response = client.post("/m/report/", {**data, "description": "", "photos": sent})
    page = response.content.decode()
    assert response.status_code == 400 and kept_labels(page) == [("已上传的视频 1", "删除视频 1")]
    response = client.post("/m/report/", {**data, "description": "路边垃圾", "kept_photos": kept_tokens(page)})
    assert response.status_code == 302
    [attachment] = Case.objects.get().attachments.all()
    assert (attachment.kind, attachment.width, attachment.height, attachment.duration) == ("video", 96, 64, 3.0)
    assert attachment.content_type == "video/quicktime" and attachment.extension == ".mov" and attachment.thumbnail
    with attachment.file.open("rb") as stored:
        kept = stored.read()
    assert kept[4:12] == b"ftypqt  " and files.tracks(kept) == files.tracks(mov)
    assert hashlib.sha256(kept).hexdigest() == attachment.sha256


def test_a_kept_video_is_named_as_a_video_and_sent_with_the_report(client, world, media):
    """Refused for the description, a report's photo and video stay uploaded: the video shows its poster and is
    called a video (已上传的视频), not a photo; sent again, the case has both."""
    category("E0102")
    data = {"contact_phone": "13812345678", "category": "E0102", **IN_A}
    photo = SimpleUploadedFile("a.jpg", jpeg(size=(64, 48)), content_type="image/jpeg")
    response = client.post("/m/report/", {**data, "description": "", "photos": [photo, video_file()]})
    page = response.content.decode()
    assert response.status_code == 400 and error_next_to(page, "description") == "请描述问题。"
    assert kept_labels(page) == [("已上传的照片 1", "删除照片 1"), ("已上传的视频 2", "删除视频 2")]
    assert kept_title(page) == "已上传的照片和视频"
    tokens = kept_tokens(page)
    poster = client.get(f"/m/report/kept/{tokens[1]}/")
    assert poster.status_code == 200 and poster["Content-Type"] == "image/jpeg"
    assert b"".join(poster.streaming_content)[:2] == b"\xff\xd8"

    response = client.post("/m/report/", {**data, "description": "路边垃圾", "kept_photos": tokens})
    assert response.status_code == 302
    case = Case.objects.get()
    assert sorted((a.kind, a.width, a.height) for a in case.attachments.all()) == [("photo", 64, 48),
                                                                                    ("video", 96, 64)]


def test_a_kept_video_is_evidence_for_a_check_sent_again(client, cast, handled, media):
    client.force_login(cast.community)
    url = f"/m/grid/case/{handled.pk}/verify/"
    response = client.post(url, {"note": "现场" * 1001, "photos": video_file()})
    page = response.content.decode()
    assert response.status_code == 400 and kept_labels(page) == [("已上传的视频 1", "删除视频 1")]
    response = client.post(url, {"note": "已核实", "kept_photos": grid_kept_tokens(page)})
    assert response.status_code == 302
    case = Case.objects.get(pk=handled.pk)
    assert case.status == "closed"
    assert [(a.kind, a.width) for a in case.attachments.filter(action="verify")] == [("video", 96)]


def test_a_fix_on_the_spot_with_a_video_alone_is_handled(client, cast, report, media):
    case = report(actor=cast.resident)
    client.force_login(cast.grid_worker)
    response = client.post(f"/m/grid/case/{case.pk}/self-handle/", {"result": "已清理干净", "photos": video_file()})
    assert response.status_code == 302
    case = Case.objects.get(pk=case.pk)
    assert case.status == "handled" and case.self_handled
    assert [(a.kind, a.duration) for a in case.attachments.filter(action="self_handle")] == [("video", 3.0)]


def test_a_patrol_reports_video_of_the_fix_is_its_after_photo(client, cast, media):
    client.force_login(cast.grid_worker)
    data = {"description": "井盖缺失", "category": "E0102", "fixed": "1", "fixed_result": "已补上井盖", **IN_A}
    response = client.post("/m/grid/report/", {**data, "after_photos": video_file("after.mp4")})
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.status == "handled" and step_photos(case, "self_handle") == [(96, 64)]
    assert case.attachments.get(action="self_handle").kind == "video"



def test_a_big_kept_video_is_sent_again_without_being_read_into_memory(client, world, media, tmp_path):
    """A 50 MB video kept from a refused report is read in place from where it was kept when the report is sent
    again: the second request adds a few megabytes of Python memory, not the video's fifty."""
    import tracemalloc

    from yiwang.media.tests import files
    from yiwang.media.tests.test_streaming import MB, PEAK_LIMIT, big_mp4, file_sha256

    category("E0102")
    path = tmp_path / "big.mp4"
    sha256 = big_mp4(path)
    data = {"contact_phone": "13812345678", "category": "E0102", **IN_A}
    with open(path, "rb") as video:
        response = client.post("/m/report/", {**data, "description": "", "photos": video})
    tokens = kept_tokens(response.content.decode())
    assert response.status_code == 400 and len(tokens) == 1
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        response = client.post("/m/report/", {**data, "description": "路边垃圾", "kept_photos": tokens})
        used = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert response.status_code == 302
    print(f"\npeak Python memory to send a kept 50 MB video again: {used / MB:.2f} MB")
    assert used < PEAK_LIMIT
    attachment = Case.objects.get().attachments.get()
    kept = media / attachment.file.name
    assert (attachment.kind, attachment.sha256, attachment.size) == ("video", file_sha256(kept), kept.stat().st_size)
    assert attachment.sha256 != sha256 and 49 * MB < attachment.size < 50 * MB  # the same packets, remuxed
    assert files.tracks(kept.read_bytes()) == files.tracks(path.read_bytes())


def test_the_report_page_states_the_configured_number_of_files(client, world, settings):
    settings.YIWANG_MAX_ATTACHMENTS = 4
    page = client.get("/m/report/").content.decode()
    assert 'id="photos-hint">照片和视频最多 4 个。' in page
    assert 'data-max-files="4"' in page and 'data-photos-count="照片和视频最多 4 个。"' in page


def test_a_category_with_a_required_question_is_reported_with_its_answers(client, cast):
    """路灯 asks how many lamps are out (required) and since when: the phone form sends the answers with the report.
    Unanswered, it is refused next to the questions, which are shown again with what was typed."""
    lamp = category("C0120")
    assert [q["code"] for q in lamp.form_questions] == ["lamps_out", "since"]
    client.force_login(cast.resident)
    data = {"description": "路灯不亮", "category": "C0120", **IN_A, "answer_since": "2026-11-30T19:30"}
    response = client.post("/m/report/", data)
    page = response.content.decode()
    assert response.status_code == 400
    assert re.search(r'<p class="error" id="err-answers">(.*?)</p>', page)[1] == "请回答：不亮的路灯盏数"
    assert re.search(r'<input id="answer-lamps_out" name="answer_lamps_out" value=""[^>]*aria-describedby="err-answers"',
                     page)
    assert 'value="2026-11-30T19:30"' in page
    response = client.post("/m/report/", {**data, "answer_lamps_out": "abc"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and response.json()["errors"] == {"answers": [
        translated("%(q)s: enter a number.") % {"q": "不亮的路灯盏数"}]}
    response = client.post("/m/report/", {**data, "answer_lamps_out": "3"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 201
    case = Case.objects.get()
    assert case.category == lamp and case.answers == {"lamps_out": 3, "since": "2026-11-30T19:30:00+08:00"}


def test_a_questions_label_and_refusal_are_in_the_readers_language(client, cast):
    category("C0120")
    client.force_login(cast.resident)
    items = client.get("/m/categories/", HTTP_ACCEPT_LANGUAGE="en").json()["items"]
    lamp = next(item for item in items if item["code"] == "C0120")
    assert [(q["label"], q["datatype"], q["required"]) for q in lamp["questions"]] == [
        ("Lamps out", "number", True), ("Noticed since", "datetime", False)]
    response = client.post("/m/report/", {"description": "Lamps out", "category": "C0120", **IN_A},
                           HTTP_ACCEPT="application/json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.json()["errors"] == {"answers": ["Please answer: Lamps out"]}


@pytest.mark.parametrize(("language", "named", "when"), [
    ("en", "Exposed garbage", re.compile(r"<time [^>]*>[A-Z][a-z]{2} \d{1,2}, \d\d:\d\d</time>")),
    ("zh-hans", "暴露垃圾", re.compile(r"<time [^>]*>\d{1,2}月\d{1,2}日 \d\d:\d\d</time>")),
])
def test_my_reports_and_my_grid_name_the_category_and_the_day_in_the_readers_language(
        client, cast, report, language, named, when):
    case = report()
    for who, pages in ((cast.resident, ["/m/mine/", f"/m/mine/{case.pk}/"]),
                       (cast.grid_worker, ["/m/grid/", f"/m/grid/case/{case.pk}/"])):
        client.force_login(who)
        for url in pages:
            page = client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
            assert named in page, url
            if language == "en":
                assert "月" not in page and "暴露垃圾" not in page, url
            if url.endswith(f"/{case.pk}/"):
                assert when.search(page), url  # the progress


def test_my_own_fix_on_the_spot_waits_among_the_open_cases_not_for_my_check(client, cast, report, after_photo,
                                                                             person):
    mine = report(actor=cast.grid_worker, channel="patrol")
    cases.case_self_handle(actor=cast.grid_worker, case=mine, result="已清理", attachments=after_photo)
    theirs = report(description="另一处垃圾")
    colleague = person("grid_worker", grid=cast.world.grid_a, username="gw_a1_b")
    cases.case_self_handle(actor=colleague, case=theirs, result="已清理", attachments=fix_photo())
    client.force_login(cast.grid_worker)
    page = client.get("/m/grid/").content.decode()
    assert theirs.number in _section(page, "verify") and theirs.number not in _section(page, "open")
    assert mine.number not in _section(page, "verify") and mine.number in _section(page, "open")
    page = client.get(f"/m/grid/case/{mine.pk}/").content.decode()
    assert "verify-photos" not in page  # what its page says: someone else checks it


def _section(page: str, heading: str) -> str:
    return re.search(rf'<section aria-labelledby="{heading}">(.*?)</section>', page, re.S)[1]


def test_only_those_who_may_fix_on_the_spot_are_offered_it(client, cast, report, media):
    """Community staff check fixes and report on patrol but do not fix on the spot themselves (their role lacks
    self_handle_case): neither the case page nor the patrol form offers them a fix the service would refuse."""
    case = report()
    for who, offered in ((cast.grid_worker, True), (cast.community, False)):
        client.force_login(who)
        page = client.get(f"/m/grid/case/{case.pk}/").content.decode()
        assert ('id="fix-result"' in page) is offered, who
        page = client.get("/m/grid/report/").content.decode()
        assert ('id="fixed"' in page) is offered, who
    photo = SimpleUploadedFile("p.jpg", jpeg(), content_type="image/jpeg")
    response = client.post(f"/m/grid/case/{case.pk}/self-handle/", {"result": "已清理", "photos": photo})
    assert response.status_code == 403 and Case.objects.get(pk=case.pk).status == "reported"


def test_files_past_the_limit_on_a_refused_plain_form_are_named_not_dropped_unsaid(client, world, media, settings):
    """Without the page's script, five photos sent where three are taken and the form refused for its
    description: three are kept, and the photo field says at most three are taken."""
    settings.YIWANG_MAX_ATTACHMENTS = 3
    photos = [SimpleUploadedFile(f"{i}.jpg", jpeg(colour=(40 * i, 90, 90)), content_type="image/jpeg")
              for i in range(5)]
    response = client.post("/m/report/", {"description": "", "contact_phone": "13812345678", **IN_A,
                                          "photos": photos})
    page = response.content.decode()
    assert response.status_code == 400 and error_next_to(page, "description") == "请描述问题。"
    assert len(kept_tokens(page)) == 3
    assert error_next_to(page, "photos") == "每个环节最多上传 3 个文件。"


def test_my_reports_beyond_the_first_page_are_reached_by_older(client, cast, report):
    """The list used to stop at the newest 100 with no way further, though the home page counts them all."""
    made = [report(description=f"第{i}处垃圾", now=MONDAY + dt.timedelta(minutes=i)).number for i in range(101)]
    client.force_login(cast.resident)
    seen, url = [], "/m/mine/"
    while url:
        page = client.get(url).content.decode()
        seen += re.findall(r'<p class="hint">(YW\d{8}-\d{6})', page)
        older = re.search(r'<a class="btn btn-secondary" href="(\?page=\d+)">较早</a>', page)
        url = f"/m/mine/{older[1]}" if older else None
    assert seen == list(reversed(made))


def test_my_report_says_it_is_an_enterprise_appeal_and_keeps_my_rating_beside_the_reopen_request(
        client, cast, report, after_photo, person):
    firm = person("enterprise", username="firm1")
    case = report(actor=firm, channel="enterprise")
    client.force_login(firm)
    for url in ("/m/mine/", f"/m/mine/{case.pk}/"):
        assert '<span class="badge badge-appeal">企业诉求</span>' in client.get(url).content.decode(), url
    cases.case_self_handle(actor=cast.grid_worker, case=case, result="已清理", attachments=after_photo)
    cases.case_verify(actor=cast.community, case=case, attachments=fix_photo())
    response = client.post(f"/m/mine/{case.pk}/", {"rating": "unsatisfied", "comment": "门前还是堵"})
    assert response.status_code == 302
    page = client.get(f"/m/mine/{case.pk}/").content.decode()
    assert "<strong>不满意</strong> — 门前还是堵" in page  # what I said, not only that I asked again
    assert "您已申请重新办理" in page


def test_my_report_said_to_be_the_same_problem_says_so_until_the_staff_act(client, cast, report):
    from yiwang.core import clock

    earlier = report(actor=cast.resident2, now=clock.now() - dt.timedelta(hours=1))
    client.force_login(cast.resident)
    response = client.post("/m/report/", {"description": "这里也有垃圾", "category": "E0102", **IN_A,
                                          "same_as": earlier.pk})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert f"您说这与案件 {earlier.number} 是同一个问题" in page


def test_the_grid_pages_write_dates_in_the_users_language(client, report, cast):
    case = report(actor=cast.resident)
    client.force_login(cast.grid_worker)
    for url in ("/m/grid/", f"/m/grid/case/{case.pk}/"):
        chinese = client.get(url).content.decode()
        assert re.search(r"\d{1,2}月\d{1,2}日 \d\d:\d\d", chinese), url
        english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert not re.search(r"\d月\d{1,2}日", english), url
        assert re.search(r"[A-Z][a-z]{2} \d{1,2}, \d\d:\d\d", english), url


def test_community_staff_read_their_community_and_its_number_of_grids_not_a_dozen_names(client, cast, world):
    from conftest import SQUARE
    from yiwang.geo import services as geo

    for i in (3, 4):
        geo.grid_create(actor=None, code=f"21990100100100{i}", name=f"甲{i}网格", community=world.community_a,
                        boundary=SQUARE(120.0 + i / 100, 40.0, 120.01 + i / 100, 40.01))
    client.force_login(cast.community)
    heading = re.search(r"<h1>(.*?)</h1>", client.get("/m/grid/").content.decode(), re.S).group(1)
    assert "甲社区（4 个网格）" in heading and "甲1网格" not in heading
    client.force_login(cast.grid_worker)  # one grid: its name
    assert "甲1网格" in re.search(r"<h1>(.*?)</h1>", client.get("/m/grid/").content.decode(), re.S).group(1)
