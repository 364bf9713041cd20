"""The Celery task that runs a recorded job (``services.jobs``) on a worker.

Only the job's id travels through the broker: the worker reads the job's kind, parameters and
scope from the store, so a redelivered task finds the same job, and one that has ended already,
or is cancelled, is not run again.

A task comes back redelivered for two reasons: the worker running it died (acks_late +
reject_on_worker_lost put it back), or it ran longer than Redis's visibility timeout and was given
out a second time while the first delivery still runs. Only in the first case does the job start
over: the workers are asked whether another delivery of the task is still active.
"""

from __future__ import annotations

import logging

from services.jobs.engine import execute_job
from services.tasks.celery_app import celery_app

log = logging.getLogger(__name__)

#: How long a redelivered task waits for the workers to say what they run [s].
INSPECT_TIMEOUT_S = 2.0


@celery_app.task(name="jobs.run", bind=True, ignore_result=True)  # the job row is the result
def run_job(self, job_id: int) -> dict:
    """Run job ``job_id``; returns its end state (the store has the rest)."""
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    if redelivered and _still_running_elsewhere(self.request.id):
        log.warning("job %s: task %s was given out again while it still runs; leaving it to the first delivery",
                    job_id, self.request.id)
        return {"job_id": int(job_id), "state": "running elsewhere"}
    view = execute_job(int(job_id), task_id=self.request.id, redelivered=redelivered)
    return {"job_id": view.id, "state": view.state}


def _still_running_elsewhere(task_id: str) -> bool:
    """Whether the workers report more than one active delivery of ``task_id`` (this one included)."""
    active = celery_app.control.inspect(timeout=INSPECT_TIMEOUT_S).active() or {}
    return sum(1 for tasks in active.values() for task in tasks if task.get("id") == task_id) > 1
