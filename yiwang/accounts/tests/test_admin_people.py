"""People managed in the administration site: creating a person and changing a password go through the
services, stay in scope and are journaled."""

import re

import pytest
from django.test import Client

from yiwang.accounts.models import User
from yiwang.core.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(world, person):
    client = Client()
    client.force_login(person("admin", region=world.district_a, username="qu-admin"))
    return client


def test_adding_a_person_in_the_admin(world, admin_client):
    response = admin_client.post("/admin/accounts/user/add/", {
        "username": "new-worker", "password1": "Yiwang-Strong-9", "password2": "Yiwang-Strong-9",
        "usable_password": "true", "real_name": "新人", "phone": "13700000001", "region": world.community_a.pk,
        "assignments-TOTAL_FORMS": "0", "assignments-INITIAL_FORMS": "0",
    })
    assert response.status_code == 302, re.findall(r"errorlist[^>]*>(.*?)</ul>", response.content.decode(), re.S)
    user = User.objects.get(username="new-worker")
    assert user.check_password("Yiwang-Strong-9") and user.region_path == world.community_a.path
    assert AuditEntry.objects.filter(action="user.create", object_id=str(user.pk)).exists()


def test_changing_a_password_is_journaled_and_scoped(world, person, admin_client):
    inside = person(None, region=world.community_a, username="inside-person")
    outside = person(None, region=world.community_b, username="outside-person")
    response = admin_client.post(f"/admin/accounts/user/{inside.pk}/password/", {
        "password1": "Another-Strong-7", "password2": "Another-Strong-7", "usable_password": "true"})
    assert response.status_code == 302
    inside.refresh_from_db()
    assert inside.check_password("Another-Strong-7")
    entry = AuditEntry.objects.get(action="user.password", object_id=str(inside.pk))
    assert entry.actor.username == "qu-admin" and entry.after == {"password_usable": True}
    assert "Another" not in str(entry.after)

    before = User.objects.get(pk=outside.pk).password
    response = admin_client.post(f"/admin/accounts/user/{outside.pk}/password/", {
        "password1": "Another-Strong-7", "password2": "Another-Strong-7", "usable_password": "true"})
    assert response.status_code in (403, 404)
    assert User.objects.get(pk=outside.pk).password == before
