"""The caller's own inbox."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from yiwang.notifications.models import Notification
from yiwang.notifications.selectors import notification_list_for, notification_preferences_for
from yiwang.notifications.services import notification_mark_read, notification_preferences_set


class NotificationSerializer(serializers.ModelSerializer):
    case_number = serializers.CharField(source="case.number", default=None, read_only=True)

    class Meta:
        model = Notification
        fields = ["id", "kind", "text", "case", "case_number", "created_at", "read_at"]
        read_only_fields = fields


class MarkReadInput(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(), required=False,
                                help_text="Notification ids; all unread ones when left out.")


class MarkedSerializer(serializers.Serializer):
    marked = serializers.IntegerField()


class ChannelsSerializer(serializers.Serializer):
    sms = serializers.BooleanField(required=False, help_text="Notifications also by SMS (to my phone).")
    email = serializers.BooleanField(required=False, help_text="Notifications also by e-mail.")
    has_phone = serializers.BooleanField(read_only=True, help_text="Whether I have a phone number to send to.")
    has_email = serializers.BooleanField(read_only=True, help_text="Whether I have an e-mail address to send to.")


class NotificationViewSet(viewsets.ReadOnlyModelViewSet):
    """My notifications, newest first (`?unread=1` for the unread ones)."""

    serializer_class = NotificationSerializer
    queryset = Notification.objects.none()  # for the schema; get_queryset gives the caller's own
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        queryset = notification_list_for(user=self.request.user)
        if self.request.query_params.get("unread") in ("1", "true"):
            queryset = queryset.filter(read_at__isnull=True)
        return queryset

    @extend_schema(request=MarkReadInput, responses=MarkedSerializer)
    @action(detail=False, methods=["post"], url_path="read")
    def mark_read(self, request):
        data = MarkReadInput(data=request.data)
        data.is_valid(raise_exception=True)
        count = notification_mark_read(actor=request.user, notification_ids=data.validated_data.get("ids"))
        return Response({"marked": count})

    @extend_schema(methods=["GET"], responses=ChannelsSerializer)
    @extend_schema(methods=["PATCH"], request=ChannelsSerializer, responses=ChannelsSerializer)
    @action(detail=False, methods=["get", "patch"], url_path="channels")
    def channels(self, request):
        """My outbound channels besides the inbox: SMS and e-mail, each on unless I switch it off."""
        if request.method == "PATCH":
            data = ChannelsSerializer(data=request.data, partial=True)
            data.is_valid(raise_exception=True)
            notification_preferences_set(actor=request.user, **data.validated_data)
        return Response(ChannelsSerializer(notification_preferences_for(user=request.user)).data)
