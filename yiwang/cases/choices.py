from django.db import models
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    REPORTED = "reported", _("reported")  # 已上报
    ACCEPTED = "accepted", _("accepted")  # 已受理
    REJECTED = "rejected", _("rejected")  # 不予受理
    MERGED = "merged", _("merged into another case")  # 已合并
    FILED = "filed", _("filed")  # 已立案
    DISPATCHED = "dispatched", _("dispatched")  # 已派遣
    IN_PROGRESS = "in_progress", _("in progress")  # 处置中
    RETURNED = "returned", _("returned by the unit")  # 已退回
    HANDLED = "handled", _("handled, awaiting verification")  # 已处置
    CLOSED = "closed", _("closed")  # 已结案
    RATED = "rated", _("rated")  # 已评价
    PARKED = "parked", _("parked as a hard case")  # 挂账
    VOIDED = "voided", _("voided")  # 已作废


FINAL = {Status.REJECTED, Status.MERGED, Status.VOIDED, Status.RATED}
OPEN = {s for s in Status.values if s not in FINAL and s != Status.CLOSED}
# The same in a fixed order, for SQL that must read the same every time (a partial index's condition and the
# queries meant to use it: SQLite matches them by their text, literals included).
OPEN_LISTED = tuple(s for s in Status.values if s in OPEN)


class Channel(models.TextChoices):
    APP = "app", _("citizen snapshot (随手拍)")
    PATROL = "patrol", _("grid worker patrol")
    HOTLINE = "hotline", _("8890/12345 hotline")
    ENTERPRISE = "enterprise", _("enterprise appeal")
    COMMUNITY = "community", _("community asking for help")
    VIDEO = "video", _("video monitoring")
    DEPARTMENT = "department", _("department system")
    LEADER = "leader", _("leader assignment")
    OPEN311 = "open311", _("Open311 client")


class Rating(models.TextChoices):
    SATISFIED = "satisfied", _("satisfied")  # 满意
    BASICALLY = "basically_satisfied", _("basically satisfied")  # 基本满意
    UNSATISFIED = "unsatisfied", _("unsatisfied")  # 不满意


class Light(models.TextChoices):
    GREEN = "green", _("in time")
    YELLOW = "yellow", _("due soon")
    RED = "red", _("overdue")


class HandlerRole(models.TextChoices):
    LEAD = "lead", _("lead unit")  # 主办
    ASSIST = "assist", _("assisting unit")  # 协办


class ExtensionDecision(models.TextChoices):
    PENDING = "pending", _("pending")
    APPROVED = "approved", _("approved")
    DENIED = "denied", _("denied")


class SuperviseAction(models.TextChoices):
    FLAG = "flag", _("flag as supervised")  # 督办
    URGE = "urge", _("urge")  # 催办
    DEADLINE = "deadline", _("set a new deadline")


class AttachmentKind(models.TextChoices):
    PHOTO = "photo", _("photo")
    VIDEO = "video", _("video")
