"""The Celery worker's entry point: ``celery -A worker worker -Q interactive,bulk``.

Exposes the one app (:mod:`services.tasks.celery_app`) with every task module imported.
"""

from __future__ import annotations

import importlib

from services.tasks.celery_app import TASK_MODULES, celery_app

for _module in TASK_MODULES:
    importlib.import_module(_module)

__all__ = ["celery_app"]
