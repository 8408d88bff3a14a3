"""The loop through HTTP as an app or a department system would drive it: token login, report, every step,
the timeline, the errors."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from yiwang.cases.tests.conftest import IN_A
from yiwang.core import clock

pytestmark = pytest.mark.django_db


def login(username):
    client = APIClient()
    response = client.post("/api/v1/auth/token/", {"username": username, "password": "pw-Secret-123"},
                           format="json")
    assert response.status_code == 200, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    return client


def test_walk_from_report_to_rating(cast, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    resident, acceptor, lead, dispatcher = (login(u) for u in ("resident1", "acceptor_a", "shift_a", "dispatcher_a"))
    unit, worker, leader = login("unit_a"), login("gw_a1"), login("leader_a")

    from django.core.files.uploadedfile import SimpleUploadedFile

    from yiwang.media.tests import files

    photo = ("photo.jpg", files.jpeg(), "image/jpeg")

    reported = resident.post("/api/v1/cases/", {
        "description": "小区门口垃圾堆积", **IN_A, "category": "E0102",
        "attachments": [SimpleUploadedFile(*photo)],
    }, format="multipart")
    assert reported.status_code == 201, reported.content
    body = reported.json()
    case_id = body["id"]
    assert body["status"] == "reported" and body["grid_code"] == "219901001001001" and body["light"] == "green"
    assert body["channel"] == "app" and body["reporter_phone"] == "13900000000"  # their own
    second = resident.post("/api/v1/cases/", {"description": "还是那堆垃圾", **IN_A, "category": "E0102"},
                           format="json").json()
    assert [d["id"] for d in second["duplicates"]] == [case_id]

    def step(client, verb, data=None, expect="ok", status=200):
        response = client.post(f"/api/v1/cases/{case_id}/{verb}/", data or {}, format="json")
        assert response.status_code == status, (verb, response.content)
        return response.json()

    assert step(acceptor, "accept")["status"] == "accepted"
    assert step(acceptor, "accept", status=409)["error"]["code"] == "invalid_transition"
    assert step(acceptor, "merge", {"into": case_id}, status=400)["error"]["code"] == "merge_target_invalid"
    assert resident.post(f"/api/v1/cases/{second['id']}/accept/", {}, format="json").status_code == 403
    merged = acceptor.post(f"/api/v1/cases/{second['id']}/merge/", {"into": case_id}, format="json").json()
    assert merged["status"] == "merged" and merged["parent_number"] == body["number"]
    # the desk sees full contact data, a leader masked
    assert acceptor.get(f"/api/v1/cases/{case_id}/").json()["reporter_phone"] == "13900000000"
    assert leader.get(f"/api/v1/cases/{case_id}/").json()["reporter_phone"] == "139****0000"
    from yiwang.core.models import AuditEntry

    reads = AuditEntry.objects.filter(action="case.contact_read", object_id=str(case_id))
    assert list(reads.values_list("actor_name", flat=True)) == ["acceptor_a"]  # reading it is journaled
    listed = acceptor.get("/api/v1/cases/").json()["results"]
    assert {c["reporter_phone"] for c in listed} == {"139****0000"}  # lists stay masked
    filed = step(lead, "file", {"urgency": "orange"})
    assert filed["status"] == "filed" and filed["routing"]["suggested_unit"] == cast.world.unit_a.pk
    assert step(dispatcher, "dispatch", {"unit": cast.world.unit_a.pk})["lead_unit_name"] == "甲区城管局"
    assert step(unit, "sign")["status"] == "in_progress"
    assert step(unit, "extend", {"amount": "2", "unit": "working_hours", "reason": "需调车辆"})["status"] \
        == "in_progress"
    assert step(dispatcher, "approve-extension", {"approve": True})["extension_count"] == 1
    assert step(leader, "supervise", {"action": "urge", "note": "尽快"})["supervised"] is True
    handled = unit.post(f"/api/v1/cases/{case_id}/feedback/", {
        "result": "已清运完毕", "attachments": [SimpleUploadedFile("after.png", files.png())],
    }, format="multipart")
    assert handled.status_code == 200 and handled.json()["status"] == "handled"
    assert step(worker, "verify", {"note": "现场核实"})["status"] == "closed"
    assert step(resident, "rate", {"rating": "satisfied", "comment": "很快"})["status"] == "rated"

    timeline = resident.get(f"/api/v1/cases/{case_id}/timeline/").json()
    assert [t["action"] for t in timeline] == ["report", "accept", "file", "dispatch", "sign", "feedback",
                                             "verify", "rate"]
    assert all(t["actor"] == "" for t in timeline)
    staff_timeline = dispatcher.get(f"/api/v1/cases/{case_id}/timeline/").json()
    assert {"extend", "approve_extension", "supervise"} <= {t["action"] for t in staff_timeline}
    # the merged report's reporter got the outcome
    assert resident.get(f"/api/v1/cases/{second['id']}/").json()["status"] == "closed"


def test_lists_filter_and_stay_in_scope(cast, report):
    from yiwang.cases.tests.conftest import IN_B, MONDAY

    mine = report()
    report(actor=cast.resident2, **IN_B)
    dispatcher = login("dispatcher_a")
    listed = dispatcher.get("/api/v1/cases/").json()
    assert [c["id"] for c in listed["results"]] == [mine.pk]
    with clock.frozen(MONDAY + dt.timedelta(minutes=10)):  # the light as it is just after the report
        assert dispatcher.get("/api/v1/cases/?status=reported&category=E01&urgency=yellow&light=green"
                              "&channel=app&region=219901001000").json()["count"] == 1
    assert dispatcher.get("/api/v1/cases/?status=closed").json()["count"] == 0
    assert dispatcher.get("/api/v1/cases/?region=219902000000").json()["count"] == 0
    assert dispatcher.get("/api/v1/cases/?status=nonsense").status_code == 400
    other = login("dispatcher_b")
    assert other.get(f"/api/v1/cases/{mine.pk}/").status_code == 404
    assert other.post(f"/api/v1/cases/{mine.pk}/accept/", {}, format="json").status_code == 404
    assert APIClient().get("/api/v1/cases/").status_code == 401


def test_errors_have_a_stable_code_and_a_translated_message(cast):
    resident = login("resident1")
    outside = resident.post("/api/v1/cases/", {"description": "x", "lat": 10, "lon": 10}, format="json",
                            HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert outside.status_code == 400
    error = outside.json()["error"]
    assert error["code"] == "outside_area" and "lat" in error["fields"]
    assert error["message"] != "This place is outside every grid of the platform."  # translated
    english = resident.post("/api/v1/cases/", {"description": "x", "lat": 10, "lon": 10}, format="json",
                            HTTP_ACCEPT_LANGUAGE="en")
    assert english.json()["error"]["message"] == "This place is outside every grid of the platform."
    missing = resident.post("/api/v1/cases/", {**IN_A}, format="json")
    assert missing.status_code == 400 and "description" in missing.json()["error"]["fields"]
    bad_photo = resident.post("/api/v1/cases/", {"description": "x", **IN_A, "attachments": [
        __import__("django.core.files.uploadedfile", fromlist=["x"]).SimpleUploadedFile("a.jpg", b"GIF89a....")]},
        format="multipart")
    assert bad_photo.status_code == 400 and bad_photo.json()["error"]["code"] == "attachment_type"
    from yiwang.cases.models import Case

    assert not Case.objects.exists()


def test_a_fix_on_the_spot_without_a_photo_is_refused_with_its_code(cast, report, media):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from yiwang.cases.models import Case
    from yiwang.media.tests import files

    case = report(actor=cast.grid_worker, channel="patrol")
    worker = login("gw_a1")
    url = f"/api/v1/cases/{case.pk}/self-handle/"
    for data, form in (({"result": "已现场清理"}, "json"), ({"result": "已现场清理", "attachments": []}, "multipart")):
        refused = worker.post(url, data, format=form, HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert refused.status_code == 400, refused.content
        assert refused.json()["error"] == {"code": "photo_required", "message": "请上传处置后的照片或视频。",
                                           "fields": {"attachments": ["请上传处置后的照片或视频。"]}}
    assert Case.objects.get(pk=case.pk).status == "reported"
    handled = worker.post(url, {"result": "已现场清理", "attachments": [
        SimpleUploadedFile("after.jpg", files.jpeg(size=(64, 48)), content_type="image/jpeg")]}, format="multipart")
    assert handled.status_code == 200, handled.content
    assert handled.json()["status"] == "handled" and handled.json()["self_handled"] is True


def test_admin_lists_cases_read_only_and_in_scope(cast, report, client):
    from yiwang.cases.tests.conftest import IN_B

    mine = report()
    other = report(actor=cast.resident2, **IN_B)
    client.force_login(cast.dispatcher)
    listing = client.get("/admin/cases/case/")
    assert listing.status_code == 200
    assert mine.number in listing.content.decode() and other.number not in listing.content.decode()
    assert client.get(f"/admin/cases/case/{mine.pk}/change/").status_code == 200
    assert client.get(f"/admin/cases/case/{other.pk}/change/").status_code in (302, 404)
    assert client.get("/admin/cases/case/add/").status_code == 403
    page = client.get(f"/admin/cases/case/{mine.pk}/change/").content.decode()
    assert "13900000000" not in page  # personal data stays out of the admin


def test_a_new_reports_hand_written_answer_equals_the_case_serializers(cast, api, report):
    """The intake path writes its answer by hand for speed (api.case_payload); it must stay the same JSON as
    the serializer every other case answer uses — for a resident, for staff, with a photo and without."""
    from yiwang.cases.api import CaseSerializer
    from yiwang.cases.models import Case

    for user, extra in ((cast.resident, {}), (cast.acceptor, {"reporter_name": "张三", "reporter_phone": "13812345678",
                                                               "channel": "hotline"})):
        client = api(user)
        answer = client.post("/api/v1/cases/", {"description": "井盖缺失", "lat": 40.005, "lon": 120.005,
                                                "category": "E0102", **extra}, format="json")
        assert answer.status_code == 201, answer.content
        body = answer.json()
        duplicates = body.pop("duplicates")
        assert isinstance(duplicates, list)
        case = Case.objects.select_related("grid", "region", "level", "category", "lead_unit").get(pk=body["id"])
        request = client.get("/api/v1/cases/").wsgi_request
        request.user = user
        expected = CaseSerializer(case, context={"request": request}).data
        assert body == expected
