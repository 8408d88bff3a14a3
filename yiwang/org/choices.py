from django.db import models
from django.utils.translation import gettext_lazy as _


class UnitKind(models.TextChoices):
    DEPARTMENT = "department", _("Government department")
    STREET_OFFICE = "street_office", _("Street office / town government")
    COMMUNITY_COMMITTEE = "community_committee", _("Community / village committee")
    UTILITY = "utility", _("Utility company")
    PROPERTY_COMPANY = "property_company", _("Property management company")
    ENTERPRISE = "enterprise", _("Enterprise")
    PARTY_ORGANISATION = "party_organisation", _("Party organisation")
    SOCIAL_ORGANISATION = "social_organisation", _("Social organisation")


class PartyLevel(models.TextChoices):
    """For party organisations: 党委 / 党工委 / 党总支 / 党支部 / 党小组."""

    COMMITTEE = "committee", _("Party committee")
    WORKING_COMMITTEE = "working_committee", _("Party working committee")
    GENERAL_BRANCH = "general_branch", _("General party branch")
    BRANCH = "branch", _("Party branch")
    GROUP = "group", _("Party group")


class CommitteeKind(models.TextChoices):
    """Joint committees: a street's 大工委 and a community's 大党委."""

    STREET_JOINT_WORKING_COMMITTEE = "street_joint", _("Street joint working committee")
    COMMUNITY_JOINT_PARTY_COMMITTEE = "community_joint", _("Community joint party committee")


class CategoryKind(models.TextChoices):
    EVENT = "event", _("Event")
    COMPONENT = "component", _("Component")
    SOCIAL = "social", _("Social governance")


class Urgency(models.TextChoices):
    """紧急程度: the four colours a case carries; red is the most urgent."""

    RED = "red", _("red (most urgent)")  # 红色
    ORANGE = "orange", _("orange")  # 橙色
    YELLOW = "yellow", _("yellow")  # 黄色
    GREEN = "green", _("green")  # 绿色


class LimitStep(models.TextChoices):
    """The steps of the case loop that run against a time limit."""

    RESPOND = "respond", _("respond")  # 响应: the platform answers the report (accepts, rejects or merges it)
    HANDLE = "handle", _("handle")  # 处置: the unit reports it handled
    VERIFY = "verify", _("verify")  # 核查: the grid worker checks the result on site


class CatalogueStatus(models.TextChoices):
    DRAFT = "draft", _("draft")  # 草稿: still being edited
    ACTIVE = "active", _("active")  # 启用: the catalogue cases use in its jurisdiction
    RETIRED = "retired", _("retired")  # 停用: replaced by a newer version; kept for old cases


class QuestionDatatype(models.TextChoices):
    """The Open311 GeoReport v2 service-attribute datatypes a category's form questions use."""

    STRING = "string", _("short text")
    NUMBER = "number", _("number")
    DATETIME = "datetime", _("date and time")
    TEXT = "text", _("long text")
    SINGLEVALUELIST = "singlevaluelist", _("one choice from a list")
    MULTIVALUELIST = "multivaluelist", _("several choices from a list")
