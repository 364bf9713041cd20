"""services.lazy: the module loads on first use only, and threads touching it at once all see it whole."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = r'''
import sys, threading
sys.path.insert(0, ".")
from services.lazy import lazy_import
pvlib = lazy_import("pvlib")
assert "pvlib" not in sys.modules, "loaded before first use"
errors, start = [], threading.Barrier(8)
def use():
    start.wait()
    try:
        pvlib.solarposition.get_solarposition
        pvlib.irradiance.get_total_irradiance
    except Exception as exc:
        errors.append(repr(exc))
threads = [threading.Thread(target=use) for _ in range(8)]
[t.start() for t in threads]
[t.join() for t in threads]
assert not errors, errors
assert "pvlib" in sys.modules and pvlib.__name__ == "pvlib" and "solarposition" in dir(pvlib)
print("ok")
'''


def test_eight_threads_first_touching_the_module_all_see_it_whole():
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]
