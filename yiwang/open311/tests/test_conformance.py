"""GeoReport v2 conformance, written from the spec (wiki.open311.org/GeoReport_v2 and /Service_Discovery):
every resource in both formats, zero, one and many results, every error the spec lists, and what a 311 app
relies on (element names, bare JSON arrays, W3C dates with an offset, the 90-day window)."""

import datetime as dt
import io
import re

import pytest

from yiwang.cases import services as case_services
from yiwang.cases.choices import Status
from yiwang.cases.models import Case
from yiwang.core import clock
from yiwang.core.models import AuditEntry
from yiwang.open311.models import Open311Request
from yiwang.open311.tests.conftest import IN_B, MONDAY, NOW, W3C, errors, json_, xml
from yiwang.workcal.choices import LimitUnit

REQUEST_FIELDS = ["service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                  "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
                  "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url"]


# --- discovery ----------------------------------------------------------------------------------------------

def test_discovery_in_both_formats(o311):
    body = json_(o311.http.get("discovery.json"))
    assert set(body) == {"changeset", "contact", "key_service", "endpoints"}
    (endpoint,) = body["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://testserver/open311/v2" and endpoint["type"] == "production"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert re.match(W3C, body["changeset"])

    root = xml(o311.http.get("discovery.xml"))
    assert root.tag == "discovery"
    assert [c.tag for c in root] == ["changeset", "contact", "key_service", "endpoints"]
    endpoint = root.find("endpoints/endpoint")
    assert [c.tag for c in endpoint] == ["specification", "url", "changeset", "type", "formats"]
    assert [f.text for f in endpoint.findall("formats/format")] == ["text/xml", "application/json"]


# --- services -----------------------------------------------------------------------------------------------

def test_services_list_every_active_subcategory_with_its_group(o311):
    services = json_(o311.http.get("services.json"))
    assert isinstance(services, list) and len(services) > 50
    by_code = {s["service_code"]: s for s in services}
    assert "E01" not in by_code  # major categories are groups, not services
    garbage = by_code["E0102"]
    assert list(garbage) == ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]
    assert garbage["service_name"] == "暴露垃圾" and garbage["group"] == "市容环境"
    assert garbage["metadata"] is False and garbage["type"] == "realtime"
    assert "Exposed garbage" in garbage["keywords"]
    assert by_code["C0101"]["metadata"] is True  # the manhole covers ask a question

    root = xml(o311.http.get("services.xml"))
    assert root.tag == "services" and {c.tag for c in root} == {"service"} and len(root) == len(services)
    first = root[0]
    assert [c.tag for c in first] == ["service_code", "service_name", "description", "metadata", "type",
                                      "keywords", "group"]
    assert {s.findtext("metadata") for s in root} == {"true", "false"}


def test_services_speak_english_when_asked(o311):
    services = o311.http.client.get("/open311/v2/services.json", headers={"Accept-Language": "en"}).json()
    garbage = next(s for s in services if s["service_code"] == "E0102")
    assert garbage["service_name"] == "Exposed garbage" and garbage["group"] == "City appearance"


def _regional_catalogue(region, rows: str):
    from yiwang.org.services import catalogue_load_csv

    header = "code,parent,kind,name_zh,name_en,handling_limit,limit_unit,note\n"
    return catalogue_load_csv(actor=None, path_or_file=io.StringIO(header + rows), region=region)


def test_a_jurisdiction_with_its_own_catalogue_lists_its_services_one_and_zero(o311):
    _regional_catalogue(o311.world.street_a, "X01,,event,街道事项,Street matters,,,\n"
                                              "X0101,X01,event,共享单车乱停,Bikes parked badly,2,workhour,\n")
    one = json_(o311.http.get("services.json", jurisdiction_id=o311.world.street_a.code))
    assert [s["service_code"] for s in one] == ["X0101"]
    root = xml(o311.http.get("services.xml", jurisdiction_id=o311.world.street_a.code))
    assert [c.tag for c in root] == ["service"] and root.findtext("service/service_code") == "X0101"
    # a catalogue whose only subcategory is switched off offers nothing
    from yiwang.org.models import Category

    Category.objects.filter(code="X0101").update(is_active=False)
    assert json_(o311.http.get("services.json", jurisdiction_id=o311.world.street_a.code)) == []
    empty = xml(o311.http.get("services.xml", jurisdiction_id=o311.world.street_a.code))
    assert empty.tag == "services" and len(empty) == 0
    # and the key's jurisdiction decides when no jurisdiction_id is given
    assert len(json_(o311.http.get("services.json", api_key=o311.key))) > 50


def test_unknown_jurisdiction_is_404(o311):
    assert "9999" in errors(o311.http.get("services.json", jurisdiction_id="9999"), 404)[0]
    errors(o311.http.get("requests.xml", jurisdiction_id="9999"), 404, "xml")


def test_service_definition_carries_every_datatype(o311):
    datatypes = {}
    for code in ["E0505", "C0120", "E0401", "E0112", "S0101"]:
        body = json_(o311.http.get(f"services/{code}.json"))
        assert isinstance(body, dict) and list(body) == ["service_code", "attributes"]
        assert body["service_code"] == code
        for attribute in body["attributes"]:
            assert attribute["variable"] is True
            datatypes[attribute["datatype"]] = attribute
    assert set(datatypes) == {"string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"}
    lamps = json_(o311.http.get("services/C0120.json"))["attributes"]
    assert [(a["code"], a["order"], a["required"]) for a in lamps] == [("lamps_out", 1, True), ("since", 2, False)]
    assert lamps[0]["description"] == "不亮的路灯盏数" and "values" not in lamps[0]
    assert "ISO 8601" in lamps[1]["datatype_description"]
    traffic = json_(o311.http.get("services/E0401.json"))["attributes"][1]
    assert traffic["values"] == [{"key": "yes", "name": "是"}, {"key": "no", "name": "否"}]
    assert json_(o311.http.get("services/E0102.json")) == {"service_code": "E0102", "attributes": []}

    root = xml(o311.http.get("services/E0401.xml"))
    assert root.tag == "service_definition" and [c.tag for c in root] == ["service_code", "attributes"]
    attribute = root.findall("attributes/attribute")[1]
    assert [c.tag for c in attribute] == ["variable", "code", "datatype", "required", "datatype_description",
                                          "order", "description", "values"]
    assert attribute.findtext("variable") == "true" and attribute.findtext("datatype_description") == ""
    assert [(v.findtext("key"), v.findtext("name")) for v in attribute.findall("values/value")] == [
        ("yes", "是"), ("no", "否")]
    empty = xml(o311.http.get("services/E0102.xml"))
    assert empty.find("attributes") is not None and len(empty.find("attributes")) == 0


def test_unknown_service_is_404_in_both_formats(o311):
    assert "NOPE" in errors(o311.http.get("services/NOPE.json"), 404)[0]
    errors(o311.http.get("services/NOPE.xml"), 404, "xml")
    errors(o311.http.get("services/E01.json"), 404)  # a major category is a group, not a service


# --- POST requests --------------------------------------------------------------------------------------------

def test_post_creates_a_case_in_the_loop(o311, post):
    response = post(first_name="三", last_name="张", phone="13812345678", email="zs@example.cn",
                    account_id="acct-77", media_url="https://img.example.cn/p/1.jpg", address_string="兴隆街1号")
    assert response.status_code == 200
    (answer,) = json_(response)
    assert list(answer) == ["service_request_id", "token", "service_notice", "account_id"]
    case = Case.objects.get()
    assert answer["service_request_id"] == case.number and answer["account_id"] == "acct-77"
    # the promise: 暴露垃圾 is handled within 1 working day of filing
    assert re.search(rf"\b1 {LimitUnit.WORKING_DAYS.label}", answer["service_notice"])
    # in the loop like any report: open311 channel, located to its grid, waiting to be accepted, clock running
    assert case.channel == "open311" and case.status == Status.REPORTED
    assert case.grid == o311.world.grid_a and case.region_path == o311.world.grid_a.path
    assert case.category.code == "E0102" and case.respond_due_at is not None and case.reported_at == NOW
    assert case.reporter is None and case.reporter_name == "张三" and case.reporter_phone == "13812345678"
    assert case.address == "兴隆街1号"
    row = Open311Request.objects.get()
    assert row.case == case and row.client == o311.client and row.token == answer["token"]
    assert row.media_url == "https://img.example.cn/p/1.jpg"
    # journaled in the client's name, and the acceptor's desk sees it
    entries = AuditEntry.objects.filter(object_type__in=["cases.case", "open311.open311request"]).order_by("id")
    assert [(e.action, e.actor_id) for e in entries] == [("case.report", o311.client.service_user.pk),
                                                         ("open311.request", o311.client.service_user.pk)]
    assert entries[0].actor_name == f"open311-{o311.key[:8]}"
    assert "zs@example.cn" not in str([e.after for e in entries])
    accepted = case_services.case_accept(actor=o311.cast.acceptor, case=case, now=NOW)
    assert accepted.status == Status.ACCEPTED


def test_post_in_xml_with_the_key_in_the_query(o311, post):
    data = {"service_code": "E0102", "lat": 40.005, "long": 120.005}
    response = o311.http.post("requests.xml", data, query={"api_key": o311.key})
    root = xml(response)
    assert response.status_code == 200 and root.tag == "service_requests"
    (request,) = root
    assert request.tag == "request"
    assert [c.tag for c in request] == ["service_request_id", "token", "service_notice", "account_id"]
    assert request.findtext("account_id") == ""
    case = Case.objects.get(number=request.findtext("service_request_id"))
    assert case.description == "暴露垃圾"  # no description: the service's name says what it is


def test_attributes_become_typed_answers(o311, post):
    response = post(service_code="C0120", **{"attribute[lamps_out]": "3", "attribute[since]": "2026-11-20T19:30:00Z"})
    assert response.status_code == 200, response.content
    assert Case.objects.get().answers == {"lamps_out": 3, "since": "2026-11-21T03:30:00+08:00"}
    response = post(service_code="E0112", **{"attribute[material][]": ["muck", "sand"]})
    assert response.status_code == 200, response.content
    assert Case.objects.latest("id").answers == {"material": ["muck", "sand"]}
    response = post(service_code="E0401", **{"attribute[traffic]": "yes", "attribute[area]": "2.5"})
    assert Case.objects.latest("id").answers == {"traffic": "yes", "area": 2.5}


def test_an_address_alone_places_the_report_at_the_jurisdiction(o311, post):
    response = post(lat=None, long=None, address_string="兴隆台区某小区3号楼")
    assert response.status_code == 200
    case = Case.objects.get()
    assert case.grid is None and case.region == o311.world.district_a and case.address == "兴隆台区某小区3号楼"
    response = post(lat=None, long=None, address_id="ADDR-0042", jurisdiction_id=o311.world.street_a.code)
    case = Case.objects.latest("id")
    assert response.status_code == 200 and case.region == o311.world.street_a
    assert Open311Request.objects.get(case=case).address_id == "ADDR-0042"


def test_missing_service_code_and_location_are_400_each_named(o311, post, settings):
    settings.LANGUAGE_CODE = "en"  # the messages as an English-speaking 311 app reads them
    both = errors(post(service_code="", lat=None, long=None), 400)
    assert len(both) == 2 and "service_code" in both[0] and "lat and long" in both[1]
    assert "service_code" in errors(post(service_code=None), 400)[0]
    assert "location" in errors(post(lat=None, long=None, fmt="xml"), 400, "xml")[0]
    assert "lat and long" in errors(post(long=None), 400)[0]  # lat alone is no location
    errors(post(lat="north", long="120"), 400)
    assert not Case.objects.exists()


def test_bad_attribute_values_are_400_and_write_nothing(o311, post):
    assert "attribute[lamps_out]" in errors(post(service_code="C0120", **{"attribute[lamps_out]": "many"}), 400)[0]
    errors(post(service_code="C0120", **{"attribute[lamps_out]": "2", "attribute[since]": "last week"}), 400)
    errors(post(service_code="C0120"), 400)  # a required attribute left out
    errors(post(service_code="E0401", **{"attribute[traffic]": "maybe"}), 400, "json")  # not an offered key
    errors(post(service_code="E0102", **{"attribute[colour]": "red"}), 400)  # no such attribute
    errors(post(service_code="E0401", **{"attribute[traffic][]": ["yes", "no"]}), 400)  # one value only
    errors(post(media_url="javascript:alert(1)"), 400)
    errors(post(description="长" * 4001), 400)
    assert not Case.objects.exists() and not Open311Request.objects.exists()


def test_key_errors_are_403(o311, post):
    assert "api_key" in errors(post(api_key=None), 403)[0]
    errors(post(api_key=None, fmt="xml"), 403, "xml")
    errors(post(api_key="not-the-right-key-at-all"), 403)
    errors(post(api_key=o311.key[:-1] + ("A" if o311.key[-1] != "A" else "B")), 403)
    assert not Case.objects.exists()


def test_reporting_outside_the_key_jurisdiction_is_403_and_writes_nothing(o311, post, settings):
    settings.LANGUAGE_CODE = "en"  # the messages as an English-speaking 311 app reads them
    assert "jurisdiction" in errors(post(lat=IN_B["lat"], long=IN_B["lon"]), 403)[0]
    errors(post(lat=None, long=None, address_string="乙区", jurisdiction_id=o311.world.district_b.code), 403)
    assert not Case.objects.exists() and not AuditEntry.objects.filter(action="case.report").exists()
    errors(post(lat=10, long=10), 400)  # outside every grid of the platform


def test_unknown_service_on_post_is_404(o311, post):
    errors(post(service_code="Z9999"), 404)
    errors(post(service_code="Z9999", fmt="xml"), 404, "xml")


def test_a_switched_off_key_is_refused(o311, post):
    from yiwang.open311.services import api_client_update

    api_client_update(actor=o311.admin, client=o311.client, is_active=False)
    errors(post(), 403)
    o311.client.service_user.refresh_from_db()
    assert o311.client.service_user.is_active is False
    api_client_update(actor=o311.admin, client=o311.client, is_active=True)
    assert post().status_code == 200


# --- idempotency and throttling -----------------------------------------------------------------------------

def test_a_retry_with_the_same_idempotency_key_gets_the_first_answer(o311, post):
    first = post(headers={"Idempotency-Key": "app-7f3a-0001"})
    again = post(headers={"Idempotency-Key": "app-7f3a-0001"})
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert Case.objects.count() == 1 and Open311Request.objects.count() == 1
    # the same answer in the other format, too
    as_xml = xml(post(fmt="xml", headers={"Idempotency-Key": "app-7f3a-0001"}))
    assert as_xml.findtext("request/service_request_id") == first.json()[0]["service_request_id"]
    # the same key for another report is refused; another key is another report
    errors(post(description="井盖丢失", headers={"Idempotency-Key": "app-7f3a-0001"}), 400)
    assert post(headers={"Idempotency-Key": "app-7f3a-0002"}).status_code == 200
    assert Case.objects.count() == 2


def test_a_failed_post_stores_nothing_so_its_retry_is_tried_afresh(o311, post):
    errors(post(service_code="C0120", headers={"Idempotency-Key": "k-1"}), 400)
    response = post(service_code="C0120", headers={"Idempotency-Key": "k-1"}, **{"attribute[lamps_out]": "1"})
    assert response.status_code == 200 and Case.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_copies_racing_make_one_case(o311):
    import threading

    from django.db import connection, connections

    from yiwang.open311.tests.conftest import Http

    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL")
    barrier, answers = threading.Barrier(4), []

    def send():
        try:
            with clock.frozen(NOW):
                barrier.wait()
                answers.append(Http().post("requests.json", {
                    "api_key": o311.key, "service_code": "E0102", "lat": 40.005, "long": 120.005},
                    **{"Idempotency-Key": "race-1"}))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [200] * 4
    assert len({a.json()[0]["service_request_id"] for a in answers}) == 1
    assert Case.objects.count() == 1


def test_too_many_requests_per_key_are_429(o311, post, settings):
    settings.LANGUAGE_CODE = "en"  # the messages as an English-speaking 311 app reads them
    settings.YIWANG_OPEN311_RATE = "2/min"
    assert post().status_code == 200 and post().status_code == 200
    third = post()
    assert "try again" in errors(third, 429)[0] and 0 < int(third["Retry-After"]) <= 60
    assert Case.objects.count() == 2
    settings.YIWANG_OPEN311_ANON_RATE = "1/min"
    assert o311.http.get("services.json").status_code == 200
    errors(o311.http.get("services.xml"), 429, "xml")
    errors(post(api_key="guessing-a-key-000"), 429)  # wrong keys count against the address


# --- GET requests -------------------------------------------------------------------------------------------

def test_zero_one_and_many_requests_in_both_formats(o311, post, report):
    assert json_(o311.http.get("requests.json")) == []
    empty = xml(o311.http.get("requests.xml"))
    assert empty.tag == "service_requests" and len(empty) == 0

    number = post().json()[0]["service_request_id"]
    (one,) = json_(o311.http.get("requests.json"))
    assert list(one) == REQUEST_FIELDS
    assert one["service_request_id"] == number and one["status"] == "open" and one["service_code"] == "E0102"
    assert one["service_name"] == "暴露垃圾" and one["description"] == "路边有一堆垃圾"
    assert one["lat"] == 40.005 and one["long"] == 120.005 and one["agency_responsible"] is None
    for name in ("requested_datetime", "updated_datetime", "expected_datetime"):
        assert re.match(W3C, one[name]), name
    assert one["requested_datetime"] == "2026-11-23T10:00:00+08:00"
    root = xml(o311.http.get("requests.xml"))
    assert [c.tag for c in root] == ["request"] and [c.tag for c in root[0]] == REQUEST_FIELDS
    assert root.findtext("request/zipcode") == "" and root.findtext("request/status") == "open"

    earlier = report(now=NOW - dt.timedelta(minutes=1))  # a resident's report through the app is one too
    many = json_(o311.http.get("requests.json"))
    assert [r["service_request_id"] for r in many] == [number, earlier.number]  # newest first
    assert len(xml(o311.http.get("requests.xml"))) == 2


def test_the_default_window_is_the_last_90_days_and_dates_filter(o311, report, settings):
    settings.LANGUAGE_CODE = "en"  # the messages as an English-speaking 311 app reads them
    old = report(now=NOW - dt.timedelta(days=100))
    recent = report(now=NOW - dt.timedelta(days=80))
    today = report(now=NOW - dt.timedelta(minutes=5))
    numbers = lambda response: [r["service_request_id"] for r in json_(response)]  # noqa: E731
    assert numbers(o311.http.get("requests.json")) == [today.number, recent.number]
    assert numbers(o311.http.get("requests.json", start_date="2026-08-01T00:00:00Z",
                                 end_date="2026-09-10T00:00:00+08:00")) == [recent.number, old.number]
    # one end alone: the 90 days before or after it
    assert numbers(o311.http.get("requests.json", end_date=(NOW - dt.timedelta(days=90)).isoformat())) \
        == [old.number]
    assert numbers(o311.http.get("requests.json", start_date="2026-11-23")) == [today.number]
    assert "90 days" in errors(o311.http.get("requests.json", start_date="2026-01-01T00:00:00Z",
                                             end_date="2026-06-01T00:00:00Z"), 400)[0]
    errors(o311.http.get("requests.json", start_date="2026-09-01T00:00:00Z", end_date="2026-08-01T00:00:00Z"), 400)
    errors(o311.http.get("requests.xml", start_date="yesterday"), 400, "xml")
    # service_request_id overrides every other argument, the window included
    assert numbers(o311.http.get("requests.json", service_request_id=f"{old.number}, {today.number},NOPE",
                                 status="closed")) == [today.number, old.number]


def test_status_and_service_code_filters(o311, report, post):
    from yiwang.cases.tests.test_loop import walk_to

    cast = o311.cast
    open_case = report()
    closed_case = walk_to(cast, report(), Status.CLOSED, now=NOW)
    rejected = case_services.case_reject(actor=cast.acceptor, case=report(), reason="不属于受理范围", now=NOW)
    lamp = post(service_code="C0120", **{"attribute[lamps_out]": "2"}).json()[0]["service_request_id"]

    def listed(**params):
        return {r["service_request_id"]: r for r in json_(o311.http.get("requests.json", **params))}

    assert set(listed(status="open")) == {open_case.number, lamp}
    closed = listed(status="closed")
    assert set(closed) == {closed_case.number, rejected.number}
    assert closed[rejected.number]["status_notes"].endswith("不属于受理范围")  # the reason given
    assert closed[closed_case.number]["status_notes"] == "已清运"  # the unit's feedback
    assert closed[closed_case.number]["agency_responsible"] == cast.world.unit_a.name
    assert closed[closed_case.number]["expected_datetime"] is None
    assert re.match(W3C, closed[closed_case.number]["updated_datetime"])
    assert len(listed(status="open,closed")) == 4 and len(listed()) == 4
    assert set(listed(service_code="C0120")) == {lamp}
    assert set(listed(service_code="C0120,E0102", status="open")) == {lamp, open_case.number}
    assert listed(service_code="NOPE") == {}
    errors(o311.http.get("requests.json", status="pending"), 400)


def test_a_key_reads_its_jurisdiction_and_jurisdiction_id_narrows(o311, report):
    in_a = report()
    in_b = report(actor=o311.cast.resident2, lat=IN_B["lat"], lon=IN_B["lon"])
    listed = lambda **p: {r["service_request_id"] for r in json_(o311.http.get("requests.json", **p))}  # noqa: E731
    assert listed() == {in_a.number, in_b.number}  # without a key: the public view of the installation
    assert listed(api_key=o311.key) == {in_a.number}
    assert listed(jurisdiction_id=o311.world.district_b.code) == {in_b.number}
    errors(o311.http.get("requests.json", api_key=o311.key, jurisdiction_id=o311.world.district_b.code), 403)
    errors(o311.http.get(f"requests/{in_b.number}.json", api_key=o311.key), 404)
    assert json_(o311.http.get(f"requests/{in_b.number}.json"))[0]["service_request_id"] == in_b.number
    errors(o311.http.get("requests.json", api_key="wrong-key-0000000"), 403)


def test_one_request_is_an_array_of_one_in_both_formats(o311, post):
    number = post().json()[0]["service_request_id"]
    body = json_(o311.http.get(f"requests/{number}.json"))
    assert isinstance(body, list) and len(body) == 1 and list(body[0]) == REQUEST_FIELDS
    root = xml(o311.http.get(f"requests/{number}.xml"))
    assert root.tag == "service_requests" and [c.tag for c in root] == ["request"]
    assert root.findtext("request/service_request_id") == number
    assert "NOPE" in errors(o311.http.get("requests/NOPE.json"), 404)[0]
    errors(o311.http.get("requests/NOPE.xml"), 404, "xml")


def test_token_gives_the_request_id(o311, post):
    answer = post().json()[0]
    body = json_(o311.http.get(f"tokens/{answer['token']}.json"))
    assert body == [{"service_request_id": answer["service_request_id"], "token": answer["token"]}]
    root = xml(o311.http.get(f"tokens/{answer['token']}.xml"))
    assert [c.tag for c in root[0]] == ["service_request_id", "token"]
    errors(o311.http.get("tokens/not-a-token.json"), 404)
    errors(o311.http.get("tokens/not-a-token.xml"), 404, "xml")


def test_merged_and_voided_requests_read_as_closed_with_why(o311, report):
    cast = o311.cast
    parent = report()
    duplicate = case_services.case_merge(actor=cast.acceptor, case=report(), into=parent, now=NOW)
    voided = case_services.case_void(actor=cast.shift_lead, case=report(), reason="测试数据", now=NOW)
    by = {r["service_request_id"]: r for r in json_(o311.http.get("requests.json", status="closed"))}
    assert set(by) == {duplicate.number, voided.number}
    assert parent.number in by[duplicate.number]["status_notes"] and "测试数据" in by[voided.number]["status_notes"]


# --- privacy and formats ------------------------------------------------------------------------------------

def test_reporter_name_phone_and_email_never_appear(o311, post):
    secret = {"first_name": "Xiuying", "last_name": "Zhengsecret", "phone": "13987654321",
              "email": "private.person@example.cn", "device_id": "device-abc-123", "account_id": "acct-999"}
    for fmt in ("json", "xml"):
        answer = post(fmt=fmt, **secret)
        assert answer.status_code == 200
        for word in ("Xiuying", "Zhengsecret", "13987654321", "private.person", "device-abc"):
            assert word.encode() not in answer.content
    case = Case.objects.first()
    assert case.reporter_name == "Xiuying Zhengsecret" and case.reporter_phone == "13987654321"
    token = Open311Request.objects.get(case=case).token
    for fmt in ("json", "xml"):
        for resource, params in [("requests", {}), ("requests", {"api_key": o311.key}),
                                 (f"requests/{case.number}", {}), (f"tokens/{token}", {})]:
            body = o311.http.get(f"{resource}.{fmt}", **params).content
            for word in ("Xiuying", "Zhengsecret", "13987654321", "987654321", "private.person", "device-abc",
                         "acct-999"):
                assert word.encode() not in body, (resource, fmt, word)


def test_text_is_escaped_and_control_characters_dropped_in_xml(o311, post):
    post(description="<b>井盖</b> & \"破损\"\x0b\x07")
    root = xml(o311.http.get("requests.xml"))
    assert root.findtext("request/description") == "<b>井盖</b> & \"破损\""


def test_other_methods_and_resources(o311):
    response = o311.http.client.put("/open311/v2/requests.json")
    assert response["Allow"] == "GET, POST"
    errors(response, 405)
    errors(o311.http.client.post("/open311/v2/services.xml"), 405, "xml")
    errors(o311.http.client.get("/open311/v2/whatever.json"), 404)
    errors(o311.http.client.get("/open311/v2/"), 404, "xml")


def test_reads_take_a_bounded_number_of_queries(o311, report, django_assert_max_num_queries):
    for n in range(30):
        report(now=MONDAY - dt.timedelta(hours=n))
    # Nine: the client's first request in this process also reads the grants generation (accounts.policies).
    with django_assert_max_num_queries(9):
        assert len(json_(o311.http.get("requests.json", api_key=o311.key))) == 30


def test_updated_datetime_follows_the_last_change_not_reads(o311, post):
    number = post().json()[0]["service_request_id"]
    case = Case.objects.get(number=number)
    later = NOW + dt.timedelta(minutes=30)
    case_services.case_accept(actor=o311.cast.acceptor, case=case, now=later)
    with clock.frozen(later + dt.timedelta(minutes=10)):
        case_services.case_contact_read(actor=o311.cast.acceptor, case=case)
    with clock.frozen(later + dt.timedelta(hours=1)):
        (one,) = json_(o311.http.get(f"requests/{number}.json"))
    assert one["updated_datetime"] == "2026-11-23T10:30:00+08:00" and one["status"] == "open"


def test_pages(o311, report):
    numbers = [report(now=NOW - dt.timedelta(minutes=n)).number for n in range(5)]
    page = lambda **p: [r["service_request_id"] for r in json_(o311.http.get("requests.json", **p))]  # noqa: E731
    assert page(page_size=2) == numbers[:2] and page(page_size=2, page=3) == numbers[4:]
    assert page(page_size=5000) == numbers  # never more than 1,000 at once
    errors(o311.http.get("requests.json", page="0"), 400)


def test_errors_speak_the_clients_language(cast):
    from yiwang.open311.tests.conftest import Http

    english = json_(Http("en").post("requests.json", {"service_code": "E0102"}))
    chinese = json_(Http("zh-hans").post("requests.json", {"service_code": "E0102"}))
    assert english[0]["code"] == chinese[0]["code"] == 403
    assert english[0]["description"] != chinese[0]["description"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_fault_of_ours_is_the_specs_500_and_saves_nothing(o311, post, monkeypatch, fmt, caplog):
    from yiwang.cases import services as case_services

    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(case_services, "_journal", broken)  # fails inside the write, after the case row
    response = post(fmt=fmt)
    assert "nothing was saved" in errors(response, 500, fmt)[0] or "没有保存" in errors(response, 500, fmt)[0]
    assert not Case.objects.exists()
    assert "disk full" in caplog.text  # the operators see the cause in the log
