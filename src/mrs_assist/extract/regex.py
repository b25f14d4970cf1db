"""Regex helpers that make case-insensitive matching fast without changing what matches.

Python's ``re`` cannot skip ahead to a literal prefix when IGNORECASE is on (about 6x
slower on our patterns). Case-insensitive patterns are therefore lowered and run against
an ASCII-lowered copy of the text (same length, so offsets hold), and each pattern gets
the set of trigrams a match can start with, so a note without any of them skips it.
"""

from __future__ import annotations

import re
from re import _constants as _sre  # parsed-regex opcodes (private, stable in 3.11-3.13)
from re import _parser

from mrs_assist.extract.recache import remembered
from mrs_assist.normalize import lower_pattern


def compile_fast(pattern: str) -> tuple[re.Pattern, bool, frozenset | None]:
    """The compiled pattern, whether it runs on the lowered text, and its trigger trigrams
    (both derived once and kept with the compiled code: extract.recache)."""
    if "(?-i:" in pattern:
        return re.compile(pattern, re.IGNORECASE | re.MULTILINE), False, None
    lowered, prefixes = remembered("lowered", pattern, lambda: _lowered(pattern))
    return re.compile(lowered, re.MULTILINE), True, None if prefixes is None else frozenset(prefixes)


def _lowered(pattern: str) -> list:
    lowered = lower_pattern(pattern)
    prefixes = literal_prefixes(lowered)
    return [lowered, None if prefixes is None else sorted(prefixes)]


_ZERO_WIDTH = (_sre.AT, _sre.ASSERT, _sre.ASSERT_NOT)
_STOP = ("stop", None)


def literal_prefixes(pattern: str, k: int = 3, limit: int = 400) -> frozenset | None:
    """Every string of ``k`` characters a match of ``pattern`` can start with, or None.

    None means the set is unknown or useless (a match may start with a class such as
    \\d, or the set would be huge): the pattern is then always run. A note none of whose
    trigrams is in the set cannot match, so the pattern is skipped for it.
    """
    out: set[str] = set()

    def expand(ops: list, prefix: str) -> bool:
        if len(out) > limit:
            return False
        if len(prefix) >= k:
            out.add(prefix[:k])
            return True
        if not ops:
            out.add(prefix)
            return True
        (op, av), rest = ops[0], ops[1:]
        if op == "stop":
            out.add(prefix)
            return True
        if op in _ZERO_WIDTH:
            return expand(rest, prefix)
        if op is _sre.LITERAL:
            return expand(rest, prefix + chr(av))
        if op is _sre.IN:
            if not all(o is _sre.LITERAL for o, _ in av):
                out.add(prefix)
                return True
            return all(expand(rest, prefix + chr(a)) for _, a in av)
        if op is _sre.BRANCH:
            return all(expand(list(alt) + rest, prefix) for alt in av[1])
        if op is _sre.SUBPATTERN:
            return expand(list(av[3]) + rest, prefix)
        if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT):
            low, high, body = av
            once = list(body) + (rest if high == 1 else [_STOP])
            return (low > 0 or expand(rest, prefix)) and expand(once, prefix)
        out.add(prefix)  # any other op: the literal prefix ends here
        return True

    try:
        complete = expand(list(_parser.parse(pattern).data), "")
    except (re.error, RecursionError):
        return None
    if not complete or any(len(p) < k for p in out):
        return None
    return frozenset(out)
