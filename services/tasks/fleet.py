"""Fleet chunks as Celery tasks, sent to the bulk queue (see :mod:`services.optimization.fleet_runs`).

A task carries only the run id and the chunk number: the households, the day and who started
the run are in the store. It acknowledges late, so a chunk whose worker is killed is delivered
again (at once when only the pool process dies, after the broker's visibility timeout when the
whole worker does); planning a chunk twice changes nothing. Lost connections to the store are
retried with backoff.

Each pool process warms up as it starts (:func:`~services.optimization.fleet.warm_up`: solver
run once, one household's inputs read), so that its first chunk is not the slowest.
"""

from __future__ import annotations

import gc
import logging

import sqlalchemy as sa
from celery.signals import worker_process_init

from services.tasks.celery_app import celery_app

log = logging.getLogger(__name__)


@worker_process_init.connect
def warm_up_worker_process(**_) -> None:
    """A new pool process gets ready for fleet chunks (about half a second); a failure only costs its first
    chunk the time again, so it is logged and the process starts still."""
    try:
        from services.optimization.fleet import warm_up

        warm_up()
    except Exception:  # noqa: BLE001 - a warm-up never stops a worker
        log.warning("fleet warm-up failed; the first chunk will warm up instead", exc_info=True)
    # What the imports and the warm-up made lives as long as the process: the cyclic garbage
    # collector leaves it alone from now on, instead of walking its ~200,000 objects in a full
    # collection (0.13 s, every few chunks) that can free none of them.
    gc.freeze()


@celery_app.task(name="fleet.plan_chunk", acks_late=True, reject_on_worker_lost=True,
                 autoretry_for=(sa.exc.OperationalError,), retry_backoff=True, max_retries=5)
def plan_fleet_chunk_task(run_id: int, chunk: int) -> dict:
    """Plan chunk ``chunk`` of fleet run ``run_id``; returns its counts (planned, failed, skipped)."""
    from services.optimization.fleet_runs import plan_fleet_chunk

    return plan_fleet_chunk(run_id, chunk)
