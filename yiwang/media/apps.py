from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MediaConfig(AppConfig):
    name = "yiwang.media"
    label = "media"
    verbose_name = _("Photos and video")

    def ready(self):
        from django.core.signals import request_finished

        from yiwang.media.services import media_cleanup

        request_finished.connect(media_cleanup, dispatch_uid="yiwang.media.cleanup")
