"""The REST door for department systems' webhooks: subscriptions and the delivery log, through HTTP, in the
caller's area, with the signing secret never read back."""

import json

import pytest
from django.core.management import call_command

from yiwang.core.models import AuditEntry
from yiwang.notifications import services, tasks
from yiwang.notifications.choices import Channel, DeliveryStatus
from yiwang.notifications.models import Delivery, WebhookSubscription

pytestmark = pytest.mark.django_db

SUBSCRIPTIONS = "/api/v1/webhooks/subscriptions/"
DELIVERIES = "/api/v1/webhooks/deliveries/"
SECRET = "the-receivers-own-secret-9f8e7d6c5b4a"


def token_client(api, user):
    """A client that logs in with a token, as a department system would."""
    answer = api().post("/api/v1/auth/token/", {"username": user.username, "password": "pw-Secret-123"},
                        format="json")
    assert answer.status_code == 200, answer.content
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Token {answer.json()['token']}")
    return client


def subscribe(region, url="https://hooks.example.gov/yiwang", **extra):
    return services.webhook_subscription_create(actor=None, name=extra.pop("name", "区城管局业务系统"), url=url,
                                                region=region, events=extra.pop("events", "*"), secret=SECRET,
                                                **extra)


def state():
    """Everything a refused request must leave as it was."""
    return (list(WebhookSubscription.objects.order_by("id").values()),
            list(Delivery.objects.order_by("id").values()), AuditEntry.objects.count())


def test_an_admin_creates_lists_changes_and_switches_off_a_subscription(cast, person, api, report):
    admin = person("admin", region=cast.world.district_a, username="admin_a")
    client = token_client(api, admin)
    seen = []  # every answer's text, to look for the secret in

    created = client.post(SUBSCRIPTIONS, {
        "name": "甲区城管系统", "url": "https://cg.example.gov/hooks", "region": cast.world.district_a.pk,
        "events": ["case.report", "case.dispatch"], "secret": SECRET, "reason": "接入城管业务系统"}, format="json")
    seen.append(created.content.decode())
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["name"] == "甲区城管系统" and body["url"] == "https://cg.example.gov/hooks"
    assert body["region"] == cast.world.district_a.pk and body["region_code"] == cast.world.district_a.code
    assert body["events"] == ["case.report", "case.dispatch"] and body["is_active"] is True
    assert body["secret_set"] is True and "secret" not in body
    subscription = WebhookSubscription.objects.get()
    assert subscription.secret == SECRET and subscription.region_path == cast.world.district_a.path
    entry = AuditEntry.objects.get(action="webhook_subscription.create")
    assert entry.actor == admin and entry.reason == "接入城管业务系统" and entry.object_id == str(subscription.pk)

    subscribe(cast.world.district_b, name="乙区系统")  # another district's: not in this admin's list
    listing = client.get(SUBSCRIPTIONS)
    seen.append(listing.content.decode())
    assert listing.status_code == 200
    assert listing.json()["count"] == 1 and [s["name"] for s in listing.json()["results"]] == ["甲区城管系统"]
    one = client.get(f"{SUBSCRIPTIONS}{subscription.pk}/")
    seen.append(one.content.decode())
    assert one.status_code == 200 and one.json() == body

    changed = client.patch(f"{SUBSCRIPTIONS}{subscription.pk}/", {"events": ["*"], "url": "https://cg2.example.gov/h",
                                                                  "secret": SECRET + "-rotated"}, format="json")
    seen.append(changed.content.decode())
    assert changed.status_code == 200, changed.content
    assert changed.json()["events"] == ["*"] and changed.json()["url"] == "https://cg2.example.gov/h"
    subscription.refresh_from_db()
    assert subscription.secret == SECRET + "-rotated" and subscription.events == ["*"]
    update = AuditEntry.objects.get(action="webhook_subscription.update")
    assert update.actor == admin and update.after["secret"] == "replaced" and update.after["events"] == ["*"]

    report()  # a case in district A: one webhook delivery while the subscription is on
    assert Delivery.objects.filter(channel=Channel.WEBHOOK, subscription=subscription).count() == 1

    off = client.patch(f"{SUBSCRIPTIONS}{subscription.pk}/", {"is_active": False, "reason": "系统下线"},
                       format="json")
    seen.append(off.content.decode())
    assert off.status_code == 200 and off.json()["is_active"] is False
    assert AuditEntry.objects.filter(action="webhook_subscription.update").count() == 2
    last = AuditEntry.objects.filter(action="webhook_subscription.update").latest("id")
    assert (last.before, last.after, last.reason) == ({"is_active": True}, {"is_active": False}, "系统下线")
    report()
    assert Delivery.objects.filter(channel=Channel.WEBHOOK, subscription=subscription).count() == 1

    before = state()
    assert client.patch(f"{SUBSCRIPTIONS}{subscription.pk}/", {}, format="json").json()["is_active"] is False
    assert state() == before  # nothing to change, nothing journaled

    # Switched off, never deleted; and no whole replacement.
    assert client.delete(f"{SUBSCRIPTIONS}{subscription.pk}/").status_code == 405
    assert client.put(f"{SUBSCRIPTIONS}{subscription.pk}/", body, format="json").status_code == 405
    assert WebhookSubscription.objects.filter(pk=subscription.pk, is_active=False).exists()
    seen.append(client.get(DELIVERIES).content.decode())
    for text in seen:
        assert SECRET not in text and "9f8e7d6c5b4a" not in text


def test_another_districts_admin_finds_nothing_and_changes_nothing(cast, person, api, report, stub):
    admin_b = person("admin", region=cast.world.district_b)
    mine = subscribe(cast.world.district_a, url=stub([(500, "down")]).url, events="case.report")
    report()
    delivery = Delivery.objects.get(channel=Channel.WEBHOOK)
    client = api(admin_b)
    before = state()

    assert client.get(SUBSCRIPTIONS).json()["count"] == 0
    assert client.get(DELIVERIES).json()["count"] == 0
    for answer in (
        client.get(f"{SUBSCRIPTIONS}{mine.pk}/"),
        client.patch(f"{SUBSCRIPTIONS}{mine.pk}/", {"is_active": False}, format="json"),
        client.get(f"{DELIVERIES}{delivery.pk}/"),
        client.post(f"{DELIVERIES}{delivery.pk}/retry/", {}, format="json"),
        client.get(f"{SUBSCRIPTIONS}999999/"),
    ):
        assert answer.status_code == 404, answer.content
        assert answer.json()["error"]["code"] == "not_found"
    # Made in their own district, or moved into it, it is theirs; the other district's region is not on offer.
    refused = client.post(SUBSCRIPTIONS, {"name": "越界", "url": "https://x.example/h", "region": cast.world.district_a.pk,
                                          "events": ["*"], "secret": SECRET}, format="json")
    assert refused.status_code == 400 and "region" in refused.json()["error"]["fields"]
    assert state() == before


def test_an_admin_cannot_move_a_subscription_out_of_their_area(cast, person, api):
    admin_a = person("admin", region=cast.world.district_a)
    mine = subscribe(cast.world.district_a)
    before = state()
    for region in (cast.world.district_b, cast.world.city):
        moved = api(admin_a).patch(f"{SUBSCRIPTIONS}{mine.pk}/", {"region": region.pk}, format="json")
        assert moved.status_code == 400 and moved.json()["error"]["fields"]["region"]
    assert state() == before
    # A street below is fine.
    down = api(admin_a).patch(f"{SUBSCRIPTIONS}{mine.pk}/", {"region": cast.world.street_a.pk}, format="json")
    assert down.status_code == 200 and down.json()["region_code"] == cast.world.street_a.code


@pytest.mark.parametrize("who", ["dispatcher", "leader", "resident"])
def test_people_without_the_permission_are_refused_with_403(cast, api, report, who):
    mine = subscribe(cast.world.district_a)
    report()
    delivery = Delivery.objects.get(channel=Channel.WEBHOOK)
    client = api(getattr(cast, who))
    before = state()
    answers = [
        client.get(SUBSCRIPTIONS),
        client.get(f"{SUBSCRIPTIONS}{mine.pk}/"),
        client.post(SUBSCRIPTIONS, {"name": "x", "url": "https://x.example/h", "region": cast.world.district_a.pk,
                                    "events": ["*"], "secret": SECRET}, format="json"),
        client.patch(f"{SUBSCRIPTIONS}{mine.pk}/", {"is_active": False}, format="json"),
        client.get(DELIVERIES),
        client.get(f"{DELIVERIES}{delivery.pk}/"),
        client.post(f"{DELIVERIES}{delivery.pk}/retry/", {}, format="json"),
    ]
    assert [a.status_code for a in answers] == [403] * len(answers)
    assert {a.json()["error"]["code"] for a in answers} == {"permission_denied"}
    assert state() == before


def test_anonymous_callers_must_log_in(cast):
    from rest_framework.test import APIClient

    mine = subscribe(cast.world.district_a)
    client = APIClient()
    for answer in (client.get(SUBSCRIPTIONS), client.get(f"{SUBSCRIPTIONS}{mine.pk}/"), client.get(DELIVERIES),
                   client.post(SUBSCRIPTIONS, {}, format="json")):
        assert answer.status_code == 401 and answer.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize(("change", "code", "field"), [
    ({"url": "ftp://example.org/x"}, "invalid_url", "url"),
    ({"url": "not an address"}, "invalid_url", "url"),
    ({"url": "http://127.0.0.1:6379/"}, "url_not_allowed", "url"),
    ({"events": ["case.dispach"]}, "unknown_event", "events"),
    ({"events": []}, "required", "events"),
    ({"secret": "short"}, "secret_too_short", "secret"),
    ({"name": " "}, "required", "name"),
    ({"secret": None}, "invalid", "secret"),  # left out: required here, since it could never be read back
])
def test_bad_subscriptions_are_refused_with_a_code_and_nothing_is_written(cast, person, api, settings, change, code,
                                                                          field):
    settings.YIWANG_WEBHOOK_ALLOW_LOCAL = False
    data = {"name": "公安", "url": "https://ga.example.gov/hook", "region": cast.world.district_a.pk,
            "events": ["*"], "secret": SECRET, **change}
    data = {k: v for k, v in data.items() if v is not None}
    client = api(person("admin", region=cast.world.district_a))
    before = state()
    answer = client.post(SUBSCRIPTIONS, data, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert answer.status_code == 400, answer.content
    error = answer.json()["error"]
    assert error["code"] == code and field in error["fields"] and error["message"]
    assert state() == before


def test_errors_are_translated(cast, person, api):
    mine = subscribe(cast.world.district_a)
    client = api(person("admin", region=cast.world.district_a))
    zh = client.patch(f"{SUBSCRIPTIONS}{mine.pk}/", {"events": ["nope"]}, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    en = client.patch(f"{SUBSCRIPTIONS}{mine.pk}/", {"events": ["nope"]}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert zh.json()["error"]["code"] == en.json()["error"]["code"] == "unknown_event"
    assert en.json()["error"]["message"].startswith("Unknown events: nope.")
    assert zh.json()["error"]["message"].startswith("未知的事件：nope")
    refused = api(cast.dispatcher).get(SUBSCRIPTIONS, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert refused.json()["error"] == {"code": "permission_denied", "message": "您无权进行此操作。", "fields": {}}


def test_a_failed_delivery_is_read_with_its_attempts_and_tried_again(cast, person, api, report, stub, settings,
                                                                     django_capture_on_commit_callbacks):
    settings.YIWANG_DELIVERY_BACKOFF = []  # one failed try and it has failed for good
    admin = person("admin", region=cast.world.district_a)
    client = api(admin)
    server = stub([(500, "upstream down")])
    subscription = subscribe(cast.world.district_a, url=server.url, events="case.report")
    case = report()
    tasks.deliver_due.call_local()
    delivery = Delivery.objects.get(channel=Channel.WEBHOOK)
    assert delivery.status == DeliveryStatus.FAILED

    listing = client.get(DELIVERIES, {"status": "failed"})
    assert listing.status_code == 200 and listing.json()["count"] == 1
    row = listing.json()["results"][0]
    assert row["id"] == delivery.pk and row["uuid"] == str(delivery.uuid) and row["event"] == "case.report"
    assert row["subscription"] == subscription.pk and row["subscription_name"] == "区城管局业务系统"
    assert row["case"] == case.pk and row["case_number"] == case.number
    assert row["status"] == "failed" and row["attempts"] == 1 and row["last_error"] == "HTTP 500"
    [attempt] = row["attempt_log"]
    assert attempt["number"] == 1 and attempt["ok"] is False and attempt["status_code"] == 500
    assert attempt["error"] == "HTTP 500" and attempt["duration_ms"] >= 0 and attempt["started_at"]
    assert set(attempt) == {"number", "started_at", "duration_ms", "ok", "status_code", "error"}
    assert client.get(f"{DELIVERIES}{delivery.pk}/").json() == row

    server.answers = [(200, {"ok": True})]
    with django_capture_on_commit_callbacks(execute=True):
        retried = client.post(f"{DELIVERIES}{delivery.pk}/retry/", {"reason": "接收方已修复"}, format="json")
    assert retried.status_code == 200, retried.content
    assert retried.json()["status"] == "pending"
    entry = AuditEntry.objects.get(action="delivery.retry")
    assert entry.actor == admin and entry.reason == "接收方已修复" and entry.object_id == str(delivery.pk)
    assert (entry.before["status"], entry.after["status"]) == ("failed", "pending")

    again = client.get(f"{DELIVERIES}{delivery.pk}/").json()
    assert again["status"] == "sent" and again["attempts"] == 2 and again["last_error"] == ""
    assert [(a["number"], a["ok"], a["status_code"]) for a in again["attempt_log"]] == [(1, False, 500),
                                                                                        (2, True, 200)]
    assert len({h["X-Yiwang-Delivery"] for _, h, _ in server.requests}) == 1 and len(server.requests) == 2
    for text in (listing.content, retried.content):
        assert SECRET not in text.decode()

    before = state()
    sent = client.post(f"{DELIVERIES}{delivery.pk}/retry/", {}, format="json")
    assert sent.status_code == 400 and sent.json()["error"]["code"] == "already_sent"
    assert state() == before


def test_the_delivery_log_filters(cast, person, api, report):
    a = subscribe(cast.world.district_a, name="甲", events="*")
    b = subscribe(cast.world.city, name="市", events="case.report")
    first = report()
    second = report(description="井盖缺失")
    from yiwang.cases import services as cs
    from yiwang.cases.tests.conftest import MONDAY

    cs.case_accept(actor=cast.acceptor, case=second, now=MONDAY)
    client = api(person("admin", region=cast.world.city))

    def ids(**params):
        answer = client.get(DELIVERIES, params)
        assert answer.status_code == 200, answer.content
        return sorted(r["id"] for r in answer.json()["results"])

    hooks = Delivery.objects.filter(channel=Channel.WEBHOOK)
    assert Delivery.objects.exclude(channel=Channel.WEBHOOK).exists()  # the reporter's SMS: not in this log
    assert ids() == sorted(hooks.values_list("id", flat=True)) and len(ids()) == 5
    assert ids(subscription=a.pk) == sorted(hooks.filter(subscription=a).values_list("id", flat=True))
    assert len(ids(subscription=b.pk)) == 2
    assert ids(event="case.accept") == list(hooks.filter(event="case.accept").values_list("id", flat=True))
    assert len(ids(case=first.pk)) == 2 and len(ids(case=second.pk)) == 3
    assert len(ids(case=second.pk, subscription=a.pk, event="case.report")) == 1
    assert ids(status="pending") == ids() and ids(status="sent,failed") == []
    # A district admin sees only the deliveries of their district's subscriptions.
    district = api(person("admin", region=cast.world.district_a)).get(DELIVERIES).json()
    assert {r["subscription"] for r in district["results"]} == {a.pk}
    for params, code in (({"status": "lost"}, "status_invalid"), ({"subscription": "x"}, "subscription_invalid"),
                         ({"case": "A-1"}, "case_invalid")):
        answer = client.get(DELIVERIES, params)
        assert answer.status_code == 400 and answer.json()["error"]["code"] == code
        assert list(answer.json()["error"]["fields"]) == [next(iter(params))]


def test_the_schema_has_the_webhook_doors_and_no_warnings(tmp_path):
    out = tmp_path / "schema.json"
    call_command("spectacular", "--fail-on-warn", "--validate", "--format", "openapi-json", "--file", str(out))
    paths = json.loads(out.read_text())["paths"]
    assert set(paths[SUBSCRIPTIONS]) == {"get", "post"}
    assert set(paths[SUBSCRIPTIONS + "{id}/"]) == {"get", "patch"}
    assert set(paths[DELIVERIES]) == {"get"} and set(paths[DELIVERIES + "{id}/"]) == {"get"}
    assert set(paths[DELIVERIES + "{id}/retry/"]) == {"post"}
    assert {p["name"] for p in paths[DELIVERIES]["get"]["parameters"]} >= {"status", "subscription", "event", "case"}
