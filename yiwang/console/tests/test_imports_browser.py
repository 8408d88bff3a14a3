"""The import pages in a real browser (Debian's Chromium, desktop, zh-CN): an acceptor picks a small CSV with one
bad row, sees its columns matched, starts the import, watches the bar reach 100 %, reads the refused row with its
reason and downloads the error report; a queued run's page follows the run live while it executes."""

import csv
import io
from pathlib import Path

import pytest

from yiwang.cases.models import Case
from yiwang.console.tests.conftest import sign_in
from yiwang.imports.models import ImportRun
from yiwang.imports.tests.conftest import HEADER, IN_A, csv_bytes, hotline_row
from yiwang.web.testing.browser import no_violations, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# No category: the catalogue a data migration loads is gone after an earlier test flushed the database.
ROWS = [hotline_row("BR-1", where=IN_A, category=""), hotline_row("BR-2", where=IN_A, when="昨天下午", category=""),
        hotline_row("BR-3", where=IN_A, text="路灯不亮", category="")]


@pytest.fixture
def acceptor(world, person):
    return person("acceptor", region=world.district_a, username="acceptor_da")


@pytest.fixture
def tasks_immediate():
    """The task queue runs an import as soon as the upload commits (as huey does with HUEY["immediate"])."""
    from huey.contrib.djhuey import HUEY

    before = HUEY.immediate
    HUEY.immediate = True
    yield
    HUEY.immediate = before




def test_staff_upload_a_csv_watch_it_finish_read_the_refused_row_and_download_the_report(
        page, live_server, acceptor, tasks_immediate, tmp_path):
    sign_in(page, live_server, acceptor, "/console/imports/")
    assert page.url.endswith("/console/imports/")
    assert page.locator("nav a[aria-current=page]").inner_text() == "批量导入"
    source = tmp_path / "热线工单.csv"
    source.write_bytes(csv_bytes(ROWS, header=["编号X", *HEADER[1:]]))

    # Choosing the file reads its columns: the number column has an unusual name and is mapped by hand.
    page.set_input_files("#f-file", str(source))
    page.locator("#import-columns .detected").wait_for()
    assert "热线工单.csv：找到 12 列。" in page.locator("#import-columns").inner_text()
    assert "未找到" in page.locator("#e-map-external_ref").inner_text()
    assert page.locator("#f-map-description option:checked").inner_text() == "自动：诉求内容"
    assert "已自动对应 11 / 15 个字段" in page.locator("details.mapping summary").inner_text()
    page.select_option("#f-map-external_ref", "编号X")
    assert page.locator("#e-map-external_ref").inner_text() == ""  # the old complaint goes with the change
    assert page.locator("#f-map-external_ref").get_attribute("aria-invalid") is None
    page.select_option("#f-channel", "department")
    screenshot(page, "console-imports-upload")
    no_violations(page)

    with page.expect_navigation():
        page.click("#import-form button[type=submit]")
    run = ImportRun.objects.get()
    assert page.url.endswith(f"/console/imports/{run.pk}/")
    assert (run.mapping, run.channel, run.crs) == ({"external_ref": "编号X"}, "department", "wgs84")

    bar = page.locator("#run-bar")
    page.wait_for_function("document.querySelector('#run-bar').getAttribute('aria-valuenow') === '100.0'")
    assert bar.get_attribute("role") == "progressbar"
    assert "100" in bar.inner_text()
    assert "已完成：新建案件 2 件，拒收 1 行" in page.locator("[role=status][aria-live=polite]").inner_text()
    refused = page.locator("#run-errors tbody tr")
    assert refused.count() == 1
    assert "BR-2" in refused.inner_text() and "昨天下午" in refused.inner_text()
    assert sorted(Case.objects.values_list("external_ref", "channel")) == [("BR-1", "department"), ("BR-3", "department")]
    screenshot(page, "console-import-run")
    no_violations(page)

    with page.expect_download() as info:
        page.click("text=下载错误报告（CSV）")
    download = info.value
    assert download.suggested_filename == f"import-{run.pk}-errors.csv"
    content = Path(download.path()).read_bytes()
    assert content.startswith(b"\xef\xbb\xbf")  # a BOM, so Excel reads the Chinese
    lines = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert lines[0] == ["行", "原始编号", "列", "编码", "错误信息"]  # in the reader's language
    assert len(lines) == 2 and lines[1][:2] == ["3", "BR-2"] and lines[1][3] == "bad_date"

    with page.expect_navigation():
        page.click("text=全部导入批次")
    row = page.locator("table.runs tbody tr")
    assert row.count() == 1 and "热线工单.csv" in row.inner_text() and "acceptor_da" in row.inner_text()
    assert row.locator("[role=progressbar]").get_attribute("aria-valuenow") == "100.0"
    screenshot(page, "console-imports-list")
    no_violations(page)


def test_a_queued_runs_page_follows_it_live_until_it_ends(page, live_server, acceptor):
    from yiwang.imports.services import import_run_create, import_run_execute

    run = import_run_create(actor=acceptor, file=io.BytesIO(csv_bytes(ROWS)), file_name="排队.csv", enqueue=False)
    sign_in(page, live_server, acceptor, f"/console/imports/{run.pk}/")
    assert page.locator("#run-bar").get_attribute("aria-valuenow") is None  # not counted yet
    assert page.locator("#run-live").get_attribute("hx-trigger") == "every 1s"
    assert page.locator("#run-actions button").inner_text() == "停止导入"
    screenshot(page, "console-import-queued")

    import_run_execute(run=run, batch_size=1)  # the worker, while the page polls
    page.wait_for_function("document.querySelector('#run-bar').getAttribute('aria-valuenow') === '100.0'")
    page.locator("#run-errors tbody tr").wait_for()
    assert "BR-2" in page.locator("#run-errors").inner_text()
    assert "已完成" in page.locator("#run-status-text").inner_text()
    assert page.locator("#run-live").get_attribute("hx-trigger") is None  # the polling ended
    assert page.locator("#run-actions button").count() == 0  # nothing to stop or resume


def test_a_big_csv_sends_only_its_head_to_read_the_columns(page, live_server, acceptor, tmp_path, monkeypatch):
    from yiwang.console import imports_views

    sizes = []
    read_columns = imports_views.read_columns
    monkeypatch.setattr(imports_views, "read_columns", lambda form, upload: (sizes.append(upload.size),
                                                                              read_columns(form, upload)))
    rows = [hotline_row(f"BIG-{n}", where=IN_A, text="小区门口垃圾堆积" * 4, category="") for n in range(12000)]
    source = tmp_path / "大文件.csv"
    source.write_bytes(csv_bytes(rows))
    assert source.stat().st_size > 2 << 20
    sign_in(page, live_server, acceptor, "/console/imports/")
    page.set_input_files("#f-file", str(source))
    page.locator("#import-columns .detected").wait_for()
    assert sizes == [1 << 20]  # the server saw the first megabyte only
    assert "大文件.csv：找到 12 列。" in page.locator("#import-columns").inner_text()
    assert page.locator("#e-file").inner_text() == ""
    assert not ImportRun.objects.exists()  # reading the columns imports nothing


def test_a_refused_upload_comes_back_with_the_choices_kept_and_the_focus_on_the_problem(page, live_server, acceptor,
                                                                                       tmp_path):
    source = tmp_path / "缺列.csv"
    source.write_bytes(csv_bytes([["x", "2026-11-20 10:00", "垃圾"]], header=["编号X", "来电时间", "诉求内容"]))
    sign_in(page, live_server, acceptor, "/console/imports/")
    page.select_option("#f-channel", "department")
    page.set_input_files("#f-file", str(source))
    page.locator("#import-columns .detected").wait_for()
    with page.expect_navigation():
        page.click("#import-form button[type=submit]")
    assert "未找到“原始编号”对应的列" in page.locator("#e-map-external_ref").inner_text()
    assert "请重新选择文件" in page.locator("#e-file").inner_text()
    assert page.locator("#f-channel").input_value() == "department"
    assert page.evaluate("document.activeElement.id") == "f-file"
    no_violations(page)
    assert not ImportRun.objects.exists()
