"""The number of unread messages, for the page headers (counted only where a template shows it)."""

from yiwang.notifications.selectors import notification_unread_count


def unread_messages(request) -> dict:
    user = getattr(request, "user", None)
    return {"unread_messages": lambda: notification_unread_count(user=user)}
