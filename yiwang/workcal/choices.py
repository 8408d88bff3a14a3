from django.db import models
from django.utils.translation import gettext_lazy as _


class LimitUnit(models.TextChoices):
    """How a time limit is counted: 自然时 (the clock), 工作时 (working hours of working days) or 工作日 (working
    days, each as long as a day's working periods)."""

    NATURAL_HOURS = "natural_hours", _("natural hours")
    WORKING_HOURS = "working_hours", _("working hours")
    WORKING_DAYS = "working_days", _("working days")
