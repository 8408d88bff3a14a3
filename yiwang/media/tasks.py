from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from yiwang.media.services import media_orphans_sweep, media_playable_backlog, media_playable_make


@db_periodic_task(crontab(minute="37", hour="3"))
@lock_task("yiwang-media-orphans")
def sweep_orphaned_media():
    return media_orphans_sweep()


@db_task()
def make_playable(sha256: str):
    """Queued after a step with a video not every browser plays commits (media_playable_later)."""
    return media_playable_make(sha256=sha256)


@db_periodic_task(crontab(minute="*/10"))
@lock_task("yiwang-media-playable")
def make_missing_playable():
    return media_playable_backlog()
