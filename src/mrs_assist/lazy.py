"""Import medspaCy without the optional libraries it drags in and this project never calls.

``import medspacy`` imports spaCy, and spaCy's thinc imports torch when it is installed (it
is, for index building) only to offer torch-backed models; medspaCy imports QuickUMLS, whose
module imports nltk only to read a stop-word list when a QuickUMLS matcher is built. Neither
runs here (the pipeline is a tokenizer, a sentence splitter, a target matcher and ConText),
yet the two imports were most of a cold ``mrs-assist determine``.

``import_medspacy`` therefore imports medspaCy with torch hidden (thinc records that torch is
absent; torch stays importable for everything imported afterwards) and nltk deferred (a
placeholder module that imports the real nltk the first time any attribute is read). When
torch is already loaded, it is left alone.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import threading
import types
from types import ModuleType

_LOCK = threading.Lock()


class _Hidden(importlib.abc.MetaPathFinder):
    """Makes ``import <name>`` (and its submodules) raise ImportError while installed."""

    def __init__(self, names: set[str]) -> None:
        self.names = names

    def find_spec(self, fullname, path=None, target=None):  # noqa: ANN001 (importlib protocol)
        if fullname.partition(".")[0] in self.names:
            raise ImportError(f"{fullname} is not needed by the extraction pipeline", name=fullname)
        return None


class _Deferred(types.ModuleType):
    """Stands in for a module until an attribute is read, then imports the real one."""

    def __getattr__(self, attr: str):
        if attr.startswith("__"):
            raise AttributeError(attr)
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        real = importlib.import_module(self.__name__)
        return getattr(real, attr)


def _defer(name: str) -> None:
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None:
        return
    placeholder = _Deferred(name)
    placeholder.__spec__ = spec
    sys.modules[name] = placeholder


def import_medspacy() -> ModuleType:
    """``medspacy``, imported as described above (once per process)."""
    with _LOCK:
        if "medspacy" in sys.modules:
            return sys.modules["medspacy"]
        hidden = None if "torch" in sys.modules else _Hidden({"torch"})
        _defer("nltk")
        if hidden is not None:
            sys.meta_path.insert(0, hidden)
        try:
            import medspacy
        finally:
            if hidden is not None:
                sys.meta_path.remove(hidden)
        return medspacy
