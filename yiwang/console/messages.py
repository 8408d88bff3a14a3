"""The console's page of my messages: the in-app inbox (yiwang.notifications.views), with the console's
navigation; a notification's case opens on the console's case page."""

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect
from django.urls import reverse

from yiwang.cases.selectors import is_staff
from yiwang.console.views import _nav
from yiwang.notifications.views import Inbox


def _refuse(request):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not is_staff(request.user):  # residents have theirs on the phone pages
        return redirect("phone:messages")
    return None


MESSAGES = Inbox(namespace="console", template="console/messages.html", refuse=_refuse,
                 context=lambda request: _nav(request, "messages"),
                 case_url=lambda request, case: reverse("console:case", args=[case.pk]))
