from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkcalConfig(AppConfig):
    name = "yiwang.workcal"
    label = "workcal"
    verbose_name = _("Working calendar")

    def ready(self):
        from yiwang.workcal import checks  # noqa: F401  (registers the system checks)
