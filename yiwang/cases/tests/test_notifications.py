"""The inbox through HTTP: only one's own notifications, marking read."""

import pytest

from yiwang.cases.choices import Status
from yiwang.cases.tests.test_loop import walk_to

pytestmark = pytest.mark.django_db


def test_inbox_is_ones_own_and_can_be_marked_read(cast, report, api):
    walk_to(cast, report(), Status.CLOSED)
    mine = api(cast.resident).get("/api/v1/notifications/").json()
    kinds = [n["kind"] for n in mine["results"]]
    assert "case_accepted" in kinds and "case_closed" in kinds
    assert all(n["case_number"] for n in mine["results"])
    assert api(cast.resident2).get("/api/v1/notifications/").json()["count"] == 0
    other_id = api(cast.unit).get("/api/v1/notifications/").json()["results"][0]["id"]
    assert api(cast.resident).get(f"/api/v1/notifications/{other_id}/").status_code == 404
    first = mine["results"][0]["id"]
    assert api(cast.resident).post("/api/v1/notifications/read/", {"ids": [first, other_id]},
                                   format="json").json() == {"marked": 1}
    unread = api(cast.resident).get("/api/v1/notifications/?unread=1").json()["count"]
    assert unread == len(kinds) - 1
    assert api(cast.resident).post("/api/v1/notifications/read/", {}, format="json").json() == {"marked": unread}
    assert api().get("/api/v1/notifications/").status_code == 401
