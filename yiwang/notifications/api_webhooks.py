"""REST for department systems' webhooks: subscriptions (list, read, create, change, switch off — never
deleted, so the delivery log stays whole) and the delivery log (read, and try a delivery again). Reads go
through the scoped selectors, writes through the journaled services; the signing secret is written, never
read back."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from yiwang.accounts.policies import access, can, require
from yiwang.core.errors import PermissionRefused
from yiwang.core.viewsets import ScopedRelatedField
from yiwang.geo.models import Region
from yiwang.notifications import policies, services
from yiwang.notifications.choices import DeliveryStatus
from yiwang.notifications.models import Delivery, DeliveryAttempt, WebhookSubscription
from yiwang.notifications.selectors import (
    delivery_filters_from,
    webhook_delivery_list_for,
    webhook_subscription_list_for,
)

EVENTS_HELP = "Case events to send, or [\"*\"] for all. Known: " + ", ".join(policies.CASE_EVENTS)


class PermissionGate:
    """Each action needs a permission somewhere (`required_perms`): without it the answer is 403 before any
    lookup or validation. Objects are then reached only in scope, and one out of scope answers 404."""

    required_perms: dict[str, str] = {}

    def check_permissions(self, request):
        super().check_permissions(request)  # anonymous: 401
        perm = self.required_perms.get(self.action)
        if perm and not can(request.user, perm):
            raise PermissionRefused()

    def get_object(self):
        return access(self.get_queryset(), actor=self.request.user, action="view", pk=self.kwargs["pk"])


# --- subscriptions ---------------------------------------------------------------------------------------------

class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    region_code = serializers.CharField(source="region.code", read_only=True)
    region_name = serializers.CharField(source="region.name", read_only=True)
    events = serializers.ListField(child=serializers.CharField(), read_only=True)
    secret_set = serializers.SerializerMethodField(help_text="Whether a signing secret is set (it is never shown).")

    class Meta:
        model = WebhookSubscription
        fields = ["id", "name", "url", "region", "region_code", "region_name", "events", "is_active",
                  "secret_set", "created_at"]
        read_only_fields = fields

    def get_secret_set(self, subscription) -> bool:
        return bool(subscription.secret)


class WebhookSubscriptionWriteSerializer(serializers.Serializer):
    # Plain text, not URLField: the service checks the address and answers with its own codes.
    name = serializers.CharField(max_length=100, allow_blank=True)
    url = serializers.CharField(max_length=500, allow_blank=True)
    region = ScopedRelatedField(queryset=Region.objects.all(), help_text="The jurisdiction: cases in this region "
                                                                          "and below.")
    events = serializers.ListField(child=serializers.CharField(max_length=64), help_text=EVENTS_HELP)
    # Required here (the admin may leave it empty to have one made): a secret made by the server could never
    # be read back through the API, so the caller chooses it and shares it with the receiver.
    secret = serializers.CharField(max_length=200, write_only=True, trim_whitespace=True,
                                   help_text="The shared signing secret, at least 16 characters. Never shown again.")
    is_active = serializers.BooleanField(required=False, default=True)
    reason = serializers.CharField(required=False, default="", allow_blank=True, max_length=500)


class WebhookSubscriptionUpdateSerializer(WebhookSubscriptionWriteSerializer):
    name = serializers.CharField(max_length=100, allow_blank=True, required=False)
    url = serializers.CharField(max_length=500, allow_blank=True, required=False)
    region = ScopedRelatedField(queryset=Region.objects.all(), required=False)
    events = serializers.ListField(child=serializers.CharField(max_length=64), required=False,
                                   help_text=EVENTS_HELP)
    secret = serializers.CharField(max_length=200, write_only=True, required=False,
                                   help_text="A new signing secret, at least 16 characters.")
    is_active = serializers.BooleanField(required=False, help_text="false switches the subscription off.")


class WebhookSubscriptionViewSet(PermissionGate, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                                 viewsets.GenericViewSet):
    """Webhook subscriptions in my area. Switched off with `PATCH {"is_active": false}`, never deleted."""

    serializer_class = WebhookSubscriptionSerializer
    queryset = WebhookSubscription.objects.none()  # for the schema; get_queryset gives the caller's
    required_perms = {
        "list": "notifications.view_webhooksubscription",
        "retrieve": "notifications.view_webhooksubscription",
        "create": "notifications.add_webhooksubscription",
        "partial_update": "notifications.change_webhooksubscription",
    }

    def get_queryset(self):
        return webhook_subscription_list_for(actor=self.request.user)

    def _input(self, serializer_class, *, partial: bool) -> dict:
        data = serializer_class(data=self.request.data, partial=partial, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        return dict(data.validated_data)

    @extend_schema(request=WebhookSubscriptionWriteSerializer, responses={201: WebhookSubscriptionSerializer})
    def create(self, request):
        subscription = services.webhook_subscription_create(
            actor=request.user, **self._input(WebhookSubscriptionWriteSerializer, partial=False))
        return Response(self.get_serializer(subscription).data, status=201)

    @extend_schema(request=WebhookSubscriptionUpdateSerializer, responses=WebhookSubscriptionSerializer)
    def partial_update(self, request, pk=None):
        subscription = self.get_object()
        changes = self._input(WebhookSubscriptionUpdateSerializer, partial=True)
        if set(changes) - {"reason"}:
            subscription = services.webhook_subscription_update(actor=request.user, subscription=subscription,
                                                                **changes)
        else:  # an empty PATCH changes nothing and journals nothing, but is refused alike
            require(subscription, actor=request.user, action="change")
        return Response(self.get_serializer(subscription).data)


# --- the delivery log ------------------------------------------------------------------------------------------

class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["number", "started_at", "duration_ms", "ok", "status_code", "error"]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    subscription_name = serializers.CharField(source="subscription.name", default=None, read_only=True)
    case_number = serializers.CharField(source="case.number", default=None, read_only=True)
    attempt_log = DeliveryAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Delivery
        fields = ["id", "uuid", "subscription", "subscription_name", "event", "case", "case_number", "status",
                  "attempts", "next_attempt_at", "sent_at", "last_error", "created_at", "attempt_log"]
        read_only_fields = fields


class RetrySerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, default="", allow_blank=True, max_length=500)


class WebhookDeliveryViewSet(PermissionGate, viewsets.ReadOnlyModelViewSet):
    """The delivery log of webhooks in my area, newest first, each with its attempts. `uuid` is the
    X-Yiwang-Delivery header the receiver got."""

    serializer_class = DeliverySerializer
    queryset = Delivery.objects.none()  # for the schema; get_queryset gives the caller's
    required_perms = {
        "list": "notifications.view_delivery",
        "retrieve": "notifications.view_delivery",
        "retry": "notifications.change_delivery",
    }

    def get_queryset(self):
        filters = delivery_filters_from(self.request.query_params) if self.action == "list" else None
        return webhook_delivery_list_for(actor=self.request.user, filters=filters)

    @extend_schema(parameters=[
        OpenApiParameter("status", str, description="Comma list of: " + ", ".join(DeliveryStatus.values)),
        OpenApiParameter("subscription", int, description="Subscription id."),
        OpenApiParameter("event", str, description='A case event, e.g. "case.dispatch".'),
        OpenApiParameter("case", int, description="Case id."),
    ])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=RetrySerializer, responses=DeliverySerializer)
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        """Try a failed (or waiting) delivery again now, e.g. after the receiver was fixed. One that was sent
        is not sent again (400 `already_sent`)."""
        body = RetrySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        delivery = services.delivery_retry(actor=request.user, delivery=self.get_object(), **body.validated_data)
        return Response(self.get_serializer(webhook_delivery_list_for(actor=request.user).get(pk=delivery.pk)).data)
