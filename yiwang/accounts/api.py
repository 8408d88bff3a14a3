from django.contrib.auth import authenticate
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from yiwang.accounts import services
from yiwang.accounts.models import Role, RoleAssignment, User
from yiwang.accounts.policies import restrict
from yiwang.core import clock
from yiwang.core.errors import DomainError
from yiwang.core.viewsets import EndSerializer, ScopedRelatedField, ScopedViewSet
from yiwang.geo.models import Grid, Region
from yiwang.org.models import Unit


class LoginFailed(DomainError):
    code = "login_failed"
    status = 400


class TokenRequest(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


class LoginThrottle(AnonRateThrottle):
    rate = "30/min"


class TokenLoginView(APIView):
    """Exchange a username and password for an API token (send it as `Authorization: Token …`)."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [LoginThrottle]

    @extend_schema(request=TokenRequest, responses={200: dict})
    def post(self, request):
        body = TokenRequest(data=request.data)
        body.is_valid(raise_exception=True)
        user = authenticate(request, username=body.validated_data["username"],
                            password=body.validated_data["password"])
        if user is None:
            raise LoginFailed(_("Wrong username or password."))
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class AssignmentSerializer(serializers.ModelSerializer):
    role = serializers.CharField(source="role.code")
    role_name = serializers.CharField(source="role.__str__")
    scope = serializers.CharField(source="scope_label")

    class Meta:
        model = RoleAssignment
        fields = ["id", "role", "role_name", "scope", "scope_path", "region", "grid", "unit", "valid_from",
                  "valid_to"]


class MeView(APIView):
    """The signed-in person and the roles they hold today."""

    @extend_schema(responses={200: dict})
    def get(self, request):
        user = request.user
        today = timezone.localdate(clock.now())
        assignments = (
            RoleAssignment.objects.filter(user=user, valid_from__lte=today)
            .exclude(valid_to__lt=today).select_related("role", "region", "grid", "unit")
        )
        return Response({
            "id": user.pk, "username": user.username, "real_name": user.real_name, "phone": user.masked_phone,
            "unit": user.unit_id, "region": user.region_id,
            "assignments": AssignmentSerializer(assignments, many=True).data,
        })


# --- People and role assignments ----------------------------------------------------------------------------


class UserSerializer(serializers.ModelSerializer):
    phone = serializers.CharField(source="masked_phone", read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "real_name", "phone", "region", "unit", "is_active"]


class UserWriteSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    real_name = serializers.CharField(max_length=50, required=False, default="")
    phone = serializers.CharField(max_length=20, required=False, default="")
    region = ScopedRelatedField(queryset=Region.objects.all(), allow_null=True, required=False)
    unit = ScopedRelatedField(queryset=Unit.objects.all(), allow_null=True, required=False)


class UserUpdateSerializer(UserWriteSerializer):
    username = None
    is_active = serializers.BooleanField(required=False)


class UserViewSet(ScopedViewSet):
    serializer_class = UserSerializer
    write_serializer_class = UserWriteSerializer
    update_serializer_class = UserUpdateSerializer
    create_service = staticmethod(services.user_create)
    update_service = staticmethod(lambda actor, obj, **data: services.user_update(actor=actor, user=obj, **data))

    def list_queryset(self):
        queryset = restrict(User.objects.all(), actor=self.request.user, action="view")
        search = self.request.query_params.get("q")
        if search:
            queryset = queryset.filter(Q(username__icontains=search) | Q(real_name__icontains=search))
        return queryset

    @extend_schema(parameters=[OpenApiParameter("q", str, description="username or real name contains")])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


class AssignmentWriteSerializer(serializers.Serializer):
    user = ScopedRelatedField(queryset=User.objects.all())
    role = serializers.SlugRelatedField(slug_field="code", queryset=Role.objects.all())
    region = ScopedRelatedField(queryset=Region.objects.all(), allow_null=True, required=False)
    grid = ScopedRelatedField(queryset=Grid.objects.all(), allow_null=True, required=False)
    unit = ScopedRelatedField(queryset=Unit.objects.all(), allow_null=True, required=False)
    valid_from = serializers.DateField()
    valid_to = serializers.DateField(allow_null=True, required=False)
    note = serializers.CharField(max_length=200, required=False, default="")



class AssignmentViewSet(ScopedViewSet):
    serializer_class = AssignmentSerializer
    write_serializer_class = AssignmentWriteSerializer
    create_service = staticmethod(services.role_assign)

    def list_queryset(self):
        queryset = restrict(RoleAssignment.objects.select_related("role", "region", "grid", "unit"),
                            actor=self.request.user, action="view")
        user = self.request.query_params.get("user")
        return queryset.filter(user_id=user) if user and user.isdigit() else queryset

    @extend_schema(request=EndSerializer, responses=AssignmentSerializer)
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        """End the assignment on a date (assignments are ended, never deleted)."""
        body = EndSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        assignment = services.role_assignment_end(actor=request.user, assignment=self.get_object(),
                                                  **body.validated_data)
        return Response(AssignmentSerializer(assignment).data)
