"""The case loop's cast: the two-district world of the root conftest, a responsibility rule, and one person for
each role in the scope they would hold it in (street A's desk, district A's leader, unit A's staff, grid A1's
worker, a resident)."""

import datetime as dt
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

TZ = ZoneInfo("Asia/Shanghai")
# A Monday morning in a normal working week.
MONDAY = dt.datetime(2026, 11, 23, 9, 0, tzinfo=TZ)
IN_A = {"lat": 40.005, "lon": 120.005}  # inside grid A1
IN_B = {"lat": 40.005, "lon": 120.105}  # inside grid B1


def category(code: str):
    from yiwang.org.catalogue_csv import FIXTURE
    from yiwang.org.selectors import catalogue_for, category_by_code
    from yiwang.org.services import catalogue_load_csv

    if catalogue_for(path="219900000000/") is None:  # a transactional test's flush took the migration's catalogue
        catalogue_load_csv(actor=None, path_or_file=FIXTURE)
    found = category_by_code(path="219900000000/", code=code)
    assert found is not None, f"category {code} not in the national catalogue"
    return found


@pytest.fixture
def cast(world, person):
    from yiwang.org import services as org
    from yiwang.org.choices import UnitKind

    org.responsibility_set(actor=None, region=world.district_a, unit=world.unit_a)
    street_office = org.unit_create(actor=None, code="S-A", name="甲街道办", kind=UnitKind.STREET_OFFICE,
                                    region=world.street_a)
    return SimpleNamespace(
        world=world,
        street_office=street_office,
        acceptor=person("acceptor", region=world.street_a, username="acceptor_a"),
        shift_lead=person("shift_lead", region=world.street_a, username="shift_a"),
        dispatcher=person("dispatcher", region=world.street_a, username="dispatcher_a"),
        district_dispatcher=person("dispatcher", region=world.district_a, username="dispatcher_da"),
        dispatcher_b=person("dispatcher", region=world.street_b, username="dispatcher_b"),
        unit=person("unit_staff", unit=world.unit_a, username="unit_a"),
        unit_b=person("unit_staff", unit=world.unit_b, username="unit_b"),
        grid_worker=person("grid_worker", grid=world.grid_a, username="gw_a1"),
        grid_worker2=person("grid_worker", grid=world.grid_a2, username="gw_a2"),
        community=person("community_staff", region=world.community_a, username="community_a"),
        leader=person("leader", region=world.district_a, username="leader_a"),
        leader_b=person("leader", region=world.district_b, username="leader_b"),
        resident=person("resident", username="resident1"),
        resident2=person("resident", username="resident2"),
        garbage=category("E0102"),  # 暴露垃圾: 1 working day at yellow
    )


@pytest.fixture
def report(cast):
    """report(**overrides) → a new case reported by the resident in grid A1 on Monday morning."""
    from yiwang.cases import services

    def make(actor=None, now=MONDAY, **fields):
        data = {"description": "路边有一堆垃圾", "channel": "app", **IN_A, "category": cast.garbage, **fields}
        return services.case_report(actor=actor or cast.resident, now=now, **data)

    return make


@pytest.fixture
def media(settings, tmp_path):
    """MEDIA_ROOT in a fresh folder, on the local file storage whatever the environment says."""
    settings.MEDIA_ROOT = tmp_path / "media"
    local = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    settings.STORAGES = {**settings.STORAGES, "default": local}
    return settings.MEDIA_ROOT


@pytest.fixture
def after_photo(media):
    """[a small JPEG of the result]: the evidence a fix on the spot (自处置) carries, stored in the test's folder."""
    return fix_photo()


def fix_photo():
    from yiwang.media.processing import Upload
    from yiwang.media.tests import files

    return [Upload(name="after.jpg", content=files.jpeg(size=(64, 48), metadata=False))]


def journal(case):
    from yiwang.core.models import AuditEntry

    return list(AuditEntry.objects.filter(object_type="cases.case", object_id=str(case.pk)).order_by("id")
                .values_list("action", flat=True))
