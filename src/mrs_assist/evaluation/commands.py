"""What `mrs-assist eval` and `mrs-assist bench` do, beyond parsing options: run, write, print."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from mrs_assist.evaluation.evaluate import EvalOptions, run_eval
from mrs_assist.evaluation.gate import check_thresholds, load_thresholds
from mrs_assist.evaluation.questions import KS
from mrs_assist.evaluation.render import fmt
from mrs_assist.evaluation.report import write_report


def run_eval_command(services: Any, options: EvalOptions, *, out: Path, thresholds: Path | None = None,
                     check: bool = False) -> list[str]:
    """Run the evaluation, write the report into out, print a summary; returns the gate's
    failure lines ([] when every threshold holds). Raises MrsAssistError on unusable inputs,
    and ConfigError when ``check`` is set and the thresholds file is missing."""
    path = thresholds or services.settings.eval_dir / "thresholds.yaml"
    limits = load_thresholds(path) if (check or thresholds or path.exists()) else {}
    result = run_eval(services, options)
    failures = check_thresholds(result["headline"], limits) if limits else []
    paths = write_report(result, out, gate=failures if limits else None, thresholds=limits)
    print_eval_summary(result, failures if limits else None)
    Console(stderr=True).print(f"report: {paths['markdown']}  {paths['html']}  {paths['json']}")
    return failures


def print_eval_summary(result: dict, failures: list[str] | None) -> None:
    """The headline tables on stdout: retrievers side by side, then determinations."""
    console = Console()
    table = Table(title="Retrieval and answers: ours vs baselines")
    for col in ("retriever", *[f"R@{k}" for k in KS], "MRR", "nDCG@10", "keywords"):
        table.add_column(col, justify="left" if col == "retriever" else "right")
    for name, r in result["retrieval"]["retrievers"].items():
        table.add_row(name, *[fmt(r[f"recall@{k}"]) for k in KS], fmt(r["mrr"]), fmt(r["ndcg@10"]), fmt(r["keyword_accuracy"]))
    console.print(table)
    head = Table(title="Headline metrics")
    head.add_column("metric")
    head.add_column("value", justify="right")
    for name, value in result["headline"].items():
        if not name.startswith("latency."):
            head.add_row(name, fmt(value))
    console.print(head)
    if result["letters"]["reason"]:
        console.print(f"letters: {result['letters']['reason']}")
    if not result["judge"]["computed"]:
        console.print(f"judge: {result['judge']['reason']}")
    if failures is not None:
        console.print("gate: " + ("passed" if not failures else f"{len(failures)} threshold(s) failed"))


def run_bench_command(settings: Any, options: Any, *, out: Path) -> dict:
    """Run the benchmarks, write out/bench.json and print the table; returns the result."""
    from mrs_assist.evaluation.bench import print_bench, run_bench, write_bench

    result = run_bench(settings, options)
    path = write_bench(result, out)
    print_bench(result)
    Console(stderr=True).print(f"results: {path}")
    return result
