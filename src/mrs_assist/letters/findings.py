"""The reader a letter's sentences are checked with: the project's own note reader.

``validate.findings`` checks that a letter states only findings the records evidence; it is
handed this reader (validate/ never imports extract/). A letter's sentence is read exactly as
a note's sentence is (catalogue terms, ConText, sections), so "the records show a known brain
tumor", "she is pregnant" and "the MRI was inconclusive" are the findings they are in notes.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=4)
def findings_reader(facts_file: Path) -> Callable[[str], dict[str, bool]]:
    """A function: text → {fact: True} for each fact the text affirms outright, {fact: False}
    for each it denies. A fact only named, hedged, planned, conditional or negated-but-read-true
    is left out (it is asked about, not stated); so are facts closed, defaulted or derived from
    an age rather than read. Raises CorpusError when the catalogue at ``facts_file`` is invalid."""
    from mrs_assist.criteria import load_catalogue
    from mrs_assist.extract import extract_facts
    from mrs_assist.extract.pipeline import get_detector

    detector = get_detector(load_catalogue(facts_file))

    def read(text: str) -> dict[str, bool]:
        found: dict[str, bool] = {}
        for name, fact in extract_facts(text, detector=detector, mrs_requested=True).items():
            if fact.source != "notes" or fact.value is None:
                continue
            if fact.value is True and all(e.modifiers for e in fact.evidence):
                continue  # true only through a modifier ("do not say whether … inconclusive"): not affirmed
            found[name] = fact.value
        return found

    return read
