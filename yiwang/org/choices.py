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
