"""The file as an importer has it: CSV in the encodings Chinese offices save (UTF-8 with and without BOM,
GB18030/GBK, UTF-16), with a title row above the header or other separators, and XLSX with typed cells."""

import datetime as dt
import io

import pytest

from yiwang.cases.choices import Status
from yiwang.cases.models import Case
from yiwang.core.errors import ValidationFailed
from yiwang.imports.choices import RunStatus
from yiwang.imports.models import ImportRun
from yiwang.imports.services import import_run_create
from yiwang.imports.tests.conftest import HEADER, IN_A2, TZ, csv_bytes, hotline_row, xlsx_bytes

ROWS = [hotline_row("12345-0001", text="小区门口垃圾堆积，臭味难闻"),
        hotline_row("12345-0002", where=IN_A2, text="路灯不亮")]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_csv_in_every_encoding_reads_the_same(crew, run_import, encoding):
    run = run_import(crew.acceptor, csv_bytes(ROWS, encoding=encoding))
    assert run.status == RunStatus.FINISHED, run.failure_code
    assert run.encoding == {"utf-8-sig": "utf-8-sig", "utf-16": "utf-16", "utf-8": "utf-8",
                            "gb18030": "gb18030"}[encoding]
    assert (run.rows_total, run.rows_done, run.rows_ok, run.rows_failed) == (2, 2, 2, 0)
    cases = {c.external_ref: c for c in Case.objects.all()}
    assert cases["12345-0001"].description == "小区门口垃圾堆积，臭味难闻"
    assert cases["12345-0001"].reporter_name == "张三" and cases["12345-0001"].address == "幸福路1号"
    assert cases["12345-0001"].grid == crew.world.grid_a and cases["12345-0002"].grid == crew.world.grid_a2
    assert run.columns["description"] == "诉求内容" and run.columns["external_ref"] == "工单编号"


def test_gbk_file_is_not_mistaken_for_utf8(crew, run_import):
    """Plain GBK (what Excel saves as "CSV" on a Chinese Windows) is read as GB18030, its superset."""
    run = run_import(crew.acceptor, csv_bytes(ROWS, encoding="gbk"))
    assert run.encoding == "gb18030" and run.rows_ok == 2
    assert Case.objects.get(external_ref="12345-0002").description == "路灯不亮"


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_semicolon_and_tab_separated(crew, run_import, delimiter):
    run = run_import(crew.acceptor, csv_bytes(ROWS, delimiter=delimiter))
    assert run.rows_ok == 2


def test_title_rows_above_the_header_are_skipped_and_rows_numbered_as_in_the_file(crew, run_import, api):
    from yiwang.imports.tests.conftest import error_report

    bad = hotline_row("12345-0003", text="")
    content = csv_bytes([*ROWS, bad], above=[["盘锦市12345热线工单明细"], ["导出时间：2026-11-22"]])
    run = run_import(crew.acceptor, content)
    assert run.header_row == 3 and run.rows_ok == 2 and run.rows_failed == 1
    [line] = error_report(api(crew.acceptor), run.pk)
    assert line["row"] == "6" and line["code"] == "missing_description"  # 2 titles, the header, 2 good rows


def test_blank_rows_are_ignored(crew, run_import):
    run = run_import(crew.acceptor, csv_bytes([ROWS[0], [""] * len(HEADER), ["", " "], ROWS[1]]))
    assert (run.rows_total, run.rows_done, run.rows_ok, run.rows_failed) == (2, 2, 2, 0)


def test_xlsx_with_typed_cells(crew, run_import):
    """Excel keeps times as dates and numbers as numbers: a 工单编号 typed as a number must not come back as
    202611200001.0, nor coordinates as text."""
    rows = [
        [202611200001, dt.datetime(2026, 11, 20, 10, 15), "井盖丢失", "兴隆大街", 120.005, 40.005, "李四",
         13800000000, "E0102", "紧急", "已派发", None],
        [202611200002, dt.datetime(2026, 11, 19, 8, 0), "垃圾清运不及时", "幸福路", 120.015, 40.005, "王五",
         "13900000000", "E0102", "一般", "已办结", dt.datetime(2026, 11, 21, 17, 30)],
    ]
    run = run_import(crew.acceptor, xlsx_bytes(rows), name="工单.xlsx")
    assert run.status == RunStatus.FINISHED, (run.failure_code, run.failure_params)
    assert run.file_format == "xlsx" and run.rows_ok == 2
    first = Case.objects.get(external_ref="202611200001")
    assert first.reported_at == dt.datetime(2026, 11, 20, 10, 15, tzinfo=TZ)
    assert first.reporter_phone == "13800000000" and first.urgency == "orange" and first.grid == crew.world.grid_a
    second = Case.objects.get(external_ref="202611200002")
    assert second.status == Status.CLOSED and second.closed_at == dt.datetime(2026, 11, 21, 17, 30, tzinfo=TZ)


def test_xlsx_with_a_title_row(crew, run_import):
    rows = [hotline_row("12345-0001")]
    run = run_import(crew.acceptor, xlsx_bytes(rows, above=[["12345热线工单"]]), name="工单.xlsx")
    assert run.header_row == 2 and run.rows_ok == 1


@pytest.mark.parametrize("content", [
    b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,  # a picture
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64,  # an old binary .xls
    b"%PDF-1.7\n\x00\x01\x02\x03\x04\x05\x06\x07",
    b"",
])
def test_anything_but_csv_or_xlsx_is_refused_at_once_and_nothing_is_kept(crew, content):
    with pytest.raises(ValidationFailed) as refused:
        import_run_create(actor=crew.acceptor, file=io.BytesIO(content), file_name="工单.csv", enqueue=False)
    assert refused.value.code in ("file_type", "file_empty")
    assert not ImportRun.objects.exists()


def test_a_zip_that_is_no_workbook_fails_the_run(crew, run_import):
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    run = run_import(crew.acceptor, buffer.getvalue(), name="工单.xlsx")
    assert run.status == RunStatus.FAILED and run.failure_code == "file_type"


def test_text_in_no_known_encoding_fails_the_run_with_a_reason(crew, run_import):
    content = csv_bytes(ROWS) + b"\xff\xfe\xff\xff,\x80\x80\r\n"
    run = run_import(crew.acceptor, content)
    assert run.status == RunStatus.FAILED and run.failure_code == "file_encoding"
    assert not Case.objects.exists()


def test_a_file_without_a_header_fails_the_run(crew, run_import):
    run = run_import(crew.acceptor, b"a,b,c\r\n1,2,3\r\n")
    assert run.status == RunStatus.FAILED and run.failure_code == "header_missing"
