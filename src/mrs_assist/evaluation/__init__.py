"""Evaluation and benchmarks: `mrs-assist eval` and `mrs-assist bench`.

Everything runs through the library functions the API uses (``Services``), beside
baselines measured in the same run. Modules follow the run:
``data`` (eval/ inputs) → ``questions`` / ``cases`` (per-item results) → ``metrics``
(pure scores) → ``evaluate`` (one run) → ``report`` / ``gate``; ``Retriever.rank(mode=…)``,
``lcbaseline`` and ``clausemap`` are the baselines; ``judge`` the optional LLM judge;
``bench`` (with ``procs``) the benchmarks; ``injection`` builds the prompt-injection
corpus (eval/injection/).
"""

from mrs_assist.evaluation.bench import BenchOptions, run_bench
from mrs_assist.evaluation.commands import run_bench_command, run_eval_command
from mrs_assist.evaluation.evaluate import EvalOptions, run_eval
from mrs_assist.evaluation.gate import check_thresholds, load_thresholds

__all__ = [
    "BenchOptions",
    "EvalOptions",
    "check_thresholds",
    "load_thresholds",
    "run_bench",
    "run_bench_command",
    "run_eval",
    "run_eval_command",
]
