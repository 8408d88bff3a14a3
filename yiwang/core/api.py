"""The API's one error shape: {"error": {"code", "message", "fields"}} with the right HTTP status."""

from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from yiwang.core.errors import DomainError


def _body(code: str, message, fields=None) -> dict:
    return {"error": {"code": code, "message": str(message), "fields": fields or {}}}


def _fields(detail) -> dict:
    if isinstance(detail, dict):
        return {key: [str(item) for item in (value if isinstance(value, list) else [value])]
                for key, value in detail.items()}
    return {}


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        body = _body(exc.code, exc.message, {k: [str(m) for m in v] for k, v in exc.fields.items()})
        if getattr(exc, "errors", None):
            body["error"]["items"] = exc.errors
        return Response(body, status=exc.status)
    if isinstance(exc, Http404 | exceptions.NotFound):
        return Response(_body("not_found", _("Not found.")), status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, exceptions.ValidationError):
        return Response(_body("invalid", _("The request is not valid."), _fields(exc.detail)),
                        status=status.HTTP_400_BAD_REQUEST)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        response.data = _body(code, exc.detail if isinstance(exc.detail, str) else exc.default_detail)
    return response
