"""The phone pages over HTTP: who sees what, and refusals in Chinese next to the field."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from yiwang.cases import services as cases
from yiwang.cases.models import Case

from .conftest import IN_A, error_next_to, jpeg, last_code

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


def test_grid_worker_verifies_in_own_grid(client, report, cast):
    case = report(actor=cast.grid_worker, channel="patrol")
    cases.case_self_handle(actor=cast.grid_worker, case=case, result="已清理")
    client.force_login(cast.community)
    photo = SimpleUploadedFile("p.jpg", jpeg(), content_type="image/jpeg")
    response = client.post(f"/m/grid/case/{case.pk}/verify/", {"photos": photo})
    assert response.status_code == 302 and Case.objects.get(pk=case.pk).status == "closed"
