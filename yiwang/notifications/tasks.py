"""Sending, done by the task queue's worker only (`manage.py run_huey`), never by a web request.

`deliver` is queued after a transaction commits with the deliveries it created; `deliver_due` runs every
minute and sends whatever is due — retries whose backoff ran out, and anything a lost queue entry or a dead
worker left behind. Both claim each delivery before sending it, so they never send one twice."""

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from yiwang.notifications.services import deliveries_purge, deliveries_send, deliveries_send_due

log = logging.getLogger(__name__)


@db_task()
def deliver(delivery_ids: list[int]):
    return deliveries_send(ids=delivery_ids)


@db_periodic_task(crontab(minute="*"))
@lock_task("yiwang-deliveries-due")
def deliver_due():
    counts = deliveries_send_due()
    if any(counts.values()):
        log.info("deliveries: %(sent)d sent, %(pending)d to retry, %(failed)d failed", counts)
    return counts


@db_periodic_task(crontab(minute="27", hour="3"))
def purge_deliveries():
    return deliveries_purge()
