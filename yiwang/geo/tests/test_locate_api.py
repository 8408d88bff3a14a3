"""GET /api/v1/geo/locate and the index staying in step with the grids, in every process."""

import pytest

from conftest import SQUARE
from yiwang.geo import locator_state, services
from yiwang.geo.models import GeoVersion, Grid

pytestmark = pytest.mark.django_db


def test_locate_names_grid_community_street_district(world, api):
    body = api().get("/api/v1/geo/locate?lat=40.005&lon=120.005").json()
    assert body["grid"]["code"] == world.grid_a.code
    assert body["community"]["name"] == "甲社区"
    assert body["street"]["code"] == world.street_a.code
    assert body["district"]["code"] == world.district_a.code
    assert body["city"]["code"] == world.city.code


def test_shared_edge_goes_to_the_smaller_code(world, api):
    body = api().get("/api/v1/geo/locate?lat=40.005&lon=120.01").json()
    assert body["grid"]["code"] == world.grid_a.code  # 219901001001001 < …002


def test_outside_every_grid_is_none(world, api):
    response = api().get("/api/v1/geo/locate?lat=40.5&lon=120.5")
    assert response.status_code == 200
    assert response.json()["grid"] is None and response.json()["district"] is None


@pytest.mark.parametrize("query", ["lat=95&lon=120", "lat=abc&lon=120", "lon=120", "lat=nan&lon=120"])
def test_bad_coordinates_are_a_clear_400(world, api, query):
    response = api().get(f"/api/v1/geo/locate?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert response.json()["error"]["fields"]


def test_index_follows_grid_changes_in_this_process(world, api):
    assert api().get("/api/v1/geo/locate?lat=40.005&lon=120.205").json()["grid"] is None
    services.grid_create(actor=None, code="219902001001002", name="乙2网格", community=world.community_b,
                         boundary=SQUARE(120.2, 40.0, 120.21, 40.01))
    assert api().get("/api/v1/geo/locate?lat=40.005&lon=120.205").json()["grid"]["code"] == "219902001001002"
    services.grid_update(actor=None, grid=world.grid_b, is_active=False)
    assert api().get("/api/v1/geo/locate?lat=40.005&lon=120.105").json()["grid"] is None


def test_index_follows_changes_made_by_another_process(world, settings):
    settings.YIWANG_LOCATOR_RECHECK_SECONDS = 3600
    state = locator_state.current()
    assert state.index.locate(120.105, 40.005) == world.grid_b.pk
    state.dirty = False  # as if the world's grids had been committed (the test's transaction never commits)
    # Another process moves grid B's boundary and bumps the version; this process was not told.
    Grid.objects.filter(pk=world.grid_b.pk).update(boundary=SQUARE(120.3, 40.0, 120.31, 40.01))
    GeoVersion.objects.filter(pk=1).update(version=GeoVersion.objects.get(pk=1).version + 1)
    assert locator_state.current().index.locate(120.105, 40.005) == world.grid_b.pk  # not rechecked yet
    settings.YIWANG_LOCATOR_RECHECK_SECONDS = 0
    assert locator_state.current().index.locate(120.105, 40.005) is None
    assert locator_state.current().index.locate(120.305, 40.005) == world.grid_b.pk


def test_renumbering_a_street_under_another_district_moves_its_whole_subtree(world, person):
    from yiwang.accounts.policies import restrict
    from yiwang.core.errors import ValidationFailed
    from yiwang.org.models import Unit

    staff = person("community_staff", region=world.community_a)
    with pytest.raises(ValidationFailed):  # the code must follow the new parent
        services.region_update(actor=None, region=world.street_a, parent=world.district_b)
    services.region_update(actor=None, region=world.street_a, parent=world.district_b, code="219902002000")
    grid = Grid.objects.get(pk=world.grid_a.pk)
    assert grid.path == "219900000000/219902000000/219902002000/219901001001/219901001001001/"
    staff.refresh_from_db()
    assert staff.region_path.startswith("219900000000/219902000000/219902002000/")
    admin_b = person("admin", region=world.district_b)
    assert restrict(Grid.objects.all(), actor=admin_b, action="view").filter(pk=grid.pk).exists()
    assert Unit.objects.get(pk=world.unit_a.pk).region_path == world.district_a.path  # not under the street


@pytest.mark.django_db(transaction=True)
def test_index_follows_a_change_committed_by_another_process(world, settings):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    from django.db import connection

    from yiwang.geo.selectors import grid_locate

    if connection.vendor != "postgresql":
        pytest.skip("needs a database that two processes share (runs on PostgreSQL)")
    settings.YIWANG_LOCATOR_RECHECK_SECONDS = 0
    assert grid_locate(lat=40.005, lon=120.105).grid.code == world.grid_b.code
    db = connection.settings_dict
    env = {**os.environ, "SECRET_KEY": "x" * 50,
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"}
    moved = json.dumps(SQUARE(120.3, 40.0, 120.31, 40.01))
    script = ("from yiwang.geo.models import Grid; from yiwang.geo.services import grid_update; "
              f"grid_update(actor=None, grid=Grid.objects.get(code='{world.grid_b.code}'), boundary={moved})")
    root = Path(__file__).resolve().parents[3]
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=root, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert grid_locate(lat=40.005, lon=120.105) is None
    assert grid_locate(lat=40.005, lon=120.305).grid.code == world.grid_b.code


def test_a_grid_may_not_overlap_another(world):
    from yiwang.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as caught:
        services.grid_create(actor=None, code="219901001001003", name="重叠", community=world.community_a,
                             boundary=SQUARE(120.015, 40.0, 120.03, 40.01))
    assert caught.value.code == "grid_overlap" and "boundary" in caught.value.fields
    with pytest.raises(ValidationFailed):
        services.grid_update(actor=None, grid=world.grid_b, boundary=SQUARE(120.0, 40.0, 120.005, 40.005))
    assert Grid.objects.get(pk=world.grid_b.pk).min_lon == 120.1
    # Touching is fine.
    services.grid_create(actor=None, code="219901001001003", name="相邻", community=world.community_a,
                         boundary=SQUARE(120.02, 40.0, 120.03, 40.01))


def test_the_located_grid_made_from_memory_is_the_grid_in_the_database(world, django_assert_num_queries):
    """A report's place comes from the locator's memory, not a second read: the same grid and community as the
    database holds, in every field a report and its answer use."""
    from yiwang.geo.selectors import grid_locate, located_grid

    location = grid_locate(lat=40.005, lon=120.015)
    with django_assert_num_queries(0):
        grid = located_grid(location)
        fields = (grid.pk, grid.code, grid.name, grid.path, grid.kind, grid.community_id)
        community = grid.community
        place = (community.pk, community.code, community.name, community.path, community.level)
    stored = Grid.objects.select_related("community").get(pk=world.grid_a2.pk)
    assert fields == (stored.pk, stored.code, stored.name, stored.path, stored.kind, stored.community_id)
    c = stored.community
    assert place == (c.pk, c.code, c.name, c.path, c.level)
    assert grid.households == stored.households  # any other field is read on demand
