"""The Celery task that runs a recorded job (``services.jobs``) on a worker.

Only the job's id travels through the broker: the worker reads the job's kind, parameters and
scope from the store, so a redelivered task (a worker died) finds the same job, and one that
has ended already, or is cancelled, is not run again; one still recorded as running starts over
(its worker died: the task comes back marked redelivered).
"""

from __future__ import annotations

from services.jobs.engine import execute_job
from services.tasks.celery_app import celery_app


@celery_app.task(name="jobs.run", bind=True)
def run_job(self, job_id: int) -> dict:
    """Run job ``job_id``; returns its end state (the store has the rest)."""
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    view = execute_job(int(job_id), task_id=self.request.id, redelivered=redelivered)
    return {"job_id": view.id, "state": view.state}
