"""GeoJSON import: a bad file is rejected whole, with an error naming the feature and the reason."""

import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from conftest import SQUARE
from yiwang.core.errors import OutOfScope
from yiwang.core.models import AuditEntry
from yiwang.geo.models import Grid, Region
from yiwang.geo.transfer import ImportRejected, regions_export, regions_import

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    # Reasons are matched by their English wording; the Chinese ones are checked in test_import_in_chinese.
    with translation.override("en"):
        yield


def feature(level, code, name, parent=None, geometry=None, **props):
    return {"type": "Feature", "geometry": geometry,
            "properties": {"level": level, "code": code, "name": name, "parent": parent, **props}}


def good_features():
    return [
        feature("city", "219800000000", "样例市"),
        feature("district", "219801000000", "东区", "219800000000"),
        feature("street", "219801001000", "东街道", "219801000000"),
        feature("community", "219801001001", "东社区", "219801001000"),
        feature("grid", "219801001001001", "东1网格", "219801001001", SQUARE(121, 41, 121.01, 41.01),
                kind="residential", households=310, population=820),
        feature("grid", "219801001001002", "东2网格", "219801001001", SQUARE(121.01, 41, 121.02, 41.01),
                kind="school", households=0, population=1500),
    ]


def collection(features):
    return {"type": "FeatureCollection", "features": features}


def counts():
    return Region.objects.count(), Grid.objects.count(), AuditEntry.objects.count()


def test_a_good_file_imports_in_any_order():
    report = regions_import(actor=None, data=collection(list(reversed(good_features()))))
    assert report.created == 6
    grid = Grid.objects.get(code="219801001001002")
    assert grid.path == "219800000000/219801000000/219801001000/219801001001/219801001001002/"
    assert (grid.kind, grid.population) == ("school", 1500)
    assert AuditEntry.objects.filter(action="grid.import").count() == 2
    again = regions_import(actor=None, data=collection(good_features()))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 6)


BOWTIE = {"type": "Polygon", "coordinates": [[[121, 41], [121.01, 41.01], [121.01, 41], [121, 41.01], [121, 41]]]}


@pytest.mark.parametrize("mutate, number, words", [
    (lambda f: f[4]["properties"].update(level="block"), 5, "Unknown level"),
    (lambda f: f[3]["properties"].update(code=""), 4, "code is missing"),
    (lambda f: f[5]["properties"].update(code="219801001001001"), 6, "also appears in feature #5"),
    (lambda f: f[2]["properties"].update(parent="219809000000"), 3, "neither in the file nor stored"),
    (lambda f: f[4].update(geometry=BOWTIE), 5, "not a valid polygon"),
    (lambda f: f[4].update(geometry=None), 5, "needs a boundary"),
    (lambda f: f[4].update(geometry={"type": "Point", "coordinates": [121, 41]}), 5, "Polygon or MultiPolygon"),
    (lambda f: f[4].update(geometry=SQUARE(1210000, 41, 1210001, 42)), 5, "WGS-84"),
    (lambda f: f[5].update(geometry=SQUARE(121.005, 41, 121.02, 41.01)), 5, "overlaps grid #6"),
    (lambda f: f[4]["properties"].update(households=-3), 5, "households"),
    (lambda f: f[4]["properties"].update(kind="castle"), 5, "Unknown grid kind"),
    (lambda f: f[2]["properties"].update(code="219802001000"), 3, "does not belong under"),
    (lambda f: f[4]["properties"].update(code="219801001002001"), 5, "followed by 2 or 3 digits"),
    (lambda f: f[3]["properties"].update(name=""), 4, "name is missing"),
    (lambda f: f.__setitem__(1, {"type": "Nope"}), 2, "Not a GeoJSON Feature"),
])
def test_a_bad_feature_rejects_the_whole_file(mutate, number, words):
    features = good_features()
    mutate(features)
    before = counts()
    with pytest.raises(ImportRejected) as caught:
        regions_import(actor=None, data=collection(features))
    assert counts() == before
    first = caught.value.errors[0]
    assert first["feature"] == number
    assert words in first["reason"]


def test_not_a_feature_collection():
    with pytest.raises(ImportRejected) as caught:
        regions_import(actor=None, data={"type": "Feature"})
    assert "FeatureCollection" in caught.value.errors[0]["reason"]


def test_overlap_with_a_stored_grid_is_refused(world):
    features = [feature("grid", "219901001002001", "重叠网格", "219901001002", SQUARE(120.005, 40.0, 120.015, 40.01))]
    before = counts()
    with pytest.raises(ImportRejected) as caught:
        regions_import(actor=None, data=collection(features))
    assert world.grid_a.code in caught.value.errors[0]["reason"]
    assert counts() == before


def test_import_outside_the_actors_scope_changes_nothing(world, person):
    admin_b = person("admin", region=world.district_b)
    features = [feature("grid", "219901001002001", "新网格", "219901001002", SQUARE(120.3, 40.0, 120.31, 40.01))]
    before = counts()
    with pytest.raises(OutOfScope):
        regions_import(actor=admin_b, data=collection(features))
    assert counts() == before


def test_export_round_trips(world):
    exported = regions_export(actor=None)
    assert len(exported["features"]) == Region.objects.count() + Grid.objects.count()
    text = json.dumps(exported, ensure_ascii=False)
    report = regions_import(actor=None, data=json.loads(text))
    assert report.created == 0 and report.updated == 0


def test_command_names_the_feature_and_reason(tmp_path):
    features = good_features()
    features[4]["geometry"] = BOWTIE
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps(collection(features)), encoding="utf-8")
    with pytest.raises(CommandError) as caught:
        call_command("import_regions", str(path))
    assert "#5" in str(caught.value) and "219801001001001" in str(caught.value)
    assert Region.objects.count() == 0
    good = tmp_path / "good.geojson"
    good.write_text(json.dumps(collection(good_features())), encoding="utf-8")
    call_command("import_regions", str(good))
    assert Grid.objects.count() == 2
    out = tmp_path / "out.geojson"
    call_command("export_regions", "--root", "219801000000", "--output", str(out))
    assert len(json.loads(out.read_text(encoding="utf-8"))["features"]) == 5


def test_command_rejects_unreadable_json(tmp_path):
    path = tmp_path / "broken.geojson"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(CommandError, match="Cannot read|无法读取"):
        call_command("import_regions", str(path))


def test_import_in_chinese():
    features = good_features()
    features[4]["properties"]["households"] = -1
    with translation.override("zh-hans"), pytest.raises(ImportRejected) as caught:
        regions_import(actor=None, data=collection(features))
    assert caught.value.errors[0]["reason"] == "户数须为大于或等于 0 的整数。"
