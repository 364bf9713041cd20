"""Jobs: long work (retraining, back-tests, reports, ingestion, refreshes, fleet plans) as rows in
the store, run by Celery workers when Redis is configured and in-process otherwise.

Start one with :func:`start_job`; the Jobs page lists them with :func:`list_jobs`.
"""

from services.jobs.engine import cancel_job, execute_job, queue_available, start_job
from services.jobs.files import read_file, save_file
from services.jobs.kinds import KINDS, JobCancelled, JobOutput, kind_label
from services.jobs.records import JobNotFound, JobView, get_job, list_jobs

__all__ = [
    "KINDS",
    "JobCancelled",
    "JobNotFound",
    "JobOutput",
    "JobView",
    "cancel_job",
    "execute_job",
    "get_job",
    "kind_label",
    "list_jobs",
    "queue_available",
    "read_file",
    "save_file",
    "start_job",
]
