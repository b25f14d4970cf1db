"""The bench's comparison with the LangChain baseline: CPU-time figures and issue 22's ratio targets."""

from __future__ import annotations

import os
import time
from types import SimpleNamespace

import pytest

from mrs_assist.evaluation.bench import rows
from mrs_assist.evaluation.procs import _summary, cpu_seconds


def test_cpu_seconds_reads_a_live_process_and_none_for_a_gone_one():
    before = cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.05
    while time.process_time() < deadline:
        pass
    assert before is not None and cpu_seconds(os.getpid()) >= before + 0.02
    assert cpu_seconds(2**22 + 7) is None


def test_api_summary_takes_the_median_round_and_cpu_per_request():
    rounds = [{"seconds": s, "cpu_s": c, "ms": [10.0, 20.0], "errors": e}
              for s, c, e in ((2.0, 1.0, {}), (1.0, 0.5, {"500": 1}), (4.0, 2.0, {"500": 2}))]
    out = _summary(rounds, SimpleNamespace(api_requests=100, concurrency=8))
    assert out["rps_rounds"] == [50.0, 100.0, 25.0] and out["rps"] == 50.0
    assert out["cpu_ms_per_request_rounds"] == [10.0, 5.0, 20.0] and out["cpu_ms_per_request"] == 10.0
    assert out["requests"] == 300 and out["errors"] == {"500": 3} and out["n"] == 6


def _result(ask: tuple[float, float], ask_cpu: tuple[float, float], rps: tuple[float, float],
            cpu_per_request: tuple[float, float]) -> dict:
    summary = {"median_ms": 5.0, "p95_ms": 9.0, "max_ms": 12.0}
    warm = {name: dict(summary) for name in ("ask", "determine", "retrieve", "embed_query", "langchain_ask")}
    for name, wall, cpu in (("ask", ask[0], ask_cpu[0]), ("langchain_ask", ask[1], ask_cpu[1])):
        warm[name].update(median_ms=wall, cpu_median_ms=cpu)
    cold = {"ours_s": 2.0, "langchain_s": 9.0, "ours_peak_rss_mib": 300, "langchain_peak_rss_mib": 800,
            "import_torch_st_chroma_s": 3.0, "python_start_s": 0.05, "determine_s": 1.2, "determine_cpu_s": 1.1}
    index = {"cold_s": 40, "langchain_cold_s": 30, "no_change_s": 0.02, "no_change_changed": False,
             "cold_peak_rss_mib": 800, "langchain_peak_rss_mib": 810}
    api = {name: {"rps": r, "cpu_ms_per_request": c, "p95_ms": 100.0, "worker_peak_rss_mib": [400.0]}
           for name, r, c in (("ours", rps[0], cpu_per_request[0]), ("langchain", rps[1], cpu_per_request[1]))}
    return {"meta": {"cpus": 2, "workers": 2}, "warm": warm, "cold_start": cold, "index": index, "api": api,
            "intake": {}}


@pytest.mark.parametrize(("values", "met"), [
    (((10.0, 12.0), (9.0, 30.0), (90.0, 70.0), (15.0, 20.0)), [True, True, True, True]),
    (((13.0, 12.0), (31.0, 30.0), (80.0, 70.0), (17.0, 20.0)), [False, False, False, False]),
])
def test_rows_check_issue_22s_ratios_on_wall_and_cpu_time(values, met):
    by_metric = {r["metric"]: r for r in rows(_result(*values))}
    checked = ["ask_warm_median_ms", "ask_warm_cpu_median_ms", "api_ask_rps", "api_ask_cpu_ms_per_request"]
    assert [by_metric[m]["ratio_met"] for m in checked] == met
    assert by_metric["api_ask_rps"]["ratio_target"] == "≥ 1.2"
    assert by_metric["determine_cold_s"]["met"] is True and by_metric["determine_cold_s"]["ratio_met"] is None


def test_cold_determine_is_the_median_of_five_runs(monkeypatch, tmp_path):
    """The first run in the fresh data folder builds the caches: with three runs, it and one more
    slow run set the median; with five they do not."""
    from mrs_assist.evaluation import bench

    walls = {"determine": iter([3.0, 2.0, 1.2, 1.1, 1.3])}
    ran: list[str] = []

    def child(cmd, env):
        kind = "determine" if "determine" in cmd else "other"
        ran.append(kind)
        return (next(walls[kind]) if kind == "determine" else 1.0), 0, 1024

    monkeypatch.setattr(bench, "run_child", child)
    out = bench._cold(tmp_path, bench.BenchOptions(quick=True), "Notes.")
    assert ran.count("determine") == 5 and out["determine_exit_codes"] == [0] * 5
    assert out["determine_s"] == 1.3
