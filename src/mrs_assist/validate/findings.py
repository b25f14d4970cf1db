"""The clinical findings a letter's text states, checked against the determination's evidence.

A letter may tell the member only what the records show: every fact its words assert must
be one the determination carries as true with an evidence span, and nothing it denies may
be a fact the determination carries as true. The words are read by the project's own note
reader, passed in by the caller (``read_findings``: validate/ imports nothing from extract/),
so a finding is recognised the way the notes' findings are — by the catalogue's terms and
ConText — not by a list of forbidden phrases.

What is not read: verbatim quotes of the policy's clauses (they state criteria, not
findings) and of the evidence (the records' own words), questions (a question asks, it asserts nothing) and an embedded "whether …"
question. A sentence citing a clause by id may speak of the facts that clause speaks of:
it explains the criterion.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

from mrs_assist.corpus import Corpus
from mrs_assist.schemas import DeterminationResponse
from mrs_assist.validate.model import Problem
from mrs_assist.validate.text import CLAUSE_ID, is_verbatim, normalize

ReadFindings = Callable[[str], Mapping[str, bool]]
"""Text → the facts it asserts (True) or denies (False); facts it only mentions are left out."""

_QUOTED = re.compile(r'"([^"]*)"')
_CURLY = str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"'})
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?;])\s+|\n+")
# An embedded question ("they do not say whether the MRI was inconclusive") asserts nothing.
_EMBEDDED_QUESTION = re.compile(r"\bwhether\b.*$", re.I)


def finding_problems(
    fields: Iterable[tuple[str, str]],
    *,
    determination: DeterminationResponse,
    corpus: Corpus,
    read_findings: ReadFindings,
    fixed: Iterable[str] = (),
) -> list[Problem]:
    """An ``unevidenced_finding`` for each fact a field's text asserts that the determination
    does not carry as true with evidence, and a ``contradicted_finding`` for each fact it denies
    that the determination carries as true. ``fields`` are (name, text) pairs; ``fixed`` is
    wording the letter's template itself wrote (not read: a template letter names criteria by
    the catalogue's labels). A model's draft has none: every word of it is read."""
    fixed_words = _phrases(fixed)
    evidenced = {f.name for f in determination.facts if f.value is True and f.evidence}
    carried_true = {f.name for f in determination.facts if f.value is True}
    # Quotes of the policy's clauses state criteria; quotes of a finding's evidence are the
    # records' own words (read already, by the determination): neither is the letter's claim.
    quoted = [e.text for f in determination.facts if f.value is True for e in f.evidence]
    if determination.policy_id in corpus.documents:
        quoted += [c.text for c in corpus.documents[determination.policy_id].clauses]
    criteria: dict[str, set[str]] = {}  # clause id → facts its text speaks of (read once)
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for where, text in fields:
        for sentence in statements(fixed_words.sub(" ", text) if fixed_words else text, quoted):
            exempt: set[str] = set()
            for clause_id in CLAUSE_ID.findall(sentence):
                if clause_id not in criteria:
                    clause = corpus.clause(clause_id)
                    criteria[clause_id] = set(read_findings(clause.text)) if clause is not None else set()
                exempt |= criteria[clause_id]
            for fact, value in read_findings(CLAUSE_ID.sub(" ", sentence)).items():
                if fact in exempt or (fact, where) in seen:
                    continue
                if value is True and fact not in evidenced:
                    seen.add((fact, where))
                    problems.append(Problem(
                        code="unevidenced_finding",
                        message=f"{where} states {fact!r}, which no evidence in the records supports: {sentence[:80]!r}",
                    ))
                elif value is False and fact in carried_true:
                    seen.add((fact, where))
                    problems.append(Problem(
                        code="contradicted_finding",
                        message=f"{where} denies {fact!r}, which the determination found in the records: {sentence[:80]!r}",
                    ))
    return problems


def _phrases(phrases: Iterable[str]) -> re.Pattern[str] | None:
    """One pattern matching any of ``phrases`` (longest first), whitespace and case loose."""
    words = sorted({normalize(p) for p in phrases if normalize(p)}, key=len, reverse=True)
    if not words:
        return None
    return re.compile("|".join(r"\s+".join(map(re.escape, w.split(" "))) for w in words), re.I)


def statements(text: str, quoted: Iterable[str] = ()) -> list[str]:
    """The sentences of ``text`` that may state findings: double-quoted spans verbatim from
    one of ``quoted`` (clauses, evidence) removed, questions and embedded "whether" questions
    dropped."""
    quoted = list(quoted)
    plain = _QUOTED.sub(lambda m: " " if any(is_verbatim(m.group(1), c) for c in quoted) else m.group(0),
                        text.translate(_CURLY))
    out = []
    for part in _SENTENCE_SPLIT.split(plain):
        sentence = normalize(part)
        if not sentence or sentence.endswith("?"):
            continue
        sentence = _EMBEDDED_QUESTION.sub("", sentence).strip()
        if sentence:
            out.append(sentence)
    return out
