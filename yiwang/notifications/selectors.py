"""Reads for the notifications app."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils.translation import gettext

from yiwang.accounts.policies import restrict
from yiwang.core.errors import invalid
from yiwang.notifications.choices import Channel, DeliveryStatus
from yiwang.notifications.models import Delivery, Notification, NotificationPreference, WebhookSubscription


def notification_list_for(*, user) -> QuerySet[Notification]:
    """The person's own inbox, newest first."""
    return Notification.objects.filter(recipient=user).select_related("case")


def notification_unread_count(*, user) -> int:
    if user is None or not user.is_authenticated:
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def notification_get_for(*, user, pk) -> Notification:
    """One notification of the person's own; anyone else's is missing (NotFound)."""
    from yiwang.core.errors import NotFound

    try:
        return notification_list_for(user=user).get(pk=pk)
    except (Notification.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def notification_preferences_for(*, user) -> dict:
    """The person's outbound channels: their choice (on unless switched off) and whether an address exists."""
    preference = NotificationPreference.objects.filter(user=user).first()
    return {
        "sms": preference.sms if preference else True,
        "email": preference.email if preference else True,
        "has_phone": bool(user.phone),
        "has_email": bool(user.email),
    }


def webhook_subscription_list_for(*, actor) -> QuerySet[WebhookSubscription]:
    """The webhook subscriptions whose jurisdiction lies in the actor's area."""
    return restrict(WebhookSubscription.objects.select_related("region"), actor=actor, action="view")


@dataclass(frozen=True)
class DeliveryFilters:
    status: tuple[str, ...] = ()
    subscription: int | None = None
    event: str = ""
    case: int | None = None


def delivery_filters_from(params) -> DeliveryFilters:
    """The delivery log's filters from query parameters: `status` (comma list), `subscription` (id), `event`,
    `case` (id). A bad value is refused with its field's code."""
    def number(name):
        value = (params.get(name) or "").strip()
        if not value:
            return None
        if not value.isdigit():
            raise invalid(gettext("Give the id as a number."), f"{name}_invalid", name)
        return int(value)

    status = tuple(s for s in (params.get("status") or "").split(",") if s)
    if any(s not in DeliveryStatus.values for s in status):
        raise invalid(gettext("Unknown status."), "status_invalid", "status")
    return DeliveryFilters(status=status, subscription=number("subscription"),
                           event=(params.get("event") or "").strip(), case=number("case"))


def webhook_delivery_list_for(*, actor, filters: DeliveryFilters | None = None) -> QuerySet[Delivery]:
    """The delivery log of webhooks (not SMS or e-mail) in the actor's area, newest first, each with its
    subscription, case and attempts at hand."""
    filters = filters or DeliveryFilters()
    queryset = restrict(Delivery.objects.filter(channel=Channel.WEBHOOK), actor=actor, action="view")
    if filters.status:
        queryset = queryset.filter(status__in=filters.status)
    if filters.subscription is not None:
        queryset = queryset.filter(subscription_id=filters.subscription)
    if filters.event:
        queryset = queryset.filter(event=filters.event)
    if filters.case is not None:
        queryset = queryset.filter(case_id=filters.case)
    return queryset.select_related("subscription", "case").prefetch_related("attempt_log")
