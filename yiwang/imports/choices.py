from django.db import models
from django.utils.translation import gettext_lazy as _


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("importing")
    STOPPING = "stopping", _("stopping after the current batch")
    STOPPED = "stopped", _("stopped")
    FINISHED = "finished", _("finished")
    FAILED = "failed", _("failed")


ACTIVE = {RunStatus.RUNNING, RunStatus.STOPPING}
RESUMABLE = {RunStatus.STOPPED, RunStatus.FAILED}


class FileFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "XLSX"


class Crs(models.TextChoices):
    """The coordinate system of the file's longitude/latitude. Maps in China draw in GCJ-02 (高德, 腾讯) or BD-09
    (百度); the grids are in WGS-84, so positions from those maps are converted first."""

    WGS84 = "wgs84", _("WGS-84 (GPS)")
    GCJ02 = "gcj02", _("GCJ-02 (Gaode, Tencent)")
    BD09 = "bd09", _("BD-09 (Baidu)")
