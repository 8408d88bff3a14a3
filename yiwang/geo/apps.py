from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GeoConfig(AppConfig):
    name = "yiwang.geo"
    label = "geo"
    verbose_name = _("Regions and grids")

    def ready(self):
        import yiwang.core.lookups  # noqa: F401  (registers path__under)
