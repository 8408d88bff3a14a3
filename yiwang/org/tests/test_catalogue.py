"""The category catalogue as versioned data: loading the national file, time limits and their fallbacks, one
catalogue per jurisdiction, clone → edit → activate, refusals that change nothing, and the API and admin doors."""

import io
import re
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import translation

from yiwang.core.errors import NotFound, PermissionRefused, ValidationFailed
from yiwang.core.models import AuditEntry
from yiwang.org import services
from yiwang.org.catalogue_csv import FIXTURE
from yiwang.org.choices import CatalogueStatus, LimitStep, Urgency
from yiwang.org.models import Catalogue, Category, CategoryTimeLimit
from yiwang.org.policies import DEFAULT_LIMITS
from yiwang.org.selectors import catalogue_for, category_by_code, category_limit, responsible_unit_for
from yiwang.workcal.choices import LimitUnit

pytestmark = pytest.mark.django_db

HOURS, WORKING_HOURS, WORKING_DAYS = LimitUnit.NATURAL_HOURS, LimitUnit.WORKING_HOURS, LimitUnit.WORKING_DAYS
HEADER = "code,parent,kind,name_zh,name_en,handling_limit,limit_unit,note\n"


def fixture_rows():
    lines = FIXTURE.read_text(encoding="utf-8").splitlines()[1:]
    return [line for line in lines if line.strip()]


@pytest.fixture
def national(db):
    """The project fixture loaded as a new national version (the migration's version 1 is retired)."""
    return services.catalogue_load_csv(actor=None, path_or_file=FIXTURE)


def draft_with(catalogue=None, region=None):
    """A small draft: major X01 with subcategory X0101."""
    draft = catalogue or services.catalogue_create(actor=None, region=region, name="测试目录")
    major = services.category_save(actor=None, catalogue=draft, code="X01", name="测试大类")
    sub = services.category_save(actor=None, catalogue=draft, code="X0101", name="测试小类", parent=major)
    return draft, major, sub


def journal(action):
    return AuditEntry.objects.filter(action=action)


def counts():
    return (Catalogue.objects.count(), Category.objects.count(), CategoryTimeLimit.objects.count(),
            AuditEntry.objects.count())


# --- Loading --------------------------------------------------------------------------------------------------


def test_migration_installed_the_national_catalogue():
    first = Catalogue.objects.get(region=None, version=1)
    assert first.categories.count() == len(fixture_rows())
    assert first.categories.get(code="E0102").time_limits.count() == 3


def test_the_fixture_loads_with_conditions_urgency_questions_and_limits(national):
    previous = Catalogue.objects.get(region=None, version=1)
    assert national.status == CatalogueStatus.ACTIVE and national.version == 2
    assert previous.status == CatalogueStatus.RETIRED
    rows = fixture_rows()
    subcategories = [row for row in rows if row.split(",")[1]]
    assert national.categories.count() == len(rows) == 106
    assert national.categories.filter(parent__isnull=False).count() == len(subcategories) == 92

    garbage = national.categories.get(code="E0102")
    assert garbage.name == "暴露垃圾" and garbage.parent.code == "E01" and garbage.kind == "event"
    assert category_limit(category=garbage, urgency=Urgency.YELLOW, step=LimitStep.HANDLE) == (Decimal(1), WORKING_DAYS)
    assert category_limit(category=garbage, urgency=Urgency.GREEN, step=LimitStep.HANDLE) == (Decimal(1), WORKING_DAYS)
    assert category_limit(category=garbage, urgency=Urgency.ORANGE, step=LimitStep.HANDLE) == (Decimal("0.5"),
                                                                                              WORKING_DAYS)
    assert category_limit(category=garbage, urgency=Urgency.RED, step=LimitStep.HANDLE) == (Decimal("0.25"),
                                                                                           WORKING_DAYS)
    # "hour" in the file is natural hours; the shares keep the unit.
    cover = national.categories.get(code="C0101")
    assert category_limit(category=cover, urgency=Urgency.RED, step=LimitStep.HANDLE) == (Decimal("0.75"), HOURS)
    # Respond and verify come from the defaults: 15 minutes for red inside the grid, verification in 1–2 h.
    assert category_limit(category=garbage, urgency=Urgency.RED, step=LimitStep.RESPOND) == (Decimal("0.25"), HOURS)
    assert category_limit(category=garbage, urgency=Urgency.YELLOW, step=LimitStep.VERIFY) == (Decimal(2), HOURS)

    assert garbage.default_urgency == Urgency.YELLOW
    assert national.categories.get(code="E0401").default_urgency == Urgency.RED  # 突发事件
    assert set(national.categories.filter(code__startswith="E04").values_list("default_urgency", flat=True)) == {
        Urgency.RED}
    assert garbage.filing_condition and garbage.closing_condition
    assert garbage.filing_condition == national.categories.get(code="E01").filing_condition
    assert all(c.filing_condition and c.closing_condition for c in national.categories.all())
    assert [q["label"] for q in cover.form_questions] == ["井盖状态"]
    assert [v["name"] for v in cover.form_questions[0]["values"]] == ["丢失", "破损", "移位"]
    assert national.categories.get(code="E0505").form_questions[0]["datatype"] == "string"

    limits = CategoryTimeLimit.objects.filter(category__catalogue=national).count()
    assert journal("category.load").count() == 106 and journal("category_limit.load").count() == limits
    assert journal("catalogue.load").filter(object_id=str(national.pk)).exists()
    assert journal("catalogue.activate").filter(object_id=str(national.pk)).exists()
    assert journal("catalogue.retire").filter(object_id=str(previous.pk)).exists()


def test_optional_columns_override_the_defaults(world):
    text = ("code,parent,kind,name_zh,name_en,handling_limit,limit_unit,default_urgency,filing_condition,"
            "respond_limit,respond_unit,form_questions\n"
            "Z01,,social,本地大类,,,,green,大类立案条件,,,\n"
            'Z0101,Z01,social,本地小类,,3,workday,,,1,hour,"[{""code"": ""n"", ""label"": ""人数"", '
            '""datatype"": ""number""}]"\n')
    catalogue = services.catalogue_load_csv(actor=None, path_or_file=io.StringIO(text), region=world.district_a)
    sub = catalogue.categories.get(code="Z0101")
    assert sub.default_urgency == Urgency.GREEN and sub.filing_condition == "大类立案条件"
    assert sub.closing_condition  # from the generic default
    assert sub.form_questions == [{"code": "n", "label": "人数", "label_en": "", "datatype": "number",
                                   "required": False, "order": 1}]
    assert category_limit(category=sub, urgency=Urgency.RED, step=LimitStep.RESPOND) == (Decimal(1), HOURS)
    assert category_limit(category=sub, urgency=Urgency.RED, step=LimitStep.HANDLE) == (Decimal("0.75"),
                                                                                       WORKING_DAYS)


def test_a_bad_file_is_refused_with_row_numbers_and_nothing_is_written(world):
    before = counts()
    text = (HEADER
            + "E01,,event,市容环境,,,,\n"                 # row 2: fine
            + "E0101,E01,animal,私搭乱建,,,,\n"           # row 3: unknown kind
            + "E0102,E01,event,暴露垃圾,,-1,workday,\n"   # row 4: negative limit
            + "E0103,E09,event,积存垃圾,,,,\n"            # row 5: unknown major
            + "E0102,E01,event,重复,,,,\n"                # row 6: duplicate code
            + "E0104,E01,event,道路不洁,,5,fortnight,\n")  # row 7: unknown unit
    with pytest.raises(services.CatalogueImportRejected) as refused:
        services.catalogue_load_csv(actor=None, path_or_file=io.StringIO(text))
    assert refused.value.code == "import_invalid"
    assert [e["row"] for e in refused.value.errors] == [3, 4, 5, 6, 7]
    assert counts() == before

    with pytest.raises(services.CatalogueImportRejected) as refused:
        services.catalogue_load_csv(actor=None, path_or_file=io.StringIO("code,name\nE01,x\n"))
    assert refused.value.errors[0]["row"] == 1 and "kind" in refused.value.errors[0]["reason"]
    with pytest.raises(services.CatalogueImportRejected):  # three levels
        services.catalogue_load_csv(actor=None, path_or_file=io.StringIO(
            HEADER + "A01,,event,甲,,,,\nA0101,A01,event,乙,,,,\nA010101,A0101,event,丙,,,,\n"))
    assert counts() == before


def test_the_command_loads_a_draft_for_a_region_and_reports_bad_rows(world, tmp_path):
    call_command("load_categories", "--region", world.district_a.code, "--no-activate", stdout=io.StringIO())
    draft = Catalogue.objects.get(region=world.district_a)
    assert draft.status == CatalogueStatus.DRAFT and draft.categories.count() == 106
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "E01,,event,,,,,\n", encoding="utf-8")
    with pytest.raises(CommandError, match="第 2 行"), translation.override("zh-hans"):
        call_command("load_categories", str(bad))
    with pytest.raises(CommandError, match="row 2"), translation.override("en"):
        call_command("load_categories", str(bad))


# --- Time limits ----------------------------------------------------------------------------------------------


def test_category_limit_falls_back_in_order(db):
    draft, major, sub = draft_with()

    def limit(urgency, step=LimitStep.HANDLE):
        return category_limit(category=sub, urgency=urgency, step=step)

    assert limit(Urgency.ORANGE) == DEFAULT_LIMITS[LimitStep.HANDLE][Urgency.ORANGE] == (Decimal(1), WORKING_DAYS)
    assert limit(Urgency.RED, LimitStep.RESPOND) == (Decimal("0.25"), HOURS)
    services.category_limit_set(actor=None, category=major, step=LimitStep.HANDLE, urgency="", amount=10,
                                unit=WORKING_DAYS)
    assert limit(Urgency.ORANGE) == (Decimal(10), WORKING_DAYS)  # the major's any-urgency row
    services.category_limit_set(actor=None, category=major, step=LimitStep.HANDLE, urgency=Urgency.ORANGE,
                                amount=8, unit=WORKING_HOURS)
    assert limit(Urgency.ORANGE) == (Decimal(8), WORKING_HOURS)  # the major's row for the urgency
    services.category_limit_set(actor=None, category=sub, step=LimitStep.HANDLE, urgency="", amount="2.5",
                                unit=WORKING_DAYS)
    assert limit(Urgency.ORANGE) == (Decimal("2.5"), WORKING_DAYS)  # the subcategory's any-urgency row
    row = services.category_limit_set(actor=None, category=sub, step=LimitStep.HANDLE, urgency=Urgency.ORANGE,
                                      amount=6, unit=HOURS)
    assert limit(Urgency.ORANGE) == (Decimal(6), HOURS)  # the subcategory's row for the urgency
    assert limit(Urgency.GREEN) == (Decimal("2.5"), WORKING_DAYS)
    assert limit("") == (Decimal("2.5"), WORKING_DAYS)  # empty: the category's default urgency (yellow)
    assert category_limit(category=None, urgency=Urgency.RED, step=LimitStep.VERIFY) == (Decimal(1), HOURS)
    services.category_limit_delete(actor=None, limit=row)
    assert limit(Urgency.ORANGE) == (Decimal("2.5"), WORKING_DAYS)
    assert journal("category_limit.set").count() == 4 and journal("category_limit.delete").count() == 1

    with pytest.raises(ValidationFailed) as refused:
        services.category_limit_set(actor=None, category=sub, step="wait", urgency="", amount=1, unit=HOURS)
    assert refused.value.code == "limit_step"
    for amount in (0, -1, "1.234", "abc"):
        with pytest.raises(ValidationFailed):
            services.category_limit_set(actor=None, category=sub, step=LimitStep.HANDLE, urgency="", amount=amount,
                                        unit=HOURS)


def test_an_active_catalogues_limits_are_read_once(national, django_assert_num_queries):
    garbage = Category.objects.select_related("catalogue").get(catalogue=national, code="E0102")
    category_limit(category=garbage, urgency=Urgency.RED, step=LimitStep.HANDLE)
    with django_assert_num_queries(0):
        for urgency in Urgency.values:
            for step in LimitStep.values:
                category_limit(category=garbage, urgency=urgency, step=step)


# --- Jurisdictions and versions ------------------------------------------------------------------------------


def test_catalogue_for_picks_the_deepest_jurisdiction(world, national):
    district = services.catalogue_clone(actor=None, catalogue=national, region=world.district_a, name="甲区目录")
    assert catalogue_for(path=world.grid_a.path) == national  # a draft does not count
    services.catalogue_activate(actor=None, catalogue=district)
    street = services.catalogue_clone(actor=None, catalogue=national, region=world.street_a)
    assert catalogue_for(path=world.grid_a.path) == district
    assert catalogue_for(path=world.grid_b.path) == national
    assert catalogue_for(path="") == national
    services.catalogue_activate(actor=None, catalogue=street)
    assert catalogue_for(path=world.grid_a.path) == street
    assert catalogue_for(path=world.community_a2.path) == street
    assert catalogue_for(path=world.district_a.path) == district
    assert category_by_code(path=world.grid_a.path, code="E0102").catalogue == street
    assert category_by_code(path=world.grid_b.path, code="E0102").catalogue == national
    assert category_by_code(path=world.grid_b.path, code="NOPE") is None
    # Each jurisdiction numbers its own versions and has one active catalogue.
    assert (district.version, street.version) == (1, 1)
    assert Catalogue.objects.filter(region=None, status=CatalogueStatus.ACTIVE).count() == 1


def test_clone_edit_activate_retires_the_old_version_and_rules_still_route(world, national):
    old_garbage = national.categories.get(code="E0102")
    services.responsibility_set(actor=None, region=world.district_a, category=old_garbage, unit=world.unit_a)
    services.responsibility_set(actor=None, region=world.district_a, category=national.categories.get(code="E05"),
                                unit=world.unit_b)

    draft = services.catalogue_clone(actor=None, catalogue=national)
    assert draft.status == CatalogueStatus.DRAFT and draft.version == national.version + 1
    assert draft.categories.count() == 106
    assert CategoryTimeLimit.objects.filter(category__catalogue=draft).count() == \
        CategoryTimeLimit.objects.filter(category__catalogue=national).count()
    assert journal("category.clone").count() == 106

    garbage = draft.categories.get(code="E0102")
    services.category_save(actor=None, catalogue=draft, code="E0102", name="暴露垃圾（含桶边）",
                           parent=garbage.parent, kind=garbage.kind, filing_condition="新的立案条件")
    services.category_limit_set(actor=None, category=garbage, step=LimitStep.HANDLE, urgency="", amount=2,
                                unit=WORKING_DAYS)
    assert catalogue_for(path=world.grid_a.path) == national  # not yet

    services.catalogue_activate(actor=None, catalogue=draft)
    national.refresh_from_db()
    assert national.status == CatalogueStatus.RETIRED and national.activated_at is not None
    new_garbage = category_by_code(path=world.grid_a.path, code="E0102")
    assert new_garbage.pk == garbage.pk and new_garbage.name == "暴露垃圾（含桶边）"
    assert new_garbage.filing_condition == "新的立案条件"
    assert category_limit(category=new_garbage, urgency=Urgency.YELLOW, step=LimitStep.HANDLE) == (Decimal(2),
                                                                                                  WORKING_DAYS)
    # The old version is untouched, for the cases that use it.
    old_garbage.refresh_from_db()
    assert old_garbage.name == "暴露垃圾"
    assert category_limit(category=old_garbage, urgency=Urgency.YELLOW, step=LimitStep.HANDLE) == (Decimal(1),
                                                                                                  WORKING_DAYS)

    # Rules written for the old version's categories match the new one's by code.
    suggestion = responsible_unit_for(category=new_garbage, path=world.grid_a.path)
    assert suggestion.unit == world.unit_a and suggestion.matched == "category"
    parked = category_by_code(path=world.grid_a.path, code="E0505")
    suggestion = responsible_unit_for(category=parked, path=world.grid_a.path)
    assert suggestion.unit == world.unit_b and suggestion.matched == "major_category"
    # Setting the rule again through the new category replaces the old one instead of adding a twin.
    rule = services.responsibility_set(actor=None, region=world.district_a, category=new_garbage, unit=world.unit_b)
    assert rule.category == new_garbage
    assert responsible_unit_for(category=old_garbage, path=world.grid_a.path).unit == world.unit_b

    with pytest.raises(ValidationFailed) as refused:
        services.catalogue_activate(actor=None, catalogue=draft)
    assert refused.value.code == "catalogue_not_draft"


def test_an_active_catalogue_refuses_edits_and_nothing_changes(national):
    garbage = national.categories.get(code="E0102")
    limit = garbage.time_limits.get(urgency="", step=LimitStep.HANDLE)
    before = counts(), list(Category.objects.filter(pk=garbage.pk).values()), list(
        CategoryTimeLimit.objects.filter(category=garbage).values())
    attempts = [
        lambda: services.category_save(actor=None, catalogue=national, code="E0102", name="改名",
                                       parent=garbage.parent),
        lambda: services.category_save(actor=None, catalogue=national, code="E0199X", name="新增"),
        lambda: services.category_save(actor=None, code="E0102", name="改名", parent=garbage.parent),
        lambda: services.category_save(actor=None, code="Q01", name="没有草稿"),
        lambda: services.category_limit_set(actor=None, category=garbage, step=LimitStep.HANDLE, urgency="",
                                             amount=9, unit=HOURS),
        lambda: services.category_limit_delete(actor=None, limit=limit),
        lambda: services.catalogue_update(actor=None, catalogue=national, name="改名"),
    ]
    for attempt in attempts:
        with pytest.raises(ValidationFailed) as refused:
            attempt()
        assert refused.value.code == "catalogue_not_draft"
    assert (counts(), list(Category.objects.filter(pk=garbage.pk).values()),
            list(CategoryTimeLimit.objects.filter(category=garbage).values())) == before


def test_category_rules(db):
    draft, major, sub = draft_with()
    other, other_major, _ = draft_with(services.catalogue_create(actor=None, name="另一个"))
    with pytest.raises(ValidationFailed) as refused:  # three levels
        services.category_save(actor=None, catalogue=draft, code="X010101", name="三级", parent=sub)
    assert refused.value.code == "category_depth"
    with pytest.raises(ValidationFailed) as refused:  # parent from another catalogue
        services.category_save(actor=None, catalogue=draft, code="X0102", name="错", parent=other_major)
    assert refused.value.code == "category_catalogue"
    with pytest.raises(ValidationFailed) as refused:  # a major with subcategories cannot become one
        services.category_save(actor=None, catalogue=draft, code="X01", name="测试大类", parent=other_major)
    assert refused.value.code in {"category_catalogue", "category_depth"}
    with pytest.raises(ValidationFailed) as refused:
        services.category_save(actor=None, catalogue=draft, code="X0103", name="x", parent=major, default_urgency="pink")
    assert refused.value.code == "urgency_invalid"
    with pytest.raises(ValidationFailed):
        services.catalogue_activate(actor=None, catalogue=services.catalogue_create(actor=None))  # empty
    # The same code lives in two catalogues.
    assert Category.objects.filter(code="X0101").count() == 2
    assert journal("category.save").count() == 4


def test_form_questions_are_checked_and_normalised(db):
    draft, major, _ = draft_with()

    def save(questions):
        return services.category_save(actor=None, catalogue=draft, code="X0102", name="带问题", parent=major,
                                      form_questions=questions)

    plate = {"code": "plate", "label": "车牌号", "datatype": "string", "order": 2}
    state = {"code": "state", "label": "井盖状态", "label_en": "State", "datatype": "singlevaluelist",
             "required": True, "order": 1, "values": [{"key": "missing", "name": "丢失"}]}
    saved = save([plate, state])
    assert [q["code"] for q in saved.form_questions] == ["state", "plate"]
    assert saved.form_questions[1] == {"code": "plate", "label": "车牌号", "label_en": "", "datatype": "string",
                                       "required": False, "order": 2}
    bad = [
        {"not": "a list"},
        ["text"],
        [{**plate, "datatype": "photo"}],
        [{**plate, "values": [{"key": "a", "name": "A"}]}],
        [{**state, "values": []}],
        [{**state, "values": [{"key": "a"}]}],
        [{**state, "values": [{"key": "a", "name": "A"}, {"key": "a", "name": "B"}]}],
        [plate, {**plate, "order": 3}],
        [{**plate, "code": "has space"}],
        [{**plate, "label": ""}],
        [{**plate, "required": "yes"}],
        [{**plate, "order": "1"}],
        [{**plate, "colour": "red"}],
    ]
    for questions in bad:
        with pytest.raises(ValidationFailed) as refused:
            save(questions)
        assert refused.value.code == "form_questions", questions
    assert Category.objects.get(pk=saved.pk).form_questions == saved.form_questions


# --- Who may change catalogues ------------------------------------------------------------------------------


def test_catalogue_writes_need_the_jurisdiction(world, person, national):
    city_admin = person("admin", region=world.city)
    district_admin = person("admin", region=world.district_a)
    sibling_admin = person("admin", region=world.district_b)
    dispatcher = person("dispatcher", region=world.city)

    before = counts()
    for actor in (district_admin, dispatcher):
        with pytest.raises(PermissionRefused):
            services.catalogue_clone(actor=actor, catalogue=national)  # national needs the whole city
    assert counts() == before
    national_draft = services.catalogue_clone(actor=city_admin, catalogue=national)
    district_draft = services.catalogue_clone(actor=district_admin, catalogue=national, region=world.district_a)
    with pytest.raises(PermissionRefused):
        services.catalogue_activate(actor=district_admin, catalogue=national_draft)
    before = counts()
    for actor in (sibling_admin, dispatcher):
        with pytest.raises(PermissionRefused):
            services.catalogue_activate(actor=actor, catalogue=district_draft)
        with pytest.raises(PermissionRefused):
            services.category_save(actor=actor, catalogue=district_draft, code="E0102", name="改名")
        with pytest.raises(PermissionRefused):
            services.category_limit_set(actor=actor, category=district_draft.categories.get(code="E0102"),
                                        step=LimitStep.HANDLE, urgency="", amount=1, unit=HOURS)
    assert counts() == before
    # Nobody without view rights sees a catalogue to act on.
    with pytest.raises(NotFound):
        services.catalogue_activate(actor=person("resident"), catalogue=district_draft)

    garbage = district_draft.categories.get(code="E0102")
    services.category_save(actor=district_admin, catalogue=district_draft, code="E0102", name="暴露垃圾",
                           parent=garbage.parent, default_urgency=Urgency.ORANGE)
    services.catalogue_activate(actor=district_admin, catalogue=district_draft)
    entry = journal("catalogue.activate").get(object_id=str(district_draft.pk))
    assert entry.actor == district_admin and entry.scope_path == world.district_a.path
    services.catalogue_activate(actor=city_admin, catalogue=national_draft)


# --- API -----------------------------------------------------------------------------------------------------


def test_categories_api_lists_a_catalogue_with_limits_and_questions(world, person, api, national):
    district = services.catalogue_clone(actor=None, catalogue=national, region=world.district_a)
    services.category_save(actor=None, catalogue=district, code="Z01", name="甲区扩展")
    services.category_save(actor=None, catalogue=district, code="Z0101", name="甲区小类",
                           parent=district.categories.get(code="Z01"))
    services.catalogue_activate(actor=None, catalogue=district)
    client = api(person("dispatcher", region=world.district_b))

    listed = client.get("/api/v1/org/categories/").json()
    assert len(listed) == 106 and {c["catalogue"] for c in listed} == {national.pk}
    cover = next(c for c in listed if c["code"] == "C0101")
    assert cover["parent_code"] == "C01" and cover["form_questions"][0]["values"][0] == {"key": "missing",
                                                                                        "name": "丢失"}
    garbage = next(c for c in listed if c["code"] == "E0102")
    assert {(t["step"], t["urgency"], t["amount"], t["unit"]) for t in garbage["time_limits"]} == {
        ("handle", "", "1.00", "working_days"), ("handle", "orange", "0.50", "working_days"),
        ("handle", "red", "0.25", "working_days")}
    assert garbage["filing_condition"] and garbage["closing_condition"] and garbage["default_urgency"] == "yellow"

    by_path = client.get(f"/api/v1/org/categories/?path={world.grid_a.path}").json()
    assert len(by_path) == 108 and {c["catalogue"] for c in by_path} == {district.pk}
    assert len(client.get(f"/api/v1/org/categories/?catalogue={district.pk}").json()) == 108
    assert client.get("/api/v1/org/categories/?catalogue=999999").status_code == 404
    assert client.get(f"/api/v1/org/categories/{garbage['id']}/").json()["code"] == "E0102"

    catalogues = client.get("/api/v1/org/catalogues/").json()["results"]
    assert {(c["region_code"], c["version"], c["status"]) for c in catalogues} >= {
        (None, national.version, "active"), (world.district_a.code, 1, "active"), (None, 1, "retired")}
    assert next(c for c in catalogues if c["id"] == district.pk)["category_count"] == 93
    assert len(client.get("/api/v1/org/catalogues/?status=draft").json()["results"]) == 0
    assert api().get("/api/v1/org/categories/").status_code in (401, 403)
    assert api(person("resident")).get("/api/v1/org/categories/").json() == []


def test_clone_and_activate_actions_are_permission_checked(world, person, api, national):
    city_admin = api(person("admin", region=world.city))
    district_admin = api(person("admin", region=world.district_a))
    sibling_admin = api(person("admin", region=world.district_b))
    dispatcher = api(person("dispatcher", region=world.city))
    url = f"/api/v1/org/catalogues/{national.pk}/"

    before = counts()
    assert api().post(url + "clone/").status_code in (401, 403)
    for client in (dispatcher, district_admin):
        response = client.post(url + "clone/", {}, format="json")
        assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"
    response = sibling_admin.post(url + "clone/", {"region": world.district_a.pk}, format="json")
    assert response.status_code == 400  # district A is not visible to district B's admin
    assert counts() == before

    response = district_admin.post(url + "clone/", {"region": world.district_a.pk, "name": "甲区目录"},
                                   format="json")
    assert response.status_code == 201, response.json()
    draft = response.json()
    assert (draft["status"], draft["region_code"], draft["version"], draft["category_count"]) == (
        "draft", world.district_a.code, 1, 92)
    draft_url = f"/api/v1/org/catalogues/{draft['id']}/"

    before = counts()
    for client in (sibling_admin, dispatcher):
        assert client.post(draft_url + "activate/", {}, format="json").status_code == 403
    assert counts() == before
    response = district_admin.post(draft_url + "activate/", {"reason": "甲区启用"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "active"
    assert journal("catalogue.activate").get(object_id=str(draft["id"])).reason == "甲区启用"
    response = district_admin.post(draft_url + "activate/", {}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "catalogue_not_draft"

    response = city_admin.post(url + "clone/", {}, format="json")
    assert response.status_code == 201 and response.json()["region"] is None
    assert city_admin.post(f"/api/v1/org/catalogues/{response.json()['id']}/activate/").status_code == 200
    assert Catalogue.objects.get(pk=national.pk).status == CatalogueStatus.RETIRED


def test_routing_api_finds_the_category_in_the_places_catalogue(world, person, api, national):
    services.responsibility_set(actor=None, region=world.district_a, category=national.categories.get(code="E01"),
                                unit=world.unit_a)
    services.catalogue_activate(actor=None, catalogue=services.catalogue_clone(actor=None, catalogue=national,
                                                                               region=world.district_a))
    client = api(person("dispatcher", region=world.district_a))
    body = client.get(f"/api/v1/org/routing/?category=E0102&grid={world.grid_a.code}").json()
    assert body["unit"]["code"] == world.unit_a.code and body["matched"] == "major_category"
    assert client.get(f"/api/v1/org/routing/?category=NOPE&grid={world.grid_a.code}").status_code == 404


# --- Admin ---------------------------------------------------------------------------------------------------


def test_admin_edits_a_drafts_limits_through_the_services(world, person, national):
    client = Client()
    client.force_login(person("admin", region=world.city, username="city-admin"))
    draft = services.catalogue_clone(actor=None, catalogue=national)
    garbage = draft.categories.get(code="E0102")
    limits = list(garbage.time_limits.order_by("step", "urgency"))
    assert client.get("/admin/org/catalogue/").status_code == 200
    assert client.get(f"/admin/org/catalogue/{draft.pk}/change/").status_code == 200
    assert client.get(f"/admin/org/category/{national.categories.get(code='E0102').pk}/change/").status_code == 200

    form = {
        "name": garbage.name, "name_en": garbage.name_en, "kind": garbage.kind, "parent": garbage.parent_id,
        "default_unit_kind": "", "default_urgency": "orange", "filing_condition": garbage.filing_condition,
        "closing_condition": "新的结案条件", "form_questions": "[]", "is_active": "on",
        "time_limits-TOTAL_FORMS": str(len(limits) + 1), "time_limits-INITIAL_FORMS": str(len(limits)),
        "time_limits-MIN_NUM_FORMS": "0", "time_limits-MAX_NUM_FORMS": "1000",
    }
    for n, limit in enumerate(limits):
        form.update({f"time_limits-{n}-id": limit.pk, f"time_limits-{n}-category": garbage.pk,
                     f"time_limits-{n}-step": limit.step, f"time_limits-{n}-urgency": limit.urgency,
                     f"time_limits-{n}-amount": str(limit.amount), f"time_limits-{n}-unit": limit.unit})
    form["time_limits-0-amount"] = "3"  # handle, any urgency: 1 → 3 working days
    form["time_limits-1-DELETE"] = "on"  # handle, orange
    new = len(limits)
    form.update({f"time_limits-{new}-category": garbage.pk, f"time_limits-{new}-step": "verify",
                 f"time_limits-{new}-urgency": "", f"time_limits-{new}-amount": "1.5",
                 f"time_limits-{new}-unit": "natural_hours"})
    response = client.post(f"/admin/org/category/{garbage.pk}/change/", form)
    assert response.status_code == 302, re.findall(r"errorlist[^>]*>(.*?)</ul>", response.content.decode(), re.S)
    garbage.refresh_from_db()
    assert garbage.default_urgency == "orange" and garbage.closing_condition == "新的结案条件"
    assert {(t.step, t.urgency, t.amount) for t in garbage.time_limits.all()} == {
        ("handle", "", Decimal(3)), ("handle", "red", Decimal("0.25")), ("verify", "", Decimal("1.5"))}
    assert journal("category_limit.set").count() == 2 and journal("category_limit.delete").count() == 1
    assert journal("category.save").filter(object_id=str(garbage.pk)).exists()

    # An active version is shown read-only: a post changes nothing.
    active = national.categories.get(code="E0102")
    form["default_urgency"] = "red"
    response = client.post(f"/admin/org/category/{active.pk}/change/", form)
    assert response.status_code == 403
    assert Category.objects.get(pk=active.pk).default_urgency == "yellow"

    response = client.post("/admin/org/catalogue/", {"action": "activate_selected", "_selected_action": [draft.pk]})
    assert response.status_code == 302
    assert Catalogue.objects.get(pk=draft.pk).status == CatalogueStatus.ACTIVE


def test_admin_catalogue_clone_action_respects_the_jurisdiction(world, person, national):
    client = Client()
    client.force_login(person("admin", region=world.district_a, username="district-admin"))
    before = counts()
    response = client.post("/admin/org/catalogue/", {"action": "clone_selected", "_selected_action": [national.pk]},
                           follow=True)
    assert response.status_code == 200 and "permission_denied" in response.content.decode()
    assert counts() == before
