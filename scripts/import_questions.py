"""Convert an independent writer's question folder into eval/questions-<split>.yaml.

    python scripts/import_questions.py /work/indep/q-dev indep-dev --writer q-dev

Gold quotes become clause ids (mrs_assist.evaluation.indep); quotes that match no clause are
printed and left out of gold. See eval/INDEPENDENT-QUESTIONS.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from mrs_assist.config import Settings
from mrs_assist.corpus import load_corpus
from mrs_assist.evaluation.indep import convert_questions, load_writer_files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("split", choices=["indep-dev", "indep-dev2", "indep-dev3", "indep-dev4", "indep-dev5", "indep-dev6", "indep-dev7", "indep-dev8", "indep-dev9", "indep-dev10", "indep-dev11", "indep-test"])
    parser.add_argument("--writer", required=True)
    parser.add_argument("--eval-dir", type=Path, default=Path(__file__).resolve().parents[1] / "eval")
    args = parser.parse_args()
    settings = Settings()
    questions, problems = convert_questions(load_writer_files(args.folder), load_corpus(settings.corpus_dir), writer=args.writer)
    out = args.eval_dir / f"questions-{args.split}.yaml"
    header = (f"# Independent questions ({args.split}), converted from {args.folder.name}/ by scripts/import_questions.py.\n"
              "# Written by a writer who saw only the policy texts; see eval/INDEPENDENT-QUESTIONS.md.\n")
    out.write_text(header + yaml.safe_dump(questions, sort_keys=False, allow_unicode=True, width=110), encoding="utf-8")
    for p in problems:
        print(p, file=sys.stderr)
    print(f"{len(questions)} questions → {out} ({len(problems)} quotes matched no clause)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
