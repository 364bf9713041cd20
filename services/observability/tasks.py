"""Operations tasks: ``ops.ping`` proves that a worker consumes a queue (end-to-end test, probes)."""

from __future__ import annotations

import os
import socket
import time

from services.observability.logs import current_request_id
from services.tasks.celery_app import INTERACTIVE_QUEUE, celery_app


@celery_app.task(name="ops.ping", queue=INTERACTIVE_QUEUE)
def ping() -> dict:
    """Which worker answered, when [Unix s], and the request id the job carried."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "at": time.time(), "request_id": current_request_id()}
