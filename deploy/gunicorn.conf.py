"""gunicorn settings for the web service: ``gunicorn -c deploy/gunicorn.conf.py app:server``.

Worker class, workers and threads, measured with ``benchmarks/load.py`` on 2 shared cores (the
machine's load average was 5-12 from other work, so only ratios within one run count):

- ``--compare`` (50 clients, no think time, 20 s each): sync x2 11.5 req/s, sync x5 7.1, gthread
  2x4 8.9, 3x4 10.4, 3x8 12.8. More processes than cores only add switching: the work is CPU
  (pandas, pvlib, HiGHS) under the GIL.
- Full runs: gthread 3x4 capacity_ratio 0.70 (12.3 req/s), sync x2 0.71 (7.8 req/s, on a busier
  machine): the same use of the cores.

- After the round's merges, gthread 3x4: ``load rps=34.3 capacity_ratio=1.05 p95_ms=567 errors=0
  lost=0`` (a ratio above 1: threads overlap the database waits that one-at-a-time service times
  include; the forecast endpoint's p95 of ~1 s holds the 2 s-think p95 above 300 ms).

Capacity is the same, so the choice is ``gthread``, cores + 1 processes of 4 threads: a worker
busy with a 0.5 s forecast still answers health probes, page loads and database-bound requests
in its other threads, where a sync worker queues everything behind its one request. The bottleneck
is CPU per request (the forecast endpoint: ~0.5 s of the mix's ~0.12 s mean), not the worker
model. Every value can be overridden from the environment: ``WEB_WORKER_CLASS``, ``WEB_WORKERS``,
``WEB_THREADS``, ``WEB_TIMEOUT`` [s], ``HOST``/``PORT``.

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
    from services.config import get_settings
    from services.observability.metrics import reset_multiprocess_dir
    from services.serving import check_serving

    check_serving(get_settings(), bind.rsplit(":", 1)[0].strip("[]"))  # no demo password, no debug on a network
    reset_multiprocess_dir()


def child_exit(server, worker):
    from services.observability.metrics import mark_process_dead

    mark_process_dead(worker.pid)


def post_worker_init(worker):
    """Let Dash set itself up before the worker serves. Dash does it on the first request and marks
    it done before it is, so with threads a second concurrent first request found callbacks missing
    (a 500 "Callback function not found", seen in benchmarks/load.py): one request here, alone."""
    worker.wsgi.test_client().get("/health")
