"""Writing to people's inboxes. A notification is created in the transaction of the change it reports, so it
exists exactly when the change does; outbound delivery (SMS, e-mail, webhooks) is scheduled after commit."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from yiwang.core import clock
from yiwang.core.errors import NotFound
from yiwang.notifications.models import Notification


def notify(*, recipients: Iterable, kind: str, text: str, case=None) -> list[Notification]:
    """Tell each recipient (users; duplicates and None are skipped) once."""
    now = clock.now()
    seen, rows = set(), []
    for user in recipients:
        if user is None or user.pk in seen:
            continue
        seen.add(user.pk)
        rows.append(Notification(recipient=user, kind=kind, text=text[:500], case=case, created_at=now))
    return Notification.objects.bulk_create(rows)


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
