from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from yiwang.accounts.policies import access, restrict
from yiwang.core.errors import NotFound
from yiwang.core.viewsets import ScopedRelatedField, ScopedViewSet
from yiwang.geo.models import Grid, Region
from yiwang.org import selectors, services
from yiwang.org.choices import CatalogueStatus, PartyLevel, QuestionDatatype, UnitKind
from yiwang.org.models import (
    Catalogue,
    Category,
    CategoryTimeLimit,
    CommitteeMembership,
    ResponsibilityRule,
    Unit,
)


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
    update_serializer_class = UnitUpdateSerializer
    create_service = staticmethod(services.unit_create)
    update_service = staticmethod(lambda actor, obj, **data: services.unit_update(actor=actor, unit=obj, **data))
    delete_service = staticmethod(lambda actor, obj: services.unit_delete(actor=actor, unit=obj))

    def list_queryset(self):
        params = self.request.query_params
        return selectors.unit_list_for(actor=self.request.user, kind=params.get("kind") or None,
                                       under=params.get("under") or None)

    @extend_schema(parameters=[OpenApiParameter("kind", str, enum=UnitKind.values), OpenApiParameter("under", str)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


class RoutingQuery(serializers.Serializer):
    category = serializers.CharField(required=False, allow_blank=True,
                                     help_text="category code, in the catalogue that applies at the place")
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
            category = selectors.category_by_code(path=place.path, code=data["category"])
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


# --- Responsibility matrix, categories, joint committees ------------------------------------------------------


class TimeLimitSerializer(serializers.ModelSerializer):
    class Meta:
        model = CategoryTimeLimit
        fields = ["id", "step", "urgency", "amount", "unit"]


class QuestionValueSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()


class FormQuestionSerializer(serializers.Serializer):
    """One extra question of a category's report form (an Open311 GeoReport v2 service attribute)."""

    code = serializers.CharField()
    label = serializers.CharField()
    label_en = serializers.CharField(allow_blank=True)
    datatype = serializers.ChoiceField(choices=QuestionDatatype.choices)
    required = serializers.BooleanField()
    order = serializers.IntegerField()
    values = QuestionValueSerializer(many=True, required=False, help_text="Only for the list datatypes.")


class CategorySerializer(serializers.ModelSerializer):
    parent_code = serializers.CharField(source="parent.code", default=None, read_only=True)
    form_questions = FormQuestionSerializer(many=True, read_only=True)
    time_limits = TimeLimitSerializer(many=True, read_only=True,
                                      help_text="This category's own rows; missing ones fall back to the major "
                                                "category's, then to the defaults.")

    class Meta:
        model = Category
        fields = ["id", "catalogue", "code", "name", "name_en", "kind", "parent", "parent_code", "default_unit_kind",
                  "default_urgency", "filing_condition", "closing_condition", "form_questions", "time_limits",
                  "is_active"]


class CategoryViewSet(ScopedViewSet):
    """The categories of one catalogue version (read here; edited in the administration site): `?catalogue=`
    by id, or the catalogue that applies at `?path=` (a region path), by default the national active one."""

    serializer_class = CategorySerializer
    pagination_class = None

    def get_queryset(self):
        if self.action != "list":
            return restrict(Category.objects.select_related("parent").prefetch_related("time_limits"),
                            actor=self.request.user, action="view")
        return self.list_queryset()

    def list_queryset(self):
        params = self.request.query_params
        if params.get("catalogue"):
            catalogue = access(Catalogue, actor=self.request.user, action="view", pk=params["catalogue"])
        else:
            catalogue = selectors.catalogue_for(path=params.get("path", ""))
        return selectors.category_list_for(actor=self.request.user, catalogue=catalogue)

    @extend_schema(parameters=[OpenApiParameter("catalogue", int, description="a catalogue id"),
                               OpenApiParameter("path", str, description="a region path: the catalogue that "
                                                "applies there")])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


class CatalogueSerializer(serializers.ModelSerializer):
    region_code = serializers.CharField(source="region.code", default=None, read_only=True)
    region_name = serializers.CharField(source="region.name", default=None, read_only=True)
    category_count = serializers.IntegerField(read_only=True, help_text="subcategories")

    class Meta:
        model = Catalogue
        fields = ["id", "region", "region_code", "region_name", "version", "name", "status", "activated_at", "note",
                  "category_count"]


class CatalogueCloneSerializer(serializers.Serializer):
    region = ScopedRelatedField(queryset=Region.objects.all(), required=False, allow_null=True,
                                help_text="The jurisdiction of the copy (null: national); left out, the same.")
    name = serializers.CharField(max_length=100, required=False, default="")
    note = serializers.CharField(required=False, default="")
    reason = serializers.CharField(required=False, default="")


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, default="")


class CatalogueViewSet(ScopedViewSet):
    """Versions of the category catalogue per jurisdiction (null region: national). `clone/` copies a version
    into a new draft; `activate/` makes a draft its jurisdiction's catalogue and retires the previous one."""

    serializer_class = CatalogueSerializer

    def list_queryset(self):
        return selectors.catalogue_list_for(actor=self.request.user,
                                            status=self.request.query_params.get("status") or None)

    def _reread(self, catalogue):
        return selectors.catalogue_list_for(actor=self.request.user).get(pk=catalogue.pk)

    @extend_schema(parameters=[OpenApiParameter("status", str, enum=CatalogueStatus.values)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=CatalogueCloneSerializer, responses={201: CatalogueSerializer})
    @action(detail=True, methods=["post"])
    def clone(self, request, pk=None):
        catalogue = self.get_object()
        serializer = CatalogueCloneSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        draft = services.catalogue_clone(actor=request.user, catalogue=catalogue, **serializer.validated_data)
        return Response(self.get_serializer(self._reread(draft)).data, status=201)

    @extend_schema(request=ReasonSerializer, responses={200: CatalogueSerializer})
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        catalogue = self.get_object()
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        catalogue = services.catalogue_activate(actor=request.user, catalogue=catalogue,
                                                **serializer.validated_data)
        return Response(self.get_serializer(self._reread(catalogue)).data)


class RuleSerializer(serializers.ModelSerializer):
    category_code = serializers.CharField(source="category.code", default=None, read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True)

    class Meta:
        model = ResponsibilityRule
        fields = ["id", "region", "region_path", "category", "category_code", "unit", "unit_name", "note"]


class RuleWriteSerializer(serializers.Serializer):
    region = ScopedRelatedField(queryset=Region.objects.all())
    category = serializers.PrimaryKeyRelatedField(queryset=Category.objects.all(), allow_null=True, required=False)
    unit = serializers.PrimaryKeyRelatedField(queryset=Unit.objects.filter(is_active=True))
    note = serializers.CharField(max_length=200, required=False, default="")


class RuleViewSet(ScopedViewSet):
    """Category × region subtree → unit. POST sets (creates or replaces) the rule for a region and category."""

    serializer_class = RuleSerializer
    write_serializer_class = RuleWriteSerializer
    create_service = staticmethod(services.responsibility_set)
    delete_service = staticmethod(lambda actor, obj: services.responsibility_delete(actor=actor, rule=obj))

    def list_queryset(self):
        queryset = restrict(ResponsibilityRule.objects.select_related("category", "unit"), actor=self.request.user,
                            action="view")
        under = self.request.query_params.get("under")
        return queryset.filter(region_path__under=under) if under else queryset


class MembershipSerializer(serializers.ModelSerializer):
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    host_name = serializers.CharField(source="host.name", read_only=True)

    class Meta:
        model = CommitteeMembership
        fields = ["id", "committee_kind", "host", "host_name", "unit", "unit_name", "position",
                  "agreement_signed_on", "valid_from", "valid_to"]


class MembershipWriteSerializer(serializers.Serializer):
    host = ScopedRelatedField(queryset=Region.objects.all())
    unit = serializers.PrimaryKeyRelatedField(queryset=Unit.objects.all())
    position = serializers.CharField(max_length=50, required=False, default="")
    agreement_signed_on = serializers.DateField(allow_null=True, required=False)
    valid_from = serializers.DateField()


class MembershipViewSet(ScopedViewSet):
    """Member units of streets' 大工委 and communities' 大党委."""

    serializer_class = MembershipSerializer
    write_serializer_class = MembershipWriteSerializer
    create_service = staticmethod(services.committee_member_add)

    def list_queryset(self):
        return restrict(CommitteeMembership.objects.select_related("host", "unit"), actor=self.request.user,
                        action="view")
