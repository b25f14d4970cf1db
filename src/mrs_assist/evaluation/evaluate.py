"""`mrs-assist eval`: every question and gold case through the library functions the API
uses (``Services``), with baselines, in one run; returns the result as a JSON-able dict.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mrs_assist.evaluation.cases import (
    REALISTIC_SPLITS,
    CaseContext,
    evaluate_case,
    INDEPENDENT_CASE_SPLITS,
    evaluate_independent,
    evaluate_realistic,
    independent_headline,
    realistic_headline,
    summarise_cases,
)
from mrs_assist.evaluation.negex import evaluate_negex, negex_headline
from mrs_assist.evaluation.clausemap import ClauseMatcher
from mrs_assist.evaluation.data import INDEPENDENT_SPLITS, SPLITS, load_cases, load_questions
from mrs_assist.evaluation.lcbaseline import DEFAULT_SEEDS_DIR, LangChainPipeline
from mrs_assist.evaluation.metrics import mean, rate
from mrs_assist.evaluation.questions import (
    KS,
    QuestionContext,
    chunk_units,
    compare_questions,
    evaluate_question,
    summarise_retrievers,
    summarise_verdicts,
)
from mrs_assist.evaluation.timing import Stopwatch


@dataclass
class EvalOptions:
    """How to run the evaluation."""

    seeds_dir: Path = DEFAULT_SEEDS_DIR
    """Raw seed texts for the LangChain baseline (corpus front matter names each file)."""
    baselines: bool = True
    judge: bool = True
    progress: bool | None = None
    """Draw rich progress bars (None: only on a terminal)."""
    limit_questions: int | None = None
    limit_cases: int | None = None
    """Gold cases to run; 0 runs no case set at all (realistic and independent included)."""
    notes: list[str] = field(default_factory=list)


@contextlib.contextmanager
def _progress(enabled: bool | None) -> Iterator[Any]:
    """A rich Progress on stderr when enabled (or on a TTY), else a no-op stand-in."""
    from rich.console import Console

    console = Console(stderr=True)
    if not (console.is_terminal if enabled is None else enabled):
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        yield bar


class _Task:
    def __init__(self, bar: Any, name: str, total: int) -> None:
        self.bar, self.task = bar, bar.add_task(name, total=total) if bar else None

    def advance(self) -> None:
        if self.bar is not None:
            self.bar.advance(self.task)


class CitationAudit:
    """Checks every cited text against the corpus clause text, verbatim."""

    def __init__(self, corpus: Any) -> None:
        self.corpus = corpus
        self.checked = 0
        self.invalid: list[dict] = []

    def __call__(self, where: str, citation: Any) -> None:
        self.checked += 1
        clause = self.corpus.clause(citation.clause_id)
        if clause is None or clause.deleted:
            self.invalid.append({"where": where, "clause_id": citation.clause_id, "problem": "no such clause"})
        elif citation.text != clause.text:
            self.invalid.append({"where": where, "clause_id": citation.clause_id, "problem": "text differs from the corpus"})

    def summary(self) -> dict:
        return {"checked": self.checked, "invalid": self.invalid,
                "validity": (self.checked - len(self.invalid)) / self.checked if self.checked else None}


def _langchain(services: Any, options: EvalOptions, notes: list[str]) -> tuple[Any, list]:
    from mrs_assist.index.embed import get_embedder

    try:  # sentence-transformers, as LangChain's HuggingFaceEmbeddings would run the same model
        pipeline = LangChainPipeline.build(services.corpus, options.seeds_dir, get_embedder(services.settings))
    except Exception as exc:  # noqa: BLE001 - a baseline failing must not sink the run
        notes.append(f"LangChain baseline not computed: {type(exc).__name__}: {exc}")
        return None, []
    matcher = ClauseMatcher({c.id: c.text for c in services.corpus.clauses()})
    return pipeline, chunk_units(pipeline, matcher)


def _judge(services: Any, rows: list[dict], options: EvalOptions, bar: Any) -> dict:
    from mrs_assist.evaluation.judge import judge_answer, judge_reason, make_judge_model

    reason = judge_reason(services.settings) if options.judge else "disabled (--no-judge)"
    model = make_judge_model(services.settings) if reason is None else None
    if model is None:
        return {"computed": False, "reason": f"not computed: {reason}", "faithfulness": None, "answer_relevancy": None}
    todo = [r for r in rows if r["gold"] and not r["ask"]["declined"]]
    task = _Task(bar, "judging answers", len(todo))
    results = []
    for row in todo:
        j = judge_answer(model, services.retriever.embedder, row["question"], row["ask"]["answer"], row["ask"]["contexts"])
        row["judge"] = {"faithfulness": j.faithfulness, "relevancy": j.relevancy, "errors": j.errors}
        results.append(j)
        task.advance()
    return {
        "computed": True, "reason": None, "model": services.settings.judge_model, "answers": len(results),
        "faithfulness": mean(j.faithfulness for j in results if j.faithfulness is not None),
        "answer_relevancy": mean(j.relevancy for j in results if j.relevancy is not None),
        "judge_errors": sum(len(j.errors) for j in results),
    }


def _warm_up(services: Any, questions: list, cases: list) -> None:
    """One untimed ask and determine: model and medspaCy loading are not per-request latency."""
    from mrs_assist.schemas import AskRequest, DeterminationRequest

    if questions:
        services.ask(AskRequest(question=questions[0].question))
    if cases:
        with contextlib.suppress(Exception):  # a failing determine is reported per case
            services.determine(DeterminationRequest(
                policy_id=next(iter(cases[0].expected)), cpt_codes=cases[0].cpt_codes, clinical_notes=cases[0].notes))


def run_eval(services: Any, options: EvalOptions | None = None) -> dict:
    """The whole evaluation as a dict (see report.py for its layout); raises MrsAssistError
    when the index, corpus or eval files are unusable."""
    options = options or EvalOptions()
    started = time.perf_counter()
    settings = services.settings
    questions = load_questions(settings.eval_dir, SPLITS + INDEPENDENT_SPLITS)[: options.limit_questions]
    cases = load_cases(settings.eval_dir)[: options.limit_cases]
    notes = list(options.notes)
    stopwatch = Stopwatch()
    audit = CitationAudit(services.corpus)
    retriever = services.retriever  # raises IndexNotReadyError before any work

    single = options.baselines
    pipeline, units = _langchain(services, options, notes) if options.baselines else (None, [])
    qctx = QuestionContext(services, stopwatch, pipeline, units, single, on_citation=audit)
    cctx = CaseContext(services, stopwatch, on_citation=audit)

    _warm_up(services, questions, cases)
    q_rows: list[dict] = []
    c_rows: list[dict] = []
    with _progress(options.progress) as bar:
        task = _Task(bar, "questions", len(questions))
        for q in questions:
            q_rows.append(evaluate_question(qctx, q))
            task.advance()
        task = _Task(bar, "gold cases", len(cases))
        for case in cases:
            c_rows += evaluate_case(cctx, case)
            task.advance()
        judge = _judge(services, q_rows, options, bar)
        # limit_cases=0 (a questions-only run) leaves out every case set, not only the gold one
        case_sets = options.limit_cases != 0
        realistic = {split: evaluate_realistic(services, settings.eval_dir, split, stopwatch)
                     for split in REALISTIC_SPLITS if case_sets}
        independent_cases = {split: evaluate_independent(services, settings.eval_dir, split, stopwatch)
                             for split in INDEPENDENT_CASE_SPLITS if case_sets}
    negex = evaluate_negex(services.catalogue, settings.eval_dir)

    determination = summarise_cases(c_rows, cctx.letters)
    every_row, q_rows = q_rows, [r for r in q_rows if r["split"] in SPLITS]  # our own sets, as before
    retrievers = summarise_retrievers(q_rows)
    independent = {
        split: {"ask_gold_in_first_six": rate(r["ask"]["gold_in_first_six"] for r in rows if r["gold"]),
                "verdicts": summarise_verdicts(rows)}
        for split in INDEPENDENT_SPLITS
        if (rows := [r for r in every_row if r["split"] == split])
    }
    by_split = {
        split: {
            "retrievers": summarise_retrievers(rows),
            "ask_gold_in_first_six": rate(r["ask"]["gold_in_first_six"] for r in rows if r["gold"]),
            "verdicts_checked": rate(r["ask"]["verdict_checked"] for r in rows),
            "verdict_expectations_met": rate(r["ask"]["verdict_hit"] for r in rows if r["ask"]["verdict_hit"] is not None),
        }
        for split in ("dev", "test")
        if (rows := [r for r in q_rows if r["split"] == split])
    }
    # Gated on dev (the split rules are chosen on); test's rate is reported beside it.
    dev_rows = [r for r in q_rows if r["split"] == "dev"] or q_rows
    na = [r for r in dev_rows if r["kind"] == "not-addressed"]
    na_test = [r for r in q_rows if r["split"] == "test" and r["kind"] == "not-addressed"]
    addressed = [r for r in q_rows if r["gold"]]
    answers = {
        "keyword_accuracy": rate(r["ask"]["keyword_hit"] for r in q_rows if r["ask"]["keyword_hit"] is not None),
        "not_addressed": {
            "questions": len(na),
            "handled_rate": rate(r["ask"]["declined"] or r["ask"]["unmentioned_note"] or r["ask"]["not_addressed"] for r in na),
            "declined": sum(r["ask"]["declined"] for r in na),
            "unmentioned_note": sum(r["ask"]["unmentioned_note"] for r in na),
            "test_handled_rate": rate(r["ask"]["declined"] or r["ask"]["unmentioned_note"] or r["ask"]["not_addressed"]
                                      for r in na_test),
        },
        "false_declines": [r["id"] for r in addressed if r["ask"]["declined"]],
        "modes": {m: sum(r["ask"]["mode"] == m for r in q_rows) for m in ("extractive", "llm")},
    }
    citations = audit.summary()
    # The gate reads retrieval on dev (what weights are chosen on) and, separately, test.
    hybrid = by_split.get("dev", {}).get("retrievers", retrievers).get("hybrid", {})
    test = by_split.get("test", {})
    test_ours, test_bm25 = (test.get("retrievers", {}).get(n, {}) for n in ("hybrid", "bm25"))
    headline = {
        "determination.accuracy": determination["accuracy"],
        "determination.needs_more_information_recall": determination["needs_more_information_recall"],
        "determination.wrong_approvals": determination["wrong_approvals"],
        "determination.wrong_denials": determination["wrong_denials"],
        "missing_information.precision": determination["missing_information"]["precision"],
        "missing_information.recall": determination["missing_information"]["recall"],
        "criterion_citations.precision": determination["criterion_citations"]["precision"],
        "criterion_citations.recall": determination["criterion_citations"]["recall"],
        "citations.validity": citations["validity"],
        **{f"retrieval.recall@{k}": hybrid.get(f"recall@{k}") for k in KS},
        "retrieval.mrr": hybrid.get("mrr"),
        "retrieval.ndcg@10": hybrid.get("ndcg@10"),
        **{f"retrieval_test.recall@{k}": test_ours.get(f"recall@{k}") for k in KS},
        "retrieval_test.margin_over_bm25": min(
            (test_ours[f"recall@{k}"] - test_bm25[f"recall@{k}"] for k in KS), default=None
        ) if test_ours and test_bm25 else None,
        "ask_test.gold_in_first_six": test.get("ask_gold_in_first_six"),
        "ask.verdicts_checked": rate(r["ask"]["verdict_checked"] for r in q_rows),
        **{
            f"ask_{split.replace('-', '_')}.{name}": independent.get(split, {}).get("verdicts", {}).get(name)
            for split in INDEPENDENT_SPLITS for name in ("accuracy", "wrong_rate")
        },
        **{
            f"ask_{split.replace('-', '_')}.gold_in_first_six": independent.get(split, {}).get("ask_gold_in_first_six")
            for split in INDEPENDENT_SPLITS
        },
        "answers.keyword_accuracy": answers["keyword_accuracy"],
        "answers.not_addressed_handled": answers["not_addressed"]["handled_rate"],
        "answers.false_declines": len(answers["false_declines"]),
        "letters.pass_rate": determination["letters"]["pass_rate"],
        "judge.faithfulness": judge.get("faithfulness"),
        "judge.answer_relevancy": judge.get("answer_relevancy"),
    }
    headline.update(realistic_headline(realistic))
    headline.update(independent_headline(independent_cases))
    headline.update(negex_headline(negex))
    latency = stopwatch.summary()
    for stage, summary in latency.items():
        headline[f"latency.{stage}.p95_ms"] = summary["p95_ms"]
    return {
        "meta": {
            "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "seconds": round(time.perf_counter() - started, 1),
            "questions": len(questions), "cases": len(cases),
            "index_generation": getattr(retriever, "generation", ""),
            "embedding_model": getattr(retriever.embedder, "model_id", ""),
            "seeds_dir": str(options.seeds_dir), "notes": notes,
        },
        "headline": headline,
        "determination": determination,
        "realistic": realistic,
        "independent_cases": independent_cases,
        "negex": negex,
        "retrieval": {"retrievers": retrievers, "by_split": by_split, "comparison": compare_questions(q_rows)},
        "answers": answers,
        "independent": independent,
        "citations": citations,
        "letters": determination["letters"],
        "judge": judge,
        "latency": latency,
        "questions": every_row,
        "cases": c_rows,
    }
