"""Shared fixtures: a small two-district world built through the real services, and people holding roles
in scopes."""

import datetime as dt
import importlib

import pytest

pytest_plugins = ["yiwang.web.testing.fixtures"]

SQUARE = lambda x0, y0, x1, y1: {  # noqa: E731
    "type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]],
}


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    # Tests render pages without a collectstatic run; production uses the hashed manifest storage.
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    settings.YIWANG_LOCATOR_RECHECK_SECONDS = 0
    # Hashing passwords at production strength would dominate the test run.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # A test's rolled-back calendar overrides must not linger in this process's calendar cache.
    from yiwang.accounts.policies import forget_grants
    from yiwang.workcal import calendar

    calendar.forget()
    forget_grants()  # grants kept in this process from an earlier test's rolled-back people


@pytest.fixture(autouse=True)
def _journal_triggers(request):
    """Django's flush after a transactional test DELETEs every row on SQLite (PostgreSQL TRUNCATEs, which row
    triggers do not see). So on SQLite the append-only triggers step aside for that flush, and every test
    that touches the database starts with them in place."""
    names = set(request.fixturenames)
    marker = request.node.get_closest_marker("django_db")
    transactional = bool({"transactional_db", "live_server"} & names) or bool(
        marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])))
    if not (transactional or marker or "db" in names):
        yield
        return
    from django.db import connection

    journal = importlib.import_module("yiwang.core.migrations.0002_audit_append_only")
    sqlite = connection.vendor == "sqlite"
    if sqlite:
        request.getfixturevalue("transactional_db" if transactional else "db")
        with connection.cursor() as cursor:
            for statement in journal.SQLITE:
                cursor.execute(statement)
    yield
    if sqlite and transactional:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER IF EXISTS core_auditentry_no_update")
            cursor.execute("DROP TRIGGER IF EXISTS core_auditentry_no_delete")


class World:
    """City 219900 with districts A (219901) and B (219902); each has one street, one community and grids laid
    out as unit squares from lon 120 / lat 40."""


@pytest.fixture
def world(db):
    from yiwang.geo import services as geo
    from yiwang.org import services as org
    from yiwang.org.choices import UnitKind

    w = World()
    w.city = geo.region_create(actor=None, code="219900000000", name="测试市", level="city")
    w.district_a = geo.region_create(actor=None, code="219901000000", name="甲区", level="district", parent=w.city)
    w.district_b = geo.region_create(actor=None, code="219902000000", name="乙区", level="district", parent=w.city)
    w.street_a = geo.region_create(actor=None, code="219901001000", name="甲街道", level="street", parent=w.district_a)
    w.street_b = geo.region_create(actor=None, code="219902001000", name="乙街道", level="street", parent=w.district_b)
    w.community_a = geo.region_create(actor=None, code="219901001001", name="甲社区", level="community",
                                      parent=w.street_a)
    w.community_a2 = geo.region_create(actor=None, code="219901001002", name="甲二社区", level="community",
                                       parent=w.street_a)
    w.community_b = geo.region_create(actor=None, code="219902001001", name="乙社区", level="community",
                                      parent=w.street_b)
    w.grid_a = geo.grid_create(actor=None, code="219901001001001", name="甲1网格", community=w.community_a,
                               boundary=SQUARE(120.0, 40.0, 120.01, 40.01), households=300, population=800)
    w.grid_a2 = geo.grid_create(actor=None, code="219901001001002", name="甲2网格", community=w.community_a,
                                boundary=SQUARE(120.01, 40.0, 120.02, 40.01), households=280, population=700)
    w.grid_b = geo.grid_create(actor=None, code="219902001001001", name="乙1网格", community=w.community_b,
                               boundary=SQUARE(120.1, 40.0, 120.11, 40.01), households=50, population=130)
    w.unit_a = org.unit_create(actor=None, code="D-A-CG", name="甲区城管局", kind=UnitKind.DEPARTMENT,
                               region=w.district_a)
    w.unit_b = org.unit_create(actor=None, code="D-B-CG", name="乙区城管局", kind=UnitKind.DEPARTMENT,
                               region=w.district_b)
    return w


@pytest.fixture
def person(db):
    """person("admin", region=…) → a user holding that default role in that scope since 2026-01-01."""
    from yiwang.accounts.models import Role
    from yiwang.accounts.services import role_assign, user_create

    counter = {"n": 0}

    def make(role_code=None, *, region=None, grid=None, unit=None, valid_to=None, username=None):
        counter["n"] += 1
        user = user_create(actor=None, username=username or f"{role_code or 'nobody'}{counter['n']}",
                           real_name="测试", phone="13900000000", password="pw-Secret-123",
                           region=region or (grid.community if grid else None), unit=unit)
        if role_code:
            role_assign(actor=None, user=user, role=Role.objects.get(code=role_code), region=region, grid=grid,
                        unit=unit, valid_from=dt.date(2026, 1, 1), valid_to=valid_to)
        return user

    return make


@pytest.fixture
def api():
    """An API client authenticated as a given user (or anonymous)."""
    from rest_framework.test import APIClient

    def make(user=None):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make
