"""REST for bulk imports: upload a file (the run is queued and the answer comes at once), follow its progress,
stop and resume it, download its error report. Each door parses input and calls one service or selector."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from django.utils import translation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from yiwang.cases.choices import Channel
from yiwang.core.errors import NotFound
from yiwang.imports import services
from yiwang.imports.choices import Crs
from yiwang.imports.models import ImportRun
from yiwang.imports.selectors import (
    import_errors_csv,
    import_run_get_for,
    import_run_list_for,
    import_run_progress,
)


class ImportRunSerializer(serializers.ModelSerializer):
    created_by_name = serializers.CharField(source="created_by.username", default=None, read_only=True)
    percent = serializers.SerializerMethodField(help_text="Rows done of the rows in the file, 0–100; null while "
                                                          "the file is being counted.")
    rate = serializers.SerializerMethodField(help_text="Rows per second.")
    eta_seconds = serializers.SerializerMethodField(help_text="Seconds left, while running.")
    seconds_running = serializers.SerializerMethodField()
    message = serializers.SerializerMethodField(help_text="Why the run failed, in words.")
    errors_url = serializers.SerializerMethodField(help_text="The error report (CSV).")

    class Meta:
        model = ImportRun
        fields = [
            "id", "status", "file_name", "file_format", "file_size", "encoding", "channel", "crs", "mapping",
            "columns", "header_row", "rows_total", "rows_done", "rows_ok", "rows_skipped", "rows_failed",
            "batches", "percent", "rate", "eta_seconds", "seconds_running", "created_at", "created_by",
            "created_by_name", "started_at", "heartbeat_at", "finished_at", "failure_code", "message", "errors_url",
        ]
        read_only_fields = fields

    def _progress(self, run):
        cache = self.context.setdefault("_progress", {})
        if run.pk not in cache:
            cache[run.pk] = import_run_progress(run)
        return cache[run.pk]

    def get_percent(self, run) -> float | None:
        return self._progress(run).percent

    def get_rate(self, run) -> float | None:
        return self._progress(run).rate

    def get_eta_seconds(self, run) -> float | None:
        return self._progress(run).eta_seconds

    def get_seconds_running(self, run) -> float:
        return self._progress(run).seconds_running

    def get_message(self, run) -> str:
        return self._progress(run).message

    def get_errors_url(self, run) -> str:
        return reverse("v1:import-errors", kwargs={"pk": run.pk}, request=self.context.get("request"))


class ImportInput(serializers.Serializer):
    file = serializers.FileField(help_text="A CSV (UTF-8, UTF-8 with BOM, GB18030/GBK) or XLSX file.")
    mapping = serializers.JSONField(required=False, default=dict,
                                    help_text='Our field → your column header, e.g. {"description": "问题描述"}; '
                                              "null leaves a field out. Unmapped fields use the default headers.")
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.HOTLINE,
                                      help_text="The channel of rows that do not name one.")
    crs = serializers.ChoiceField(choices=Crs.choices, default=Crs.WGS84,
                                  help_text="The coordinate system of the file's longitude and latitude.")


class ImportRunViewSet(viewsets.ViewSet):
    """Bulk imports of hotline and legacy cases, for staff holding imports.add_importrun."""

    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]
    pagination_class = LimitOffsetPagination
    queryset = ImportRun.objects.none()  # for the schema's path parameter type; reads go through the selectors

    def _out(self, run, status=200):
        try:  # re-read through the caller's scope (a role may let one import without following runs)
            run = import_run_get_for(actor=self.request.user, pk=run.pk)
        except NotFound:
            return Response({"id": run.pk, "status": run.status}, status=status)
        return Response(ImportRunSerializer(run, context={"request": self.request}).data, status=status)

    @extend_schema(responses=ImportRunSerializer(many=True))
    def list(self, request):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(import_run_list_for(actor=request.user), request, view=self)
        return paginator.get_paginated_response(
            ImportRunSerializer(page, many=True, context={"request": request}).data)

    @extend_schema(request={"multipart/form-data": ImportInput}, responses={202: ImportRunSerializer})
    def create(self, request):
        serializer = ImportInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        run = services.import_run_create(actor=request.user, file=data["file"], file_name=data["file"].name,
                                         mapping=data["mapping"], channel=data["channel"], crs=data["crs"])
        return self._out(run, status=202)

    @extend_schema(responses=ImportRunSerializer)
    def retrieve(self, request, pk=None):
        return Response(ImportRunSerializer(import_run_get_for(actor=request.user, pk=pk),
                                            context={"request": request}).data)

    @extend_schema(request=None, responses=ImportRunSerializer)
    @action(detail=True, methods=["post"])
    def stop(self, request, pk=None):
        run = import_run_get_for(actor=request.user, pk=pk)
        return self._out(services.import_run_stop(actor=request.user, run=run))

    @extend_schema(request=None, responses=ImportRunSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        run = import_run_get_for(actor=request.user, pk=pk)
        return self._out(services.import_run_resume(actor=request.user, run=run))


class ImportErrorsView(APIView):
    """The run's error report: one line per problem (row number, original number, column, code, message)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR)})
    def get(self, request, pk: int):
        run = import_run_get_for(actor=request.user, pk=pk)
        language = translation.get_language()

        def stream():  # read while the response is sent, in the language of the request
            with translation.override(language):
                yield from import_errors_csv(run)

        response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="import-{run.pk}-errors.csv"'
        return response
