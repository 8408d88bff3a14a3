"""Import fixtures: the two-district world of the root conftest, an acceptor of district A who imports, and
files built in memory in each format and encoding."""

import csv
import datetime as dt
import io
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from yiwang.core import clock

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=TZ)  # a Monday morning
HEADER = ["工单编号", "来电时间", "诉求内容", "事发地址", "经度", "纬度", "来电人", "联系电话", "分类代码", "紧急程度",
          "办理状态", "办结时间"]
IN_A = ("120.005", "40.005")  # grid A1 (lon, lat)
IN_A2 = ("120.015", "40.005")  # grid A2
IN_B = ("120.105", "40.005")  # grid B1
NOWHERE = ("121.5", "41.5")


def hotline_row(number, *, when="2026-11-20 10:15:00", text="小区门口垃圾堆积", where=IN_A, category="E0102",
                urgency="一般", status="待受理", closed="", name="张三", phone="13812345678", address="幸福路1号"):
    return [number, when, text, address, where[0], where[1], name, phone, category, urgency, status, closed]


def csv_bytes(rows, *, header=HEADER, encoding="utf-8", delimiter=",", above=()) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    for line in above:
        writer.writerow(line)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows, *, header=HEADER, above=()) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("工单")
    for line in above:
        sheet.append(line)
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def crew(world, person):
    return SimpleNamespace(
        world=world,
        acceptor=person("acceptor", region=world.district_a, username="acceptor_da"),
        acceptor_b=person("acceptor", region=world.district_b, username="acceptor_db"),
        shift_lead=person("shift_lead", region=world.street_a, username="shift_sa"),
        admin=person("admin", region=world.city, username="admin_city"),
        dispatcher=person("dispatcher", region=world.district_a, username="dispatcher_da"),
        resident=person("resident", username="resident_1"),
    )


@pytest.fixture
def run_import(db):
    """run_import(actor, content, **options) → the finished (or stopped) run, executed here and now."""
    from yiwang.imports.services import import_run_create, import_run_execute

    def run(actor, content: bytes, *, name="工单.csv", now=NOW, batch_size=2000, max_rows=None, on_batch=None,
            **options):
        with clock.frozen(now):
            created = import_run_create(actor=actor, file=io.BytesIO(content), file_name=name, enqueue=False,
                                        **options)
            return import_run_execute(run=created, batch_size=batch_size, max_rows=max_rows, on_batch=on_batch)

    return run


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def tasks_inline(django_capture_on_commit_callbacks):
    """`with tasks_inline(): …` — the task queue runs what was queued inside, at once, after the commit."""
    from huey.contrib.djhuey import HUEY

    before = HUEY.immediate
    HUEY.immediate = True
    yield lambda: django_capture_on_commit_callbacks(execute=True)
    HUEY.immediate = before


def upload(client, content: bytes, *, name="工单.csv", **data):
    """POST a file to /api/v1/imports/ (multipart), as an import page would."""
    import json

    from django.core.files.uploadedfile import SimpleUploadedFile

    if "mapping" in data and not isinstance(data["mapping"], str):
        data["mapping"] = json.dumps(data["mapping"], ensure_ascii=False)
    return client.post("/api/v1/imports/", {"file": SimpleUploadedFile(name, content), **data}, format="multipart")


def error_report(client, run_id, *, language="en") -> list[dict]:
    response = client.get(f"/api/v1/imports/{run_id}/errors.csv", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, response
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
