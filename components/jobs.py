"""Long work started from a page: a button runs a Dash background callback with a progress bar.

The manager (Diskcache by default, Celery with ``REDIS_URL``) runs the callback in another
process; the page stays responsive and shows how far the job is.
"""

from __future__ import annotations

from dash import Output, set_props
from dash.exceptions import MissingCallbackContextException

from components.theme import HIDDEN, SHOWN


def progress_job(button_id: str, progress_id: str) -> dict:
    """Keyword arguments of ``@callback`` for a background job started by ``button_id``.

    While the job runs the button is disabled and the ``dbc.Progress`` ``progress_id`` is shown; the
    callback's first argument is ``set_progress`` and takes ``(value, label)`` (value 0-100).
    """
    return {
        "background": True,
        "running": [(Output(button_id, "disabled"), True, False), (Output(progress_id, "style"), SHOWN, HIDDEN)],
        "progress": [Output(progress_id, "value"), Output(progress_id, "label")],
        "prevent_initial_call": True,
    }


def job_outcome(job) -> str:
    """Why a job did not end ``done``, in words for an alert (the Jobs page has the details)."""
    if job.state == "cancelled":
        return "the job was cancelled"
    return (job.error or f"the job ended {job.state}").rstrip(".")


def announce_job(store_id: str):
    """``on_start`` for :func:`services.jobs.start_job` in a background callback: puts the job's id in
    the ``dcc.Store`` ``store_id`` while the job runs, so that the page's Cancel button can end the job
    record too (Dash's cancel stops the process, which then cannot record it)."""

    def on_start(job) -> None:
        try:
            set_props(store_id, {"data": job.id})
        except MissingCallbackContextException:  # called as a plain function (a test): no page to tell
            pass

    return on_start
