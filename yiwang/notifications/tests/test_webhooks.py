"""Signed webhooks on case events: what a department system receives, how it checks it, and how failures are
retried and logged."""

import datetime as dt
import hashlib
import hmac
import json
import time

import pytest
from django.test import Client
from django.utils import timezone

from yiwang.cases import services as cs
from yiwang.cases.choices import Status
from yiwang.cases.tests.conftest import IN_B, MONDAY
from yiwang.cases.tests.test_loop import walk_to
from yiwang.core.errors import NotFound, OutOfScope, PermissionRefused, ValidationFailed
from yiwang.core.models import AuditEntry
from yiwang.notifications import policies, services, tasks
from yiwang.notifications.choices import Channel, DeliveryStatus
from yiwang.notifications.models import Delivery, WebhookSubscription

pytestmark = pytest.mark.django_db

SECRET = "a-shared-secret-of-the-receiver-0123456789"


def subscribe(region, url, events="*", **extra):
    return services.webhook_subscription_create(actor=None, name="区城管局业务系统", url=url, region=region,
                                                events=events, secret=SECRET, **extra)


def webhook_events(subscription=None):
    rows = Delivery.objects.filter(channel=Channel.WEBHOOK).order_by("id")
    if subscription is not None:
        rows = rows.filter(subscription=subscription)
    return list(rows.values_list("event", flat=True))


def receiver(secret: str, *, window: int = 300):
    """How a department system checks a request (the README's recipe), written without Yiwang's code: HMAC-SHA256
    over "<timestamp>.<raw body>", compared in constant time, a timestamp within `window` seconds of its own
    clock, and each delivery id taken once."""
    seen = set()

    def check(headers, raw: bytes):
        timestamp = headers.get("X-Yiwang-Timestamp", "")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > window:
            return 400, {"error": "stale or missing timestamp"}
        expected = "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, headers.get("X-Yiwang-Signature", "")):
            return 401, {"error": "bad signature"}
        event = json.loads(raw)
        if event["event"] != headers.get("X-Yiwang-Event"):
            return 400, {"error": "event mismatch"}
        delivery = headers.get("X-Yiwang-Delivery")
        if delivery in seen:
            return 200, {"duplicate": True}
        seen.add(delivery)
        return 200, {"received": delivery}

    return check


def test_a_receiver_verifies_the_signature(cast, report, stub, django_capture_on_commit_callbacks):
    server = stub()
    server.check = receiver(SECRET)
    subscribe(cast.world.district_a, server.url)
    with django_capture_on_commit_callbacks(execute=True):
        case = walk_to(cast, report(), Status.DISPATCHED)
    assert [json.loads(raw)["event"] for _, _, raw in server.requests] == [
        "case.report", "case.accept", "case.file", "case.dispatch"]
    assert [h["X-Yiwang-Event"] for _, h, _ in server.requests] == [
        "case.report", "case.accept", "case.file", "case.dispatch"]
    sent = Delivery.objects.filter(channel=Channel.WEBHOOK).order_by("id")
    assert {d.status for d in sent} == {DeliveryStatus.SENT}
    attempt = sent.last().attempt_log.get()
    assert attempt.ok and attempt.status_code == 200 and attempt.duration_ms >= 0
    assert json.loads(attempt.response) == {"received": str(sent.last().uuid)}
    path, headers, raw = server.requests[-1]
    assert headers["Content-Type"].startswith("application/json") and headers["X-Yiwang-Delivery"] == str(
        sent.last().uuid)
    body = json.loads(raw)
    assert body["case"]["number"] == case.number and body["case"]["status"] == Status.DISPATCHED
    assert body["case"]["lead_unit"] == {"code": "D-A-CG", "name": "甲区城管局"}
    assert body["occurred_at"] == MONDAY.isoformat()

    check = receiver(SECRET)
    assert check(headers, raw)[0] == 200
    assert check(headers, raw) == (200, {"duplicate": True})  # a retry of the same delivery
    assert check(headers, raw.replace(b"dispatched", b"closed"))[0] == 401  # tampered on the way
    assert receiver("another-secret-entirely-000000")(headers, raw)[0] == 401
    old = {**headers, "X-Yiwang-Timestamp": str(int(time.time()) - 3600)}
    assert check(old, raw)[0] == 400  # an old request replayed


def test_the_payload_carries_no_personal_data(cast, report, stub, django_capture_on_commit_callbacks):
    server = stub()
    subscribe(cast.world.city, server.url)
    with django_capture_on_commit_callbacks(execute=True):
        case = report(description="我叫李四，电话13987654321，幸福路8号门口有垃圾", address="幸福路8号",
                      reporter_name="王小明", reporter_phone="13811112222")
        cs.case_reject(actor=cast.acceptor, case=case, reason="已和王小明电话沟通", now=MONDAY)
    assert len(server.requests) == 2
    for _, _, raw in server.requests:
        text = raw.decode()
        for personal in ("王小明", "13811112222", "13900000000", "李四", "13987654321", "幸福路", "电话沟通",
                         str(case.lat)):
            assert personal not in text
        keys = set(json.loads(text)["case"])
        assert not keys & {"reporter", "reporter_name", "reporter_phone", "description", "address", "lat", "lon"}
        assert json.loads(text)["case"]["number"] == case.number


def test_only_cases_in_the_subscriptions_region(cast, report, stub):
    a = subscribe(cast.world.district_a, stub().url)
    b = subscribe(cast.world.district_b, stub().url)
    report()
    assert webhook_events(a) == ["case.report"] and webhook_events(b) == []
    report(**IN_B)
    assert webhook_events(a) == ["case.report"] and webhook_events(b) == ["case.report"]


def test_only_the_events_asked_for(cast, report, stub):
    some = subscribe(cast.world.city, stub().url, events="case.dispatch, case.verify")
    every = subscribe(cast.world.city, stub().url, events=["*"])
    off = subscribe(cast.world.city, stub().url, is_active=False)
    walk_to(cast, report(), Status.CLOSED)
    assert webhook_events(some) == ["case.dispatch", "case.verify"]
    assert webhook_events(every) == ["case.report", "case.accept", "case.file", "case.dispatch", "case.sign",
                                     "case.feedback", "case.verify"]
    assert webhook_events(off) == []


def test_a_failure_is_retried_with_backoff_then_succeeds(cast, report, stub):
    server = stub([(500, "upstream down"), (200, {"ok": True})])
    subscribe(cast.world.city, server.url, events="case.report")
    report()
    t0 = timezone.now() + dt.timedelta(seconds=1)
    assert services.deliveries_send_due(now=t0) == {"sent": 0, "failed": 0, "pending": 1}
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
    assert delivery.next_attempt_at == t0 + dt.timedelta(seconds=60) and delivery.last_error == "HTTP 500"
    assert services.deliveries_send_due(now=t0 + dt.timedelta(seconds=59)) == {"sent": 0, "failed": 0, "pending": 0}
    assert services.deliveries_send_due(now=t0 + dt.timedelta(seconds=60)) == {"sent": 1, "failed": 0, "pending": 0}
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 2 and delivery.last_error == ""
    log = list(delivery.attempt_log.values_list("number", "ok", "status_code", "response"))
    assert log == [(1, False, 500, "upstream down"), (2, True, 200, '{"ok": true}')]
    # The same delivery id on both tries, so the receiver can drop a repeat.
    assert len({h["X-Yiwang-Delivery"] for _, h, _ in server.requests}) == 1 and len(server.requests) == 2


def test_a_delivery_fails_for_good_after_the_last_attempt(cast, report, stub):
    server = stub([(503, "maintenance")])
    subscribe(cast.world.city, server.url, events="case.report")
    report()
    at = timezone.now() + dt.timedelta(seconds=1)
    waits = []
    for _ in range(policies.max_attempts()):
        services.deliveries_send_due(now=at)
        delivery = Delivery.objects.get()
        if delivery.next_attempt_at:
            waits.append(int((delivery.next_attempt_at - at).total_seconds()))
            at = delivery.next_attempt_at
    assert waits == [60, 300, 1800, 7200, 43200]
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 6 and delivery.next_attempt_at is None
    assert delivery.last_error == "HTTP 503" and delivery.attempt_log.count() == 6
    services.deliveries_send_due(now=at + dt.timedelta(days=30))
    assert len(server.requests) == 6


def test_a_receiver_that_does_not_answer_in_time(cast, report, stub, settings):
    settings.YIWANG_WEBHOOK_TIMEOUT = 0.3
    server = stub([(200, {"ok": True}, 3)])
    subscribe(cast.world.city, server.url, events="case.report")
    report()
    started = time.monotonic()
    tasks.deliver_due.call_local()
    assert time.monotonic() - started < 2.5  # it gave up after 0.3 s and did not wait for the answer
    delivery = Delivery.objects.get()
    attempt = delivery.attempt_log.get()
    assert delivery.status == DeliveryStatus.PENDING and attempt.status_code is None
    assert "timed out" in attempt.error.lower() and attempt.error == delivery.last_error


def test_pending_deliveries_survive_a_worker_restart(cast, report, stub):
    """The queue entries made after commit are lost (here: never run); the periodic task sends them anyway."""
    server = stub()
    subscribe(cast.world.city, server.url)
    case = walk_to(cast, report(), Status.FILED)
    pending = Delivery.objects.filter(status=DeliveryStatus.PENDING)
    assert server.requests == [] and sorted(pending.values_list("channel", flat=True)) == [
        Channel.SMS, Channel.WEBHOOK, Channel.WEBHOOK, Channel.WEBHOOK]
    assert tasks.deliver_due.call_local() == {"sent": 4, "failed": 0, "pending": 0}
    assert len(server.requests) == 3 and not pending.exists()
    # A worker claimed one and died mid-send: after the lease it is due again, and that try counted.
    cs.case_dispatch(actor=cast.dispatcher, case=case, unit=cast.world.unit_a, now=MONDAY)
    dead = Delivery.objects.get(event="case.dispatch", channel=Channel.WEBHOOK)
    claimed_at = timezone.now()
    Delivery.objects.filter(pk=dead.pk).update(attempts=1, next_attempt_at=claimed_at + policies.LEASE)
    assert services.delivery_send(delivery=dead, now=claimed_at + dt.timedelta(minutes=1)) is None
    services.deliveries_send_due(now=claimed_at + policies.LEASE)
    dead.refresh_from_db()
    assert dead.status == DeliveryStatus.SENT and dead.attempts == 2


def test_a_subscription_switched_off_sends_nothing_more(cast, report, stub):
    server = stub()
    subscription = subscribe(cast.world.city, server.url, events="case.report")
    report()
    services.webhook_subscription_update(actor=None, subscription=subscription, is_active=False)
    report()
    tasks.deliver_due.call_local()
    delivery = Delivery.objects.get()  # the second report made none
    assert delivery.status == DeliveryStatus.FAILED and "switched off" in delivery.last_error
    assert server.requests == []


# --- managing subscriptions ------------------------------------------------------------------------------------

def test_subscriptions_are_journaled_without_their_secret(cast):
    subscription = services.webhook_subscription_create(
        actor=None, name="环保", url="https://hb.example.gov/hooks", region=cast.world.district_a, events="*")
    assert len(subscription.secret) == 64  # made when none was given
    services.webhook_subscription_update(actor=None, subscription=subscription, secret="", events=["case.verify"])
    subscription.refresh_from_db()
    assert subscription.events == ["case.verify"] and len(subscription.secret) == 64
    entries = AuditEntry.objects.filter(object_type="notifications.webhooksubscription").order_by("id")
    assert [e.action for e in entries] == ["webhook_subscription.create", "webhook_subscription.update"]
    assert entries[1].after == {"events": ["case.verify"], "secret": "replaced"}
    assert subscription.secret not in json.dumps([e.after for e in entries] + [e.before for e in entries])


@pytest.mark.parametrize(("field", "values", "code"), [
    ("events", {"events": "case.dispach"}, "unknown_event"),
    ("events", {"events": ""}, "required"),
    ("url", {"url": "ftp://example.org/x"}, "invalid_url"),
    ("secret", {"secret": "short"}, "secret_too_short"),
    ("name", {"name": " "}, "required"),
])
def test_bad_subscriptions_are_refused_and_nothing_written(cast, field, values, code):
    data = {"name": "公安", "url": "https://ga.example.gov/hook", "region": cast.world.city, "events": "*", **values}
    with pytest.raises(ValidationFailed) as refused:
        services.webhook_subscription_create(actor=None, **data)
    assert refused.value.code == code and field in refused.value.fields
    assert not WebhookSubscription.objects.exists() and not AuditEntry.objects.filter(
        object_type="notifications.webhooksubscription").exists()


def test_subscriptions_stay_in_the_admins_area(cast, person):
    admin_a = person("admin", region=cast.world.district_a)
    admin_b = person("admin", region=cast.world.district_b)
    mine = services.webhook_subscription_create(actor=admin_a, name="甲区", url="https://a.example/h",
                                                region=cast.world.district_a, events="*")
    with pytest.raises(OutOfScope):
        services.webhook_subscription_create(actor=admin_b, name="越界", url="https://b.example/h",
                                             region=cast.world.district_a, events="*")
    with pytest.raises(NotFound):
        services.webhook_subscription_update(actor=admin_b, subscription=mine, is_active=False)
    with pytest.raises(OutOfScope):  # moving it out of one's own area
        services.webhook_subscription_update(actor=admin_a, subscription=mine, region=cast.world.district_b)
    with pytest.raises(PermissionRefused):
        services.webhook_subscription_create(actor=cast.resident, name="x", url="https://c.example/h",
                                             region=cast.world.district_a, events="*")
    assert list(WebhookSubscription.objects.values_list("name", "region_path", "is_active")) == [
        ("甲区", cast.world.district_a.path, True)]


def test_the_admin_manages_subscriptions_and_shows_the_delivery_log(cast, report, person, stub):
    admin_a = person("admin", region=cast.world.district_a)
    client = Client()
    client.force_login(admin_a)
    server = stub([(500, "no")])
    answer = client.post("/admin/notifications/webhooksubscription/add/", {
        "name": "甲区城管系统", "url": server.url, "region": cast.world.district_a.pk,
        "events": "case.report, case.accept", "secret": "", "is_active": "on"})
    assert answer.status_code == 302, answer.content.decode()[:3000]
    subscription = WebhookSubscription.objects.get()
    assert subscription.events == ["case.report", "case.accept"] and len(subscription.secret) == 64
    assert AuditEntry.objects.get(action="webhook_subscription.create").actor == admin_a
    refused = client.post("/admin/notifications/webhooksubscription/add/", {
        "name": "乙区", "url": server.url, "region": cast.world.district_b.pk, "events": "*", "is_active": "on"})
    assert refused.status_code in (200, 403) and WebhookSubscription.objects.count() == 1

    report()
    tasks.deliver_due.call_local()
    delivery = Delivery.objects.get()
    listing = client.get("/admin/notifications/delivery/")
    assert listing.status_code == 200 and "case.report" in listing.content.decode()
    page = client.get(f"/admin/notifications/delivery/{delivery.pk}/change/").content.decode()
    assert "HTTP 500" in page and str(delivery.uuid) in page
    server.answers = [(200, {"ok": True})]
    client.post("/admin/notifications/delivery/", {"action": "retry", "_selected_action": [delivery.pk]})
    tasks.deliver_due.call_local()  # (the test's transaction never commits, so the queued send never runs)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 2
    assert AuditEntry.objects.get(action="delivery.retry").actor == admin_a
    assert client.get("/admin/notifications/webhooksubscription/").status_code == 200
    gone = client.post(f"/admin/notifications/webhooksubscription/{subscription.pk}/delete/", {"post": "yes"})
    assert gone.status_code == 403 and WebhookSubscription.objects.filter(pk=subscription.pk).exists()
    outsider = Client()
    outsider.force_login(cast.dispatcher)
    assert outsider.get("/admin/notifications/webhooksubscription/").status_code == 403
    assert outsider.get("/admin/notifications/delivery/").status_code == 403


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379/", "http://localhost/hook", "http://[::1]/x",
                                 "http://169.254.169.254/latest/meta-data", "http://0.0.0.0:8000/"])
def test_webhooks_may_not_point_at_the_server_itself(cast, settings, url):
    settings.YIWANG_WEBHOOK_ALLOW_LOCAL = False
    with pytest.raises(ValidationFailed) as refused:
        subscribe(cast.world.city, url)
    assert refused.value.code == "url_not_allowed" and not WebhookSubscription.objects.exists()


def test_private_networks_are_allowed_and_local_ones_refused_when_sending(cast, report, stub, settings):
    settings.YIWANG_WEBHOOK_ALLOW_LOCAL = False
    subscribe(cast.world.city, "http://192.0.2.40/department-system")  # intranet (nothing is sent here)
    settings.YIWANG_WEBHOOK_ALLOW_LOCAL = True
    server = stub()
    local = subscribe(cast.world.city, server.url.replace("127.0.0.1", "localhost"), events="case.report")
    settings.YIWANG_WEBHOOK_ALLOW_LOCAL = False
    report()
    delivery = Delivery.objects.get(subscription=local)
    services.delivery_send(delivery=delivery)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and "local address" in delivery.last_error
    assert server.requests == []


def test_a_stale_list_of_subscriptions_never_breaks_a_case_change(cast, report):
    """A process may still offer a subscription whose creation rolled back: the report goes through, and the
    delivery fails when it is sent."""
    ghost = WebhookSubscription(pk=987654, name="gone", url="https://gone.example/h", events=["*"],
                                region_path=cast.world.city.path, is_active=True)
    services._cache = (time.monotonic(), [ghost])
    case = report()
    assert case.pk and Delivery.objects.get().subscription_id == 987654
    services.forget_subscriptions()
    tasks.deliver_due.call_local()
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED and "removed" in delivery.last_error


def test_done_deliveries_are_purged_after_the_keeping_period_and_waiting_ones_never(cast, report, stub, settings):
    settings.YIWANG_DELIVERY_KEEP_DAYS = 90
    server = stub([(200, {"ok": True}), (500, "down")])
    subscribe(cast.world.city, server.url, events="case.report")
    report()
    report()
    t0 = timezone.now() + dt.timedelta(seconds=1)
    services.deliveries_send_due(now=t0)  # one sent, one waiting for its retry
    waiting, sent = Delivery.objects.order_by("status")  # "pending" < "sent"
    assert (waiting.status, sent.status) == (DeliveryStatus.PENDING, DeliveryStatus.SENT)
    Delivery.objects.update(created_at=t0 - dt.timedelta(days=91))
    assert services.deliveries_purge(now=t0 + dt.timedelta(days=1)) == 1
    assert list(Delivery.objects.values_list("status", flat=True)) == [DeliveryStatus.PENDING]
    assert waiting.attempt_log.count() == 1  # the waiting one keeps its log
    assert tasks.purge_deliveries.call_local() == 0
