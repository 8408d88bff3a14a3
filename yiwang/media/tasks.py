from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from yiwang.media.services import media_orphans_sweep, media_playable_backlog, media_playable_make

# Copies are made one at a time, whatever the number of workers: each keeps a core busy for seconds, and the
# other workers must stay free for the deadline sweep and the notifications. A copy queued while another is
# being made waits (tries again a minute later); the periodic pickup makes whatever is left.
PLAYABLE_LOCK = "yiwang-media-playable"


@db_periodic_task(crontab(minute="37", hour="3"))
@lock_task("yiwang-media-orphans")
def sweep_orphaned_media():
    return media_orphans_sweep()


@db_task(retries=10, retry_delay=60)
@lock_task(PLAYABLE_LOCK)
def make_playable(sha256: str):
    """Queued after a step with a video not every browser plays commits (media_playable_later)."""
    return media_playable_make(sha256=sha256)


@db_periodic_task(crontab(minute="*/10"))
@lock_task(PLAYABLE_LOCK)
def make_missing_playable():
    return media_playable_backlog()
