"""GeoReport v2 at /open311/v2/: every resource in both formats, chosen by its suffix."""

from django.urls import re_path

from yiwang.open311 import views

FMT = r"\.(?P<fmt>json|xml)$"

urlpatterns = [
    re_path(r"^discovery" + FMT, views.discovery, name="open311-discovery"),
    re_path(r"^services" + FMT, views.services_list, name="open311-services"),
    re_path(r"^services/(?P<code>[^/]+?)" + FMT, views.service_definition, name="open311-service"),
    re_path(r"^requests" + FMT, views.requests, name="open311-requests"),
    re_path(r"^requests/(?P<number>[^/]+?)" + FMT, views.request_one, name="open311-request"),
    re_path(r"^tokens/(?P<token>[^/]+?)" + FMT, views.token_lookup, name="open311-token"),
    re_path(r"^(?P<rest>.*)$", views.unknown, name="open311-unknown"),
]
