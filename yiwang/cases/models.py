"""A case (案件/案卷) is one problem moving through the loop of DESIGN §4. Its rows are written only by
yiwang.cases.services; every change is journaled (yiwang.core.models.AuditEntry) in the same transaction."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from yiwang.cases.choices import (
    OPEN_LISTED,
    AttachmentKind,
    Channel,
    ExtensionDecision,
    HandlerRole,
    Rating,
    Status,
    SuperviseAction,
)
from yiwang.core.scope import ScopeSpec
from yiwang.org.choices import LimitStep, Urgency
from yiwang.workcal.choices import LimitUnit


class Case(models.Model):
    number = models.CharField(_("case number"), max_length=32, unique=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    external_ref = models.CharField(_("external reference"), max_length=64, blank=True,
                                    help_text=_("The number the case has in the system it came from."))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.REPORTED)
    status_before_park = models.CharField(max_length=16, choices=Status.choices, blank=True, editable=False)

    description = models.TextField(_("description"))
    address = models.CharField(_("address"), max_length=255, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    lon = models.FloatField(_("longitude"), null=True, blank=True)
    grid = models.ForeignKey("geo.Grid", verbose_name=_("grid"), null=True, blank=True, on_delete=models.PROTECT,
                             related_name="cases")
    region = models.ForeignKey("geo.Region", verbose_name=_("community or region"), on_delete=models.PROTECT,
                               related_name="cases")
    # Where the problem is: the grid's path, or the region's when the report has no grid.
    region_path = models.CharField(_("path"), max_length=255, db_index=True, editable=False)
    # Which level holds the case now (community → street → district → city); escalation moves it up.
    level = models.ForeignKey("geo.Region", verbose_name=_("holding level"), on_delete=models.PROTECT,
                              related_name="held_cases")
    level_path = models.CharField(_("holding level path"), max_length=255, db_index=True, editable=False)

    category = models.ForeignKey("org.Category", verbose_name=_("category"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="cases")
    urgency = models.CharField(_("urgency"), max_length=8, choices=Urgency.choices, default=Urgency.YELLOW)
    answers = models.JSONField(_("answers to the category's questions"), default=dict, blank=True)

    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("reporter"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="reported_cases")
    reporter_name = models.CharField(_("reporter name"), max_length=64, blank=True)
    reporter_phone = models.CharField(_("reporter phone"), max_length=32, blank=True)
    is_anonymous = models.BooleanField(_("anonymous to the public"), default=False)

    lead_unit = models.ForeignKey("org.Unit", verbose_name=_("lead unit"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="lead_cases")
    parent = models.ForeignKey("self", verbose_name=_("merged into"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="duplicates")
    routing = models.JSONField(_("routing suggestion"), default=dict, blank=True)
    self_handled = models.BooleanField(_("handled on the spot"), default=False)
    self_handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+", editable=False)

    reported_at = models.DateTimeField(_("reported at"), db_index=True)
    responded_at = models.DateTimeField(_("responded at"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    filed_at = models.DateTimeField(_("filed at"), null=True, blank=True)
    dispatched_at = models.DateTimeField(_("first dispatched at"), null=True, blank=True)
    signed_at = models.DateTimeField(_("signed for at"), null=True, blank=True)
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    rated_at = models.DateTimeField(_("rated at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True,
                                    help_text=_("When the case was rejected, merged or voided."))

    # The deadlines the measures of DESIGN §6 are judged against; extensions, parking and supervision move
    # them, rework and reopening do not.
    respond_due_at = models.DateTimeField(_("respond by"), null=True, blank=True, db_index=True)
    handle_due_at = models.DateTimeField(_("handle by"), null=True, blank=True, db_index=True)
    close_due_at = models.DateTimeField(_("close by"), null=True, blank=True, db_index=True)
    # The running step's deadline (for the light); empty when nothing runs or while parked.
    due_at = models.DateTimeField(_("current deadline"), null=True, blank=True, db_index=True)
    warn_at = models.DateTimeField(_("warning from"), null=True, blank=True)

    rework_count = models.PositiveSmallIntegerField(_("reworks"), default=0)
    extension_count = models.PositiveSmallIntegerField(_("extensions"), default=0)
    return_count = models.PositiveSmallIntegerField(_("returns"), default=0)
    escalation_count = models.PositiveSmallIntegerField(_("escalations"), default=0)
    reopen_count = models.PositiveSmallIntegerField(_("reopenings"), default=0)
    reopen_requested = models.BooleanField(_("reopening requested"), default=False)
    supervised = models.BooleanField(_("supervised"), default=False, db_index=True)

    rating = models.CharField(_("rating"), max_length=24, choices=Rating.choices, blank=True)
    rating_comment = models.TextField(_("rating comment"), blank=True)
    result = models.TextField(_("result"), blank=True, help_text=_("The handling unit's last feedback."))

    scope = ScopeSpec(path="region_path", unit="handlers__unit", owner="reporter")

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-reported_at", "-id"]
        indexes = [
            models.Index(fields=["status", "region_path"]),
            models.Index(fields=["lat", "lon"]),
            models.Index(fields=["category", "reported_at"]),
            # The command centre: the latest open cases of a subtree (the map) and the most overdue (to act on),
            # read from these indexes alone (open_cases_sql).
            models.Index(fields=["-reported_at", "-id", "region_path", "lat", "lon", "due_at", "warn_at"],
                         condition=Q(status__in=OPEN_LISTED), name="case_open_latest"),
            models.Index(fields=["due_at", "id", "region_path"], condition=Q(status__in=OPEN_LISTED),
                         name="case_open_due"),
        ]
        constraints = [
            # The number a case has in the system it came from (a hotline's 工单编号): imported once per channel.
            models.UniqueConstraint(fields=["channel", "external_ref"], condition=~Q(external_ref=""),
                                    name="case_external_ref_once_per_channel"),
        ]
        permissions = [
            ("accept_case", _("Can accept, reject and merge reports")),
            ("file_case", _("Can file cases")),
            ("dispatch_case", _("Can dispatch cases")),
            ("handle_case", _("Can sign for, return and feed back cases of own unit")),
            ("verify_case", _("Can verify handled cases")),
            ("self_handle_case", _("Can handle small cases on the spot")),
            ("rate_case", _("Can rate own cases")),
            ("reopen_case", _("Can approve reopening a case")),
            ("escalate_case", _("Can escalate cases to the parent level")),
            ("request_extension_case", _("Can ask for more time")),
            ("approve_extension_case", _("Can approve or deny extensions")),
            ("park_case", _("Can park and resume hard cases")),
            ("void_case", _("Can void cases")),
            ("supervise_case", _("Can supervise and urge cases")),
            ("view_contact_case", _("Can see reporters' full contact data")),
        ]

    def __str__(self):
        return self.number


class CaseNumberCounter(models.Model):
    """The day's last case number; the row is locked while a number is taken."""

    day = models.DateField(unique=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.day}: {self.last}"


class CaseHandler(models.Model):
    """A unit dispatched to a case (主办 lead or 协办 assisting); ended, never deleted, when it leaves."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="handlers")
    unit = models.ForeignKey("org.Unit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="+")
    role = models.CharField(_("role"), max_length=8, choices=HandlerRole.choices)
    assigned_at = models.DateTimeField(_("assigned at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    end_reason = models.CharField(_("why it ended"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("handling unit")
        verbose_name_plural = _("handling units")
        ordering = ["assigned_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case"], condition=Q(role="lead", ended_at__isnull=True),
                                    name="case_one_current_lead"),
        ]

    def __str__(self):
        return f"{self.case_id} {self.get_role_display()} {self.unit_id}"


class CaseDeadline(models.Model):
    """One step's clock (respond 响应, handle 处置, verify 核查). The sweep marks the warning and the breach
    exactly once each: `warned_at`/`breached_at` are set by a conditional UPDATE."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="deadlines")
    step = models.CharField(_("step"), max_length=8, choices=LimitStep.choices)
    amount = models.DecimalField(_("allowed"), max_digits=8, decimal_places=2)
    unit = models.CharField(_("unit"), max_length=16, choices=LimitUnit.choices)
    started_at = models.DateTimeField(_("started at"))
    warn_at = models.DateTimeField(_("warning from"), null=True, blank=True)
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    paused_at = models.DateTimeField(_("paused at"), null=True, blank=True)
    remaining = models.FloatField(_("remaining when paused"), null=True, blank=True)
    warned_at = models.DateTimeField(_("warned at"), null=True, blank=True)
    breached_at = models.DateTimeField(_("breach noticed at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    met = models.BooleanField(_("met in time"), null=True)

    class Meta:
        verbose_name = _("deadline")
        verbose_name_plural = _("deadlines")
        ordering = ["started_at", "id"]
        indexes = [
            models.Index(fields=["warn_at"], name="deadline_warn_open", condition=Q(
                ended_at__isnull=True, paused_at__isnull=True, warned_at__isnull=True)),
            models.Index(fields=["due_at"], name="deadline_breach_open", condition=Q(
                ended_at__isnull=True, paused_at__isnull=True, breached_at__isnull=True)),
        ]
        constraints = [
            models.UniqueConstraint(fields=["case"], condition=Q(ended_at__isnull=True), name="case_one_open_deadline"),
        ]

    def __str__(self):
        return f"{self.case_id} {self.get_step_display()} → {self.due_at:%Y-%m-%d %H:%M}" if self.due_at else str(self.step)


class CaseExtension(models.Model):
    """A request for more time (延期申请) and its decision."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="extensions")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(_("requested at"))
    amount = models.DecimalField(_("more time"), max_digits=8, decimal_places=2)
    unit = models.CharField(_("unit"), max_length=16, choices=LimitUnit.choices)
    reason = models.TextField(_("reason"))
    decision = models.CharField(_("decision"), max_length=8, choices=ExtensionDecision.choices,
                                default=ExtensionDecision.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)

    class Meta:
        verbose_name = _("extension request")
        verbose_name_plural = _("extension requests")
        ordering = ["requested_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case"], condition=Q(decision="pending"), name="case_one_pending_extension"),
        ]

    def __str__(self):
        return f"{self.case_id} +{self.amount} {self.unit} ({self.get_decision_display()})"


class CaseSupervision(models.Model):
    """A leader's supervision (督办): flag, urge (催办) or a new deadline."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="supervisions")
    leader = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+")
    action = models.CharField(_("action"), max_length=16, choices=SuperviseAction.choices)
    note = models.TextField(_("note"), blank=True)
    new_due_at = models.DateTimeField(_("new deadline"), null=True, blank=True)
    created_at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("supervision")
        verbose_name_plural = _("supervisions")
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.case_id} {self.get_action_display()}"


def attachment_path(instance, filename):
    """Content-addressed (yiwang.media.services names files this way when it stores them)."""
    return f"cases/{instance.sha256[:2]}/{instance.sha256[2:4]}/{instance.sha256}{instance.extension}"


class CaseAttachment(models.Model):
    """A photo or video carried by a step (the report, feedback, verification, self-handling). Written by
    yiwang.media.services: a photo is a re-encoded JPEG without metadata with a thumbnail next to it, a video
    an MP4 or MOV as uploaded (without its metadata), and for a video that not every browser plays (an iPhone's
    HEVC) a playable H.264 copy made afterwards by the task worker. Files are named by the SHA-256 of the
    uploaded bytes as stored, so rows may share one file."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="attachments")
    action = models.CharField(_("step"), max_length=32)
    kind = models.CharField(_("kind"), max_length=8, choices=AttachmentKind.choices)
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=255)
    thumbnail = models.FileField(_("thumbnail"), upload_to=attachment_path, max_length=255, blank=True)
    content_type = models.CharField(_("content type"), max_length=64)
    extension = models.CharField(max_length=8, editable=False)
    size = models.PositiveIntegerField(_("size"))
    width = models.PositiveIntegerField(_("width"), null=True, blank=True)
    height = models.PositiveIntegerField(_("height"), null=True, blank=True)
    duration = models.FloatField(_("duration (seconds)"), null=True, blank=True)
    sha256 = models.CharField(max_length=64, editable=False, db_index=True)
    # A video's codecs as stored ("hevc+aac"; yiwang.media.processing.Processed.codecs); empty for a photo.
    codecs = models.CharField(_("codecs"), max_length=32, blank=True, editable=False)
    # A copy of a video that every browser plays, when the video itself is not one (media_playable_make).
    playable = models.FileField(_("playable copy"), max_length=255, blank=True, editable=False)
    playable_tries = models.PositiveSmallIntegerField(default=0, editable=False)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    created_at = models.DateTimeField(_("time"))
    is_public = models.BooleanField(_("shown to the public"), default=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["created_at", "id"]

    def __str__(self):
        return self.file.name

    @property
    def copy_pending(self) -> bool:
        """A video not every browser plays whose playable copy is still to come."""
        from yiwang.media.processing import plays_everywhere
        from yiwang.media.services import PLAYABLE_TRIES

        return (self.kind == AttachmentKind.VIDEO and bool(self.codecs) and not plays_everywhere(self.codecs)
                and not self.playable and self.playable_tries < PLAYABLE_TRIES)


def open_cases_sql(index: str) -> tuple[str, str]:
    """(FROM clause, WHERE condition) for reading the open cases along one of the partial indexes of the open
    cases (case_open_latest, case_open_due). The condition is the indexes' own, written with its literals:
    SQLite uses a partial index only for a query whose condition reads the same, and it is told to use this
    one (PostgreSQL chooses by itself)."""
    from django.db import connection

    q = connection.ops.quote_name
    hint = f" INDEXED BY {q(index)}" if connection.vendor == "sqlite" else ""
    statuses = ", ".join(f"'{status}'" for status in OPEN_LISTED)  # constants of the code, not input
    return f"{q(Case._meta.db_table)}{hint}", f"{q('status')} IN ({statuses})"
