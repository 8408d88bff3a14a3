from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from yiwang.core.idempotency import idempotency_keys_purge


@db_periodic_task(crontab(minute="17", hour="3"))
def purge_idempotency_keys():
    return idempotency_keys_purge()
