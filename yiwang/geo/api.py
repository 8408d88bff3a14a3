from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from yiwang.accounts.models import User
from yiwang.accounts.policies import access, restrict
from yiwang.core.viewsets import EndSerializer, ScopedRelatedField, ScopedViewSet
from yiwang.geo import selectors, services, transfer
from yiwang.geo.choices import GridDuty, GridKind, RegionLevel
from yiwang.geo.models import Grid, GridStaff, Region
from yiwang.org.models import Unit

# --- Locate -------------------------------------------------------------------------------------------------


class LocateQuery(serializers.Serializer):
    lat = serializers.FloatField(min_value=-90, max_value=90)
    lon = serializers.FloatField(min_value=-180, max_value=180)


class PlaceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


class LocationSerializer(serializers.Serializer):
    grid = PlaceSerializer(allow_null=True)
    grid_kind = serializers.CharField(allow_null=True)
    community = PlaceSerializer(allow_null=True)
    street = PlaceSerializer(allow_null=True)
    district = PlaceSerializer(allow_null=True)
    city = PlaceSerializer(allow_null=True)


class LocateThrottle(AnonRateThrottle):
    rate = "600/min"  # per address, for callers who are not signed in


class LocateView(APIView):
    """Which grid (and so which community, street, district) contains a WGS-84 point.

    Open to everyone: residents locate their report before signing in, and the tree's names are public."""

    permission_classes = [AllowAny]
    throttle_classes = [LocateThrottle]

    @extend_schema(parameters=[LocateQuery], responses=LocationSerializer)
    def get(self, request):
        query = LocateQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        location = selectors.grid_locate(lat=query.validated_data["lat"], lon=query.validated_data["lon"])
        if location is None:
            empty = dict.fromkeys(["grid", "grid_kind", "community", "street", "district", "city"])
            return Response(empty)
        return Response(LocationSerializer(location).data)


# --- Regions ------------------------------------------------------------------------------------------------


class RegionSerializer(serializers.ModelSerializer):
    parent_code = serializers.CharField(source="parent.code", default=None, read_only=True)
    level_display = serializers.CharField(source="get_level_display", read_only=True)

    class Meta:
        model = Region
        fields = ["id", "code", "name", "level", "level_display", "parent", "parent_code", "path", "is_urban"]


class RegionWriteSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=12)
    name = serializers.CharField(max_length=100)
    level = serializers.ChoiceField(choices=RegionLevel.choices)
    parent = ScopedRelatedField(queryset=Region.objects.all(), allow_null=True, required=False)
    boundary = serializers.JSONField(required=False, allow_null=True)
    is_urban = serializers.BooleanField(required=False, default=True)


class RegionUpdateSerializer(RegionWriteSerializer):
    level = None  # a region's level never changes


class RegionViewSet(ScopedViewSet):
    serializer_class = RegionSerializer
    write_serializer_class = RegionWriteSerializer
    update_serializer_class = RegionUpdateSerializer
    create_service = staticmethod(services.region_create)
    update_service = staticmethod(lambda actor, obj, **data: services.region_update(actor=actor, region=obj, **data))
    delete_service = staticmethod(lambda actor, obj: services.region_delete(actor=actor, region=obj))

    @extend_schema(parameters=[
        OpenApiParameter("level", str, enum=RegionLevel.values), OpenApiParameter("parent", int),
        OpenApiParameter("under", str, description=_("a region path: only that subtree")),
    ])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def list_queryset(self):
        params = self.request.query_params
        parent = params.get("parent")
        return selectors.region_list_for(
            actor=self.request.user, level=params.get("level") or None,
            parent=access(Region, actor=self.request.user, action="view", pk=parent) if parent else None,
            under=params.get("under") or None,
        ).select_related("parent")


# --- Grids --------------------------------------------------------------------------------------------------


class GridSerializer(serializers.ModelSerializer):
    community_code = serializers.CharField(source="community.code", read_only=True)
    community_name = serializers.CharField(source="community.name", read_only=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = Grid
        fields = ["id", "code", "name", "community", "community_code", "community_name", "path", "kind",
                  "kind_display", "households", "population", "party_organisation", "is_active", "boundary",
                  "min_lon", "min_lat", "max_lon", "max_lat"]


class GridWriteSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=16)
    name = serializers.CharField(max_length=100)
    community = ScopedRelatedField(queryset=Region.objects.filter(level=RegionLevel.COMMUNITY))
    kind = serializers.ChoiceField(choices=GridKind.choices, default=GridKind.RESIDENTIAL)
    households = serializers.IntegerField(min_value=0, default=0)
    population = serializers.IntegerField(min_value=0, default=0)
    boundary = serializers.JSONField()
    party_organisation = ScopedRelatedField(queryset=Unit.objects.all(), allow_null=True, required=False)


class GridUpdateSerializer(GridWriteSerializer):
    is_active = serializers.BooleanField(required=False)


class GridViewSet(ScopedViewSet):
    serializer_class = GridSerializer
    write_serializer_class = GridWriteSerializer
    update_serializer_class = GridUpdateSerializer
    create_service = staticmethod(services.grid_create)
    update_service = staticmethod(lambda actor, obj, **data: services.grid_update(actor=actor, grid=obj, **data))
    delete_service = staticmethod(lambda actor, obj: services.grid_delete(actor=actor, grid=obj))

    def list_queryset(self):
        params = self.request.query_params
        bbox = None
        if params.get("bbox"):
            try:
                bbox = tuple(float(x) for x in params["bbox"].split(","))
                assert len(bbox) == 4
            except (ValueError, AssertionError):
                raise serializers.ValidationError(
                    {"bbox": [_("Give the box as min_lon,min_lat,max_lon,max_lat.")]}) from None
        return selectors.grid_list_for(actor=self.request.user, under=params.get("under") or None,
                                       kind=params.get("kind") or None, bbox=bbox)

    @extend_schema(parameters=[
        OpenApiParameter("under", str), OpenApiParameter("kind", str, enum=GridKind.values),
        OpenApiParameter("bbox", str, description="min_lon,min_lat,max_lon,max_lat"),
    ])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(responses={200: dict})
    @action(detail=False, methods=["get"], pagination_class=None)
    def geojson(self, request):
        """The visible grids (same filters as the list) as a GeoJSON FeatureCollection, for maps."""
        features = [
            {"type": "Feature", "id": grid.pk, "geometry": grid.boundary,
             "properties": {"code": grid.code, "name": grid.name, "kind": grid.kind,
                            "community": grid.community.name, "households": grid.households,
                            "population": grid.population}}
            for grid in self.list_queryset().iterator(chunk_size=1000)
        ]
        return Response({"type": "FeatureCollection", "features": features})


class ExportView(APIView):
    """The regions and grids you can see, as GeoJSON that `manage.py import_regions` reads back."""

    @extend_schema(parameters=[OpenApiParameter("root", str, description=_("code of the subtree's root"))],
                   responses={200: dict})
    def get(self, request):
        root = None
        if request.query_params.get("root"):
            region = Region.objects.filter(code=request.query_params["root"]).first()
            root = access(Region, actor=request.user, action="view", pk=region.pk if region else None)
        return Response(transfer.regions_export(actor=request.user, root=root))


# --- Grid staff ("1+1+1+N") ---------------------------------------------------------------------------------


class GridStaffSerializer(serializers.ModelSerializer):
    grid_code = serializers.CharField(source="grid.code", read_only=True)
    person = serializers.CharField(source="user.real_name", read_only=True)
    duty_display = serializers.CharField(source="get_duty_display", read_only=True)

    class Meta:
        model = GridStaff
        fields = ["id", "grid", "grid_code", "user", "person", "duty", "duty_display", "unit", "valid_from",
                  "valid_to"]


class GridStaffWriteSerializer(serializers.Serializer):
    grid = ScopedRelatedField(queryset=Grid.objects.all())
    user = ScopedRelatedField(queryset=User.objects.all())
    duty = serializers.ChoiceField(choices=GridDuty.choices)
    unit = ScopedRelatedField(queryset=Unit.objects.all(), allow_null=True, required=False)
    valid_from = serializers.DateField()
    valid_to = serializers.DateField(allow_null=True, required=False)



class GridStaffViewSet(ScopedViewSet):
    serializer_class = GridStaffSerializer
    write_serializer_class = GridStaffWriteSerializer
    create_service = staticmethod(services.grid_staff_assign)

    def list_queryset(self):
        queryset = restrict(GridStaff.objects.select_related("grid", "user"), actor=self.request.user,
                            action="view")
        grid = self.request.query_params.get("grid")
        return queryset.filter(grid__code=grid) if grid else queryset

    @extend_schema(parameters=[OpenApiParameter("grid", str, description=_("grid code"))])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=EndSerializer, responses=GridStaffSerializer)
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        """End a staff assignment on a date (never deleted, so the grid's history stays)."""
        body = EndSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        staff = services.grid_staff_end(actor=request.user, staff=self.get_object(), **body.validated_data)
        return Response(GridStaffSerializer(staff).data)
