"""Telling people and systems what happened.

A notification lands in the recipient's inbox in the transaction of the change it reports, so it exists
exactly when the change does. In the same transaction each outbound message — the notification by SMS and by
e-mail on the recipient's enabled channels, each case event to every webhook subscription that asked for it —
becomes a pending Delivery row. After commit the task queue sends them (`tasks.deliver`); a rolled-back change
leaves neither rows nor messages. A failed attempt is tried again with backoff (`YIWANG_DELIVERY_BACKOFF`),
and a periodic task (`tasks.deliver_due`) sends whatever is due, so neither a dead worker nor a lost queue
entry loses a message: the rows are the queue of record.

Sending is not journaled: the Delivery rows and their DeliveryAttempt log are the record of what went out
(like reading one's inbox, it changes nothing anyone else relies on, and one row per attempt in the hash chain
would swamp it). What people change here — webhook subscriptions, channel preferences, a manual retry — is.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import smtplib
import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from yiwang.accounts.policies import can, ensure_in_scope, require
from yiwang.core import clock
from yiwang.core.errors import NotFound, PermissionRefused, check_editable, invalid
from yiwang.core.services import audit_write, snapshot
from yiwang.notifications import policies, sms, transport, webhooks
from yiwang.notifications.choices import Channel, DeliveryStatus
from yiwang.notifications.models import (
    Delivery,
    DeliveryAttempt,
    Notification,
    NotificationPreference,
    WebhookSubscription,
)

log = logging.getLogger(__name__)


# --- the inbox, and what goes out with it --------------------------------------------------------------------

def notify(*, recipients: Iterable, kind: str, text: str, case=None) -> list[Notification]:
    """Tell each recipient (users; duplicates and None are skipped) once: in the inbox, and by SMS and e-mail
    where they are enabled (sent after commit)."""
    now = clock.now()
    seen, rows = set(), []
    for user in recipients:
        if user is None or user.pk in seen:
            continue
        seen.add(user.pk)
        rows.append(Notification(recipient=user, kind=kind, text=text[:500], case=case, created_at=now))
    created = Notification.objects.bulk_create(rows)
    _plan_notification_deliveries(created, now)
    return created


def _fresh(at: dt.datetime) -> bool:
    """Outbound messages are for news. A change recorded with a time long past — an import of old cases, the
    demo's history — stays in the inbox and the journal but sends nothing."""
    max_age = settings.YIWANG_OUTBOUND_MAX_AGE
    return not max_age or at >= timezone.now() - dt.timedelta(seconds=max_age)


def _due_from(at: dt.datetime) -> dt.datetime:
    return min(at, timezone.now())


def channels_for(user, kind: str, *, case=None, preference: NotificationPreference | None = None) -> list[str]:
    """The outbound channels a notification of `kind` reaches `user` on: switched on for the installation
    (`YIWANG_NOTIFY_CHANNELS`) and by the user, with an address to send to; SMS only for kinds that have a
    short SMS text (policies.SMS_TEXTS) about a case."""
    enabled = settings.YIWANG_NOTIFY_CHANNELS
    wants_sms = preference.sms if preference is not None else True
    wants_email = preference.email if preference is not None else True
    channels = []
    if (Channel.SMS in enabled and wants_sms and user.phone and kind in policies.SMS_TEXTS
            and case is not None):
        channels.append(Channel.SMS)
    if Channel.EMAIL in enabled and wants_email and user.email:
        channels.append(Channel.EMAIL)
    return channels


def _plan_notification_deliveries(notifications: list[Notification], now: dt.datetime) -> None:
    if not notifications or not settings.YIWANG_NOTIFY_CHANNELS or not _fresh(now):
        return
    preferences = {p.user_id: p for p in NotificationPreference.objects.filter(
        user_id__in=[n.recipient_id for n in notifications])}
    due = _due_from(now)
    rows = [
        Delivery(channel=channel, notification=n, event=n.kind, case=n.case, created_at=now, next_attempt_at=due,
                 scope_path=n.case.region_path if n.case is not None else n.recipient.region_path)
        for n in notifications
        for channel in channels_for(n.recipient, n.kind, case=n.case, preference=preferences.get(n.recipient_id))
    ]
    _send_after_commit(Delivery.objects.bulk_create(rows))


@transaction.atomic
def notification_mark_read(*, actor, notification_ids: list[int] | None = None) -> int:
    """Mark the actor's own notifications read (all unread ones when no ids are given). Reading one's own inbox
    is not journaled: it changes nothing anyone else sees."""
    if actor is None or not actor.is_authenticated:
        raise NotFound()
    queryset = Notification.objects.filter(recipient=actor, read_at__isnull=True)
    if notification_ids is not None:
        queryset = queryset.filter(pk__in=notification_ids)
    return queryset.update(read_at=clock.now())


@transaction.atomic
def notification_preferences_set(*, actor, sms: bool | None = None, email: bool | None = None
                                 ) -> NotificationPreference:
    """Switch one's own SMS and e-mail notifications on or off (the inbox always gets them)."""
    if actor is None or not actor.is_authenticated:
        raise NotFound()
    preference, created = NotificationPreference.objects.select_for_update().get_or_create(user=actor)
    before = snapshot(preference)
    if sms is not None:
        preference.sms = bool(sms)
    if email is not None:
        preference.email = bool(email)
    if not created and snapshot(preference) == before:
        return preference  # nothing changed, nothing to journal
    preference.save()
    audit_write(actor=actor, action="notification_preference.change", obj=preference, before=before,
                after=snapshot(preference), scope_path=actor.region_path)
    return preference


# --- case events for webhooks --------------------------------------------------------------------------------

def case_event_publish(*, case, action: str, entry=None) -> list[Delivery]:
    """Called by the case services right after each journal entry ("case.<verb>"), inside their transaction:
    one pending delivery per active webhook subscription that asked for the event and covers the case's place.
    The payload is fixed now (the case as the event left it) and sent after commit."""
    occurred = entry.created_at if entry is not None else clock.now()
    if not _fresh(occurred):
        return []
    subscriptions = [s for s in _active_subscriptions() if s.wants(action, case.region_path)]
    if not subscriptions:
        return []
    body = webhooks.case_payload(case=case, event=action, occurred_at=occurred)
    due = _due_from(occurred)
    rows = Delivery.objects.bulk_create([
        Delivery(channel=Channel.WEBHOOK, subscription=s, event=action, case=case, body=body, created_at=occurred,
                 next_attempt_at=due, scope_path=s.region_path)
        for s in subscriptions
    ])
    _send_after_commit(rows)
    return rows


# Every case change asks which subscriptions want it, so each process keeps the active ones for a few seconds
# (YIWANG_WEBHOOK_RECHECK_SECONDS) instead of asking the database on every report: a change to a subscription
# reaches the other processes that much later (this one at once). That is safe: a delivery reads its
# subscription's current address, secret and switch when it is sent, and one whose subscription is gone (a
# rolled-back creation still in the list) fails there, never here — Delivery.subscription has no database
# constraint to break the case change with.
_cache: tuple[float, list] = (float("-inf"), [])


def _active_subscriptions() -> list[WebhookSubscription]:
    global _cache
    loaded_at, rows = _cache
    if time.monotonic() - loaded_at > settings.YIWANG_WEBHOOK_RECHECK_SECONDS:
        rows = list(WebhookSubscription.objects.filter(is_active=True).only("id", "events", "region_path",
                                                                             "is_active"))
        _cache = (time.monotonic(), rows)
    return rows


def forget_subscriptions() -> None:
    global _cache
    _cache = (float("-inf"), [])


def _subscriptions_changed() -> None:
    forget_subscriptions()
    transaction.on_commit(forget_subscriptions)


def _send_after_commit(deliveries: list[Delivery]) -> None:
    ids = [d.pk for d in deliveries]
    if not ids:
        return

    def enqueue():
        from yiwang.notifications import tasks

        try:
            tasks.deliver(ids)
        except Exception:  # noqa: BLE001 — the queue may be down; the rows are safe and deliver_due sends them
            log.warning("could not queue deliveries %s; the periodic pickup will send them", ids, exc_info=True)

    transaction.on_commit(enqueue, robust=True)


# --- SMS ------------------------------------------------------------------------------------------------------

def mask(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 8 else "****"


def sms_send(*, phone: str, text: str) -> sms.SmsReceipt:
    """Send one text message now through the configured gateway (YIWANG_SMS_BACKEND) and wait for its answer;
    raise SmsNotSent if it did not go out.

    It stores and journals nothing, and logs only the masked number: the text may be a one-time login code,
    which must not outlive the message. Callers record their own event — a notification's Delivery row, or
    "login code sent to 138****5678" without the code. Call it from the task queue or where the answer is
    needed at once (a login code); notifications go through `notify`, which sends after commit."""
    from yiwang.accounts.models import phone_validator

    phone = (phone or "").strip()
    try:
        phone_validator(phone)
    except ValidationError:
        raise invalid(gettext("Enter a valid phone number."), "invalid_phone", "phone") from None
    text = (text or "").strip()
    if not text or len(text) > settings.YIWANG_SMS_MAX_CHARS:
        raise invalid(gettext("A text message must have between 1 and %(n)d characters.")
                      % {"n": settings.YIWANG_SMS_MAX_CHARS}, "sms_length", "text")
    receipt = sms.get_backend().send(phone=phone, text=text)
    log.info("sms sent to %s (%s)", mask(phone), receipt.reference or "no reference")
    return receipt


def sms_text(notification: Notification) -> str:
    """The short text of a notification's SMS: the signature, the case number and what happened — never the
    notification's free text."""
    template = policies.SMS_TEXTS[notification.kind]
    return settings.YIWANG_MESSAGE_SIGNATURE + str(template) % {"n": notification.case.number}


# --- sending ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    ok: bool
    permanent: bool = False  # trying again cannot help
    status_code: int | None = None
    error: str = ""
    response: str = ""
    duration_ms: int | None = None


def _send_sms(delivery: Delivery) -> Outcome:
    notification = delivery.notification
    phone = notification.recipient.phone
    if not phone:
        return Outcome(ok=False, permanent=True, error="the recipient has no phone number")
    try:
        receipt = sms_send(phone=phone, text=sms_text(notification))
    except sms.SmsNotSent as exc:
        return Outcome(ok=False, permanent=exc.permanent, status_code=exc.status_code, response=exc.response,
                       error=exc.detail or str(exc.message))
    return Outcome(ok=True, status_code=receipt.status_code, response=receipt.response or receipt.reference,
                   duration_ms=receipt.duration_ms or None)


def _send_email(delivery: Delivery) -> Outcome:
    notification = delivery.notification
    address = notification.recipient.email
    if not address:
        return Outcome(ok=False, permanent=True, error="the recipient has no e-mail address")
    if notification.kind in policies.SMS_TEXTS and notification.case is not None:
        subject = sms_text(notification)
    else:
        subject = settings.YIWANG_MESSAGE_SIGNATURE + gettext("New notification")
    body = notification.text
    if notification.case is not None:
        body += "\n\n" + gettext("Case %(n)s") % {"n": notification.case.number}
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [address], fail_silently=False)
    except smtplib.SMTPRecipientsRefused as exc:
        return Outcome(ok=False, permanent=True, error=f"recipient refused: {exc}"[:500])
    except (smtplib.SMTPException, OSError) as exc:
        return Outcome(ok=False, error=f"{type(exc).__name__}: {exc}"[:500])
    return Outcome(ok=True)


def _send_webhook(delivery: Delivery) -> Outcome:
    subscription = delivery.subscription
    if subscription is None or not subscription.is_active:
        return Outcome(ok=False, permanent=True, error="the webhook subscription was removed or switched off")
    if not settings.YIWANG_WEBHOOK_ALLOW_LOCAL:
        refused = transport.local_target(subscription.url, resolve=True)
        if refused:
            return Outcome(ok=False, permanent=True, error=f"not sent: {refused}")
    result = webhooks.post(url=subscription.url, secret=subscription.secret, event=delivery.event,
                           delivery_id=str(delivery.uuid), body=delivery.body)
    return Outcome(ok=result.ok, status_code=result.status, error=result.error, response=result.body,
                   duration_ms=result.duration_ms)


SENDERS = {Channel.SMS: _send_sms, Channel.EMAIL: _send_email, Channel.WEBHOOK: _send_webhook}


def delivery_send(*, delivery: Delivery | int, now: dt.datetime | None = None) -> str | None:
    """Try one delivery if it is pending and due, and log the attempt. Returns its status afterwards, or None
    if it was not ours to send (already sent, not due, or claimed by another worker).

    The claim is a conditional UPDATE that also pushes the due time a lease ahead, committed before anything
    is sent: two workers never send the same delivery at once, and one that dies mid-send leaves it due again
    when the lease runs out (that try counts as an attempt)."""
    pk = delivery.pk if isinstance(delivery, Delivery) else delivery
    with clock.frozen(now or clock.now()):
        started_at = clock.now()
        claimed = Delivery.objects.filter(pk=pk, status=DeliveryStatus.PENDING, next_attempt_at__lte=started_at) \
            .update(attempts=F("attempts") + 1, next_attempt_at=started_at + policies.LEASE)
        if not claimed:
            return None
        delivery = Delivery.objects.select_related("notification__recipient", "notification__case",
                                                   "subscription").get(pk=pk)
        began = time.monotonic()
        try:
            outcome = SENDERS[delivery.channel](delivery)
        except Exception as exc:  # noqa: BLE001 — a broken sender must not stop the rest of the batch
            log.exception("delivery %s failed unexpectedly", delivery.uuid)
            outcome = Outcome(ok=False, error=f"{type(exc).__name__}: {exc}"[:500])
        took = outcome.duration_ms if outcome.duration_ms is not None else int((time.monotonic() - began) * 1000)
        return _record(delivery, outcome, started_at=started_at, duration_ms=took)


def _record(delivery: Delivery, outcome: Outcome, *, started_at: dt.datetime, duration_ms: int) -> str:
    done = clock.now()
    error = outcome.error or ("" if outcome.ok else "failed")
    if outcome.ok:
        status, next_at, sent_at = DeliveryStatus.SENT, None, done
    elif outcome.permanent or delivery.attempts >= policies.max_attempts():
        status, next_at, sent_at = DeliveryStatus.FAILED, None, None
    else:
        wait = policies.backoff()[delivery.attempts - 1]
        status, next_at, sent_at = DeliveryStatus.PENDING, done + dt.timedelta(seconds=wait), None
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            delivery=delivery, number=delivery.attempts, started_at=started_at, duration_ms=max(0, duration_ms),
            ok=outcome.ok, status_code=outcome.status_code, error=error[:1000], response=outcome.response[:500])
        Delivery.objects.filter(pk=delivery.pk).update(status=status, next_attempt_at=next_at, sent_at=sent_at,
                                                        last_error="" if outcome.ok else error[:1000])
    if status == DeliveryStatus.FAILED:
        log.warning("delivery %s (%s %s) failed for good after %d attempts: %s", delivery.uuid, delivery.channel,
                    delivery.event, delivery.attempts, error)
    return status


def deliveries_send(*, ids: Iterable[int], now: dt.datetime | None = None) -> dict[str, int]:
    """Send the given deliveries that are due (what a transaction queued after its commit)."""
    counts = {"sent": 0, "failed": 0, "pending": 0}
    for pk in ids:
        status = delivery_send(delivery=pk, now=now)
        if status is not None:
            counts[status] += 1
    return counts


def deliveries_send_due(*, now: dt.datetime | None = None, batch: int = 200,
                        budget_seconds: float = 50.0) -> dict[str, int]:
    """Send every pending delivery that is due: first attempts whose queue entry was lost, retries whose
    backoff has run out, and claims whose worker died. Stops after `budget_seconds` so runs do not pile up;
    the next run goes on."""
    counts = {"sent": 0, "failed": 0, "pending": 0}
    deadline = time.monotonic() + budget_seconds
    with clock.frozen(now or clock.now()):
        while time.monotonic() < deadline:
            ids = list(Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=clock.now())
                       .order_by("next_attempt_at", "id").values_list("pk", flat=True)[:batch])
            if not ids:
                break
            for key, value in deliveries_send(ids=ids).items():
                counts[key] += value
    return counts


@transaction.atomic
def delivery_retry(*, actor, delivery: Delivery, reason: str = "") -> Delivery:
    """Try a failed (or waiting) delivery once more, now — after the receiver was fixed, say."""
    delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
    require(delivery, actor=actor, action="change")
    if delivery.status == DeliveryStatus.SENT:
        raise invalid(gettext("This message was sent already."), "already_sent")
    before = snapshot(delivery, ["status", "next_attempt_at"])
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = _due_from(clock.now())
    delivery.save(update_fields=["status", "next_attempt_at"])
    audit_write(actor=actor, action="delivery.retry", obj=delivery, before=before,
                after=snapshot(delivery, ["status", "next_attempt_at"]), reason=reason,
                scope_path=delivery.scope_path)
    _send_after_commit([delivery])
    return delivery


# --- webhook subscriptions -------------------------------------------------------------------------------------

SUBSCRIPTION_EDITABLE = {"name", "url", "secret", "events", "region", "is_active"}
MIN_SECRET = 16


def _clean_events(events) -> list[str]:
    if isinstance(events, str):
        events = events.replace(",", " ").split()
    cleaned = list(dict.fromkeys(str(e).strip() for e in (events or []) if str(e).strip()))
    unknown = [e for e in cleaned if e != policies.ALL_EVENTS and e not in policies.CASE_EVENTS]
    if unknown:
        raise invalid(gettext("Unknown events: %(e)s. Known: %(k)s, or * for all.")
                      % {"e": ", ".join(unknown), "k": ", ".join(policies.CASE_EVENTS)}, "unknown_event", "events")
    if not cleaned:
        raise invalid(gettext("Name at least one event, or * for all."), "required", "events")
    return cleaned


def _check_subscription(subscription: WebhookSubscription) -> None:
    if not subscription.name:
        raise invalid(gettext("A name is required."), "required", "name")
    try:
        URLValidator(schemes=["http", "https"])(subscription.url)
    except ValidationError:
        raise invalid(gettext("Enter an http:// or https:// address."), "invalid_url", "url") from None
    if not settings.YIWANG_WEBHOOK_ALLOW_LOCAL and transport.local_target(subscription.url, resolve=False):
        raise invalid(gettext("This address points at the server itself or a link-local network."),
                      "url_not_allowed", "url")
    if len(subscription.secret) < MIN_SECRET:
        raise invalid(gettext("The secret must have at least %(n)d characters (leave it empty to have one made).")
                      % {"n": MIN_SECRET}, "secret_too_short", "secret")


def _journaled(subscription: WebhookSubscription) -> dict:
    """What the journal keeps of a subscription: everything but the secret."""
    data = snapshot(subscription)
    data.pop("secret", None)
    return data


@transaction.atomic
def webhook_subscription_create(*, actor, name: str, url: str, region, events, secret: str = "",
                                is_active: bool = True, reason: str = "") -> WebhookSubscription:
    if actor is not None and not can(actor, "notifications.add_webhooksubscription"):
        raise PermissionRefused()
    if region is None:
        raise invalid(gettext("Choose the jurisdiction."), "required", "region")
    subscription = WebhookSubscription(
        name=(name or "").strip(), url=(url or "").strip(), secret=(secret or "").strip() or secrets.token_hex(32),
        events=_clean_events(events), region=region, region_path=region.path, is_active=is_active,
        created_at=clock.now())
    _check_subscription(subscription)
    subscription.save(force_insert=True)
    ensure_in_scope(subscription, actor=actor, action="add")
    audit_write(actor=actor, action="webhook_subscription.create", obj=subscription,
                after=_journaled(subscription), reason=reason, scope_path=subscription.region_path)
    _subscriptions_changed()
    return subscription


@transaction.atomic
def webhook_subscription_update(*, actor, subscription: WebhookSubscription, reason: str = "",
                                **changes) -> WebhookSubscription:
    """Change a subscription; an emptied secret is replaced by a new random one. Deliveries still waiting
    go to the new address with the new secret; a subscription switched off sends nothing more (its waiting
    deliveries fail). Subscriptions are switched off, never deleted: their delivery log stays whole."""
    check_editable(changes, SUBSCRIPTION_EDITABLE)
    subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    require(subscription, actor=actor, action="change")
    before, old_secret = _journaled(subscription), subscription.secret
    for field, value in changes.items():
        setattr(subscription, field, value)
    subscription.name = (subscription.name or "").strip()
    subscription.url = (subscription.url or "").strip()
    subscription.secret = (subscription.secret or "").strip() or secrets.token_hex(32)
    subscription.events = _clean_events(subscription.events)
    if subscription.region_id is None:
        raise invalid(gettext("Choose the jurisdiction."), "required", "region")
    subscription.region_path = subscription.region.path
    _check_subscription(subscription)
    subscription.save()
    ensure_in_scope(subscription, actor=actor, action="change")
    after = _journaled(subscription)
    if subscription.secret != old_secret:  # say that it changed, never what it is
        before["secret"], after["secret"] = "previous", "replaced"
    audit_write(actor=actor, action="webhook_subscription.update", obj=subscription, before=before, after=after,
                reason=reason, scope_path=subscription.region_path)
    _subscriptions_changed()
    return subscription


def deliveries_purge(*, now: dt.datetime | None = None, keep_days: int | None = None) -> int:
    """Forget deliveries that are done (sent, or failed for good) and older than YIWANG_DELIVERY_KEEP_DAYS,
    with their attempt log. One waiting to be sent is never forgotten, however old. Housekeeping of a log,
    like the idempotency keys' purge: the case changes they reported on stay in the journal."""
    keep_days = settings.YIWANG_DELIVERY_KEEP_DAYS if keep_days is None else keep_days
    cutoff = (now or clock.now()) - dt.timedelta(days=keep_days)
    old = Delivery.objects.filter(status__in=[DeliveryStatus.SENT, DeliveryStatus.FAILED], created_at__lt=cutoff)
    purged = 0
    while True:  # in batches, so a big backlog never holds one long write
        ids = list(old.values_list("pk", flat=True)[:2000])
        if not ids:
            return purged
        with transaction.atomic():
            DeliveryAttempt.objects.filter(delivery_id__in=ids).delete()
            purged += Delivery.objects.filter(pk__in=ids).delete()[0]
