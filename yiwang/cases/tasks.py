"""Periodic work of the case loop, run by the task queue (SqliteHuey in the embedded default, RedisHuey when
REDIS_URL is set). `manage.py run_huey` runs the consumer; `make demo` starts one next to the web server."""

import logging

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from yiwang.cases.services import deadline_sweep
from yiwang.command.aggregates import due_slots_prune

log = logging.getLogger(__name__)


def _every(seconds: int):
    minutes = max(1, seconds // 60)
    return crontab(minute=f"*/{minutes}")


@db_periodic_task(_every(settings.YIWANG_SWEEP_SECONDS))
@lock_task("yiwang-deadline-sweep")
def sweep_deadlines():
    """Warnings and breaches due by now, each marked exactly once (the sweep claims rows with a conditional
    UPDATE, so an overlapping run on another worker cannot double them either)."""
    result = deadline_sweep()
    due_slots_prune()  # the rollups' quarter-hour slots from before yesterday, which no read looks at
    if result.warned or result.breached:
        log.info("deadline sweep: %d warned, %d breached, %d escalated, %d supervised",
                 result.warned, result.breached, result.escalated, result.supervised)
    return {"warned": result.warned, "breached": result.breached, "escalated": result.escalated}
