"""The console's import pages over HTTP: who sees them, an upload that becomes a run (the task queue runs it at
once here, as in yiwang/imports/tests), bad uploads refused next to the field with the choices kept, the column
mapping read from the file, stop and resume through the page, the live fragment and the error report."""

import csv
import io
import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from yiwang.cases.models import Case
from yiwang.imports.models import ImportRun
from yiwang.imports.tests.conftest import HEADER, IN_A, IN_B, csv_bytes, hotline_row, xlsx_bytes

pytestmark = pytest.mark.django_db

ROWS = [hotline_row("H-1", where=IN_A), hotline_row("H-2", where=IN_A, when="不是日期"), hotline_row("H-3", where=IN_A)]


@pytest.fixture
def crew(world, person):
    from types import SimpleNamespace

    return SimpleNamespace(
        world=world,
        acceptor=person("acceptor", region=world.district_a, username="acceptor_da"),
        acceptor_b=person("acceptor", region=world.district_b, username="acceptor_db"),
        dispatcher=person("dispatcher", region=world.district_a, username="dispatcher_da"),
    )


@pytest.fixture
def tasks_inline(django_capture_on_commit_callbacks):
    """`with tasks_inline(): …` — what the page queued runs at once, after the commit (as the imports' tests)."""
    from huey.contrib.djhuey import HUEY

    before = HUEY.immediate
    HUEY.immediate = True
    yield lambda: django_capture_on_commit_callbacks(execute=True)
    HUEY.immediate = before


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}


@pytest.fixture
def signed_in(client):
    def make(user, language="en"):
        client.force_login(user)
        client.cookies["django_language"] = language
        return client
    return make


def post_upload(client, content, *, name="工单.csv", **data):
    return client.post("/console/imports/", {"file": SimpleUploadedFile(name, content), "channel": "hotline",
                                             "crs": "wgs84", **data})


def text(response) -> str:
    return response.content.decode()


def slot(body: str, element_id: str) -> str:
    """The text inside the element with that id (an error slot)."""
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</', body, re.S)
    assert match, element_id
    return match.group(1).strip()


def test_a_dispatcher_without_the_import_permission_gets_403_and_no_link(crew, signed_in):
    client = signed_in(crew.dispatcher)
    page = client.get("/console/cases/")
    assert page.status_code == 200 and "/console/imports/" not in text(page)
    refused = client.get("/console/imports/")
    assert refused.status_code == 403 and "import permission" in text(refused)
    assert 'name="file"' not in text(refused) and 'href="/console/imports/"' not in text(refused)
    assert post_upload(client, csv_bytes(ROWS)).status_code == 403
    assert client.post("/console/imports/columns/", {"file": SimpleUploadedFile("a.csv", csv_bytes(ROWS))}
                       ).status_code == 403
    assert not ImportRun.objects.exists()


def test_signed_out_people_are_sent_to_sign_in(client):
    response = client.get("/console/imports/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_an_acceptor_sees_the_link_and_an_empty_list_with_the_form(crew, signed_in):
    client = signed_in(crew.acceptor)
    assert 'href="/console/imports/"' in text(client.get("/console/cases/"))
    page = client.get("/console/imports/")
    assert page.status_code == 200
    body = text(page)
    assert 'aria-current="page">Imports' in body
    assert 'name="file"' in body and 'name="map_description"' in body and "No imports yet." in body


def test_a_good_csv_becomes_a_run_the_page_shows(crew, signed_in, tasks_inline):
    client = signed_in(crew.acceptor)
    with tasks_inline():
        response = post_upload(client, csv_bytes(ROWS))
    run = ImportRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/console/imports/{run.pk}/"
    run.refresh_from_db()
    assert (run.status, run.rows_ok, run.rows_failed, run.created_by) == ("finished", 2, 1, crew.acceptor)
    assert sorted(Case.objects.values_list("external_ref", flat=True)) == ["H-1", "H-3"]

    body = text(client.get(response["Location"]))
    assert "Finished: 2 cases created, 1 rows refused, 0 already imported." in body
    assert 'role="progressbar"' in body and 'aria-valuenow="100.0"' in body
    assert "hx-trigger" not in body  # a finished run is not polled
    assert "H-2" in body and "不是日期 is not a date and time" in body
    assert f'href="/console/imports/{run.pk}/errors.csv"' in body

    listing = text(client.get("/console/imports/"))
    assert f'href="/console/imports/{run.pk}/"' in listing and "工单.csv" in listing and "acceptor_da" in listing


def test_the_mapping_chosen_on_the_page_is_handed_to_the_service(crew, signed_in, tasks_inline):
    header = ["编号X", *HEADER[1:]]
    client = signed_in(crew.acceptor)
    with tasks_inline():
        response = post_upload(client, csv_bytes(ROWS[:1], header=header), map_external_ref="编号X",
                               map_reporter_phone="-")
    assert response.status_code == 302
    run = ImportRun.objects.get()
    assert run.mapping == {"external_ref": "编号X", "reporter_phone": None}
    run.refresh_from_db()
    assert run.rows_ok == 1 and run.columns["external_ref"] == "编号X" and "reporter_phone" not in run.columns
    assert Case.objects.get().reporter_phone == ""


def test_an_xlsx_file_with_a_title_row_works_too(crew, signed_in, tasks_inline):
    client = signed_in(crew.acceptor)
    with tasks_inline():
        response = post_upload(client, xlsx_bytes(ROWS, above=[["12345热线工单明细"]]), name="工单.xlsx")
    assert response.status_code == 302
    assert ImportRun.objects.get().rows_ok == 2


@pytest.mark.parametrize(("content", "name", "message"), [
    (b"%PDF-1.4\x00\x01\x02 binary", "工单.csv", "The file is not a CSV or XLSX file"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 200, "old.xls", "an old .xls must be saved as .xlsx"),
    (b"", "empty.csv", "The file is empty."),
])
def test_a_bad_file_is_refused_next_to_the_file_field_and_the_choices_stay(crew, signed_in, content, name, message):
    client = signed_in(crew.acceptor)
    response = post_upload(client, content, name=name, channel="department", crs="bd09", map_address="-")
    assert response.status_code == 400
    body = text(response)
    assert message in slot(body, "e-file")
    assert '<option value="department" selected>' in body and '<option value="bd09" selected>' in body
    assert '<option value="-" selected>' in body  # the mapping chosen for the address
    assert not ImportRun.objects.exists()


def test_an_unknown_channel_is_refused_next_to_it_and_the_file_checked_all_the_same(crew, signed_in):
    body = text(post_upload(signed_in(crew.acceptor), b"", channel="fax"))
    assert "Unknown channel." in slot(body, "e-channel")
    assert "The file is empty." in slot(body, "e-file")
    assert not ImportRun.objects.exists()


def test_a_file_without_the_required_columns_names_them_next_to_their_fields(crew, signed_in):
    header = ["编号X", "来电时间", "内容说明", "事发地址"]
    client = signed_in(crew.acceptor)
    response = post_upload(client, csv_bytes([["1", "2026-11-20 10:00", "垃圾", "幸福路"]], header=header),
                           channel="department", map_description="内容说明")
    assert response.status_code == 400
    body = text(response)
    assert "No column was found for original number" in slot(body, "e-map-external_ref")
    assert slot(body, "e-map-description") == ""
    assert "Choose the file again" in slot(body, "e-file")
    assert '<option value="内容说明" selected>' in body  # the choice stays, among the file's columns
    assert '<option value="department" selected>' in body
    assert 'id="f-map-external_ref" name="map_external_ref" aria-invalid="true"' in body
    assert not ImportRun.objects.exists()


def test_a_mapping_naming_a_column_the_file_lacks_or_leaving_out_a_required_field_is_refused(crew, signed_in):
    client = signed_in(crew.acceptor)
    response = post_upload(client, csv_bytes(ROWS), map_address="不存在的列", map_reported_at="-")
    assert response.status_code == 400
    body = text(response)
    assert "The file has no column 不存在的列." in slot(body, "e-map-address")
    # A required field offers no "leave out"; forced anyway, it is refused in words.
    assert "is required; it cannot be left out." in slot(body, "e-map-reported_at")
    assert not ImportRun.objects.exists()


def test_choosing_a_file_shows_its_columns_and_what_was_matched(crew, signed_in):
    header = ["编号X", *HEADER[1:]]
    client = signed_in(crew.acceptor)
    response = client.post("/console/imports/columns/", {"file": SimpleUploadedFile("a.csv", csv_bytes(
        ROWS, header=header, encoding="gb18030"))}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = text(response)
    assert "a.csv: 12 columns found." in body
    assert "automatic: 诉求内容" in body  # the description found by the default mapping
    ref = slot(body, "e-map-external_ref")
    assert "No column was found for original number" in ref
    assert '<option value="编号X">编号X</option>' in body


def test_messages_are_in_chinese_for_a_chinese_reader(crew, signed_in):
    client = signed_in(crew.acceptor, language="zh-hans")
    body = text(post_upload(client, b""))
    assert slot(body, "e-file") == "文件为空。"
    assert "<h2 id=\"upload-title\">上传文件</h2>" in body


def test_another_districts_run_is_404(crew, signed_in, tasks_inline):
    with tasks_inline():
        post_upload(signed_in(crew.acceptor), csv_bytes(ROWS))
    run = ImportRun.objects.get()
    client = signed_in(crew.acceptor_b)
    for url in (f"/console/imports/{run.pk}/", f"/console/imports/{run.pk}/errors.csv"):
        assert client.get(url).status_code == 404
    assert client.post(f"/console/imports/{run.pk}/stop/").status_code == 404
    assert client.post(f"/console/imports/{run.pk}/resume/").status_code == 404
    assert f"/console/imports/{run.pk}/" not in text(client.get("/console/imports/"))


def test_stop_and_resume_through_the_page(crew, signed_in, django_capture_on_commit_callbacks):
    client = signed_in(crew.acceptor)
    with django_capture_on_commit_callbacks(execute=False):  # queued, the queue not run yet
        post_upload(client, csv_bytes(ROWS))
    run = ImportRun.objects.get()
    page = text(client.get(f"/console/imports/{run.pk}/"))
    assert 'hx-trigger="every 1s"' in page and "stop/" in page and "resume/" not in page
    listing = text(client.get("/console/imports/"))
    assert 'id="runs"' in listing and 'hx-trigger="every 2s' in listing  # the list follows live runs too
    part = text(client.get("/console/imports/?part=runs", HTTP_HX_REQUEST="true"))
    assert part.lstrip().startswith('<section id="runs"') and f"/console/imports/{run.pk}/" in part

    response = client.post(f"/console/imports/{run.pk}/stop/", follow=True)
    run.refresh_from_db()
    assert run.status == "stopped"
    body = text(response)
    assert f"Import {run.pk} is stopped; resume it" in body and "resume/" in body and "hx-trigger" not in body
    assert "every 2s" not in text(client.get("/console/imports/"))  # nothing live: the list is not polled

    from huey.contrib.djhuey import HUEY

    HUEY.immediate = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(f"/console/imports/{run.pk}/resume/", follow=True)
    finally:
        HUEY.immediate = False
    run.refresh_from_db()
    assert (run.status, run.rows_ok) == ("finished", 2)
    assert f"Import {run.pk} continues where it stopped." in text(response)

    again = client.post(f"/console/imports/{run.pk}/stop/", follow=True)  # nothing left to stop: said so
    assert "The import has ended; there is nothing to stop." in text(again)


def test_the_live_fragment_polls_while_queued_and_brings_the_final_state_once(crew, signed_in,
                                                                              django_capture_on_commit_callbacks):
    from yiwang.imports.services import import_run_execute

    client = signed_in(crew.acceptor)
    with django_capture_on_commit_callbacks(execute=False):
        post_upload(client, csv_bytes(ROWS))
    run = ImportRun.objects.get()
    live = text(client.get(f"/console/imports/{run.pk}/?seen=queued", HTTP_HX_REQUEST="true"))
    assert 'id="run-live"' in live and 'hx-trigger="every 1s"' in live
    assert 'id="run-status-text" hx-swap-oob' not in live and 'id="run-actions"' not in live  # nothing changed
    assert 'id="run-errors" class="card" aria-labelledby="errors-title" hx-swap-oob="outerHTML"' in live
    assert "waiting in the queue" in live
    assert "<html" not in live

    import_run_execute(run=run)
    done = text(client.get(f"/console/imports/{run.pk}/?seen=queued", HTTP_HX_REQUEST="true"))
    assert "hx-trigger" not in done  # the polling ends
    assert 'aria-valuenow="100.0"' in done
    assert 'id="run-status-text" hx-swap-oob="innerHTML"' in done and "Finished: 2 cases created" in done
    assert 'id="run-errors"' in done and "H-2" in done
    assert 'id="run-about"' in done and "Columns used" in done and 'id="run-actions"' in done


def test_the_error_report_downloads_from_the_page(crew, signed_in, tasks_inline):
    client = signed_in(crew.acceptor)
    with tasks_inline():
        post_upload(client, csv_bytes([*ROWS, hotline_row("H-9", where=IN_B)]))
    run = ImportRun.objects.get()
    response = client.get(f"/console/imports/{run.pk}/errors.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert f'filename="import-{run.pk}-errors.csv"' in response["Content-Disposition"]
    content = b"".join(response.streaming_content).decode("utf-8")
    lines = list(csv.DictReader(io.StringIO(content.lstrip("\ufeff"))))
    assert [(line["row"], line["original number"], line["code"]) for line in lines] == [
        ("3", "H-2", "bad_date"), ("5", "H-9", "out_of_scope")]
    json.dumps(lines)  # plain text cells


def test_a_failed_run_says_why_and_offers_to_resume(crew, signed_in):
    from yiwang.imports.services import import_run_create, import_run_execute

    run = import_run_create(actor=crew.acceptor, file=io.BytesIO(csv_bytes(ROWS)), file_name="x.csv",
                            mapping={"address": "没有这列"}, enqueue=False)
    run = import_run_execute(run=run)
    assert run.status == "failed"
    body = text(signed_in(crew.acceptor).get(f"/console/imports/{run.pk}/"))
    assert "The import failed." in body
    assert "The column mapping names columns the file does not have: 没有这列." in body
    assert f"/console/imports/{run.pk}/resume/" in body and f"/console/imports/{run.pk}/stop/" not in body
    assert "hx-trigger" not in body
