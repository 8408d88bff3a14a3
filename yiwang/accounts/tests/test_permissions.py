"""The permission matrix: anonymous, wrong scope, sibling region, own region, parent region, and moving an
object out of scope — through the services and through HTTP. A denial changes nothing."""

import datetime as dt

import pytest

from yiwang.accounts.policies import restrict
from yiwang.core.errors import NotFound, OutOfScope
from yiwang.core.models import AuditEntry
from yiwang.core.services import snapshot
from yiwang.geo import services as geo
from yiwang.geo.models import Grid

pytestmark = pytest.mark.django_db


def _state(grid):
    return snapshot(Grid.objects.get(pk=grid.pk)), AuditEntry.objects.count()


@pytest.fixture
def actors(world, person):
    return {
        "own_region": person("admin", region=world.district_a),
        "parent_region": person("admin", region=world.city),
        "sibling_region": person("admin", region=world.district_b),
        "wrong_grid": person("grid_worker", grid=world.grid_b),
        "own_grid": person("grid_worker", grid=world.grid_a),
        "own_unit": person("unit_staff", unit=world.unit_a),
        "other_unit": person("unit_staff", unit=world.unit_b),
        "resident": person("resident"),
        "no_role": person(None),
    }


VIEW = {  # who sees grid_a
    "own_region": True, "parent_region": True, "sibling_region": False, "wrong_grid": False, "own_grid": True,
    "own_unit": True,  # a department sees its own district's grids (it has no link to a grid)
    "other_unit": False, "resident": False, "no_role": False,
}
CHANGE = {**dict.fromkeys(VIEW, False), "own_region": True, "parent_region": True, "own_grid": True}


@pytest.mark.parametrize("who", sorted(VIEW))
def test_grid_visibility_matrix_through_selector(world, actors, who):
    visible = restrict(Grid.objects.all(), actor=actors[who], action="view")
    assert visible.filter(pk=world.grid_a.pk).exists() is VIEW[who]


@pytest.mark.parametrize("who", sorted(VIEW))
def test_grid_detail_over_http_answers_404_out_of_scope(world, actors, api, who):
    response = api(actors[who]).get(f"/api/v1/geo/grids/{world.grid_a.pk}/")
    if VIEW[who]:
        assert response.status_code == 200
        assert response.json()["code"] == world.grid_a.code
    else:
        assert response.status_code == 404
        # Exactly like a grid that does not exist.
        missing = api(actors[who]).get("/api/v1/geo/grids/999999/")
        assert missing.status_code == 404
        assert response.json() == missing.json()
        assert response.json()["error"]["code"] == "not_found"


def test_anonymous_cannot_read_or_write(world, api):
    before = _state(world.grid_a)
    assert api().get(f"/api/v1/geo/grids/{world.grid_a.pk}/").status_code in (401, 403)
    response = api().patch(f"/api/v1/geo/grids/{world.grid_a.pk}/", {"households": 1}, format="json")
    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] == "not_authenticated"
    assert _state(world.grid_a) == before


@pytest.mark.parametrize("who", sorted(CHANGE))
def test_grid_change_matrix_over_http(world, actors, api, who):
    before = _state(world.grid_a)
    response = api(actors[who]).patch(f"/api/v1/geo/grids/{world.grid_a.pk}/", {"households": 321}, format="json")
    if CHANGE[who]:
        assert response.status_code == 200, response.json()
        assert Grid.objects.get(pk=world.grid_a.pk).households == 321
        entry = AuditEntry.objects.filter(action="grid.update", object_id=str(world.grid_a.pk)).get()
        assert entry.actor == actors[who]
        assert entry.before == {"households": 300} and entry.after == {"households": 321}
    else:
        # Those who can see the grid are told they may not change it; the rest cannot tell it exists.
        assert response.status_code == (403 if VIEW[who] else 404)
        assert _state(world.grid_a) == before


def test_grid_worker_keeps_base_data_but_not_the_boundary(world, actors, api):
    worker = api(actors["own_grid"])
    assert worker.patch(f"/api/v1/geo/grids/{world.grid_a.pk}/", {"population": 900},
                        format="json").status_code == 200
    before = _state(world.grid_a)
    response = worker.patch(f"/api/v1/geo/grids/{world.grid_a.pk}/", {"name": "改名"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert _state(world.grid_a) == before


def test_moving_a_grid_into_a_sibling_region_is_refused_and_changes_nothing(world, actors):
    before = _state(world.grid_a)
    with pytest.raises(OutOfScope):
        geo.grid_update(actor=actors["own_region"], grid=world.grid_a, community=world.community_b,
                        code="219902001001009")
    assert _state(world.grid_a) == before


def test_moving_out_of_scope_over_http(world, actors, person, api):
    # A district admin who can also *see* the whole city (as a leader) still cannot move a grid out of the
    # district they administer.
    from yiwang.accounts.models import Role
    from yiwang.accounts.services import role_assign

    mover = actors["own_region"]
    role_assign(actor=None, user=mover, role=Role.objects.get(code="leader"), region=world.city,
                valid_from=dt.date(2026, 1, 1))
    before = _state(world.grid_a)
    response = api(mover).patch(f"/api/v1/geo/grids/{world.grid_a.pk}/",
                                {"community": world.community_b.pk, "code": "219902001001009"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "out_of_scope"
    assert _state(world.grid_a) == before
    # Without the wider view the target community is simply unknown to them.
    other_admin = person("admin", region=world.district_a)
    before = _state(world.grid_a)
    response = api(other_admin).patch(f"/api/v1/geo/grids/{world.grid_a.pk}/",
                                      {"community": world.community_b.pk}, format="json")
    assert response.status_code == 400
    assert "community" in response.json()["error"]["fields"]
    assert _state(world.grid_a) == before


def test_moving_within_scope_rewrites_paths(world, actors):
    grid = geo.grid_update(actor=actors["own_region"], grid=world.grid_a, community=world.community_a2,
                           code="219901001002001")
    assert grid.path == world.community_a2.path + "219901001002001/"


def test_service_refuses_out_of_scope_object_as_not_found(world, actors):
    before = _state(world.grid_a)
    with pytest.raises(NotFound):
        geo.grid_update(actor=actors["sibling_region"], grid=world.grid_a, households=1)
    assert _state(world.grid_a) == before


def test_expired_assignment_grants_nothing(world, person):
    expired = person("admin", region=world.city, valid_to=dt.date(2026, 2, 1))
    assert not restrict(Grid.objects.all(), actor=expired, action="view").exists()


def test_permissions_are_data(world, person, api):
    """Taking change_grid_basedata away from the grid-worker role (as an admin would, in the admin site) takes effect."""
    from django.contrib.auth.models import Permission

    from yiwang.accounts.models import Role

    worker = person("grid_worker", grid=world.grid_a)
    assert api(worker).patch(f"/api/v1/geo/grids/{world.grid_a.pk}/", {"population": 801},
                             format="json").status_code == 200
    Role.objects.get(code="grid_worker").permissions.remove(Permission.objects.get(codename="change_grid_basedata"))
    worker = worker.__class__.objects.get(pk=worker.pk)  # a new request loads the user afresh
    response = api(worker).patch(f"/api/v1/geo/grids/{world.grid_a.pk}/", {"population": 802}, format="json")
    assert response.status_code == 403
    assert Grid.objects.get(pk=world.grid_a.pk).population == 801


def test_region_lists_start_from_the_visible_set(world, actors, api):
    codes = {r["code"] for r in api(actors["own_region"]).get("/api/v1/geo/regions/?limit=100").json()["results"]}
    assert codes == {world.district_a.code, world.street_a.code, world.community_a.code, world.community_a2.code}
    codes = {r["code"] for r in api(actors["parent_region"]).get("/api/v1/geo/regions/?limit=100").json()["results"]}
    assert world.district_b.code in codes and world.city.code in codes


def test_unit_scope_sees_only_its_unit(world, actors, api):
    ids = {u["id"] for u in api(actors["own_unit"]).get("/api/v1/org/units/").json()["results"]}
    assert ids == {world.unit_a.pk}


def test_cannot_hand_out_more_than_you_hold(world, actors):
    from yiwang.accounts.models import Role
    from yiwang.accounts.services import role_assign
    from yiwang.core.errors import DomainError

    target = actors["no_role"]
    with pytest.raises(DomainError):
        role_assign(actor=actors["own_region"], user=target, role=Role.objects.get(code="admin"),
                    region=world.district_b, valid_from=dt.date(2026, 1, 1))
    assert not target.assignments.exists()


def test_only_a_whole_city_admin_defines_roles_and_it_is_journaled(world, person):
    from django.contrib.auth.models import Permission

    from yiwang.accounts.models import Role
    from yiwang.accounts.services import role_save
    from yiwang.core.errors import PermissionRefused

    role = Role.objects.get(code="grid_worker")
    wanted = list(role.permissions.exclude(codename="change_grid_basedata"))
    with pytest.raises(PermissionRefused):
        role_save(actor=person("admin", region=world.district_a), role=role, permissions=wanted)
    assert role.permissions.filter(codename="change_grid_basedata").exists()
    role_save(actor=person("admin", region=world.city), role=role, permissions=wanted)
    assert not role.permissions.filter(codename="change_grid_basedata").exists()
    entry = AuditEntry.objects.get(action="role.save")
    removed = Permission.objects.get(codename="change_grid_basedata")
    assert entry.before == {"permissions": sorted(
        f"{p.content_type.app_label}.{p.codename}" for p in [*wanted, removed])}
    assert "geo.change_grid_basedata" not in entry.after["permissions"]
