"""Reads for the notifications app."""

from yiwang.notifications.models import NotificationPreference


def notification_preferences_for(*, user) -> dict:
    """The person's outbound channels: their choice (on unless switched off) and whether an address exists."""
    preference = NotificationPreference.objects.filter(user=user).first()
    return {
        "sms": preference.sms if preference else True,
        "email": preference.email if preference else True,
        "has_phone": bool(user.phone),
        "has_email": bool(user.email),
    }
