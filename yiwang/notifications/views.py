"""The in-app inbox as pages: the phone's (`/m/messages/`) and the console's (`/console/messages/`). One set of
views; each page family passes its `Inbox`: its template, who may use it, its page context, and where a
notification's case opens for this person. Reads go through yiwang.notifications.selectors, writes through its
services."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from yiwang.core.errors import NotFound
from yiwang.notifications.selectors import (
    notification_get_for,
    notification_list_for,
    notification_preferences_for,
    notification_unread_count,
)
from yiwang.notifications.services import notification_mark_read, notification_preferences_set

PAGE_SIZE = 30


@dataclass(frozen=True)
class Inbox:
    namespace: str  # the URL namespace of the page family: its pages are <namespace>:messages, …-open, …
    template: str
    refuse: Callable[[HttpRequest], HttpResponse | None]  # an answer for someone who may not be here, else None
    context: Callable[[HttpRequest], dict]
    case_url: Callable[[HttpRequest, object], str]

    def url(self, name: str = "messages", *args) -> str:
        return reverse(f"{self.namespace}:{name}", args=args)


def _guarded(view):
    @functools.wraps(view)
    def wrapped(request, *args, inbox: Inbox, **kwargs):
        if (answer := inbox.refuse(request)) is not None:
            return answer
        return view(request, *args, inbox=inbox, **kwargs)
    return wrapped


@require_GET
@_guarded
def inbox_page(request, *, inbox: Inbox):
    """My notifications, newest first, the unread ones marked; and my SMS and e-mail switches."""
    page = Paginator(notification_list_for(user=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, inbox.template, {
        **inbox.context(request), "page": page, "notes": page.object_list, "inbox": inbox,
        "unread": notification_unread_count(user=request.user),
        "channels": notification_preferences_for(user=request.user),
    })


@require_GET
@_guarded
def inbox_open(request, pk: int, *, inbox: Inbox):
    """Open one notification: it is read now, and its case is shown (or the inbox, for one without a case)."""
    try:
        note = notification_get_for(user=request.user, pk=pk)
    except NotFound:
        raise Http404() from None
    notification_mark_read(actor=request.user, notification_ids=[note.pk])
    return redirect(inbox.case_url(request, note.case) if note.case_id else inbox.url())


@require_POST
@_guarded
def inbox_read_all(request, *, inbox: Inbox):
    marked = notification_mark_read(actor=request.user)
    if marked:
        messages.success(request, gettext("All messages are marked read."))
    return redirect(inbox.url())


@require_POST
@_guarded
def inbox_channels(request, *, inbox: Inbox):
    """The SMS and e-mail switches (a box left unticked is off)."""
    offered = notification_preferences_for(user=request.user)  # a switch without an address is left as it is
    notification_preferences_set(actor=request.user,
                                 sms=request.POST.get("sms") == "on" if offered["has_phone"] else None,
                                 email=request.POST.get("email") == "on" if offered["has_email"] else None)
    messages.success(request, gettext("Saved: how you are told besides this page."))
    return redirect(inbox.url())


def urls(inbox: Inbox) -> list:
    """The inbox's URL patterns for one page family (included under its own prefix and namespace)."""
    from django.urls import path

    given = {"inbox": inbox}
    return [
        path("messages/", inbox_page, given, name="messages"),
        path("messages/read/", inbox_read_all, given, name="messages-read"),
        path("messages/channels/", inbox_channels, given, name="messages-channels"),
        path("messages/<int:pk>/", inbox_open, given, name="messages-open"),
    ]
