"""Column mapping: the default headers of 12345 exports, a user mapping {our field: their header} over it."""

import pytest

from yiwang.cases.models import Case
from yiwang.core.errors import ValidationFailed
from yiwang.imports.choices import RunStatus
from yiwang.imports.mapping import FIELDS, resolve
from yiwang.imports.tests.conftest import HEADER, csv_bytes, hotline_row, upload

THEIR_HEADER = ["单号", "时间", "问题", "位置", "X", "Y", "姓名", "手机", "类别", "级别", "状态", "结束"]


def test_default_mapping_knows_the_hotline_headers():
    resolved = resolve(HEADER, {})
    assert resolved.columns == {
        "external_ref": "工单编号", "reported_at": "来电时间", "description": "诉求内容", "address": "事发地址",
        "lon": "经度", "lat": "纬度", "reporter_name": "来电人", "reporter_phone": "联系电话", "category": "分类代码",
        "urgency": "紧急程度", "legacy_status": "办理状态", "closed_at": "办结时间",
    }
    assert not resolved.missing and not resolved.absent_required


def test_headers_match_despite_spaces_case_and_bom():
    resolved = resolve(["\ufeff工单编号", " 来电 时间 ", "诉求内容\u3000", "Lat", "LON"], {})
    assert resolved.index == {"external_ref": 0, "reported_at": 1, "description": 2, "lat": 3, "lon": 4}


def test_a_user_mapping_reads_their_headers(crew, run_import):
    mapping = {"external_ref": "单号", "reported_at": "时间", "description": "问题", "address": "位置", "lon": "X",
               "lat": "Y", "reporter_name": "姓名", "reporter_phone": "手机", "category": "类别", "urgency": "级别",
               "legacy_status": "状态", "closed_at": "结束"}
    run = run_import(crew.acceptor, csv_bytes([hotline_row("A-1", urgency="特急")], header=THEIR_HEADER),
                     mapping=mapping)
    assert run.status == RunStatus.FINISHED and run.rows_ok == 1
    assert run.columns == mapping
    case = Case.objects.get(external_ref="A-1")
    assert case.urgency == "red" and case.reporter_phone == "13812345678" and case.grid == crew.world.grid_a


def test_a_user_mapping_overrides_only_the_fields_it_names(crew, run_import):
    header = [*HEADER[:2], "问题描述", *HEADER[3:]]
    run = run_import(crew.acceptor, csv_bytes([hotline_row("A-1")], header=header),
                     mapping={"description": "问题描述"})
    assert run.rows_ok == 1 and run.columns["description"] == "问题描述" and run.columns["lon"] == "经度"


def test_null_leaves_a_column_out(crew, run_import):
    run = run_import(crew.acceptor, csv_bytes([hotline_row("A-1", urgency="???")]), mapping={"urgency": None})
    assert run.rows_ok == 1 and "urgency" not in run.columns
    assert Case.objects.get().urgency == "yellow"  # the category's default


def test_our_field_names_work_as_headers(crew, run_import):
    header = ["external_ref", "reported_at", "description", "lon", "lat"]
    run = run_import(crew.acceptor, csv_bytes([["X-9", "2026-11-20 08:00", "路面塌陷", "120.005", "40.005"]],
                                              header=header))
    assert run.rows_ok == 1


def test_a_mapped_header_the_file_lacks_fails_the_run_and_says_which(crew, run_import):
    run = run_import(crew.acceptor, csv_bytes([hotline_row("A-1")]), mapping={"address": "详细地址"})
    assert run.status == RunStatus.FAILED and run.failure_code == "mapping_header_missing"
    assert run.failure_params == {"columns": "详细地址"}
    assert not Case.objects.exists()


def test_a_file_lacking_required_columns_fails_the_run(crew, run_import):
    header = [h for h in HEADER if h != "工单编号"]
    run = run_import(crew.acceptor, csv_bytes([hotline_row("A-1")[1:]], header=header))
    assert run.status == RunStatus.FAILED and run.failure_code == "columns_missing"
    assert "工单编号" in run.failure_params["columns"]


@pytest.mark.parametrize("mapping, code", [
    ({"subject": "主题"}, "mapping_unknown_field"),
    ({"description": 7}, "mapping_invalid"),
    (["description"], "mapping_invalid"),
])
def test_a_bad_mapping_is_refused_before_anything_is_stored(crew, mapping, code):
    import io

    from yiwang.imports.models import ImportRun
    from yiwang.imports.services import import_run_create

    with pytest.raises(ValidationFailed) as refused:
        import_run_create(actor=crew.acceptor, file=io.BytesIO(csv_bytes([])), file_name="x.csv", mapping=mapping,
                          enqueue=False)
    assert refused.value.code == code
    assert not ImportRun.objects.exists()


def test_the_api_refuses_a_bad_mapping_with_the_error_shape(crew, api):
    response = upload(api(crew.acceptor), csv_bytes([hotline_row("A-1")]), mapping={"subject": "主题"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "mapping_unknown_field"
    assert "mapping" in response.json()["error"]["fields"]


def test_every_field_documents_its_default_headers():
    assert all(field.headers for field in FIELDS.values())
    assert {name for name, field in FIELDS.items() if field.required} == {"external_ref", "reported_at",
                                                                            "description"}
