"""Background jobs are forked from the server process: they must be able to train models there.

GNU OpenMP (used by scikit-learn's gradient boosting) hangs or crashes in a child forked from a
thread that had started its OpenMP pool, which is what a gunicorn sync worker does when it shows a
forecast and then starts a retraining job. ``app.py`` runs OpenMP on one thread to prevent it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SERVER_THEN_JOB = textwrap.dedent("""
    import app  # the process set up as `python app.py`, gunicorn and the CLI set it up
    import numpy as np
    from multiprocess import Process
    from sklearn.ensemble import HistGradientBoostingRegressor

    rng = np.random.default_rng(1)
    X = rng.random((20_000, 8))
    y = X.sum(axis=1)
    HistGradientBoostingRegressor(max_iter=30).fit(X, y).predict(X)  # the serving thread runs a model


    def job():  # what a background callback does in the forked child
        HistGradientBoostingRegressor(max_iter=30).fit(X, y)


    for _ in range(2):
        child = Process(target=job)
        child.start()
        child.join(120)
        if child.exitcode is None:
            child.terminate()
        print("exitcode", child.exitcode, flush=True)
""")


def test_a_job_forked_after_the_server_ran_a_model_can_train_one(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{tmp_path / 'energy.db'}"}
    env.pop("OMP_NUM_THREADS", None)
    done = subprocess.run([sys.executable, "-c", SERVER_THEN_JOB], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=400)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[:2] == ["exitcode 0", "exitcode 0"], (done.stdout, done.stderr[-2000:])
