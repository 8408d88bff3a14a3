"""People, role assignments, grid staff, the matrix and joint committees over HTTP — each scoped like the rest."""

import pytest

from yiwang.accounts.models import RoleAssignment, User
from yiwang.core.models import AuditEntry
from yiwang.geo.models import GridStaff
from yiwang.org.models import CommitteeMembership, ResponsibilityRule

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_a(world, person):
    return person("admin", region=world.district_a)


def test_user_list_is_scoped_and_phones_are_masked(world, person, api, admin_a):
    person(None, region=world.community_a, username="inside")
    person(None, region=world.community_b, username="outside")
    body = api(admin_a).get("/api/v1/accounts/users/?limit=100").json()
    names = {u["username"] for u in body["results"]}
    assert "inside" in names and "outside" not in names
    assert all("****" in u["phone"] for u in body["results"] if u["phone"])


def test_creating_people_and_giving_them_roles_in_scope(world, api, admin_a):
    client = api(admin_a)
    response = client.post("/api/v1/accounts/users/", {"username": "wg-new", "real_name": "新网格员",
                                                       "phone": "13912345678", "region": world.community_a.pk},
                           format="json")
    assert response.status_code == 201, response.json()
    user_id = response.json()["id"]
    assert AuditEntry.objects.get(action="user.create", object_id=str(user_id)).after["phone"] == "139****5678"
    # A region outside their scope is simply unknown to them.
    response = client.post("/api/v1/accounts/users/", {"username": "wg-b", "region": world.community_b.pk},
                           format="json")
    assert response.status_code == 400 and "region" in response.json()["error"]["fields"]
    assert not User.objects.filter(username="wg-b").exists()

    grant = {"user": user_id, "role": "grid_worker", "grid": world.grid_a.pk, "valid_from": "2026-11-01"}
    response = client.post("/api/v1/accounts/assignments/", grant, format="json")
    assert response.status_code == 201, response.json()
    assignment_id = response.json()["id"]
    response = client.post("/api/v1/accounts/assignments/", {**grant, "grid": world.grid_b.pk}, format="json")
    assert response.status_code == 400
    response = client.post(f"/api/v1/accounts/assignments/{assignment_id}/end/", {"valid_to": "2026-11-30"},
                           format="json")
    assert response.status_code == 200 and response.json()["valid_to"] == "2026-11-30"
    assert RoleAssignment.objects.get(pk=assignment_id).valid_to.isoformat() == "2026-11-30"
    response = client.post(f"/api/v1/accounts/assignments/{assignment_id}/end/", {"valid_to": "2026-10-01"},
                           format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "date_order"


def test_a_sibling_admin_cannot_end_an_assignment(world, person, api, admin_a):
    worker = person("grid_worker", grid=world.grid_a)
    assignment = worker.assignments.get()
    admin_b = person("admin", region=world.district_b)
    response = api(admin_b).post(f"/api/v1/accounts/assignments/{assignment.pk}/end/", {"valid_to": "2026-12-01"},
                                 format="json")
    assert response.status_code == 404
    assert RoleAssignment.objects.get(pk=assignment.pk).valid_to is None


def test_grid_staff_over_http(world, person, api, admin_a):
    worker = person(None, region=world.community_a, username="wg-staff")
    client = api(admin_a)
    response = client.post("/api/v1/geo/grid-staff/", {"grid": world.grid_a.pk, "user": worker.pk,
                                                       "duty": "full_time", "valid_from": "2026-11-01"},
                           format="json")
    assert response.status_code == 201, response.json()
    listed = client.get(f"/api/v1/geo/grid-staff/?grid={world.grid_a.code}").json()["results"]
    assert [s["user"] for s in listed] == [worker.pk]
    response = client.post("/api/v1/geo/grid-staff/", {"grid": world.grid_a.pk, "user": worker.pk,
                                                       "duty": "functional", "valid_from": "2026-11-01"},
                           format="json")
    assert response.status_code == 400 and "unit" in response.json()["error"]["fields"]
    assert GridStaff.objects.count() == 1


def test_matrix_and_committees_over_http(world, person, api, admin_a):
    client = api(admin_a)
    response = client.post("/api/v1/org/rules/", {"region": world.street_a.pk, "unit": world.unit_a.pk},
                           format="json")
    assert response.status_code == 201, response.json()
    rule_id = response.json()["id"]
    assert client.post("/api/v1/org/rules/", {"region": world.street_b.pk, "unit": world.unit_a.pk},
                       format="json").status_code == 400
    admin_b = person("admin", region=world.district_b)
    assert api(admin_b).delete(f"/api/v1/org/rules/{rule_id}/").status_code == 404
    assert client.delete(f"/api/v1/org/rules/{rule_id}/").status_code == 204
    assert not ResponsibilityRule.objects.exists()

    staff = person("community_staff", region=world.community_a)
    response = api(staff).post("/api/v1/org/memberships/", {"host": world.community_a.pk, "unit": world.unit_a.pk,
                                                            "valid_from": "2026-01-01"}, format="json")
    assert response.status_code == 201 and response.json()["committee_kind"] == "community_joint"
    response = api(staff).post("/api/v1/org/memberships/", {"host": world.community_b.pk, "unit": world.unit_a.pk,
                                                            "valid_from": "2026-01-01"}, format="json")
    assert response.status_code == 400
    assert CommitteeMembership.objects.count() == 1
