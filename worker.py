"""What Celery workers and beat load: ``celery -A worker worker -Q interactive,bulk`` and ``celery -A worker beat``.

Importing the Dash app registers its background callbacks as Celery tasks (Dash's CeleryManager
on the same app, with ``REDIS_URL`` set), so that a worker can run them; the task modules of
:data:`services.tasks.celery_app.TASK_MODULES` bring the jobs and the schedules.
"""

from __future__ import annotations

import importlib
import os

# As in app.py: OpenMP on one thread, before scikit-learn loads (forked pool children).
os.environ.setdefault("OMP_NUM_THREADS", "1")

from services.tasks.celery_app import TASK_MODULES, celery_app  # noqa: E402

for _module in TASK_MODULES:
    importlib.import_module(_module)

import app as _dash_app  # noqa: E402,F401 - registers the background callbacks with celery_app

__all__ = ["celery_app"]
