"""Notifications by SMS and e-mail: who gets what on which channel, what the messages say, and that nothing
goes out for a change that did not happen."""

import datetime as dt

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone, translation

from yiwang.accounts.services import user_update
from yiwang.cases import services as cs
from yiwang.cases.tests.conftest import MONDAY
from yiwang.core.errors import ValidationFailed
from yiwang.core.models import AuditEntry
from yiwang.notifications import services, tasks
from yiwang.notifications.choices import Channel, DeliveryStatus
from yiwang.notifications.models import Delivery, Notification
from yiwang.notifications.sms import MemoryBackend

pytestmark = pytest.mark.django_db


def deliveries(user, kind=None):
    rows = Delivery.objects.filter(notification__recipient=user)
    if kind:
        rows = rows.filter(notification__kind=kind)
    return sorted(rows.values_list("channel", flat=True))


def test_each_recipient_gets_their_enabled_channels(cast, report, django_capture_on_commit_callbacks):
    user_update(actor=None, user=cast.resident, email="resident@example.org")
    user_update(actor=None, user=cast.resident2, phone="")
    services.notification_preferences_set(actor=cast.resident2, email=True)
    case = report()
    other = report(actor=cast.resident2)
    with django_capture_on_commit_callbacks(execute=True):
        cs.case_accept(actor=cast.acceptor, case=case, now=MONDAY)
        cs.case_accept(actor=cast.acceptor, case=other, now=MONDAY)
    # Phone and e-mail on file, nothing switched off: both. No phone, no e-mail: the inbox only.
    assert deliveries(cast.resident, "case_accepted") == [Channel.EMAIL, Channel.SMS]
    assert deliveries(cast.resident2, "case_accepted") == []
    assert Notification.objects.filter(recipient=cast.resident2, kind="case_accepted").exists()
    assert [phone for phone, _ in MemoryBackend.outbox] == ["13900000000"]
    assert [m.to for m in mail.outbox] == [["resident@example.org"]]
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 2


def test_a_person_can_switch_sms_off_and_the_installation_can_switch_a_channel_off(cast, report, settings):
    services.notification_preferences_set(actor=cast.resident, sms=False)
    entry = AuditEntry.objects.filter(action="notification_preference.change").get()
    assert entry.actor == cast.resident and entry.after == {"sms": False}
    cs.case_accept(actor=cast.acceptor, case=report(), now=MONDAY)
    assert deliveries(cast.resident) == []

    services.notification_preferences_set(actor=cast.resident, sms=True)
    settings.YIWANG_NOTIFY_CHANNELS = ["email"]
    cs.case_accept(actor=cast.acceptor, case=report(), now=MONDAY)
    assert deliveries(cast.resident) == []
    settings.YIWANG_NOTIFY_CHANNELS = ["sms", "email"]
    cs.case_accept(actor=cast.acceptor, case=report(), now=MONDAY)
    assert deliveries(cast.resident) == [Channel.SMS]


def test_only_kinds_with_a_short_sms_text_go_by_sms(cast, report):
    services.notify(recipients=[cast.unit], kind="something_new", text="A new kind of news")
    unit = user_update(actor=None, user=cast.unit, email="unit@example.org")
    services.notify(recipients=[unit], kind="something_new", text="A new kind of news")
    assert deliveries(cast.unit) == [Channel.EMAIL]


def test_the_channels_api(cast, api):
    client = api(cast.resident)
    assert client.get("/api/v1/notifications/channels/").json() == {
        "sms": True, "email": True, "has_phone": True, "has_email": False}
    answer = client.patch("/api/v1/notifications/channels/", {"sms": False}, format="json")
    assert answer.status_code == 200 and answer.json()["sms"] is False and answer.json()["email"] is True
    assert api(cast.resident2).get("/api/v1/notifications/channels/").json()["sms"] is True
    assert api().get("/api/v1/notifications/channels/").status_code == 401


def test_the_sms_is_short_and_carries_only_the_case_number(cast, report, django_capture_on_commit_callbacks):
    case = report()
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        # The reason is free text written about the reporter: it stays in the app.
        cs.case_reject(actor=cast.acceptor, case=case, reason="张三 13812345678 已电话说明", now=MONDAY)
    ((phone, text),) = MemoryBackend.outbox
    assert phone == "13900000000"
    assert text == f"【一网】Your report {case.number} was not accepted. The reason is in the app."
    assert "13812345678" not in text and "张三" not in text
    inbox = Notification.objects.get(recipient=cast.resident, kind="case_rejected")
    assert "张三" in inbox.text  # the inbox, read by the reporter alone, has it all


def test_every_sms_text_fits_the_limit(settings):
    from yiwang.notifications.policies import SMS_TEXTS

    with translation.override("en"):
        for template in SMS_TEXTS.values():
            text = settings.YIWANG_MESSAGE_SIGNATURE + str(template) % {"n": "XXXXXX20261123-000001"}
            assert len(text) <= settings.YIWANG_SMS_MAX_CHARS, text


def test_the_console_backend_prints_the_message(cast, report, settings, capsys,
                                                django_capture_on_commit_callbacks):
    settings.YIWANG_SMS_BACKEND = "yiwang.notifications.sms.ConsoleBackend"
    case = report()
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        cs.case_accept(actor=cast.acceptor, case=case, now=MONDAY)
    out = capsys.readouterr().out
    assert f"SMS to 13900000000: 【一网】Your report {case.number} was accepted." in out
    delivery = Delivery.objects.get(channel=Channel.SMS)
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 1
    assert delivery.attempt_log.get().ok


def test_email_goes_through_djangos_mail_framework(cast, report, django_capture_on_commit_callbacks):
    user_update(actor=None, user=cast.unit, email="unit-a@example.org")
    case = cs.case_file(actor=cast.shift_lead, case=cs.case_accept(actor=cast.acceptor, case=report(),
                                                                  now=MONDAY), now=MONDAY)
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        cs.case_dispatch(actor=cast.dispatcher, case=case, unit=cast.world.unit_a, now=MONDAY)
    (message,) = mail.outbox
    assert message.to == ["unit-a@example.org"]
    assert message.subject == f"【一网】Case {case.number} was dispatched to your unit. Please sign for it."
    assert f"Case {case.number} was dispatched to your unit." in message.body
    assert Delivery.objects.get(channel=Channel.EMAIL).status == DeliveryStatus.SENT


def test_a_rolled_back_change_sends_nothing(cast, report, stub, django_capture_on_commit_callbacks):
    user_update(actor=None, user=cast.resident, email="resident@example.org")
    case = report()
    receiver = stub()
    services.webhook_subscription_create(actor=None, name="城管", url=receiver.url, region=cast.world.city,
                                         events="*")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            cs.case_accept(actor=cast.acceptor, case=case, now=MONDAY)
            raise RuntimeError("something after the accept failed")
        # A refused change rolls back the same way.
        with pytest.raises(ValidationFailed):
            cs.case_reject(actor=cast.acceptor, case=case, reason="", now=MONDAY)
    assert callbacks == []
    assert not Delivery.objects.exists() and not Notification.objects.filter(kind="case_accepted").exists()
    assert MemoryBackend.outbox == [] and mail.outbox == [] and receiver.requests == []
    tasks.deliver_due.call_local()
    assert MemoryBackend.outbox == [] and receiver.requests == []


def test_news_recorded_long_ago_stays_in_the_inbox(cast, report, settings):
    settings.YIWANG_OUTBOUND_MAX_AGE = 3600
    long_ago = timezone.now() - dt.timedelta(hours=2)
    case = report(now=long_ago)
    cs.case_accept(actor=cast.acceptor, case=case, now=long_ago)
    assert Notification.objects.filter(recipient=cast.resident, kind="case_accepted").exists()
    assert not Delivery.objects.exists()
    cs.case_reject(actor=cast.acceptor, case=report(now=timezone.now()), reason="不属于受理范围")
    assert deliveries(cast.resident) == [Channel.SMS]


def test_sms_send_checks_its_input_and_keeps_nothing(db):
    receipt = services.sms_send(phone="13912345678", text="【一网】登录验证码 123456，5 分钟内有效。")
    assert receipt.reference and MemoryBackend.outbox == [("13912345678", "【一网】登录验证码 123456，5 分钟内有效。")]
    with pytest.raises(ValidationFailed) as bad_phone:
        services.sms_send(phone="not a phone", text="x")
    assert bad_phone.value.code == "invalid_phone"
    with pytest.raises(ValidationFailed) as too_long:
        services.sms_send(phone="13912345678", text="长" * 141)
    assert too_long.value.code == "sms_length"
    assert len(MemoryBackend.outbox) == 1
    # A login code leaves no trace: no delivery row, no journal entry.
    assert not Delivery.objects.exists() and not AuditEntry.objects.filter(action__startswith="sms").exists()
