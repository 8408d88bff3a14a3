"""Who may import, and where: staff holding imports.add_importrun upload; each row must lie in the area where the
importer may report cases (cases.add_case); runs are seen, stopped and resumed within the importer's region.
A denial changes nothing."""

import pytest

from yiwang.cases.models import Case
from yiwang.core import clock
from yiwang.core.journal import journal_verify
from yiwang.core.models import AuditEntry
from yiwang.imports.models import ImportRun
from yiwang.imports.tests.conftest import IN_A, IN_A2, IN_B, NOW, csv_bytes, error_report, hotline_row, upload

ROWS = [hotline_row("A-1", where=IN_A), hotline_row("A-2", where=IN_A2), hotline_row("B-1", where=IN_B)]


@pytest.mark.parametrize("who", ["resident", "dispatcher", None])
def test_people_without_the_import_permission_cannot_upload(crew, api, who, tasks_inline):
    client = api(getattr(crew, who) if who else None)
    with clock.frozen(NOW), tasks_inline():
        response = upload(client, csv_bytes(ROWS))
    assert response.status_code == (403 if who else 401)
    assert response.json()["error"]["code"] in ("permission_denied", "not_authenticated")
    assert not ImportRun.objects.exists() and not Case.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="import.").exists()


def test_an_acceptor_of_district_a_imports_district_a_rows_only(crew, api, tasks_inline):
    client = api(crew.acceptor)
    with clock.frozen(NOW), tasks_inline():
        response = upload(client, csv_bytes(ROWS))
    assert response.status_code == 202
    run = client.get(f"/api/v1/imports/{response.json()['id']}/").json()
    assert (run["status"], run["rows_ok"], run["rows_failed"]) == ("finished", 2, 1)
    assert sorted(Case.objects.values_list("external_ref", flat=True)) == ["A-1", "A-2"]
    [line] = error_report(client, run["id"])
    assert (line["row"], line["original number"], line["code"]) == ("4", "B-1", "out_of_scope")


def test_a_shift_leader_of_a_street_imports_that_street_only(crew, run_import):
    run = run_import(crew.shift_lead, csv_bytes(ROWS))
    assert run.rows_ok == 2 and run.rows_failed == 1  # grids A1, A2 lie in street A


def test_the_city_admin_imports_everywhere(crew, run_import):
    run = run_import(crew.admin, csv_bytes(ROWS))
    assert run.rows_ok == 3


def test_runs_are_seen_in_the_importers_region_and_missing_elsewhere(crew, api, run_import):
    run = run_import(crew.acceptor, csv_bytes(ROWS))
    assert run.scope_path == crew.world.district_a.path
    for who, visible in [(crew.acceptor, True), (crew.admin, True), (crew.acceptor_b, False),
                         (crew.shift_lead, False), (crew.resident, False)]:
        client = api(who)
        assert client.get(f"/api/v1/imports/{run.pk}/").status_code == (200 if visible else 404)
        assert client.get(f"/api/v1/imports/{run.pk}/errors.csv").status_code == (200 if visible else 404)
        listed = [r["id"] for r in client.get("/api/v1/imports/").json()["results"]]
        assert listed == ([run.pk] if visible else [])


def test_stop_and_resume_need_the_right_over_the_run(crew, api):
    import io

    from yiwang.imports.services import import_run_create

    with clock.frozen(NOW):
        run = import_run_create(actor=crew.acceptor, file=io.BytesIO(csv_bytes(ROWS)), file_name="x.csv",
                                enqueue=False)
    assert api(crew.acceptor_b).post(f"/api/v1/imports/{run.pk}/stop/").status_code == 404
    assert api(crew.resident).post(f"/api/v1/imports/{run.pk}/resume/").status_code == 404
    run.refresh_from_db()
    assert run.status == "queued"
    with clock.frozen(NOW):
        stopped = api(crew.admin).post(f"/api/v1/imports/{run.pk}/stop/")
    assert stopped.status_code == 200 and stopped.json()["status"] == "stopped"
    again = api(crew.admin).post(f"/api/v1/imports/{run.pk}/stop/")
    assert again.json()["status"] == "stopped"  # stopping twice is harmless


def test_resume_through_the_api_queues_the_run_and_the_queue_finishes_it(crew, api, tasks_inline):
    import io

    from yiwang.imports.services import import_run_create, import_run_stop

    with clock.frozen(NOW):
        run = import_run_create(actor=crew.acceptor, file=io.BytesIO(csv_bytes(ROWS)), file_name="x.csv",
                                enqueue=False)
        import_run_stop(actor=crew.acceptor, run=run)
    with clock.frozen(NOW), tasks_inline():
        response = api(crew.acceptor).post(f"/api/v1/imports/{run.pk}/resume/")
    assert response.status_code == 200 and response.json()["status"] == "queued"
    run.refresh_from_db()
    assert run.status == "finished" and run.rows_ok == 2
    conflict = api(crew.acceptor).post(f"/api/v1/imports/{run.pk}/resume/")
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "run_not_resumable"


def test_the_journal_records_the_run_and_every_case_chained(crew, run_import):
    run = run_import(crew.acceptor, csv_bytes(ROWS))
    run_entries = list(AuditEntry.objects.filter(object_type="imports.importrun").order_by("id")
                       .values_list("action", "actor_id"))
    assert run_entries == [("import.create", crew.acceptor.pk), ("import.start", crew.acceptor.pk),
                           ("import.finish", crew.acceptor.pk)]
    cases = {c.pk: c for c in Case.objects.all()}
    entries = AuditEntry.objects.filter(action="case.import").order_by("id")
    assert sorted(int(e.object_id) for e in entries) == sorted(cases)
    entry = entries[0]
    case = cases[int(entry.object_id)]
    assert entry.actor == crew.acceptor and entry.scope_path == case.region_path and entry.object_repr == case.number
    assert entry.after["status"] == "reported" and entry.after["external_ref"] == case.external_ref
    assert entry.after["reporter_phone"] == "138****5678"  # the journal keeps no phone in the clear
    assert entry.after["import_run"] == run.pk and entry.after["row"] == 2 and entry.after["legacy_status"] == "待受理"
    assert entry.actor_roles == [["region", crew.world.district_a.path, None]]
    report = journal_verify()
    assert report.ok and report.checked == AuditEntry.objects.count()


def test_imported_cases_answer_like_any_other(crew, api, run_import):
    """Seen in the case list and timeline, with the import as their first step."""
    run_import(crew.acceptor, csv_bytes(ROWS[:1]))
    case = Case.objects.get()
    client = api(crew.acceptor)
    body = client.get("/api/v1/cases/", {"channel": "hotline"}).json()
    assert [c["external_ref"] for c in body["results"]] == ["A-1"]
    timeline = client.get(f"/api/v1/cases/{case.pk}/timeline/").json()
    assert [step["action"] for step in timeline] == ["import"]
