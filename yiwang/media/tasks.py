from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from yiwang.media.services import media_orphans_sweep


@db_periodic_task(crontab(minute="37", hour="3"))
@lock_task("yiwang-media-orphans")
def sweep_orphaned_media():
    return media_orphans_sweep()
