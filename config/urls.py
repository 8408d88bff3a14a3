from django.contrib import admin
from django.http import JsonResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from yiwang.accounts.api import AssignmentViewSet, MeView, TokenLoginView, UserViewSet
from yiwang.cases.api import CaseViewSet
from yiwang.cases.api_measures import MeasuresView
from yiwang.geo.api import ExportView, GridStaffViewSet, GridViewSet, LocateView, RegionViewSet
from yiwang.imports.api import ImportErrorsView, ImportRunViewSet
from yiwang.notifications.api import NotificationViewSet
from yiwang.notifications.api_webhooks import WebhookDeliveryViewSet, WebhookSubscriptionViewSet
from yiwang.org.api import (
    CatalogueViewSet,
    CategoryViewSet,
    MembershipViewSet,
    RoutingView,
    RuleViewSet,
    UnitViewSet,
)

router = DefaultRouter(trailing_slash=True)
router.register("geo/regions", RegionViewSet, basename="region")
router.register("geo/grids", GridViewSet, basename="grid")
router.register("geo/grid-staff", GridStaffViewSet, basename="grid-staff")
router.register("org/units", UnitViewSet, basename="unit")
router.register("org/catalogues", CatalogueViewSet, basename="catalogue")
router.register("org/categories", CategoryViewSet, basename="category")
router.register("org/rules", RuleViewSet, basename="rule")
router.register("org/memberships", MembershipViewSet, basename="membership")
router.register("accounts/users", UserViewSet, basename="user")
router.register("accounts/assignments", AssignmentViewSet, basename="assignment")
router.register("cases", CaseViewSet, basename="case")
router.register("notifications", NotificationViewSet, basename="notification")
router.register("webhooks/subscriptions", WebhookSubscriptionViewSet, basename="webhook-subscription")
router.register("webhooks/deliveries", WebhookDeliveryViewSet, basename="webhook-delivery")
router.register("imports", ImportRunViewSet, basename="import")


def favicon(request):
    return redirect(static("web/favicon.svg"), permanent=True)


def health(request):
    return JsonResponse({"status": "ok"})


api_v1 = [
    path("auth/token/", TokenLoginView.as_view(), name="auth-token"),
    path("me/", MeView.as_view(), name="me"),
    re_path(r"^geo/locate/?$", LocateView.as_view(), name="geo-locate"),
    path("geo/export/", ExportView.as_view(), name="geo-export"),
    path("org/routing/", RoutingView.as_view(), name="org-routing"),
    path("measures/", MeasuresView.as_view(), name="measures"),
    path("imports/<int:pk>/errors.csv", ImportErrorsView.as_view(), name="import-errors"),
    *router.urls,
    path("command/", include("yiwang.command.api")),
]

urlpatterns = [
    path("", include("yiwang.web.urls")),
    path("m/", include("yiwang.phone.urls")),
    path("console/", include("yiwang.console.urls")),
    path("command/", include("yiwang.command.urls")),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include((api_v1, "api"), namespace="v1")),
    path("open311/v2/", include("yiwang.open311.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("healthz", health, name="health"),
    # Browsers ask for /favicon.ico on pages that name none (the admin, the API docs).
    path("favicon.ico", favicon),
    # Attachments only through the authorised view: media files are never served by path.
    path("media/", include("yiwang.media.urls", namespace="media")),
]
