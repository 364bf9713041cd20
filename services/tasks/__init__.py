"""Background tasks on Celery + Redis: the Celery app and the task modules that workers load.

No Dash here: a task calls service functions with an explicit :class:`services.access.AccessScope`
that travels with the task's arguments (a worker has no request to ask who is calling).
"""
