"""Open311 tests: the case loop's cast (yiwang/cases/tests/conftest.py), an API key for district A issued by
the city's administrator, and a plain HTTP client that speaks the spec (form-encoded POSTs, suffixes)."""

import datetime as dt
import xml.etree.ElementTree as ET
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from django.test import Client

from yiwang.cases.tests.conftest import IN_A, IN_B, MONDAY, cast, category, report  # noqa: F401

NOW = MONDAY + dt.timedelta(hours=1)
BASE = "/open311/v2/"
W3C = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$"


class Http:
    """GET and POST /open311/v2/… as a 311 app would."""

    def __init__(self, language: str | None = None):
        self.client = Client(headers={"Accept-Language": language} if language else None)

    def get(self, resource: str, **params):
        query = f"?{urlencode(params, doseq=True)}" if params else ""
        return self.client.get(BASE + resource + query)

    def post(self, resource: str, data, *, query: dict | None = None, **headers):
        url = BASE + resource + (f"?{urlencode(query)}" if query else "")
        return self.client.post(url, urlencode(data, doseq=True),
                                content_type="application/x-www-form-urlencoded; charset=utf-8", headers=headers)


def xml(response) -> ET.Element:
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(response.content)


def json_(response):
    assert response["Content-Type"] == "application/json; charset=utf-8"
    return response.json()


def errors(response, status: int, fmt: str = "json") -> list[str]:
    """The spec's error list: checks its shape and returns the descriptions."""
    assert response.status_code == status, response.content
    if fmt == "xml":
        root = xml(response)
        assert root.tag == "errors" and [e.tag for e in root] == ["error"] * len(root) and len(root) >= 1
        assert all([c.tag for c in e] == ["code", "description"] and e.findtext("code") == str(status)
                   for e in root)
        return [e.findtext("description") for e in root]
    body = json_(response)
    assert isinstance(body, list) and body and all(set(e) == {"code", "description"} for e in body)
    assert all(e["code"] == status for e in body)
    return [e["description"] for e in body]


@pytest.fixture(autouse=True)
def _frozen_and_fresh(db):
    """The clock stands on Monday 10:00 in Shanghai; the throttle's counters start empty."""
    from django.core.cache import cache

    from yiwang.core import clock

    cache.clear()
    with clock.frozen(NOW):
        yield


@pytest.fixture
def o311(cast, person):  # noqa: F811 (the fixture imported above)
    from yiwang.open311.services import api_client_issue

    admin = person("admin", region=cast.world.city, username="city_admin")
    client, key = api_client_issue(actor=admin, name="市民通", region=cast.world.district_a, contact="ops@example.cn",
                                   now=MONDAY - dt.timedelta(days=200))
    return SimpleNamespace(cast=cast, world=cast.world, admin=admin, client=client, key=key, http=Http())


@pytest.fixture
def post(o311):
    """post(**fields) → the response to a report posted with district A's key; the garbage service in grid A1."""

    def send(fmt="json", headers=None, **fields):
        data = {"api_key": o311.key, "service_code": "E0102", "lat": IN_A["lat"], "long": IN_A["lon"],
                "description": "路边有一堆垃圾", **fields}
        data = {k: v for k, v in data.items() if v is not None}
        return o311.http.post(f"requests.{fmt}", data, **(headers or {}))

    return send
