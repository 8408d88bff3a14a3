from django.db import models
from django.utils.translation import gettext_lazy as _


class RegionLevel(models.TextChoices):
    CITY = "city", _("City")
    DISTRICT = "district", _("District / county")
    STREET = "street", _("Street / town")
    COMMUNITY = "community", _("Community / village")


# Which level may sit under which. A grid always hangs under a community.
LEVEL_PARENT = {
    RegionLevel.CITY: None,
    RegionLevel.DISTRICT: RegionLevel.CITY,
    RegionLevel.STREET: RegionLevel.DISTRICT,
    RegionLevel.COMMUNITY: RegionLevel.STREET,
}


class GridKind(models.TextChoices):
    RESIDENTIAL = "residential", _("Residential grid")
    ENTERPRISE = "enterprise", _("Enterprise grid")
    SCHOOL = "school", _("School grid")
    COMMERCIAL = "commercial", _("Commercial / building grid")
    OTHER = "other", _("Other grid")


class GridDuty(models.TextChoices):
    """The "1+1+1+N" grid staff model."""

    LEADER = "leader", _("Grid leader")
    INSTRUCTOR = "instructor", _("Grid instructor")
    FULL_TIME = "full_time", _("Full-time grid worker")
    PART_TIME = "part_time", _("Part-time grid worker")
    FUNCTIONAL = "functional", _("Functional member")
