"""Keep compiled regular expressions on disk, so a cold process does not re-parse them.

Building the extraction pipeline compiles about 800 regular expressions (facts.yaml's
``detect:`` rules, the lexicon, medspaCy's tokenizer). Python's ``re`` parses and compiles
each one in pure Python: about a quarter of a cold ``mrs-assist determine``. What it hands to
the C engine (``_sre.compile``) is a list of integers per pattern; ``code_cache`` keeps those
lists in a JSON file and, while it is active, answers ``re``'s compile step from the file.

Each code list is kept as the base64 of its machine words (parsing 360,000 integers from JSON
was ~0.02 s of every cold run). The result is the same object ``re`` would build: a pattern compiled from the cache compares
equal to ``re.compile``'s (CPython compares pattern, flags and code), and the test suite checks
that for every pattern the pipeline compiles. Entries are keyed by pattern and flags; the file
is keyed by the interpreter's exact version and regex engine, so another Python ignores it. A
missing, unreadable or foreign file only means compiling as usual; it is rewritten (atomically)
when the build compiled something it did not hold. Without a folder nothing changes.

The same file keeps what the build derives from a pattern by parsing it again (``remembered``:
extract.regex's lowered pattern and trigger trigrams), keyed by the pattern.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import sys
import tempfile
import threading
from contextlib import contextmanager
from array import array
from pathlib import Path
from typing import Any, Callable, Iterator

FILE_NAME = "regex-code.json"
_LOCK = threading.Lock()
_active: CodeCache | None = None


def _engine() -> str:
    import _sre

    return (f"{sys.version} sre {_sre.MAGIC} {_sre.CODESIZE} {_sre.MAXREPEAT} {_sre.MAXGROUPS}"
            f" codes base64 {_WORD} {sys.byteorder}")


_WORD = next((t for t in "IL" if array(t).itemsize == 4), "I")
"""The array type of one regex code word (``_sre.CODESIZE`` is 4 bytes, named in the engine)."""


def _packed(code: list[int]) -> str:
    return base64.b64encode(array(_WORD, code).tobytes()).decode("ascii")


def _unpacked(code: str | list[int]) -> list[int]:
    """A code list from the file: base64 words, or a plain list."""
    if isinstance(code, list):
        return code
    words = array(_WORD)
    words.frombytes(base64.b64decode(code, validate=True))
    return words.tolist()


class CodeCache:
    """Compiled regex code by (pattern, flags), read from and written to one JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[tuple[str, int], tuple] = {}
        self.used: set[tuple[str, int]] = set()
        self.memos: dict[str, Any] = {}
        self.used_memos: set[str] = set()
        self.missed = 0
        self.owner = threading.get_ident()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("engine") == _engine():
                for pattern, flags, *entry in data["entries"]:
                    self.entries[(pattern, flags)] = tuple(entry)
                self.memos = dict(data.get("memos", {}))
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            self.entries, self.memos = {}, {}

    def remember(self, kind: str, key: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` (a JSON value) for ``key``, from the file when it holds it."""
        name = f"{kind}\0{key}"
        if name not in self.memos:
            self.memos[name] = compute()
            self.missed += 1
        self.used_memos.add(name)
        return self.memos[name]

    def compile(self, pattern: str, flags: int):
        """What ``re._compiler.compile(pattern, flags)`` returns, from the file when it holds it."""
        import _sre
        from re import _compiler, _parser

        key = (pattern, int(flags))
        entry = self.entries.get(key)
        if entry is not None:
            final_flags, code, groups, groupindex, indexgroup = entry
            try:
                code = _unpacked(code)
                compiled = _sre.compile(pattern, final_flags, code, groups, groupindex, tuple(indexgroup))
            except (RuntimeError, TypeError, ValueError, OverflowError, binascii.Error):  # damaged: compile afresh
                self.entries.pop(key)
            else:
                self.used.add(key)
                return compiled
        # As re._compiler.compile does (CPython 3.11-3.13), keeping what it hands to _sre.
        parsed = _parser.parse(pattern, flags)
        code = _compiler._code(parsed, flags)
        groupindex = dict(parsed.state.groupdict)
        indexgroup: list[str | None] = [None] * parsed.state.groups
        for name, index in groupindex.items():
            indexgroup[index] = name
        entry = (int(flags | parsed.state.flags), list(code), parsed.state.groups - 1, groupindex, indexgroup)
        self.entries[key] = entry
        self.used.add(key)
        self.missed += 1
        return _sre.compile(pattern, entry[0], code, entry[2], groupindex, tuple(indexgroup))

    def save(self) -> None:
        """Write the entries this build used, if it compiled any afresh (atomic; errors ignored)."""
        if not self.missed:
            return
        entries = []
        for p, f in sorted(self.used):
            final_flags, code, *rest = self.entries[(p, f)]
            entries.append([p, f, final_flags, code if isinstance(code, str) else _packed(code), *rest])
        memos = {name: self.memos[name] for name in sorted(self.used_memos)}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".regex-code-", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(json.dumps({"engine": _engine(), "entries": entries, "memos": memos}, separators=(",", ":")))
            os.replace(tmp, self.path)
        except OSError:
            try:
                os.unlink(tmp)
            except (OSError, UnboundLocalError):
                pass


def _usable() -> bool:
    try:
        import _sre
        from re import _compiler, _parser  # noqa: F401
    except ImportError:
        return False
    return (hasattr(_compiler, "_code") and hasattr(_sre, "compile") and hasattr(_compiler, "compile")
            and getattr(_sre, "CODESIZE", None) == array(_WORD).itemsize)


def remembered(kind: str, key: str, compute: Callable[[], Any]) -> Any:
    """``compute()``, kept in the active ``code_cache``'s file under (kind, key) if one is active.
    ``compute`` must return a JSON value (what comes back from the file is JSON's: lists, not tuples)."""
    cache = _active
    if cache is None or cache.owner != threading.get_ident():
        return compute()
    return cache.remember(kind, key, compute)


@contextmanager
def code_cache(folder: Path | None) -> Iterator[CodeCache | None]:
    """While active, every ``re`` compile of this thread that misses ``re``'s own in-memory
    cache goes through the file ``folder/regex-code.json`` (None, or a Python whose ``re``
    is built otherwise: nothing changes). Other threads compile as usual: what they compile (a
    pattern made from a request's text) never reaches the file. A nested or concurrent use gets
    None."""
    if folder is None or not _usable() or not _LOCK.acquire(blocking=False):
        yield None
        return
    from re import _compiler

    global _active
    try:
        cache = CodeCache(Path(folder) / FILE_NAME)
        original = _compiler.compile
        owner = cache.owner

        def compile(p, flags=0):  # noqa: ANN001, ANN202 (re's private signature)
            if isinstance(p, str) and not flags & _compiler.SRE_FLAG_DEBUG and threading.get_ident() == owner:
                return cache.compile(p, flags)
            return original(p, flags)

        _compiler.compile, _active = compile, cache
        try:
            yield cache
        finally:
            _compiler.compile, _active = original, None
        cache.save()
    finally:
        _LOCK.release()
