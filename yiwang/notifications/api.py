"""The caller's own inbox."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from yiwang.notifications.models import Notification
from yiwang.notifications.services import notification_mark_read


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


class NotificationViewSet(viewsets.ReadOnlyModelViewSet):
    """My notifications, newest first (`?unread=1` for the unread ones)."""

    serializer_class = NotificationSerializer
    queryset = Notification.objects.none()  # for the schema; get_queryset gives the caller's own
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        queryset = Notification.objects.filter(recipient=self.request.user).select_related("case")
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
