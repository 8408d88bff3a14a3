import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from yiwang.core.scope import ScopeSpec
from yiwang.notifications.choices import Channel, DeliveryStatus


class Notification(models.Model):
    """One message in a person's in-app inbox. Outbound channels (SMS, e-mail) deliver it further; see Delivery."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recipient"), on_delete=models.CASCADE,
                                  related_name="notifications")
    kind = models.CharField(_("kind"), max_length=32, db_index=True)
    case = models.ForeignKey("cases.Case", verbose_name=_("case"), null=True, blank=True, on_delete=models.CASCADE,
                             related_name="+")
    text = models.CharField(_("text"), max_length=500)
    created_at = models.DateTimeField(_("time"), db_index=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    scope = ScopeSpec(owner="recipient")

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"])]

    def __str__(self):
        return self.text[:60]


class NotificationPreference(models.Model):
    """Which outbound channels a person wants besides the inbox. Without a row both are on; a channel also
    needs the address (User.phone, User.email)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE,
                                related_name="notification_preference")
    sms = models.BooleanField(_("by SMS"), default=True)
    email = models.BooleanField(_("by e-mail"), default=True)

    scope = ScopeSpec(owner="user")

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")

    def __str__(self):
        return str(self.user)


class WebhookSubscription(models.Model):
    """A department system (公安, 环保, 水利 …) told of case events in its jurisdiction by signed HTTP POSTs."""

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(_("signing secret"), max_length=200, blank=True,
                              help_text=_("Shared with the receiver, which checks each request's signature with "
                                          "it. Left empty, a random one is made."))
    events = models.JSONField(_("events"), default=list, blank=True,
                              help_text=_('Case events to send, e.g. "case.dispatch", or "*" for all.'))
    region = models.ForeignKey("geo.Region", verbose_name=_("jurisdiction"), on_delete=models.PROTECT,
                               related_name="+", help_text=_("Only cases in this region and below."))
    region_path = models.CharField(_("path"), max_length=255, editable=False, db_index=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), editable=False)

    scope = ScopeSpec(path="region_path")

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["name", "id"]

    def __str__(self):
        return self.name

    def wants(self, event: str, path: str) -> bool:
        return self.is_active and path.startswith(self.region_path) and ("*" in self.events or event in self.events)


class Delivery(models.Model):
    """One message on its way out through one channel: a notification by SMS or e-mail, or a case event to one
    webhook subscription. Written in the transaction of the change it reports (so it exists exactly when the
    change does), sent after commit by the task queue, retried with backoff; every try is a DeliveryAttempt."""

    uuid = models.UUIDField(_("delivery id"), default=uuid.uuid4, unique=True, editable=False)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    notification = models.ForeignKey(Notification, verbose_name=_("notification"), null=True, blank=True,
                                     on_delete=models.CASCADE, related_name="deliveries")
    # No database constraint: recording an event must never fail (and take the case change with it) because a
    # process still offered a subscription that is gone; the sender treats a missing one as switched off.
    subscription = models.ForeignKey(WebhookSubscription, verbose_name=_("webhook subscription"), null=True,
                                     blank=True, on_delete=models.SET_NULL, related_name="deliveries",
                                     db_constraint=False)
    event = models.CharField(_("event"), max_length=64)
    case = models.ForeignKey("cases.Case", verbose_name=_("case"), null=True, blank=True, on_delete=models.CASCADE,
                             related_name="+")
    # A webhook's body exactly as signed and sent (the case as it was at the event); empty for SMS and e-mail,
    # whose text comes from the notification.
    body = models.TextField(_("body"), blank=True)
    status = models.CharField(_("status"), max_length=8, choices=DeliveryStatus.choices,
                              default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    # Where the case is (a webhook's: its subscription's jurisdiction), so the log is read in scope.
    scope_path = models.CharField(_("path"), max_length=255, blank=True, db_index=True)

    scope = ScopeSpec(path="scope_path")

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]
        constraints = [
            models.UniqueConstraint(fields=["notification", "channel"], name="delivery_once_per_channel",
                                    condition=models.Q(notification__isnull=False)),
        ]

    def __str__(self):
        return f"{self.get_channel_display()} {self.event} {self.uuid}"


class DeliveryAttempt(models.Model):
    """One try at sending a delivery: the delivery log."""

    delivery = models.ForeignKey(Delivery, verbose_name=_("delivery"), on_delete=models.CASCADE,
                                 related_name="attempt_log")
    number = models.PositiveSmallIntegerField(_("attempt"))
    started_at = models.DateTimeField(_("started at"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))
    ok = models.BooleanField(_("succeeded"))
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    response = models.TextField(_("response (start)"), blank=True)

    scope = ScopeSpec(path="delivery__scope_path", follows_moves=False)  # its delivery's path moves it

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["delivery", "number", "id"]

    def __str__(self):
        return f"#{self.number} {'ok' if self.ok else self.error[:40]}"
