"""Heavy libraries loaded on first use, not with every process.

pvlib (with scipy and h5py, about 50 MB resident) is needed to model PV, not to ingest a file or
serve the REST API, yet a module that imports it at the top loads it into every process that
imports the app (the CLI, each gunicorn worker). :func:`lazy_import` is the standard library's
recipe (:class:`importlib.util.LazyLoader`): the module object exists at once, and its code runs
on the first attribute access.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_import(name: str) -> ModuleType:
    """Module ``name``, executed on first attribute access (the module itself if already loaded)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
