"""The guard on a model-phrased answer: cites only retrieved clauses, quotes them verbatim."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache

from mrs_assist.corpus import Corpus
from mrs_assist.schemas import Citation
from mrs_assist.validate.model import AnswerDraft, Problem
from mrs_assist.validate.untrusted import without_instructions
from mrs_assist.validate.text import (
    Sources,
    assertion_problems,
    clause_ids_in,
    injection_problems,
    is_verbatim,
    link_problems,
    markup_problems,
    quoted_spans,
)


def validate_answer_draft(
    draft: AnswerDraft,
    *,
    question: str,
    citations: Sequence[Citation],
    corpus: Corpus | None = None,
    policy_ids: Sequence[str] | None = None,
    vocabulary: frozenset[str] | set[str],
) -> list[Problem]:
    """Every problem with a model's answer draft; an empty list means it may be used.

    ``vocabulary`` is the fixed wording a draft may use without a source
    (``letters.fixed_vocabulary`` of the corpus in use), passed in by the caller.

    Clauses may be cited only if retrieved (``citations``); with ``corpus`` given, an id
    that exists nowhere is told apart from one that exists but was not retrieved.
    """
    problems: list[Problem] = []
    retrieved = {c.clause_id: c for c in citations}
    cited = list(dict.fromkeys([*draft.cited_clause_ids, *clause_ids_in(draft.answer)]))
    for clause_id in cited:
        clause = corpus.clause(clause_id) if corpus is not None else None
        if clause_id in retrieved:
            if policy_ids and retrieved[clause_id].policy_id not in policy_ids:
                problems.append(
                    Problem(code="clause_not_in_policy", message=f"cited clause {clause_id!r} is outside the policies asked about")
                )
            continue
        if corpus is not None and (clause is None or clause.deleted):
            problems.append(Problem(code="unknown_clause", message=f"cited clause {clause_id!r} does not exist in the corpus"))
        else:
            problems.append(Problem(code="clause_not_traced", message=f"cited clause {clause_id!r} was not retrieved for this question"))
    if not cited:
        problems.append(Problem(code="missing_element", message="citation: the answer cites no clause"))
    if not draft.answer.strip():
        problems.append(Problem(code="missing_element", message="answer: the answer is empty"))

    usable = {i: retrieved[i].text for i in cited if i in retrieved}
    for span, near_id in quoted_spans(draft.answer):
        pool = [usable[near_id]] if near_id in usable else list(usable.values())
        if not any(is_verbatim(span, t) for t in pool):
            problems.append(
                Problem(code="quote_not_verbatim", message=f"quoted text is not verbatim from a cited clause: {span[:80]!r}")
            )

    # A question may carry pasted notes: an instruction planted there is no source either.
    parts = [without_instructions(question), *(c.text for c in citations), *(c.section for c in citations)]
    metadata = [json.dumps(d.meta.model_dump(mode="json")) for d in corpus.documents.values()] if corpus is not None else []
    if metadata:  # the same for every question: read once (Sources.after)
        sources = _sources_of("\n".join(metadata), frozenset(vocabulary)).after("\n".join(parts))
    else:
        sources = Sources(text="\n".join(parts), vocabulary=vocabulary)
    problems += markup_problems(draft.answer, "answer")
    problems += link_problems(draft.answer, "answer")
    problems += injection_problems(draft.answer, "", "answer")
    problems += assertion_problems(draft.answer, sources, "answer")
    return problems


@lru_cache(maxsize=4)
def _sources_of(text: str, vocabulary: frozenset[str]) -> Sources:
    """``Sources(text, vocabulary)``, kept for the next answer over the same corpus."""
    return Sources(text=text, vocabulary=vocabulary)
