"""The generic HTTP-JSON SMS gateway against a stub gateway on loopback."""

import json

import pytest
from django.utils import translation

from yiwang.cases import services as cs
from yiwang.cases.tests.conftest import MONDAY
from yiwang.notifications import services, tasks
from yiwang.notifications.choices import Channel, DeliveryStatus
from yiwang.notifications.models import Delivery
from yiwang.notifications.sms import HttpGatewayBackend, SmsNotSent


@pytest.fixture
def gateway(settings, stub):
    def make(answers):
        server = stub(answers)
        settings.YIWANG_SMS_BACKEND = "yiwang.notifications.sms.HttpGatewayBackend"
        settings.YIWANG_SMS_URL = server.url
        settings.YIWANG_SMS_TOKEN = "gateway-token-123"
        return server
    return make


def test_a_message_is_posted_as_json_with_the_token(db, gateway):
    server = gateway([(200, {"id": "msg-42", "status": "queued"})])
    receipt = services.sms_send(phone="13912345678", text="【一网】登录验证码 246810")
    assert receipt.reference == "msg-42" and receipt.status_code == 200
    ((path, headers, raw),) = server.requests
    assert path == "/hook" and headers["Authorization"] == "Bearer gateway-token-123"
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(raw) == {"to": "13912345678", "text": "【一网】登录验证码 246810"}


@pytest.mark.parametrize(("status", "permanent"), [(500, False), (503, False), (429, False), (408, False),
                                                   (400, True), (401, True), (422, True)])
def test_refusals_and_failures(db, gateway, status, permanent):
    gateway([(status, {"error": "nope"})])
    with pytest.raises(SmsNotSent) as failed:
        services.sms_send(phone="13912345678", text="hello")
    assert failed.value.permanent is permanent and failed.value.status_code == status
    assert failed.value.code == "sms_not_sent" and failed.value.status == 503
    assert "nope" in failed.value.response


def test_no_gateway_answering_is_a_failure_to_retry(db, settings):
    settings.YIWANG_SMS_BACKEND = "yiwang.notifications.sms.HttpGatewayBackend"
    settings.YIWANG_SMS_URL = "http://127.0.0.1:9/sms"  # the discard port: nothing listens
    with pytest.raises(SmsNotSent) as failed:
        services.sms_send(phone="13912345678", text="hello")
    assert not failed.value.permanent and failed.value.status_code is None and failed.value.detail
    with pytest.raises(SmsNotSent) as unset:
        HttpGatewayBackend(url="").send(phone="13912345678", text="hello")
    assert unset.value.permanent


def test_a_notification_goes_through_the_gateway_and_is_retried(cast, report, gateway):
    server = gateway([(502, "bad gateway"), (200, {"id": "m1"})])
    case = report()
    with translation.override("en"):
        cs.case_accept(actor=cast.acceptor, case=case, now=MONDAY)
        tasks.deliver_due.call_local()
        delivery = Delivery.objects.get(channel=Channel.SMS)
        assert delivery.status == DeliveryStatus.PENDING and delivery.last_error == "HTTP 502"
        services.deliveries_send_due(now=delivery.next_attempt_at)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 2
    assert list(delivery.attempt_log.values_list("status_code", flat=True)) == [502, 200]
    assert [json.loads(raw)["text"] for _, _, raw in server.requests] == [
        f"【一网】Your report {case.number} was accepted."] * 2


def test_a_refused_number_is_not_tried_again(cast, report, gateway):
    gateway([(400, {"error": "invalid number"})])
    cs.case_accept(actor=cast.acceptor, case=report(), now=MONDAY)
    tasks.deliver_due.call_local()
    delivery = Delivery.objects.get(channel=Channel.SMS)
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 1
    assert delivery.attempt_log.get().response == '{"error": "invalid number"}'
