from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebConfig(AppConfig):
    """The pages' shared shell: base templates, the browser libraries served from the app's own static files,
    sign-in and the page that sends each person to where their work is."""

    name = "yiwang.web"
    label = "web"
    verbose_name = _("Pages")
