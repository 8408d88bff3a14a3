"""Sign-in by a one-time code: sent by SMS and kept only as a hash, short-lived, a few attempts, throttled per phone;
a new phone becomes a resident. Every step journaled without the code."""

import datetime as dt

import pytest

from yiwang.core import clock
from yiwang.core.errors import ValidationFailed
from yiwang.core.models import AuditEntry
from yiwang.phone import services
from yiwang.phone.models import LoginCode

from .conftest import MONDAY, last_code

pytestmark = pytest.mark.django_db
PHONE = "13812345678"
later = lambda seconds: MONDAY + dt.timedelta(seconds=seconds)  # noqa: E731


def code_sent(outbox, phone=PHONE, now=MONDAY) -> str:
    services.login_code_send(phone=phone, now=now)
    return last_code(outbox)


def test_a_code_goes_by_sms_and_only_its_hash_is_kept(outbox):
    row = services.login_code_send(phone="138 1234 5678", now=MONDAY)
    assert outbox[-1][0] == PHONE
    code = last_code(outbox)
    assert "【一网】" in outbox[-1][1] or outbox[-1][1].startswith("【")
    assert row.phone == PHONE and code not in row.code_hash and len(row.code_hash) == 64
    assert row.expires_at == MONDAY + dt.timedelta(minutes=5)
    entry = AuditEntry.objects.get(action="phone.code_sent")
    assert entry.after["phone"] == "138****5678"
    assert code not in str(entry.after) and PHONE not in str(entry.after) and PHONE not in entry.object_repr


def test_a_bad_number_is_refused_with_a_message_for_the_phone_field(outbox):
    with pytest.raises(ValidationFailed) as refused:
        services.login_code_send(phone="12345", now=MONDAY)
    assert refused.value.code == "invalid_phone" and "phone" in refused.value.fields
    assert outbox == [] and not LoginCode.objects.exists()


def test_a_new_phone_becomes_a_resident_and_it_is_journaled(outbox):
    from yiwang.web.selectors import roles_of

    code = code_sent(outbox)
    user = services.login_code_verify(phone=PHONE, code=code, now=later(30))
    assert user.phone == PHONE and not user.is_staff and not user.has_usable_password()
    with clock.frozen(later(30)):
        assert roles_of(user) == {"resident"}
    # From the code on: a transactional test before this one leaves its flush's role.install rows, at real time.
    first = AuditEntry.objects.get(action="phone.code_sent").pk
    actions = list(AuditEntry.objects.filter(pk__gte=first).order_by("id").values_list("action", flat=True))
    assert actions == ["phone.code_sent", "user.create", "role.assign", "phone.signed_in"]
    signed = AuditEntry.objects.get(action="phone.signed_in")
    assert signed.actor_id == user.pk and signed.after["new_account"] is True and code not in str(signed.after)
    # the code is spent
    with pytest.raises(ValidationFailed) as again:
        services.login_code_verify(phone=PHONE, code=code, now=later(40))
    assert again.value.code == "code_expired"


def test_the_same_phone_signs_in_to_the_same_resident_and_never_to_staff(outbox, world, person):
    staff = person("acceptor", region=world.district_a, username="desk")
    staff.phone = PHONE
    staff.save()
    first = services.login_code_verify(phone=PHONE, code=code_sent(outbox), now=later(1))
    assert first.pk != staff.pk
    second = services.login_code_verify(phone=PHONE, code=code_sent(outbox, now=later(120)), now=later(121))
    assert second.pk == first.pk
    assert AuditEntry.objects.filter(action="user.create", object_id=str(first.pk)).count() == 1


def test_a_code_expires_after_five_minutes(outbox):
    code = code_sent(outbox)
    with pytest.raises(ValidationFailed) as expired:
        services.login_code_verify(phone=PHONE, code=code, now=later(301))
    assert expired.value.code == "code_expired" and "code" in expired.value.fields
    assert not AuditEntry.objects.filter(action="phone.signed_in").exists()


def test_wrong_codes_count_even_though_refused_and_five_spend_the_code(outbox):
    code = code_sent(outbox)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for n in range(1, 5):
        with pytest.raises(ValidationFailed) as refused:
            services.login_code_verify(phone=PHONE, code=wrong, now=later(n))
        assert refused.value.code == "code_wrong"
        assert LoginCode.objects.get().attempts == n  # committed despite the refusal
    with pytest.raises(ValidationFailed) as locked:
        services.login_code_verify(phone=PHONE, code=wrong, now=later(5))
    assert locked.value.code == "code_locked"
    with pytest.raises(ValidationFailed) as still:  # even the right code now
        services.login_code_verify(phone=PHONE, code=code, now=later(6))
    assert still.value.code == "code_locked"
    assert AuditEntry.objects.filter(action="phone.code_wrong").count() == 5


def test_a_code_of_the_wrong_shape_is_refused_without_counting(outbox):
    code_sent(outbox)
    with pytest.raises(ValidationFailed) as refused:
        services.login_code_verify(phone=PHONE, code="12ab", now=later(1))
    assert refused.value.code == "code_format" and LoginCode.objects.get().attempts == 0


def test_resending_is_throttled_per_phone(outbox):
    code_sent(outbox)
    with pytest.raises(services.TooSoon) as soon:
        services.login_code_send(phone=PHONE, now=later(30))
    assert soon.value.status == 429 and 29 <= soon.value.wait_seconds <= 31 and len(outbox) == 1
    services.login_code_send(phone="13900001111", now=later(30))  # another phone is not held up
    for minute in range(1, 5):
        services.login_code_send(phone=PHONE, now=later(60 * minute + 1))
    assert LoginCode.objects.filter(phone=PHONE).count() == 5
    with pytest.raises(services.TooSoon) as hourly:
        services.login_code_send(phone=PHONE, now=later(60 * 10))
    assert hourly.value.code == "code_throttled"
    services.login_code_send(phone=PHONE, now=later(3601))  # an hour after the first


def test_a_new_code_replaces_the_one_before(outbox):
    old = code_sent(outbox)
    new = code_sent(outbox, now=later(61))
    if old == new:
        pytest.skip("the two random codes happened to be equal")
    with pytest.raises(ValidationFailed):
        services.login_code_verify(phone=PHONE, code=old, now=later(62))
    assert services.login_code_verify(phone=PHONE, code=new, now=later(63)).phone == PHONE


def test_a_refused_sms_stores_nothing(settings, monkeypatch):
    from yiwang.notifications import sms

    def refuse(self, *, phone, text):
        raise sms.SmsNotSent(detail="gateway down")

    settings.YIWANG_SMS_BACKEND = "yiwang.notifications.sms.MemoryBackend"
    monkeypatch.setattr(sms.MemoryBackend, "send", refuse)
    with pytest.raises(sms.SmsNotSent):
        services.login_code_send(phone=PHONE, now=MONDAY)
    assert not LoginCode.objects.exists() and not AuditEntry.objects.filter(action="phone.code_sent").exists()
