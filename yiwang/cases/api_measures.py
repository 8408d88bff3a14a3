"""REST for the measures of DESIGN §6: `GET /api/v1/measures/?region=CODE | grid=ID | unit=ID
&from=YYYY-MM-DD&to=YYYY-MM-DD`. The dates are local (Asia/Shanghai); `from` is included, `to` is not."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from yiwang.cases.measures import COUNTS, GRADES, LOWEST_GRADE, RATES, measures_for
from yiwang.core import clock
from yiwang.core.errors import NotFound, invalid
from yiwang.geo.models import Grid, Region
from yiwang.org.models import Unit


class MeasureSubjectSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="region, grid or unit")
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


def _measures_fields() -> dict:
    fields = {
        "__doc__": "One subject's measures over a period (DESIGN §6); rates 0–1, null if nothing was due.",
        "subject": MeasureSubjectSerializer(),
        "period_start": serializers.DateTimeField(),
        "period_end": serializers.DateTimeField(help_text="Not included."),
        "as_of": serializers.DateTimeField(help_text="Counted up to: the period's end, or now if sooner."),
    }
    fields.update({name: serializers.IntegerField(help_text=zh) for name, zh in COUNTS.items()})
    fields.update({name: serializers.FloatField(allow_null=True, help_text=f"{zh} = {num} / {den}")
                   for name, (num, den, zh) in RATES.items()})
    fields.update({
        "peers_filed_max": serializers.IntegerField(help_text="The most cases any peer filed in the period."),
        "filed_score": serializers.FloatField(help_text="立案数得分 = 1 − filed / peers_filed_max"),
        "score": serializers.FloatField(help_text="综合评价 0–100"),
        "grade": serializers.ChoiceField(choices=[g for _floor, g in GRADES] + [LOWEST_GRADE]),
    })
    return fields


MeasuresSerializer = type("MeasuresSerializer", (serializers.Serializer,), _measures_fields())


def _date(params, name: str) -> dt.date | None:
    value = params.get(name)
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise invalid(gettext("Give a date as YYYY-MM-DD."), "date_invalid", name) from None


def _local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=timezone.get_default_timezone())


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _subject(params) -> dict:
    given = [name for name in ("region", "grid", "unit") if params.get(name)]
    if len(given) != 1:
        raise invalid(gettext("Give exactly one of region, grid or unit."), "subject_required")
    name = given[0]
    value = params[name]
    if name == "region":
        found = Region.objects.filter(code=value).first()
    elif not value.isdigit():
        raise invalid(gettext("Give the id as a number."), "subject_invalid", name)
    else:
        found = (Grid if name == "grid" else Unit).objects.filter(pk=int(value)).first()
    if found is None:
        raise NotFound()
    return {name: found}


class MeasuresView(APIView):
    """综合评价: counts, rates, score and grade of one region (its subtree), grid or unit over a period."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[
            OpenApiParameter("region", str, description="Region code: the region's whole subtree."),
            OpenApiParameter("grid", int, description="Grid id."),
            OpenApiParameter("unit", int, description="Unit id: the cases it leads or led last."),
            OpenApiParameter("from", dt.date, description="First day (local), included; default: the first "
                                                          "day of the current month."),
            OpenApiParameter("to", dt.date, description="Day after the last (local), not included; default: "
                                                        "the first day of the month after `from`."),
        ],
        responses={200: MeasuresSerializer},
    )
    def get(self, request):
        params = request.query_params
        subject = _subject(params)
        first = _date(params, "from") or timezone.localdate(clock.now()).replace(day=1)
        last = _date(params, "to") or _next_month(first)
        if last <= first:
            raise invalid(gettext("`to` must be after `from`."), "date_order", "to")
        measures = measures_for(actor=request.user, period_start=_local_midnight(first),
                                period_end=_local_midnight(last), **subject)
        return Response(MeasuresSerializer(measures.as_dict()).data)
