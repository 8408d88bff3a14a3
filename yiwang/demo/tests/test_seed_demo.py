"""`manage.py seed_demo` builds the Panjin-shaped city with working demo accounts in the right scopes (the
package's `demo` fixture runs it once)."""

import pytest
from django.core.management import CommandError, call_command

from yiwang.accounts.models import User
from yiwang.cases.models import Case
from yiwang.demo.services import DEMO_PASSWORD
from yiwang.geo.models import Grid, GridStaff, Region
from yiwang.geo.selectors import grid_locate
from yiwang.org.models import CommitteeMembership, ResponsibilityRule, Unit


@pytest.mark.django_db
def test_demo_city(demo, api, settings):
    assert "4642" in demo.city_output
    levels = {level: Region.objects.filter(level=level).count() for level in ("city", "district", "street",
                                                                              "community")}
    assert levels == {"city": 1, "district": 4, "street": 48, "community": 538}
    assert Grid.objects.count() == 4642
    kinds = set(Grid.objects.values_list("kind", flat=True))
    assert {"residential", "enterprise", "school", "commercial"} <= kinds
    for kind in ("department", "street_office", "community_committee", "property_company", "party_organisation",
                 "utility", "social_organisation"):
        assert Unit.objects.filter(kind=kind).exists(), kind
    assert CommitteeMembership.objects.filter(committee_kind="street_joint").exists()
    assert ResponsibilityRule.objects.filter(category__isnull=True).count() >= 48
    assert GridStaff.objects.filter(duty="functional").exists()

    tokens = {}
    for username in ("admin", "acceptor", "shiftlead", "dispatcher", "dispatcher2", "unit", "gridworker",
                     "community", "leader", "resident", "enterprise", "partymember"):
        response = api().post("/api/v1/auth/token/", {"username": username, "password": DEMO_PASSWORD},
                              format="json")
        assert response.status_code == 200, username
        tokens[username] = response.json()["token"]

    def get(username, url):
        return api().get(url, HTTP_AUTHORIZATION=f"Token {tokens[username]}")

    gridworker_grid = User.objects.get(username="gridworker").assignments.get().grid
    assert gridworker_grid.path.startswith("211100000000/211103000000/")
    grid_url = f"/api/v1/geo/grids/{gridworker_grid.pk}/"
    for username, status in [("admin", 200), ("leader", 200), ("dispatcher", 200), ("gridworker", 200),
                             ("community", 200), ("dispatcher2", 404), ("resident", 404)]:
        assert get(username, grid_url).status_code == status, username
    assert get("gridworker", "/api/v1/geo/grids/").json()["count"] == 1
    district_grids = Grid.objects.filter(path__under="211100000000/211103000000/").count()
    assert get("dispatcher", "/api/v1/geo/grids/?limit=1").json()["count"] == district_grids
    assert get("admin", "/api/v1/geo/grids/?limit=1").json()["count"] == 4642

    # Every grid's own centre-ish point locates back to it.
    for grid in Grid.objects.order_by("?")[:50]:
        from shapely.geometry import shape

        point = shape(grid.boundary).representative_point()
        assert grid_locate(lat=point.y, lon=point.x).grid.code == grid.code

    # Idempotent: running again refuses to double the city, --if-missing is a no-op once there are cases.
    with pytest.raises(CommandError):
        call_command("seed_demo")
    cases = Case.objects.count()
    call_command("seed_demo", "--if-missing")
    assert Grid.objects.count() == 4642 and Case.objects.count() == cases
