"""Import runs execute on the task queue, so an upload answers at once (see yiwang/cases/tasks.py for the
queue)."""

import logging

from huey.contrib.djhuey import db_task

from yiwang.imports.services import import_run_execute

log = logging.getLogger(__name__)


@db_task()
def import_run_task(run_id: int):
    """Execute a queued run to its end or until it is stopped. A run that is not queued (stopped meanwhile,
    or already taken by another worker) is left alone."""
    run = import_run_execute(run=run_id)
    log.info("import run %s: %s, %d rows, %d created, %d already imported, %d refused", run.pk, run.status,
             run.rows_done, run.rows_ok, run.rows_skipped, run.rows_failed)
    return {"status": run.status, "rows_done": run.rows_done}
