"""The letters' own fixed wording: words a model may use without a source for them."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from mrs_assist.letters.settings import (
    GLOSSARY_FILE,
    SETTINGS_FILE,
    TEMPLATES_DIR,
    load_fact_wording,
)
from mrs_assist.validate.text import vocabulary_of


@lru_cache(maxsize=4)
def fixed_vocabulary(facts_file: Path) -> frozenset[str]:
    """Lower-case words of the letter templates, settings, glossary and the fact wording of
    ``facts_file`` (the catalogue of the corpus in use)."""
    texts = [p.read_text(encoding="utf-8") for p in sorted(TEMPLATES_DIR.glob("*.j2"))]
    texts += [SETTINGS_FILE.read_text(encoding="utf-8"), GLOSSARY_FILE.read_text(encoding="utf-8")]
    if facts_file.is_file():
        texts += [f"{w.label} {w.question}" for w in load_fact_wording(facts_file).values()]
    return frozenset(vocabulary_of(*texts))
