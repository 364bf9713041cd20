"""Fleet chunks as Celery tasks, sent to the bulk queue (see :mod:`services.optimization.fleet_runs`).

A task carries only the run id and the chunk number: the households, the day and who started
the run are in the store. It acknowledges late, so a chunk whose worker is killed is delivered
again (at once when only the pool process dies, after the broker's visibility timeout when the
whole worker does); planning a chunk twice changes nothing. Lost connections to the store are
retried with backoff.
"""

from __future__ import annotations

import sqlalchemy as sa

from services.tasks.celery_app import celery_app


@celery_app.task(name="fleet.plan_chunk", acks_late=True, reject_on_worker_lost=True,
                 autoretry_for=(sa.exc.OperationalError,), retry_backoff=True, max_retries=5)
def plan_fleet_chunk_task(run_id: int, chunk: int) -> dict:
    """Plan chunk ``chunk`` of fleet run ``run_id``; returns its counts (planned, failed, skipped)."""
    from services.optimization.fleet_runs import plan_fleet_chunk

    return plan_fleet_chunk(run_id, chunk)
