"""Grants are kept per process between requests (accounts.policies.grants_for); any change they are made of,
through any door, must show on the very next request — in this process and in every other one."""

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from yiwang.accounts.models import GrantsGeneration, Role, RoleAssignment, User
from yiwang.accounts.policies import grants_for

pytestmark = pytest.mark.django_db


def fresh(user):
    """The user as the next request loads it (a new object: nothing kept on it)."""
    return User.objects.get(pk=user.pk)


def test_the_next_request_reads_one_row_instead_of_the_grants(world, person):
    user = person("acceptor", region=world.district_a)
    assert "cases.accept_case" in grants_for(fresh(user))
    again = fresh(user)
    with CaptureQueriesContext(connection) as queries:
        assert "cases.accept_case" in grants_for(again)
    assert len(queries) == 1 and "grantsgeneration" in queries[0]["sql"]


def test_a_role_losing_a_permission_in_the_admin_shows_at_once(world, person):
    user = person("acceptor", region=world.district_a)
    assert "cases.accept_case" in grants_for(fresh(user))
    role = Role.objects.get(code="acceptor")
    role.permissions.remove(Permission.objects.get(codename="accept_case"))  # what the admin's form does
    assert "cases.accept_case" not in grants_for(fresh(user))


def test_an_assignment_ended_by_another_process_shows_at_once(world, person):
    user = person("acceptor", region=world.district_a)
    assert grants_for(fresh(user))
    # Another process ends the assignment and, in the same transaction, gives grants a new generation; this
    # process's kept grants must not survive that.
    RoleAssignment.objects.filter(user=user).update(valid_to=dt.date(2026, 1, 1))
    GrantsGeneration.objects.filter(pk=1).update(token="another-process")
    assert grants_for(fresh(user), today=dt.date(2026, 6, 1)) == {}


def test_any_save_of_a_region_grid_or_unit_starts_a_new_generation(world):
    for thing in (world.street_a, world.grid_a, world.unit_a):
        token = GrantsGeneration.objects.get(pk=1).token
        thing.save()  # a region moved or renamed may change the paths grants are made of
        assert GrantsGeneration.objects.get(pk=1).token != token
