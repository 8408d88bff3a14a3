from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from yiwang.accounts.policies import restrict
from yiwang.core.errors import NotFound
from yiwang.core.viewsets import ScopedRelatedField, ScopedViewSet
from yiwang.geo.models import Grid, Region
from yiwang.org import selectors, services
from yiwang.org.choices import PartyLevel, UnitKind
from yiwang.org.models import Category, Unit


class UnitSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    region_code = serializers.CharField(source="region.code", read_only=True)
    region_name = serializers.CharField(source="region.name", read_only=True)

    class Meta:
        model = Unit
        fields = ["id", "code", "name", "short_name", "kind", "kind_display", "party_level", "region", "region_code",
                  "region_name", "parent", "contact_phone", "is_active"]


class UnitWriteSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=32)
    name = serializers.CharField(max_length=150)
    short_name = serializers.CharField(max_length=50, required=False, default="")
    kind = serializers.ChoiceField(choices=UnitKind.choices)
    party_level = serializers.ChoiceField(choices=PartyLevel.choices, required=False, default="")
    region = ScopedRelatedField(queryset=Region.objects.all())
    parent = ScopedRelatedField(queryset=Unit.objects.all(), allow_null=True, required=False)
    contact_phone = serializers.CharField(max_length=32, required=False, default="")


class UnitUpdateSerializer(UnitWriteSerializer):
    code = None
    is_active = serializers.BooleanField(required=False)


class UnitViewSet(ScopedViewSet):
    serializer_class = UnitSerializer
    write_serializer_class = UnitWriteSerializer
    create_service = staticmethod(services.unit_create)
    update_service = staticmethod(lambda actor, obj, **data: services.unit_update(actor=actor, unit=obj, **data))
    delete_service = staticmethod(lambda actor, obj: services.unit_delete(actor=actor, unit=obj))

    def _write_data(self, partial):
        if partial:
            self.write_serializer_class = UnitUpdateSerializer
        return super()._write_data(partial)

    def list_queryset(self):
        params = self.request.query_params
        return selectors.unit_list_for(actor=self.request.user, kind=params.get("kind") or None,
                                       under=params.get("under") or None)

    @extend_schema(parameters=[OpenApiParameter("kind", str, enum=UnitKind.values), OpenApiParameter("under", str)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


class RoutingQuery(serializers.Serializer):
    category = serializers.CharField(required=False, allow_blank=True)
    grid = serializers.CharField(required=False, help_text="grid code")
    region = serializers.CharField(required=False, help_text="region code")

    def validate(self, attrs):
        if not attrs.get("grid") and not attrs.get("region"):
            raise serializers.ValidationError({"grid": ["Give a grid or a region code."]})
        return attrs


class RoutingView(APIView):
    """Which unit the responsibility matrix names for a category at a grid or region, and which rule matched."""

    @extend_schema(parameters=[RoutingQuery], responses={200: dict})
    def get(self, request):
        query = RoutingQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        model, code = (Grid, data["grid"]) if data.get("grid") else (Region, data["region"])
        place = restrict(model.objects.filter(code=code), actor=request.user, action="view").first()
        if place is None:
            raise NotFound()
        category = None
        if data.get("category"):
            category = Category.objects.filter(code=data["category"]).first()
            if category is None:
                raise NotFound()
        suggestion = selectors.responsible_unit_for(category=category, path=place.path)
        if suggestion is None:
            return Response({"unit": None, "rule": None, "matched": None})
        return Response({
            "unit": UnitSerializer(suggestion.unit).data,
            "rule": {"id": suggestion.rule.pk, "region": suggestion.rule.region_id,
                     "category": suggestion.rule.category.code if suggestion.rule.category else None},
            "matched": suggestion.matched,
        })


