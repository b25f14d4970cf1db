"""Score an independent split: accuracy, pend recall, the two harms, per style, confusion.

    python eval/independent/score.py dev     # figures + every failing row (tune here)
    python eval/independent/score.py test    # figures only; scored once, at the end

The gate (`mrs-assist eval --check`) scores both splits itself; this prints the same figures
without building the retrieval index.
"""

from __future__ import annotations

import sys


def main(split: str) -> int:
    from mrs_assist.evaluation.cases import evaluate_independent
    from mrs_assist.service import Services

    services = Services()
    r = evaluate_independent(services, services.settings.eval_dir, split)
    print(f"{split}: {r['cases']} cases, {r['pairs']} pairs; accuracy {r['accuracy']:.3f}; "
          f"pend recall {r['needs_more_information_recall']:.3f}; wrong approvals {r['wrong_approvals']}; "
          f"wrong denials {r['wrong_denials']}; denials where a pend was expected {r['denials_where_pend_expected']}; "
          f"approval rate among meets {r['approval_rate_among_meets']}")
    labels = r["confusion"]["labels"]
    print("  confusion (rows gold, columns predicted):", " / ".join(labels[:3]))
    for label, row in zip(labels, r["confusion"]["matrix"]):
        if label != "error":
            print(f"    {label:24s} {row[:3]} errors {row[3]}")
    for tag, c in r["per_class"].items():
        acc = "n/a" if c["accuracy"] is None else f"{c['accuracy']:.3f}"
        print(f"  {tag:24s} {acc:6s} ({c['pairs']} pairs) wrong approvals {c['wrong_approvals']}, "
              f"wrong denials {c['wrong_denials']}")
    if split != "test":
        for f in r["failures"]:
            print(" FAIL", f["case"], f["policy"], f["gold"], "->", f["predicted"], "missing", f["missing"][:3])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else "dev"))
