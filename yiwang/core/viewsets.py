"""A thin REST door onto a scoped model: reads through a selector, writes through services."""

from rest_framework import mixins, serializers, viewsets
from rest_framework.response import Response

from yiwang.accounts.policies import access, restrict


class ScopedRelatedField(serializers.PrimaryKeyRelatedField):
    """A reference that only resolves to objects the caller can see, so an invisible one is "does not exist"
    exactly like a missing one."""

    def get_queryset(self):
        request = self.context.get("request")
        return restrict(super().get_queryset(), actor=getattr(request, "user", None), action="view")


class EndSerializer(serializers.Serializer):
    """Ending something on a date (assignments, memberships): they are ended, never deleted."""

    valid_to = serializers.DateField()
    reason = serializers.CharField(required=False, default="")


class ScopedViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Subclasses set `serializer_class` (output), `write_serializer_class` (input; `update_serializer_class`
    for PATCH when it differs) and the service doors
    `create_service(actor, **data)`, `update_service(actor, obj, **data)`, `delete_service(actor, obj)`."""

    write_serializer_class = None
    update_serializer_class = None
    create_service = None
    update_service = None
    delete_service = None

    def list_queryset(self):
        raise NotImplementedError

    def get_queryset(self):
        return self.list_queryset()

    def get_object(self):
        # Look up and authorize in one step; out of scope answers 404 like missing.
        return access(self.get_queryset(), actor=self.request.user, action="view", pk=self.kwargs["pk"])

    def _write_data(self, partial: bool) -> dict:
        serializer_class = (self.update_serializer_class if partial else None) or self.write_serializer_class
        serializer = serializer_class(data=self.request.data, partial=partial, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def create(self, request, *args, **kwargs):
        if type(self).create_service is None:
            return self.http_method_not_allowed(request)
        obj = type(self).create_service(actor=request.user, **self._write_data(partial=False))
        return Response(self.get_serializer(obj).data, status=201)

    def partial_update(self, request, *args, **kwargs):
        if type(self).update_service is None:
            return self.http_method_not_allowed(request)
        obj = self.get_object()
        obj = type(self).update_service(actor=request.user, obj=obj, **self._write_data(partial=True))
        return Response(self.get_serializer(obj).data)

    def destroy(self, request, *args, **kwargs):
        if type(self).delete_service is None:
            return self.http_method_not_allowed(request)
        type(self).delete_service(actor=request.user, obj=self.get_object())
        return Response(status=204)
