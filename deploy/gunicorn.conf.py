"""gunicorn settings for the web service: ``gunicorn -c deploy/gunicorn.conf.py app:server``.

Worker class, workers and threads were chosen by measurement with ``benchmarks/load.py`` (see the
README's "Serving capacity"): ``gthread`` workers, one per core plus one, four threads each.
Callbacks spend much of their time in the database and in numpy/pandas code that releases the
GIL, so threads overlap their waits while a second process per core keeps both cores busy; sync
workers queued requests behind one slow callback. Every value can be overridden from the
environment: ``WEB_WORKER_CLASS``, ``WEB_WORKERS``, ``WEB_THREADS``, ``WEB_TIMEOUT`` [s], ``HOST``/``PORT``.

Prometheus multiprocess mode: ``PROMETHEUS_MULTIPROC_DIR`` (default: a folder under the temp
directory, one per port) is emptied when the master starts, and ``child_exit`` marks a dead
worker so that its live gauges stop counting.
"""

import os
import tempfile

_cores = os.cpu_count() or 1
_port = os.environ.get("PORT", "8050")

bind = os.environ.get("GUNICORN_BIND", f"{os.environ.get('HOST', '0.0.0.0')}:{_port}")
worker_class = os.environ.get("WEB_WORKER_CLASS", "gthread")
workers = int(os.environ.get("WEB_WORKERS", _cores + 1))
threads = int(os.environ.get("WEB_THREADS", 4))
timeout = int(os.environ.get("WEB_TIMEOUT", 60))  # a callback longer than this is a bug: jobs run in the background
graceful_timeout = 30
keepalive = 5
max_requests = 2000  # bounded memory: pandas and plotly keep caches that only grow
max_requests_jitter = 200
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
accesslog = os.environ.get("WEB_ACCESS_LOG") or None  # "-" for stdout; the app logs its own request ids
errorlog = "-"

# Set before any worker imports prometheus_client (workers load the app after the fork).
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", os.path.join(tempfile.gettempdir(), f"energy-dashboard-metrics-{_port}"))


def on_starting(server):
    from services.observability.metrics import reset_multiprocess_dir

    reset_multiprocess_dir()


def child_exit(server, worker):
    from services.observability.metrics import mark_process_dead

    mark_process_dead(worker.pid)
