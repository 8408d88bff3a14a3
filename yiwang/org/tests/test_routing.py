"""The responsibility matrix and units."""

import datetime as dt

import pytest

from yiwang.core.errors import NotFound, ValidationFailed
from yiwang.org import services
from yiwang.org.choices import UnitKind
from yiwang.org.models import Category
from yiwang.org.selectors import responsible_unit_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def matrix(world):
    # Categories live in a catalogue version; category_save without one edits the national draft.
    draft = services.catalogue_create(actor=None, name="测试目录")
    major = services.category_save(actor=None, code="C01", name="公用设施")
    manhole = services.category_save(actor=None, code="C0101", name="上水井盖", parent=major)
    other = services.category_save(actor=None, code="E0102", name="暴露垃圾")
    services.catalogue_activate(actor=None, catalogue=draft)
    water = services.unit_create(actor=None, code="U-GS", name="供水公司", kind=UnitKind.UTILITY, region=world.city)
    street_office = services.unit_create(actor=None, code="O-A", name="甲街道办事处", kind=UnitKind.STREET_OFFICE,
                                         region=world.street_a)
    services.responsibility_set(actor=None, region=world.city, category=major, unit=water)
    services.responsibility_set(actor=None, region=world.district_a, category=None, unit=world.unit_a)
    services.responsibility_set(actor=None, region=world.street_a, category=None, unit=street_office)
    return {"major": major, "manhole": manhole, "other": other, "water": water, "office": street_office}


def test_category_rule_beats_a_deeper_fallback(world, matrix):
    suggestion = responsible_unit_for(category=matrix["manhole"], path=world.grid_a.path)
    assert suggestion.unit == matrix["water"] and suggestion.matched == "major_category"


def test_deepest_fallback_wins_among_fallbacks(world, matrix):
    assert responsible_unit_for(category=matrix["other"], path=world.grid_a.path).unit == matrix["office"]
    assert responsible_unit_for(category=matrix["other"], path=world.community_b.path) is None


def test_subcategory_rule_beats_major(world, matrix):
    services.responsibility_set(actor=None, region=world.city, category=matrix["manhole"], unit=world.unit_b)
    suggestion = responsible_unit_for(category=matrix["manhole"], path=world.grid_a.path)
    assert suggestion.unit == world.unit_b and suggestion.matched == "category"


def test_routing_api_is_scoped(world, matrix, person, api):
    dispatcher = person("dispatcher", region=world.district_a)
    response = api(dispatcher).get(f"/api/v1/org/routing/?category=E0102&grid={world.grid_a.code}")
    assert response.status_code == 200 and response.json()["unit"]["name"] == "甲街道办事处"
    assert response.json()["matched"] == "fallback"
    assert api(dispatcher).get(f"/api/v1/org/routing/?grid={world.grid_b.code}").status_code == 404


def test_joint_committee_membership_follows_host_level(world, person):
    membership = services.committee_member_add(actor=None, host=world.street_a, unit=world.unit_a,
                                               valid_from=dt.date(2026, 1, 1))
    assert membership.committee_kind == "street_joint"
    assert services.committee_member_add(actor=None, host=world.community_a, unit=world.unit_a,
                                         valid_from=dt.date(2026, 1, 1)).committee_kind == "community_joint"
    with pytest.raises(ValidationFailed):
        services.committee_member_add(actor=None, host=world.district_a, unit=world.unit_a,
                                      valid_from=dt.date(2026, 1, 1))
    community_staff = person("community_staff", region=world.community_b)
    with pytest.raises(NotFound):
        services.committee_member_end(actor=community_staff, membership=membership, valid_to=dt.date(2026, 6, 1))


def test_unit_party_level_rules(world):
    categories = Category.objects.count()
    with pytest.raises(ValidationFailed):
        services.unit_create(actor=None, code="P-X", name="某党支部", kind=UnitKind.PARTY_ORGANISATION,
                             region=world.community_a)
    branch = services.unit_create(actor=None, code="P-X", name="某党支部", kind=UnitKind.PARTY_ORGANISATION,
                                  region=world.community_a, party_level="branch")
    assert branch.region_path == world.community_a.path
    assert Category.objects.count() == categories
