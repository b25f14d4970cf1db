"""Score /v1/ask verdicts on question sets, per file and per kind (a quick loop for tuning).

    python scripts/score_verdicts.py [--split indep-dev --split indep-dev2 --split indep-dev3 --split indep-dev4 --split indep-dev5 --split indep-dev6 --split indep-dev7 --split indep-dev8 --split indep-dev9 --split indep-dev10 --split indep-dev11 --split indep-test] [--json OUT] [--show wrong|none|all]

Asks each question once through ``Services.ask`` (no retriever baselines, unlike
``mrs-assist eval``) and summarises with the eval's own ``verdict_score`` /
``summarise_verdicts``: right / wrong / no verdict, and a gold clause in the first six
citations. Needs a built index (``mrs-assist index``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mrs_assist.evaluation.data import INDEPENDENT_SPLITS, load_questions
from mrs_assist.evaluation.questions import summarise_verdicts, verdict_score
from mrs_assist.schemas import AskRequest
from mrs_assist.service import Services


def score(services: Services, split: str) -> tuple[dict, list[dict]]:
    """(summary, rows) for one split's questions."""
    rows = []
    for q in load_questions(services.settings.eval_dir, (split,)):
        response = services.ask(AskRequest(question=q.question, policy_ids=q.policy_ids))
        claim = response.verdict.claim if response.verdict else None
        cited = [c.clause_id for c in response.citations]
        rows.append({
            "id": q.id, "kind": q.kind, "gold": list(q.gold), "expect": q.expect, "question": q.question,
            "ask": {"claim": claim, "verdict": response.verdict.text if response.verdict else None,
                    "gold_in_first_six": bool(set(q.gold) & set(cited[:6])) if q.gold else None,
                    **verdict_score(q.expect, claim)},
        })
    return summarise_verdicts(rows), rows


def _line(name: str, s: dict) -> str:
    return f"{name:<16} n={s['questions']:>3} right={s['right']:>3} wrong={s['wrong']:>3} none={s['no_verdict']:>3}" + (
        f" gold6={s['gold_in_first_six']:.3f}" if s["gold_in_first_six"] is not None else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", action="append", help="question split (default: the independent ones)")
    parser.add_argument("--json", type=Path, help="write summaries and rows here")
    parser.add_argument("--show", choices=("wrong", "none", "all"), help="print these questions' verdicts (never the held-out indep-test's)")
    args = parser.parse_args(argv)
    services = Services()
    out = {}
    for split in args.split or list(INDEPENDENT_SPLITS):
        summary, rows = score(services, split)
        out[split] = {"summary": summary, "rows": rows}
        print(f"== {split}")
        print(_line("all", summary))
        for kind, s in summary["by_kind"].items():
            print(_line(kind, s))
        print("wrong:", " ".join(summary["wrong_ids"]))
        if args.show is None or split == "indep-test":
            continue  # the held-out split's questions are not for reading
        for r in rows:
            a = r["ask"]
            if a["verdict_right"] is None or a["verdict_right"]:
                continue
            if args.show == "all" or (args.show == "wrong") == bool(a["verdict_wrong"]):
                print(f"\n[{r['id']} {r['kind']} expect={r['expect']} claim={a['claim']}] {r['question']}\n  → {a['verdict']}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
