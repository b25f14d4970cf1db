"""Which policies a question is about: payer names and aliases, and comparison wording.

Rules (``detect_policies``):
- a payer name, alias or policy id from front matter found in the question (ignoring
  case, on word boundaries: "NIA" matches "NIA's" but not "pneumonia") names that policy;
  an alias several documents share ("Magellan") names each of them;
- a comparison ("which payers", "each payer", "compare", "across plans", …) with at
  most one payer named means every guideline (plus any literature document named);
- otherwise the named policies, or ``[]`` (search everything) when none is named.
More than one policy means the retriever gives each its own quota of hits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from mrs_assist.corpus.model import Corpus
from mrs_assist.index.store import PolicyName, policy_directory

_COMPARISON = re.compile(
    # Not "vs"/"versus"/"differentiate between": clinical questions use them for differentials.
    r"\bcompar\w*|\bside[- ]by[- ]side\b"
    r"|\b(which|what|all|the|different|various|other|across|between|among|both)\s+"
    r"(payers|plans|insurers|carriers|policies|guidelines|vendors|rbms)\b"
    r"|\b(which|what|each|every|per|any\s+other)\s+"
    r"(payer|plan|insurer|carrier|policy|guideline|vendor|rbm)\b",
    re.IGNORECASE,
)


LITERATURE = re.compile(r"\b(?:digest|article|trend article|literature review)\b", re.I)
"""Words that name the literature document(s) rather than a payer's policy."""


@lru_cache(maxsize=256)
def _term_pattern(term: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){re.escape(term)}(?!\w)", re.IGNORECASE)


def _directory(policies: Corpus | Sequence[PolicyName]) -> Sequence[PolicyName]:
    return policy_directory(policies) if isinstance(policies, Corpus) else policies


def named_policies(question: str, policies: Corpus | Sequence[PolicyName]) -> list[str]:
    """Ids of the policies whose payer, alias or id the question contains, in corpus order."""
    directory = _directory(policies)
    found = {p.policy_id for p in directory if _term_pattern(p.policy_id).search(question)}
    for pid in found:  # "magellan-mrs-digest" must not also read as the alias "Magellan"
        question = _term_pattern(pid).sub(" ", question)
    for p in directory:
        terms = [t.strip() for t in (p.payer, *p.aliases) if t.strip()]
        if any(_term_pattern(t).search(question) for t in terms):
            found.add(p.policy_id)
        elif p.kind == "literature" and LITERATURE.search(question):
            found.add(p.policy_id)  # "the digest", "the article": the literature, whoever publishes it
    return [p.policy_id for p in directory if p.policy_id in found]


def is_comparison(question: str) -> bool:
    """True if the question asks across payers ('which payers', 'compare', 'vs', …)."""
    return bool(_COMPARISON.search(question))


def detect_policies(
    question: str, policies: Corpus | Sequence[PolicyName], *, named: Sequence[str] | None = None
) -> list[str]:
    """Policy ids to search for this question; [] means all (rules in the module docstring).

    ``named``: ``named_policies(question, policies)`` when the caller already has it.
    """
    directory = _directory(policies)
    named = list(named) if named is not None else named_policies(question, directory)
    if is_comparison(question) and len(named) <= 1:
        guidelines = [p.policy_id for p in directory if p.kind == "guideline"]
        return guidelines + [pid for pid in named if pid not in guidelines]
    return named
