"""API keys per client system: issued through the service (admin or seed), stored as a hash, shown once, scoped
to a jurisdiction, acting through a service user that cannot sign in."""

import datetime as dt
import hashlib
import re

import pytest

from yiwang.accounts.models import RoleAssignment
from yiwang.core.errors import PermissionRefused, ValidationFailed
from yiwang.core.models import AuditEntry
from yiwang.open311 import services
from yiwang.open311.models import ApiClient
from yiwang.open311.tests.conftest import MONDAY


def test_a_key_is_stored_as_its_hash_and_its_client_acts_through_a_service_user(o311):
    client, key = o311.client, o311.key
    assert len(key) >= 40 and client.key_prefix == key[:8]
    assert client.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str(ApiClient.objects.filter(pk=client.pk).values().get())
    user = client.service_user
    assert user.username == f"open311-{key[:8]}" and user.real_name == "市民通"
    assert not user.has_usable_password() and not user.is_staff
    (assignment,) = RoleAssignment.objects.filter(user=user)
    assert assignment.role.code == "api_client" and assignment.region == o311.world.district_a
    entry = AuditEntry.objects.get(action="open311.client_issue")
    assert entry.actor == o311.admin and entry.scope_path == o311.world.district_a.path
    assert key not in str(entry.after) and client.key_hash not in str(entry.after)
    assert services.api_client_authenticate(key=key) == client
    assert services.api_client_authenticate(key=key + "x") is None
    assert services.api_client_authenticate(key="") is None


def test_use_is_stamped_at_most_once_a_minute(o311):
    services.api_client_authenticate(key=o311.key, now=MONDAY)
    o311.client.refresh_from_db()
    assert o311.client.last_used_at == MONDAY
    services.api_client_authenticate(key=o311.key, now=MONDAY + dt.timedelta(seconds=30))
    o311.client.refresh_from_db()
    assert o311.client.last_used_at == MONDAY
    services.api_client_authenticate(key=o311.key, now=MONDAY + dt.timedelta(minutes=2))
    o311.client.refresh_from_db()
    assert o311.client.last_used_at == MONDAY + dt.timedelta(minutes=2)


def test_only_an_administrator_over_the_region_issues_keys(o311, person):
    district_admin = person("admin", region=o311.world.district_b)
    with pytest.raises(PermissionRefused):
        services.api_client_issue(actor=district_admin, name="乙区App", region=o311.world.district_a)
    with pytest.raises(PermissionRefused):
        services.api_client_issue(actor=o311.cast.dispatcher, name="派遣", region=o311.world.street_a)
    client, _key = services.api_client_issue(actor=district_admin, name="乙区App", region=o311.world.district_b)
    assert client.region == o311.world.district_b
    assert ApiClient.objects.count() == 2
    with pytest.raises(ValidationFailed):
        services.api_client_issue(actor=o311.admin, name=" ", region=o311.world.district_a)
    with pytest.raises(ValidationFailed):  # a chosen key must be long enough and start unlike any other
        services.api_client_issue(actor=o311.admin, name="x", region=o311.world.district_a, key="short")
    with pytest.raises(ValidationFailed):
        services.api_client_issue(actor=o311.admin, name="x", region=o311.world.district_a,
                                  key=o311.key[:8] + "-something-else")


def test_update_changes_name_contact_and_switch_only(o311):
    client = services.api_client_update(actor=o311.admin, client=o311.client, name="市民通2", contact="new")
    client.service_user.refresh_from_db()
    assert client.name == "市民通2" and client.service_user.real_name == "市民通2"
    with pytest.raises(ValidationFailed):
        services.api_client_update(actor=o311.admin, client=o311.client, region=o311.world.district_b)
    assert AuditEntry.objects.filter(action="open311.client_update").count() == 1


def test_the_admin_shows_the_key_once(o311, cast):
    from django.test import Client

    from yiwang.accounts.services import user_password_set

    user_password_set(actor=None, user=o311.admin, password="pw-Secret-123")
    browser = Client()
    assert browser.login(username="city_admin", password="pw-Secret-123")
    assert browser.get("/admin/open311/apiclient/").status_code == 200
    response = browser.post("/admin/open311/apiclient/add/", {
        "name": "12345 热线系统", "region": cast.world.street_a.pk, "contact": "rx@example.cn"})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    client = ApiClient.objects.get(name="12345 热线系统")
    key = re.search(rb'id="open311-key"[^>]*>([^<]+)<', response.content)[1].decode()
    assert services.api_client_authenticate(key=key) == client
    page = browser.get(f"/admin/open311/apiclient/{client.pk}/change/")
    assert page.status_code == 200 and key.encode() not in page.content
    assert key.encode() not in browser.get("/admin/open311/apiclient/").content
    # switched off in the admin: the key stops working
    browser.post(f"/admin/open311/apiclient/{client.pk}/change/",
                 {"name": client.name, "contact": client.contact})  # is_active unticked
    assert services.api_client_authenticate(key=key) is None


def test_the_demo_key(db):
    from yiwang.demo.services import CITY_CODE, DEMO_OPEN311_KEY, demo_open311_client
    from yiwang.geo import services as geo

    assert demo_open311_client() is None  # no demo city yet
    city = geo.region_create(actor=None, code=CITY_CODE, name="盘锦市", level="city")
    client = demo_open311_client()
    assert client.region == city and services.api_client_authenticate(key=DEMO_OPEN311_KEY) == client
    assert demo_open311_client() == client and ApiClient.objects.count() == 1
