"""REST for the command centre:

- `GET /api/v1/command/overview/?region=CODE` — the wall screen's figures for a region's subtree (or a grid);
  without `region`, the highest region the user watches.
- `GET /api/v1/command/assessment/?region=CODE&month=YYYY-MM&level=street|community|grid|unit` — 一月一考核;
  `assessment.csv` and `assessment.xlsx` the same rows as a file with Chinese column headers.
"""

from __future__ import annotations

import csv
import io

from django.http import HttpResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from yiwang.cases.api_measures import MeasuresSerializer
from yiwang.cases.measures import COUNTS, GRADES, LOWEST_GRADE, RATES
from yiwang.command.selectors import ASSESSMENT_LEVELS, assessment, overview, place_for
from yiwang.core import clock
from yiwang.core.errors import invalid

GRADE_CHOICES = [g for _floor, g in GRADES] + [LOWEST_GRADE]


def month_of(value: str | None) -> tuple[int, int]:
    """"YYYY-MM" → (year, month); empty → the current month (local time)."""
    value = (value or "").strip()
    if not value:
        today = timezone.localdate(clock.now())
        return today.year, today.month
    try:
        year, month = (int(part) for part in value.split("-"))
        if not (1 <= month <= 12 and 2000 <= year <= 2999) or len(value) != 7:
            raise ValueError
    except ValueError:
        raise invalid(gettext("Give the month as YYYY-MM."), "month_invalid", "month") from None
    return year, month


def _place(request, *, grids: bool):
    return place_for(actor=request.user, code=request.query_params.get("region"), grids=grids)


def _counts_fields() -> dict:
    return {"reported": serializers.IntegerField(), "filed": serializers.IntegerField(),
            "closed": serializers.IntegerField(help_text="Closed (结案) in the period."),
            "overdue": serializers.IntegerField(help_text="Open cases past their running deadline now."),
            "supervised": serializers.IntegerField(help_text="Open cases under supervision now.")}


def _place_fields() -> dict:
    return {"code": serializers.CharField(), "name": serializers.CharField(), "level": serializers.CharField(),
            "path": serializers.CharField()}


OverviewSerializer = inline_serializer("CommandOverview", {
    "region": inline_serializer("CommandPlace", _place_fields()),
    "children_level": serializers.CharField(allow_null=True),
    "today": inline_serializer("CommandToday", _counts_fields()),
    "month": inline_serializer("CommandMonth", _counts_fields()),
    "measures": MeasuresSerializer(),
    "trend": inline_serializer("CommandTrendDay", {"day": serializers.DateField(),
                                                   "reported": serializers.IntegerField(),
                                                   "closed": serializers.IntegerField()}, many=True),
    "hot_categories": inline_serializer("CommandHotCategory", {
        "code": serializers.CharField(), "name": serializers.CharField(), "count": serializers.IntegerField()},
        many=True),
    "channels": inline_serializer("CommandChannel", {
        "channel": serializers.CharField(), "label": serializers.CharField(), "count": serializers.IntegerField()},
        many=True),
    "rankings": inline_serializer("CommandRankings", {
        "children": inline_serializer("CommandChildRank", {
            **_place_fields(), "score": serializers.FloatField(),
            "grade": serializers.ChoiceField(choices=GRADE_CHOICES), "reported": serializers.IntegerField(),
            "closed_rate": serializers.FloatField(allow_null=True),
            "closed_on_time_rate": serializers.FloatField(allow_null=True),
            "open": serializers.IntegerField(), "overdue": serializers.IntegerField()}, many=True),
        "units": inline_serializer("CommandUnitRank", {
            "id": serializers.IntegerField(), "code": serializers.CharField(), "name": serializers.CharField(),
            "score": serializers.FloatField(), "grade": serializers.ChoiceField(choices=GRADE_CHOICES),
            "reported": serializers.IntegerField(),
            "closed_on_time_rate": serializers.FloatField(allow_null=True),
            "due_handle": serializers.IntegerField(help_text="应处置数: cases whose handling deadline fell in the month."),
            "handled_on_time_rate": serializers.FloatField(allow_null=True, help_text="按期处置率")}, many=True),
    }),
    "map": inline_serializer("CommandMapArea", {
        **_place_fields(), "open": serializers.IntegerField(), "overdue": serializers.IntegerField(),
        "score": serializers.FloatField(), "grade": serializers.ChoiceField(choices=GRADE_CHOICES)}, many=True),
    "act_on": inline_serializer("CommandActOn", {
        "id": serializers.IntegerField(), "number": serializers.CharField(),
        "light": serializers.CharField(allow_null=True), "supervised": serializers.BooleanField(),
        "category": serializers.CharField(), "region": serializers.CharField(),
        "due_at": serializers.DateTimeField(allow_null=True), "status": serializers.CharField()}, many=True),
    "points": inline_serializer("CommandPoint", {
        "id": serializers.IntegerField(), "lat": serializers.FloatField(), "lon": serializers.FloatField(),
        "light": serializers.CharField(allow_null=True)}, many=True),
    "as_of": serializers.DateTimeField(),
})

AssessmentRowSerializer = inline_serializer("CommandAssessmentRow", {
    "code": serializers.CharField(), "name": serializers.CharField(),
    "path": serializers.CharField(help_text="The region's or grid's path; a unit's region path."),
    **{name: serializers.IntegerField(help_text=zh) for name, zh in COUNTS.items()},
    **{name: serializers.FloatField(allow_null=True, help_text=f"{zh} = {num} / {den}")
       for name, (num, den, zh) in RATES.items()},
    "score": serializers.FloatField(help_text="综合评价 0–100"),
    "grade": serializers.ChoiceField(choices=GRADE_CHOICES),
}, many=True)

ASSESSMENT_PARAMETERS = [
    OpenApiParameter("region", str, description="Region code; default: the highest region you watch."),
    OpenApiParameter("month", str, description="YYYY-MM (local time); default: the current month."),
    OpenApiParameter("level", str, enum=ASSESSMENT_LEVELS,
                     description="One row per street, community, grid or unit of the subtree; default: street."),
]


class OverviewView(APIView):
    """The command centre's overview of a region's subtree (or one grid): today, this month, the §6
    measures, the trend, hot categories, channels, rankings, the map, the cases to act on, case points."""

    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[OpenApiParameter("region", str, description=(
        "Region or grid code; default: the highest region you watch."))], responses={200: OverviewSerializer})
    def get(self, request):
        return Response(overview(actor=request.user, region=_place(request, grids=True)))


def _assessment_rows(request) -> tuple[list[dict], str]:
    params = request.query_params
    region = _place(request, grids=False)
    level = params.get("level") or "street"
    year, month = month_of(params.get("month"))
    rows = assessment(actor=request.user, region=region, year=year, month=month, level=level)
    return rows, f"assessment-{region.code}-{year:04d}-{month:02d}-{level}"


class AssessmentView(APIView):
    """一月一考核: the month's measures, score and grade per street, community, grid or unit, best first."""

    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=ASSESSMENT_PARAMETERS, responses={200: AssessmentRowSerializer})
    def get(self, request):
        rows, _name = _assessment_rows(request)
        return Response(rows)


def table(rows: list[dict]) -> tuple[list[str], list[list]]:
    """The export's header (Chinese) and rows; rates as percentages with one decimal, "—" when none."""
    header = ["排名", "代码", "名称", *COUNTS.values(), *(zh for _n, _d, zh in RATES.values()), "综合得分", "等级"]
    body = []
    for rank, row in enumerate(rows, 1):
        rates = ["—" if row[name] is None else round(row[name] * 100, 1) for name in RATES]
        body.append([rank, row["code"], row["name"], *(row[name] for name in COUNTS), *rates, row["score"],
                     row["grade"]])
    return header, body


class AssessmentCsvView(APIView):
    """The monthly assessment as CSV (UTF-8 with a BOM, so spreadsheet programs read the Chinese headers)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=ASSESSMENT_PARAMETERS, operation_id="command_assessment_csv",
                   responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR)})
    def get(self, request):
        rows, name = _assessment_rows(request)
        header, body = table(rows)
        out = io.StringIO()
        out.write("\ufeff")
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(body)
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class AssessmentXlsxView(APIView):
    """The monthly assessment as an Excel workbook."""

    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=ASSESSMENT_PARAMETERS, operation_id="command_assessment_xlsx",
                   responses={(200, XLSX): OpenApiResponse(OpenApiTypes.BINARY)})
    def get(self, request):
        import openpyxl

        rows, name = _assessment_rows(request)
        header, body = table(rows)
        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet("一月一考核")
        sheet.append(header)
        for line in body:
            sheet.append(line)
        out = io.BytesIO()
        book.save(out)
        response = HttpResponse(out.getvalue(), content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
        return response


# Mounted under /api/v1/ (config/urls.py), in the API's namespace: reverse("v1:command-overview").
urlpatterns = [
    path("overview/", OverviewView.as_view(), name="command-overview"),
    path("assessment/", AssessmentView.as_view(), name="command-assessment"),
    path("assessment.csv", AssessmentCsvView.as_view(), name="command-assessment-csv"),
    path("assessment.xlsx", AssessmentXlsxView.as_view(), name="command-assessment-xlsx"),
]
