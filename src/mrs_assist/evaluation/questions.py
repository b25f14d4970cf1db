"""Questions → retrieval metrics for ours and each baseline, and /v1/ask answer checks.

Retrievers compared (same questions, same gold):

- ``hybrid`` — ours, exactly as the API searches (``Retriever.search``: payer detection,
  per-policy quotas, dense + BM25 fused by reciprocal rank, one hit per clause).
- ``hybrid_no_detect`` — ours without payer detection (what detecting payers buys).
- ``dense`` / ``bm25`` — one ranker each over the same curated chunks (what fusion buys),
  from the same ``Retriever.rank(mode=…)`` with the same payer detection and quotas.
- ``langchain`` — the plain pipeline over raw seeds (what curation and clause anchors buy);
  its units are 1000-character chunks, each mapped to the clauses it contains
  (``clausemap``), so at equal k it reads several times more text than ours.

recall@k for ours and the single rankers is the recall of a search *asked for* k results
(quotas depend on k); MRR and nDCG@10 come from the k=10 list.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mrs_assist.answer import NOT_ADDRESSED, compose_answer, select_quotes
from mrs_assist.evaluation.clausemap import ClauseMatcher
from mrs_assist.evaluation.data import MATCHES, SPLITS, Question
from mrs_assist.evaluation.metrics import first_relevant_rank, mean, ndcg_at_k, rate, recall_at_k, reciprocal_rank
from mrs_assist.evaluation.timing import Stopwatch
from mrs_assist.schemas import AskRequest

KS = (1, 3, 5, 10)
UNMENTIONED_NOTE = "Note: no guideline uses the words"
RETRIEVERS = ("hybrid", "hybrid_no_detect", "dense", "bm25", "langchain")


@dataclass
class QuestionContext:
    """What the question pass needs, built once per run."""

    services: Any
    stopwatch: Stopwatch
    langchain: Any | None = None
    """A built LangChainPipeline, or None when that baseline is off or failed."""
    langchain_units: list[frozenset[str]] = field(default_factory=list)
    """Clause ids per LangChain chunk (index = chunk number)."""
    single_rankers: bool = True
    on_citation: Callable[[str, Any], None] | None = None
    """Called with (where, citation) for every citation of every ask response."""


def keyword_hit(answer: str, keywords: Sequence[str]) -> tuple[bool, list[str]]:
    """(every keyword is in the answer, the missing ones); case- and whitespace-insensitive."""
    norm = re.sub(r"\s+", " ", answer).lower()
    missing = [k for k in keywords if re.sub(r"\s+", " ", k).lower() not in norm]
    return not missing, missing


def declined(answer: str) -> bool:
    """The answer says the guidelines do not address the question."""
    return answer.strip() == NOT_ADDRESSED.strip() or answer.startswith(NOT_ADDRESSED[:40])


def _ours(ctx: QuestionContext, q: Question, *, detect: bool = True) -> dict[int, list[str]]:
    retriever = ctx.services.retriever
    default_k = ctx.services.settings.top_k
    out = {}
    for k in KS:
        if detect and k == default_k:
            with ctx.stopwatch.time("retrieve"):
                result = retriever.search(q.question, policy_ids=q.policy_ids, top_k=k)
        else:
            result = retriever.search(q.question, policy_ids=q.policy_ids, top_k=k, detect=detect)
        out[k] = [h.clause_id for h in result.hits]
    return out


def _single(ctx: QuestionContext, q: Question, mode: str) -> tuple[dict[int, list[str]], list]:
    out, hits5 = {}, []
    for k in KS:
        hits = ctx.services.retriever.rank(q.question, policy_ids=q.policy_ids, top_k=k, mode=mode).hits
        out[k] = [h.clause_id for h in hits]
        if k == ctx.services.settings.top_k:
            hits5 = hits
    return out, hits5


def _scores(rankings: dict[int, list], gold: list[str], relevant_units: int | None = None) -> dict:
    if not gold:
        return {}
    top = rankings[max(KS)]
    return {
        **{f"recall@{k}": recall_at_k(rankings[k], gold, k) for k in KS},
        "rr": reciprocal_rank(top, gold),
        "ndcg@10": ndcg_at_k(top, gold, 10, relevant_units=relevant_units),
        "first_rank": first_relevant_rank(top, gold),
    }


def evaluate_question(ctx: QuestionContext, q: Question) -> dict:
    """One question's row: the /v1/ask response checks and every retriever's scores."""
    services = ctx.services
    with ctx.stopwatch.time("ask"):
        response = services.ask(AskRequest(question=q.question, policy_ids=q.policy_ids))
    for c in response.citations:
        if ctx.on_citation:
            ctx.on_citation(f"ask {q.id}", c)
    hit, missing = keyword_hit(response.answer, q.keywords)
    row: dict = {
        "id": q.id, "split": q.split, "kind": q.kind, "question": q.question, "gold": list(q.gold),
        "ask": {
            "mode": response.mode,
            "declined": declined(response.answer),
            # said plainly first ("Not addressed — no indexed policy is Aetna's"), then the closest text, cited
            "not_addressed": bool(response.verdict and response.verdict.claim == "not_addressed"),
            "unmentioned_note": response.answer.startswith(UNMENTIONED_NOTE),
            "keyword_hit": hit if q.keywords else None,
            "missing_keywords": missing,
            "cited": [c.clause_id for c in response.citations],
            "gold_in_first_six": bool(set(q.gold) & {c.clause_id for c in response.citations[:6]}) if q.gold else None,
            "verdict": response.verdict.text if response.verdict else None,
            "verdict_checked": bool(response.verdict and response.verdict.checked),
            "verdict_hit": keyword_hit(response.verdict.text, q.verdict)[0] if q.verdict and response.verdict else None,
            "claim": response.verdict.claim if response.verdict else None,
            **verdict_score(q.expect, response.verdict.claim if response.verdict else None),
            "answer": response.answer,
            "contexts": [c.text for c in response.citations],
        },
        "retrievers": {},
    }
    # The baselines are compared on the project's own question sets; an independent set is
    # scored on the answer (verdict, gold in the first six) and our own ranking only.
    baselines = q.split in SPLITS
    rankings = {"hybrid": _ours(ctx, q)}
    if baselines:
        rankings["hybrid_no_detect"] = _ours(ctx, q, detect=False)
    answers: dict[str, str] = {}
    if ctx.single_rankers and baselines:
        for mode in ("dense", "bm25"):
            rankings[mode], hits = _single(ctx, q, mode)
            answers[mode] = compose_answer(q.question, select_quotes(hits))[0] if hits else NOT_ADDRESSED
    for name, ranking in rankings.items():
        row["retrievers"][name] = {**_scores(ranking, q.gold), "top": ranking[max(KS)]}
    for name, text in answers.items():
        row["retrievers"][name]["keyword_hit"] = keyword_hit(text, q.keywords)[0] if q.keywords else None
    if ctx.langchain is not None and baselines:
        docs = ctx.langchain.similarity_search(q.question, max(KS), q.policy_ids)
        units = [ctx.langchain_units[d.metadata["n"]] if "n" in d.metadata else frozenset() for d in docs]
        relevant = sum(1 for u in ctx.langchain_units if u & set(q.gold))
        lc = _scores({k: units for k in KS}, q.gold, relevant_units=relevant)
        answer = "\n\n".join(d.page_content for d in docs[:4])
        lc["keyword_hit"] = keyword_hit(answer, q.keywords)[0] if q.keywords else None
        lc["top"] = [sorted(u) for u in units]
        lc["answer_chars"] = len(answer)
        row["retrievers"]["langchain"] = lc
    row["retrievers"]["hybrid"]["keyword_hit"] = row["ask"]["keyword_hit"]
    row["retrievers"]["hybrid"]["answer_chars"] = len(response.answer)
    return row


def verdict_score(expected: str | None, claim: str | None) -> dict:
    """{"verdict_right", "verdict_wrong"} for one answer: right when the claim answers the
    expected verdict (``MATCHES``), wrong when it claims another verdict; a quote (no claim)
    is neither. Both None when nothing is expected."""
    if expected is None:
        return {"verdict_right": None, "verdict_wrong": None}
    right = claim in MATCHES[expected]
    return {"verdict_right": right, "verdict_wrong": not right and claim not in (None, "quote")}


def summarise_verdicts(rows: list[dict]) -> dict:
    """Verdict correctness over the rows that expect a verdict: overall and per kind."""
    scored = [r for r in rows if r["ask"].get("verdict_right") is not None]

    def tally(group: list[dict]) -> dict:
        right = sum(r["ask"]["verdict_right"] for r in group)
        wrong = sum(r["ask"]["verdict_wrong"] for r in group)
        return {
            "questions": len(group), "right": right, "wrong": wrong, "no_verdict": len(group) - right - wrong,
            "accuracy": right / len(group) if group else None, "wrong_rate": wrong / len(group) if group else None,
            "gold_in_first_six": rate(r["ask"]["gold_in_first_six"] for r in group if r["gold"]),
        }

    kinds: dict[str, list[dict]] = {}
    for r in scored:
        kinds.setdefault(r["kind"], []).append(r)
    return {**tally(scored), "by_kind": {k: tally(v) for k, v in sorted(kinds.items())},
            "wrong_ids": [r["id"] for r in scored if r["ask"]["verdict_wrong"]]}


def chunk_units(pipeline: Any, matcher: ClauseMatcher) -> list[frozenset[str]]:
    """Clause ids held by each LangChain chunk, by chunk number (restricted to its document)."""
    return [frozenset(matcher.clauses_in(c.page_content, restrict=[c.metadata["policy_id"]])) for c in pipeline.chunks]


def summarise_retrievers(rows: list[dict]) -> dict[str, dict]:
    """Per retriever: mean recall@k, MRR, nDCG@10, keyword accuracy and recall@5 by kind."""
    out: dict[str, dict] = {}
    with_gold = [r for r in rows if r["gold"]]
    for name in RETRIEVERS:
        scored = [r["retrievers"][name] for r in with_gold if name in r["retrievers"]]
        if not scored:
            continue
        kinds: dict[str, list[float]] = {}
        for r in with_gold:
            if name in r["retrievers"]:
                kinds.setdefault(r["kind"], []).append(r["retrievers"][name]["recall@5"])
        keyword = [r["retrievers"][name].get("keyword_hit") for r in rows if name in r["retrievers"]]
        out[name] = {
            "questions": len(scored),
            **{f"recall@{k}": mean(s[f"recall@{k}"] for s in scored) for k in KS},
            "mrr": mean(s["rr"] for s in scored),
            "ndcg@10": mean(s["ndcg@10"] for s in scored),
            "keyword_accuracy": rate(k for k in keyword if k is not None),
            "recall@5_by_kind": {kind: mean(v) for kind, v in sorted(kinds.items())},
        }
        chars = [r["retrievers"][name].get("answer_chars") for r in rows if name in r["retrievers"]]
        chars = [c for c in chars if c is not None]
        if chars:
            out[name]["mean_answer_chars"] = mean(chars)
    return out


def compare_questions(rows: list[dict]) -> dict:
    """Question by question: what fusion, payer detection and curation buy (recall@5)."""
    def r5(row: dict, name: str) -> float | None:
        entry = row["retrievers"].get(name)
        return entry.get("recall@5") if entry else None

    table, tally = [], {}
    pairs = {"fusion": ("hybrid", None), "payer_detection": ("hybrid", "hybrid_no_detect"),
             "curation_and_anchors": ("dense", "langchain"), "ours_vs_langchain": ("hybrid", "langchain"),
             "ours_vs_dense": ("hybrid", "dense"), "ours_vs_bm25": ("hybrid", "bm25")}
    for row in (r for r in rows if r["gold"]):
        entry = {"id": row["id"], "kind": row["kind"],
                 "first_rank": {n: row["retrievers"][n].get("first_rank") for n in row["retrievers"]},
                 "recall@5": {n: r5(row, n) for n in row["retrievers"]}}
        labels = []
        for label, (a, b) in pairs.items():
            x = r5(row, a)
            if label == "fusion":  # helps: beats both single rankers; hurts: below both
                singles = [v for v in (r5(row, "dense"), r5(row, "bm25")) if v is not None]
                if x is None or len(singles) < 2:
                    continue
                verdict = "win" if x > max(singles) else "loss" if x < min(singles) else "tie"
            else:
                y = r5(row, b)
                if x is None or y is None:
                    continue
                verdict = "win" if x > y else "loss" if x < y else "tie"
            tally.setdefault(label, {"win": 0, "tie": 0, "loss": 0})[verdict] += 1
            if verdict != "tie" and label in ("fusion", "payer_detection", "curation_and_anchors"):
                labels.append(f"{label.replace('_', ' ')} {'helps' if verdict == 'win' else 'hurts'}")
        entry["effects"] = labels
        table.append(entry)
    return {"tally": tally, "questions": table}
