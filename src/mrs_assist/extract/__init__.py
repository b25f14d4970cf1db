"""Extraction: clinical notes → catalogue facts with evidence spans (medspaCy + ConText).

Detection data lives under each fact's ``detect:`` key in corpus/facts.yaml (validated by
:class:`DetectSpec`); ConText modifiers, role readings and untrusted-text guards live in
``extract/lexicon.yaml``. Extraction only ever emits catalogue facts.
"""

from mrs_assist.criteria.catalogue import Evidence, FactValue
from mrs_assist.extract.facts import default_catalogue, extract_facts
from mrs_assist.extract.pipeline import build_detector, get_detector, load_detection, load_lexicon
from mrs_assist.extract.spec import DetectSpec, Lexicon

__all__ = [
    "DetectSpec",
    "Evidence",
    "FactValue",
    "Lexicon",
    "build_detector",
    "default_catalogue",
    "extract_facts",
    "get_detector",
    "load_detection",
    "load_lexicon",
]
