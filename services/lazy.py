"""Heavy libraries loaded on first use, not with every process.

pvlib (with scipy and h5py, about 50 MB resident) is needed to model PV, not to ingest a file or
serve the REST API, yet a module that imports it at the top loads it into every process that
imports the app (the CLI, each gunicorn worker). :func:`lazy_import` gives a stand-in module at
once; the first attribute access imports the real one, and every later access reads from it.

Thread-safe: gunicorn's gthread workers serve requests in threads. The standard library's
:class:`importlib.util.LazyLoader` (the earlier recipe here) is not, on Python 3.11: a second
thread touching the module while the first one executed it saw a half-initialised module
(``module 'pvlib' has no attribute 'solarposition'``, a 500 under load). The import here is a
plain :func:`importlib.import_module` under a lock, which the import system makes safe.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from types import ModuleType


class _LazyModule(ModuleType):
    """Stands for module ``name`` until its first attribute access, then delegates to it."""

    def __init__(self, name: str):
        super().__init__(name)
        self.__dict__["_lazy_lock"] = threading.Lock()
        self.__dict__["_lazy_module"] = None

    def _load(self) -> ModuleType:
        module = self.__dict__["_lazy_module"]
        if module is None:
            with self.__dict__["_lazy_lock"]:
                module = self.__dict__["_lazy_module"]
                if module is None:
                    module = importlib.import_module(self.__name__)
                    self.__dict__["_lazy_module"] = module
        return module

    def __getattr__(self, attr: str):
        return getattr(self._load(), attr)

    def __dir__(self):
        return dir(self._load())


def lazy_import(name: str) -> ModuleType:
    """Module ``name``, imported on first attribute access (the module itself if already loaded)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    return _LazyModule(name)
