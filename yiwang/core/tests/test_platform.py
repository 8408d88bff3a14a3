"""Cross-cutting behaviour: the journal is append-only in the database, deploy checks pass with production
settings, errors have one shape, token login works."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, transaction

from yiwang.core.models import AuditEntry

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.django_db
def test_database_refuses_update_and_delete_on_the_journal(world):
    entry = AuditEntry.objects.filter(action="grid.create", object_id=str(world.grid_a.pk)).get()
    assert entry is not None and entry.after["code"] == world.grid_a.code
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(reason="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()
    assert AuditEntry.objects.get(pk=entry.pk).reason == ""


@pytest.mark.django_db
def test_postgresql_runs_without_jit_and_vacuums_the_cases_table_often():
    """JIT compiling cost 10–50 ms per short read at ten million cases (config/settings.py); the open cases'
    indexes answer alone only on vacuumed pages (yiwang/cases/migrations/0005)."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL settings")
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'cases_case'")
        options = cursor.fetchone()[0]
    assert "autovacuum_vacuum_threshold=10000" in options and "autovacuum_vacuum_scale_factor=0" in options


def test_production_settings_pass_check_deploy():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YIWANG_", "DATABASE_URL", "DJANGO_"))}
    env.update(SECRET_KEY="k" * 20 + "Q3!vZ8#pLx0@wR5^mT2&nB7*cY4(hJ9)", YIWANG_SECURE="1",
               ALLOWED_HOSTS="yiwang.example.gov.cn", DJANGO_SETTINGS_MODULE="config.settings")
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_settings_refuse_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "YIWANG_DEBUG")}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
                            text=True)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.mark.django_db
def test_token_login_and_error_shape(world, person, api):
    user = person("admin", region=world.city, username="tokenuser")
    response = api().post("/api/v1/auth/token/", {"username": "tokenuser", "password": "pw-Secret-123"},
                          format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    me = api().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token}").json()
    assert me["username"] == user.username and me["assignments"][0]["role"] == "admin"
    assert me["phone"] == "139****0000"
    wrong = api().post("/api/v1/auth/token/", {"username": "tokenuser", "password": "nope"}, format="json")
    assert wrong.status_code == 400
    assert wrong.json()["error"]["code"] == "login_failed"


@pytest.mark.django_db
def test_errors_are_translated(world, api):
    zh = api().get("/api/v1/geo/grids/1/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    en = api().get("/api/v1/geo/grids/1/", HTTP_ACCEPT_LANGUAGE="en")
    assert zh.json()["error"]["code"] == en.json()["error"]["code"] == "not_authenticated"
    assert en.json()["error"]["message"] != zh.json()["error"]["message"]


@pytest.mark.django_db
def test_openapi_schema_is_served(api, world, person):
    response = api(person("admin", region=world.city)).get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/geo/locate/" in paths and "/api/v1/geo/grids/{id}/" in paths


@pytest.mark.django_db
def test_the_subtree_lookup_is_a_prefix_match(world):
    from yiwang.geo.models import Grid, Region

    assert set(Region.objects.filter(path__under=world.district_a.path).values_list("code", flat=True)) == {
        world.district_a.code, world.street_a.code, world.community_a.code, world.community_a2.code}
    assert set(Grid.objects.filter(path__under=world.street_a.path).values_list("code", flat=True)) == {
        world.grid_a.code, world.grid_a2.code}
    # Only whole paths are accepted, so a prefix cannot stop inside a code or smuggle in a LIKE pattern.
    for not_a_path in ("219900000000/21990", "2199%", ""):
        with pytest.raises(ValueError):
            list(Region.objects.filter(path__under=not_a_path))


def test_every_interface_string_has_a_chinese_translation():
    import re

    po = (ROOT / "yiwang" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")
    assert "#, fuzzy" not in po
    empty = re.findall(r'msgid "(.+)"\nmsgstr ""\n(?!")', po)
    assert empty == []


@pytest.mark.django_db
def test_the_compiled_catalogue_is_in_use():
    from django.utils import translation

    from yiwang.geo.choices import GridKind

    with translation.override("zh-hans"):
        assert str(GridKind.RESIDENTIAL.label) == "综合网格"
    with translation.override("en"):
        assert str(GridKind.RESIDENTIAL.label) == "Residential grid"
