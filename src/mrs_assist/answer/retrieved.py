"""The verdict retrieval's hits give when no criteria answer a question: the list a hit heads
(its parent and items), a clause naming both terms of a counts-as question, a clause saying none
was found, the conditions a list sets, a metadata clause of the kind asked, else the best clause
quoted."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mrs_assist.answer import said, terms
from mrs_assist.answer import verdict as verdicts
from mrs_assist.answer.extractive import best_sentences
from mrs_assist.answer.plan import METADATA_INTENTS, PAST_INTENTS, QueryPlan
from mrs_assist.corpus import Corpus
from mrs_assist.retrieve.retriever import LIST_REACH
from mrs_assist.retrieve.structure import ClauseStructure
from mrs_assist.schemas import Citation, Verdict

def verdict_from_hits(plan: QueryPlan, hits: Sequence, *, corpus: Corpus, structure: ClauseStructure,
                      kinds: Callable[[str], frozenset[str]],
                      citations: Callable[[Sequence[str]], list[Citation]]) -> tuple[Verdict, list[Citation]]:
    """A list, metadata or best-clause verdict from the hits, and the clauses it cites
    (``kinds``: clause id → its kinds; ``citations``: clause ids → their current citations)."""
    if "list" in plan.intents:
        for hit in hits[:LIST_REACH]:
            unit = structure.unit(hit.clause_id)
            if unit:
                parent, *items = citations(unit)
                payer = corpus.documents[parent.policy_id].meta.payer
                return verdicts.from_list(payer, parent.policy_id, parent, items), [parent, *items]
    asked = terms.counts_as(plan.question)
    if asked:
        for hit in hits[:3]:
            if not kinds(hit.clause_id) & verdicts.NEVER_DECIDE and terms.names_both(hit.text, *asked):
                citation = citations([hit.clause_id])[0]
                payer = corpus.documents[hit.policy_id].meta.payer
                return verdicts.from_inclusion(payer, citation, " ".join(asked[0]), " ".join(asked[1])), [citation]
    current = [h for h in hits[:3] if not kinds(h.clause_id) & (verdicts.NEVER_DECIDE | verdicts.HISTORY_KINDS)]
    if said.exists_asked(plan.question):  # "Is there an NCD …?" and a clause says none was found
        for hit in current:
            citation = citations([hit.clause_id])[0]
            verdict = said.from_none_found(plan.question, corpus.documents[hit.policy_id].meta.payer, citation)
            if verdict is not None:
                return verdict, [citation]
    if said.conditions_asked(plan.question) and not plan.intents & PAST_INTENTS:
        for hit in [h for h in hits[:LIST_REACH] if h in current]:
            unit = structure.unit(hit.clause_id)
            if unit:
                parent, *items = citations(unit)
                payer = corpus.documents[parent.policy_id].meta.payer
                verdict = said.from_conditions(payer, parent, items)
                if verdict is not None:
                    return verdict, [parent, *items]
    wanted = plan.intents & METADATA_INTENTS
    best = next((h for h in hits[:3] if kinds(h.clause_id) & wanted), None) if wanted else None
    metadata = best is not None
    best = best or verdicts.prefer_current(hits, plan.intents)
    citation = citations([best.clause_id])[0]
    quote = " … ".join(best_sentences(plan.question, citation.text, limit=1, coverage=plan.coverage))
    payer = corpus.documents[best.policy_id].meta.payer
    return verdicts.from_clause(payer, citation, kinds(best.clause_id), quote, metadata=metadata), [citation]
