"""Development loop for the realistic gold set: score a split, print per-class accuracy.

    python eval/realistic/score.py dev            # figures + every failing row (tune here)
    python eval/realistic/score.py test           # figures only: failures are not printed
    python eval/realistic/score.py gold           # the original 85 cases (eval/cases.yaml)

The gate (`mrs-assist eval --check`) scores both splits itself; this prints the same figures
without building the retrieval index.
"""

from __future__ import annotations

import json
import sys


def main(split: str) -> int:
    from mrs_assist.evaluation.cases import CaseContext, evaluate_case, evaluate_realistic, summarise_cases
    from mrs_assist.evaluation.data import load_cases
    from mrs_assist.evaluation.timing import Stopwatch
    from mrs_assist.service import Services

    services = Services()
    if split == "gold":
        ctx = CaseContext(services, Stopwatch(), letters="skipped")
        rows = [r for c in load_cases(services.settings.eval_dir) for r in evaluate_case(ctx, c)]
        s = summarise_cases(rows, ctx.letters)
        print(f"gold: accuracy {s['accuracy']:.3f} over {s['scored']} pairs; missing {s['missing_information']}")
        for f in s["failures"]:
            print(" FAIL", f["case"], f["policy"], f["gold"], "->", f["predicted"], f["missing"][:4])
        return 0
    r = evaluate_realistic(services, services.settings.eval_dir, split)
    print(f"{split}: {r['cases']} cases, {r['pairs']} pairs; accuracy {r['accuracy']:.3f}; "
          f"pend recall {r['needs_more_information_recall']:.3f}; pend precision {r['pend_precision']}")
    for tag, c in r["per_class"].items():
        print(f"  {tag:15s} {c['accuracy'] if c['accuracy'] is None else round(c['accuracy'], 3)!s:6s} ({c['pairs']} pairs)")
    if split == "dev":
        for f in r["failures"]:
            wrong = [m for m in f["fact_mismatches"] if m["got"] is not None or m["expected"] is not None]
            print(" FAIL", f["case"], f["policy"], f["gold"], "->", f["predicted"], "missing", f["missing"][:3],
                  json.dumps([(m["fact"], m["expected"], m["got"]) for m in wrong][:6]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else "dev"))
