from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from yiwang.accounts.models import RoleAssignment
from yiwang.core import clock
from yiwang.core.errors import DomainError


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
        today = clock.now().date()
        assignments = (
            RoleAssignment.objects.filter(user=user, valid_from__lte=today)
            .exclude(valid_to__lt=today).select_related("role", "region", "grid", "unit")
        )
        return Response({
            "id": user.pk, "username": user.username, "real_name": user.real_name, "phone": user.masked_phone,
            "unit": user.unit_id, "region": user.region_id,
            "assignments": AssignmentSerializer(assignments, many=True).data,
        })
