"""REST for the case loop: report, the scoped lists, one case, its timeline and duplicates, and one POST per
verb (`/api/v1/cases/{id}/{verb}/`). Each door parses input and calls one service."""

from __future__ import annotations

from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from yiwang.cases import services
from yiwang.cases.choices import Channel, Light, Rating, SuperviseAction
from yiwang.cases.models import Case
from yiwang.cases.selectors import (
    case_duplicates_for,
    case_filters_from,
    case_get_for,
    case_list_for,
    case_timeline,
    is_staff,
    light_of,
    may_see_contact,
)
from yiwang.core import clock
from yiwang.core.errors import NotFound, invalid
from yiwang.core.idempotency import fingerprint, idempotent, stored_answer
from yiwang.geo.models import Region
from yiwang.media.processing import uploads_from
from yiwang.media.selectors import photo_report_position
from yiwang.media.views import AttachmentSerializer, attachments_of
from yiwang.org.choices import Urgency
from yiwang.org.models import Unit
from yiwang.workcal.choices import LimitUnit

# --- output ----------------------------------------------------------------------------------------------

class CaseSerializer(serializers.ModelSerializer):
    category_code = serializers.CharField(source="category.code", default=None, read_only=True)
    category_name = serializers.CharField(source="category.name", default=None, read_only=True)
    grid_code = serializers.CharField(source="grid.code", default=None, read_only=True)
    grid_name = serializers.CharField(source="grid.name", default=None, read_only=True)
    region_code = serializers.CharField(source="region.code", read_only=True)
    level_code = serializers.CharField(source="level.code", read_only=True)
    level_name = serializers.CharField(source="level.name", read_only=True)
    lead_unit_name = serializers.CharField(source="lead_unit.name", default=None, read_only=True)
    parent_number = serializers.SerializerMethodField()
    light = serializers.SerializerMethodField()
    reporter_name = serializers.SerializerMethodField()
    reporter_phone = serializers.SerializerMethodField()
    attachments = serializers.SerializerMethodField()

    class Meta:
        model = Case
        fields = [
            "id", "number", "status", "channel", "external_ref", "description", "address", "lat", "lon",
            "grid", "grid_code", "grid_name", "region", "region_code", "level", "level_code", "level_name",
            "category", "category_code", "category_name", "urgency", "answers", "reporter_name", "reporter_phone",
            "is_anonymous", "lead_unit", "lead_unit_name", "parent", "parent_number", "routing", "self_handled",
            "reported_at", "responded_at", "accepted_at", "filed_at", "dispatched_at", "signed_at", "handled_at",
            "closed_at", "rated_at", "ended_at", "respond_due_at", "handle_due_at", "close_due_at", "due_at",
            "warn_at", "light", "rework_count", "extension_count", "return_count", "escalation_count",
            "reopen_count", "reopen_requested", "supervised", "rating", "rating_comment", "result",
            "attachments",
        ]
        read_only_fields = fields

    def _full_contact(self, case) -> bool:
        """The reporter sees their own contact data; staff who call reporters back see it on one case's page
        (`reveal_contact`, journaled by the view); lists and everyone else get it masked."""
        user = self.context["request"].user
        if case.reporter_id and case.reporter_id == user.pk:
            return True
        return self.context.get("reveal_contact") == case.pk

    def get_parent_number(self, case) -> str | None:
        return case.parent.number if case.parent_id else None

    def get_light(self, case) -> str | None:
        return light_of(case, self.context.get("now") or clock.now())

    def get_reporter_name(self, case) -> str:
        name = case.reporter_name
        return name if self._full_contact(case) else (name[:1] + "*" * (len(name) - 1) if name else "")

    def get_reporter_phone(self, case) -> str:
        return case.reporter_phone if self._full_contact(case) else services.mask_phone(case.reporter_phone)

    @extend_schema_field(AttachmentSerializer(many=True))
    def get_attachments(self, case) -> list:
        return attachments_of(self, case)


class DuplicateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    status = serializers.CharField()
    description = serializers.CharField()
    reported_at = serializers.DateTimeField()
    distance_m = serializers.FloatField()


class ReportedSerializer(CaseSerializer):
    """A new report, with the open cases nearby that may be the same problem."""

    duplicates = serializers.SerializerMethodField()

    class Meta(CaseSerializer.Meta):
        fields = [*CaseSerializer.Meta.fields, "duplicates"]
        read_only_fields = fields

    @extend_schema_field(DuplicateSerializer(many=True))
    def get_duplicates(self, case) -> list:
        return _duplicates(self.context["request"].user, case)


def _duplicates(actor, case) -> list[dict]:
    found = case_duplicates_for(actor=actor, category=case.category, lat=case.lat, lon=case.lon,
                                at=case.reported_at, exclude=case.pk or None)
    staff = is_staff(actor)  # the public sees where and when, not what someone else wrote
    return [{"id": c.pk, "number": c.number, "status": c.status, "description": c.description if staff else "",
             "reported_at": c.reported_at, "distance_m": round(d, 1)} for c, d in found]


# The hot path of intake: a new report's answer is the same JSON as ReportedSerializer's, written out by hand,
# because building a ModelSerializer's fields costs more than the whole write (a test holds the two equal).
_DATETIME = serializers.DateTimeField()
CASE_TIMES = ["reported_at", "responded_at", "accepted_at", "filed_at", "dispatched_at", "signed_at", "handled_at",
              "closed_at", "rated_at", "ended_at", "respond_due_at", "handle_due_at", "close_due_at", "due_at",
              "warn_at"]


def _when(value):
    return None if value is None else _DATETIME.to_representation(value)


def case_payload(case: Case, *, actor, now, attachments: list[dict], reveal: bool = False) -> dict:
    """CaseSerializer's representation of `case`, for a case whose grid, places, category, unit and parent are
    in hand (select_related or just written)."""
    full = reveal or bool(case.reporter_id and case.reporter_id == actor.pk)
    name = case.reporter_name
    category, grid, lead = case.category, case.grid, case.lead_unit
    body = {
        "id": case.pk, "number": case.number, "status": case.status, "channel": case.channel,
        "external_ref": case.external_ref, "description": case.description, "address": case.address,
        "lat": case.lat, "lon": case.lon, "grid": case.grid_id, "grid_code": grid.code if grid else None,
        "grid_name": grid.name if grid else None, "region": case.region_id, "region_code": case.region.code,
        "level": case.level_id, "level_code": case.level.code, "level_name": case.level.name,
        "category": case.category_id, "category_code": category.code if category else None,
        "category_name": category.name if category else None, "urgency": case.urgency, "answers": case.answers,
        "reporter_name": name if full else (name[:1] + "*" * (len(name) - 1) if name else ""),
        "reporter_phone": case.reporter_phone if full else services.mask_phone(case.reporter_phone),
        "is_anonymous": case.is_anonymous, "lead_unit": case.lead_unit_id,
        "lead_unit_name": lead.name if lead else None, "parent": case.parent_id,
        "parent_number": case.parent.number if case.parent_id else None, "routing": case.routing,
        "self_handled": case.self_handled,
    }
    body.update((field, _when(getattr(case, field))) for field in CASE_TIMES)
    body.update({
        "light": light_of(case, now), "rework_count": case.rework_count, "extension_count": case.extension_count,
        "return_count": case.return_count, "escalation_count": case.escalation_count,
        "reopen_count": case.reopen_count, "reopen_requested": case.reopen_requested,
        "supervised": case.supervised, "rating": case.rating, "rating_comment": case.rating_comment,
        "result": case.result, "attachments": attachments,
    })
    return body


def duplicates_payload(found: list[dict]) -> list[dict]:
    return [{**d, "reported_at": _when(d["reported_at"]), "distance_m": float(d["distance_m"])} for d in found]


class TimelineSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    action = serializers.CharField()
    text = serializers.CharField()
    status = serializers.CharField(allow_null=True)
    actor = serializers.CharField()
    reason = serializers.CharField()
    details = serializers.DictField()


# --- input -----------------------------------------------------------------------------------------------

class ReportInput(serializers.Serializer):
    description = serializers.CharField(max_length=4000)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    lat = serializers.FloatField(required=False, allow_null=True)
    lon = serializers.FloatField(required=False, allow_null=True)
    address = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)
    region = serializers.CharField(required=False, help_text="Region code, when the report has no position.")
    category = serializers.CharField(required=False, help_text="Subcategory code (e.g. 0102).")
    urgency = serializers.ChoiceField(choices=Urgency.choices, required=False)
    answers = serializers.JSONField(required=False, default=dict)
    reporter_name = serializers.CharField(max_length=64, required=False, default="", allow_blank=True)
    reporter_phone = serializers.CharField(max_length=32, required=False, default="", allow_blank=True)
    is_anonymous = serializers.BooleanField(required=False, default=False)
    external_ref = serializers.CharField(max_length=64, required=False, default="", allow_blank=True)
    attachments = serializers.ListField(child=serializers.FileField(), required=False, default=list)


class NoteInput(serializers.Serializer):
    note = serializers.CharField(required=False, default="", allow_blank=True, max_length=2000)


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class ClassifyInput(NoteInput):
    category = serializers.CharField(required=False)
    urgency = serializers.ChoiceField(choices=Urgency.choices, required=False)


class MergeInput(serializers.Serializer):
    into = serializers.IntegerField()
    reason = serializers.CharField(required=False, default="", allow_blank=True, max_length=2000)


class DispatchInput(NoteInput):
    unit = serializers.IntegerField()
    assisting = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)


class ResultInput(serializers.Serializer):
    result = serializers.CharField(max_length=4000)
    attachments = serializers.ListField(child=serializers.FileField(), required=False, default=list)


class SelfHandleInput(ResultInput):
    category = serializers.CharField(required=False)


class VerifyInput(NoteInput):
    attachments = serializers.ListField(child=serializers.FileField(), required=False, default=list)


class ReworkInput(ReasonInput):
    attachments = serializers.ListField(child=serializers.FileField(), required=False, default=list)


class RateInput(serializers.Serializer):
    rating = serializers.ChoiceField(choices=Rating.choices)
    comment = serializers.CharField(required=False, default="", allow_blank=True, max_length=2000)


class ExtendInput(ReasonInput):
    amount = serializers.DecimalField(max_digits=8, decimal_places=2)
    unit = serializers.ChoiceField(choices=LimitUnit.choices)


class DecideExtensionInput(NoteInput):
    approve = serializers.BooleanField()


class SuperviseInput(NoteInput):
    action = serializers.ChoiceField(choices=SuperviseAction.choices)
    due_at = serializers.DateTimeField(required=False, allow_null=True)


def _category(code: str | None, path: str):
    if not code:
        return None
    from yiwang.org.selectors import category_by_code

    category = category_by_code(path=path, code=code)
    if category is None:
        raise invalid(gettext("Unknown category: %(code)s") % {"code": code}, "category_invalid", "category")
    return category


def _unit(pk: int, field: str) -> Unit:
    unit = Unit.objects.filter(pk=pk).first()
    if unit is None:
        raise invalid(gettext("Unknown unit."), "unit_invalid", field)
    return unit


def _default_channel(actor) -> str:
    from yiwang.accounts.policies import GRID, OWN, grants_for

    grants = grants_for(actor).get("cases.add_case", [])
    if grants and all(g.kind == OWN for g in grants):
        return Channel.APP
    if any(g.kind == GRID for g in grants):
        return Channel.PATROL
    return Channel.HOTLINE


LIST_PARAMETERS = [
    OpenApiParameter("status", str, description="Comma-separated statuses."),
    OpenApiParameter("category", str, description="Subcategory or major category code."),
    OpenApiParameter("region", str, description="Region code: cases in its subtree."),
    OpenApiParameter("grid", int), OpenApiParameter("unit", int, description="Current handling unit id."),
    OpenApiParameter("urgency", str, enum=Urgency.values), OpenApiParameter("light", str, enum=Light.values),
    OpenApiParameter("channel", str, enum=Channel.values), OpenApiParameter("supervised", bool),
    OpenApiParameter("from", str, description="Reported at or after (ISO 8601)."),
    OpenApiParameter("to", str, description="Reported before (ISO 8601)."),
    OpenApiParameter("number", str),
]


class CaseViewSet(viewsets.ViewSet):
    """Cases in the caller's scope; each step of the loop is `POST /cases/{id}/{verb}/`."""

    permission_classes = [IsAuthenticated]
    pagination_class = LimitOffsetPagination
    queryset = Case.objects.none()  # for the schema's path parameter type; reads go through the selectors

    def _input(self, serializer_class):
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _out(self, case, status=200, serializer_class=CaseSerializer):
        # Re-read through the caller's scope: a step may leave the case out of their sight (an escalation).
        try:
            case = case_get_for(actor=self.request.user, pk=case.pk)
        except NotFound:
            return Response({"id": case.pk, "number": case.number, "status": case.status}, status=status)
        return Response(serializer_class(case, context={"request": self.request}).data, status=status)

    @extend_schema(parameters=LIST_PARAMETERS, responses=CaseSerializer(many=True))
    def list(self, request):
        queryset = case_list_for(actor=request.user, filters=case_filters_from(request.query_params))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, request, view=self)
        data = CaseSerializer(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)

    @extend_schema(request=ReportInput, responses={201: ReportedSerializer}, parameters=[OpenApiParameter(
        "Idempotency-Key", str, OpenApiParameter.HEADER,
        description="Send the same key when retrying: the first answer comes back, no second case.")])
    def create(self, request):
        owner, key = f"user:{request.user.pk}", request.headers.get("Idempotency-Key")
        request_hash = fingerprint(request.data, request.FILES)
        # A retry is answered before anything is checked again; the check inside `idempotent` settles races.
        replay = stored_answer(owner=owner, scope="cases.create", key=key, request_hash=request_hash)
        if replay is None:
            draft, duplicates = self._prepare_report(request)
            status, body, replayed = idempotent(
                owner=owner, scope="cases.create", key=key, request_hash=request_hash,
                produce=lambda: self._commit_report(request, draft, duplicates))
        else:
            (status, body), replayed = replay, True
        response = Response(body, status=status)
        if replayed:
            response["Idempotent-Replayed"] = "true"
        return response

    def _prepare_report(self, request) -> tuple[services.ReportDraft, list[dict]]:
        """Every read of a report — checks, place, category, photos, the duplicates nearby — before the write
        transaction starts, so that transaction (and SQLite's one writer lock) is as short as it can be."""
        data = self._input(ReportInput)
        region = None
        if data.get("region"):
            region = Region.objects.filter(code=data["region"]).first()
            if region is None:
                raise invalid(gettext("Unknown region."), "region_invalid", "region")
        uploads = uploads_from(data["attachments"])
        if data.get("lat") is None and data.get("lon") is None:  # no position given: a photo's GPS, if any
            data["lat"], data["lon"] = photo_report_position(uploads, region=region) or (None, None)
        path = region.path if region else ""
        if data.get("lat") is not None and data.get("lon") is not None:
            from yiwang.geo.selectors import grid_locate

            location = grid_locate(lat=data["lat"], lon=data["lon"])
            path = location.grid_path if location else path
        draft = services.case_report_prepare(
            actor=request.user, description=data["description"],
            channel=data.get("channel") or _default_channel(request.user), lat=data.get("lat"),
            lon=data.get("lon"), address=data["address"], region=region,
            category=_category(data.get("category"), path), urgency=data.get("urgency"), answers=data["answers"],
            reporter_name=data["reporter_name"], reporter_phone=data["reporter_phone"],
            is_anonymous=data["is_anonymous"], external_ref=data["external_ref"],
            attachments=uploads,
        )
        return draft, duplicates_payload(_duplicates(request.user, draft.case))

    def _commit_report(self, request, draft, duplicates) -> tuple[int, dict]:
        case = services.case_report_commit(draft=draft)
        attachments = []
        if draft.checked:
            serializer = CaseSerializer(case, context={"request": request})
            attachments = attachments_of(serializer, case)
        body = case_payload(case, actor=request.user, now=draft.now, attachments=attachments)
        return 201, {**body, "duplicates": duplicates}

    @extend_schema(responses=CaseSerializer)
    def retrieve(self, request, pk=None):
        case = case_get_for(actor=request.user, pk=pk)
        context = {"request": request}
        if case.reporter_id != request.user.pk and (case.reporter_name or case.reporter_phone) \
                and may_see_contact(request.user, case):
            services.case_contact_read(actor=request.user, case=case)
            context["reveal_contact"] = case.pk
        return Response(CaseSerializer(case, context=context).data)

    @extend_schema(responses=TimelineSerializer(many=True))
    @action(detail=True, methods=["get"])
    def timeline(self, request, pk=None):
        case = case_get_for(actor=request.user, pk=pk)
        entries = case_timeline(actor=request.user, case=case)
        return Response(TimelineSerializer([e.__dict__ for e in entries], many=True).data)

    @extend_schema(responses=DuplicateSerializer(many=True))
    @action(detail=True, methods=["get"])
    def duplicates(self, request, pk=None):
        case = case_get_for(actor=request.user, pk=pk)
        return Response(DuplicateSerializer(_duplicates(request.user, case), many=True).data)

    # --- the verbs -----------------------------------------------------------------------------------------

    def _case_path(self, pk) -> str:
        return case_get_for(actor=self.request.user, pk=pk).region_path

    @extend_schema(request=ClassifyInput, responses=CaseSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        data = self._input(ClassifyInput)
        category = _category(data.get("category"), self._case_path(pk))
        return self._out(services.case_accept(actor=request.user, case=int(pk), category=category,
                                              urgency=data.get("urgency"), note=data["note"]))

    @extend_schema(request=ReasonInput, responses=CaseSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._out(services.case_reject(actor=request.user, case=int(pk),
                                              reason=self._input(ReasonInput)["reason"]))

    @extend_schema(request=MergeInput, responses=CaseSerializer)
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        data = self._input(MergeInput)
        return self._out(services.case_merge(actor=request.user, case=int(pk), into=data["into"],
                                             reason=data["reason"]))

    @extend_schema(request=ClassifyInput, responses=CaseSerializer)
    @action(detail=True, methods=["post"], url_path="file")
    def file_(self, request, pk=None):
        data = self._input(ClassifyInput)
        category = _category(data.get("category"), self._case_path(pk))
        return self._out(services.case_file(actor=request.user, case=int(pk), category=category,
                                            urgency=data.get("urgency"), note=data["note"]))

    @extend_schema(request=DispatchInput, responses=CaseSerializer)
    @action(detail=True, methods=["post"], url_path="dispatch")
    def dispatch_to(self, request, pk=None):  # not `dispatch`: that is the view's own entry point
        data = self._input(DispatchInput)
        return self._out(services.case_dispatch(
            actor=request.user, case=int(pk), unit=_unit(data["unit"], "unit"),
            assisting=[_unit(u, "assisting") for u in data["assisting"]], note=data["note"]))

    @extend_schema(request=NoteInput, responses=CaseSerializer)
    @action(detail=True, methods=["post"])
    def sign(self, request, pk=None):
        return self._out(services.case_sign(actor=request.user, case=int(pk), note=self._input(NoteInput)["note"]))

    @extend_schema(request=ReasonInput, responses=CaseSerializer)
    @action(detail=True, methods=["post"], url_path="return")
    def return_(self, request, pk=None):
        return self._out(services.case_return(actor=request.user, case=int(pk),
                                              reason=self._input(ReasonInput)["reason"]))

    @extend_schema(request=ResultInput, responses=CaseSerializer)
    @action(detail=True, methods=["post"])
    def feedback(self, request, pk=None):
        data = self._input(ResultInput)
        return self._out(services.case_feedback(actor=request.user, case=int(pk), result=data["result"],
                                                attachments=uploads_from(data["attachments"])))

    @extend_schema(request=VerifyInput, responses=CaseSerializer)
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None):
        data = self._input(VerifyInput)
        return self._out(services.case_verify(actor=request.user, case=int(pk), note=data["note"],
                                              attachments=uploads_from(data["attachments"])))

    @extend_schema(request=ReworkInput, responses=CaseSerializer)
    @action(detail=True, methods=["post"])
    def rework(self, request, pk=None):
        data = self._input(ReworkInput)
        return self._out(services.case_rework(actor=request.user, case=int(pk), reason=data["reason"],
                                              attachments=uploads_from(data["attachments"])))

    @extend_schema(request=RateInput, responses=CaseSerializer)
    @action(detail=True, methods=["post"])
    def rate(self, request, pk=None):
        data = self._input(RateInput)
        return self._out(services.case_rate(actor=request.user, case=int(pk), rating=data["rating"],
                                            comment=data["comment"]))

    @extend_schema(request=ReasonInput, responses=CaseSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        return self._out(services.case_reopen(actor=request.user, case=int(pk),
                                              reason=self._input(ReasonInput)["reason"]))

    @extend_schema(request=RateInput, responses=CaseSerializer)
    @action(detail=True, methods=["post"], url_path="rate-callback")
    def rate_callback(self, request, pk=None):
        """回访: the desk records the rating a citizen gave on a return call (cases without an app reporter)."""
        data = self._input(RateInput)
        return self._out(services.case_rate_callback(actor=request.user, case=int(pk), rating=data["rating"],
                                                     comment=data["comment"]))

    @extend_schema(request=ReasonInput, responses=CaseSerializer)
    @action(detail=True, methods=["post"], url_path="reopen-deny")
    def reopen_deny(self, request, pk=None):
        """不予重办: turn down a request to reopen, with the reason the reporter reads."""
        return self._out(services.case_reopen_deny(actor=request.user, case=int(pk),
                                                   reason=self._input(ReasonInput)["reason"]))

    @extend_schema(request=SelfHandleInput, responses=CaseSerializer)
    @action(detail=True, methods=["post"], url_path="self-handle")
    def self_handle(self, request, pk=None):
        data = self._input(SelfHandleInput)
        category = _category(data.get("category"), self._case_path(pk))
        return self._out(services.case_self_handle(actor=request.user, case=int(pk), result=data["result"],
                                                   category=category, attachments=uploads_from(data["attachments"])))

    @extend_schema(request=ReasonInput, responses=CaseSerializer)
    @action(detail=True, methods=["post"])
    def escalate(self, request, pk=None):
        return self._out(services.case_escalate(actor=request.user, case=int(pk),
                                                reason=self._input(ReasonInput)["reason"]))

    @extend_schema(request=ExtendInput, responses=CaseSerializer)
    @action(detail=True, methods=["post"])
    def extend(self, request, pk=None):
        data = self._input(ExtendInput)
        request_row = services.case_extend(actor=request.user, case=int(pk), amount=data["amount"],
                                           unit=data["unit"], reason=data["reason"])
        return self._out(request_row.case)

    @extend_schema(request=DecideExtensionInput, responses=CaseSerializer)
    @action(detail=True, methods=["post"], url_path="approve-extension")
    def approve_extension(self, request, pk=None):
        data = self._input(DecideExtensionInput)
        decided = services.case_decide_extension(actor=request.user, case=int(pk), approve=data["approve"],
                                                 note=data["note"])
        return self._out(decided.case)

    @extend_schema(request=ReasonInput, responses=CaseSerializer)
    @action(detail=True, methods=["post"])
    def park(self, request, pk=None):
        return self._out(services.case_park(actor=request.user, case=int(pk),
                                            reason=self._input(ReasonInput)["reason"]))

    @extend_schema(request=NoteInput, responses=CaseSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self._out(services.case_resume(actor=request.user, case=int(pk),
                                              note=self._input(NoteInput)["note"]))

    @extend_schema(request=ReasonInput, responses=CaseSerializer)
    @action(detail=True, methods=["post"])
    def void(self, request, pk=None):
        return self._out(services.case_void(actor=request.user, case=int(pk),
                                            reason=self._input(ReasonInput)["reason"]))

    @extend_schema(request=SuperviseInput, responses=CaseSerializer)
    @action(detail=True, methods=["post"])
    def supervise(self, request, pk=None):
        data = self._input(SuperviseInput)
        row = services.case_supervise(actor=request.user, case=int(pk), action=data["action"], note=data["note"],
                                      due_at=data.get("due_at"))
        return self._out(row.case)
