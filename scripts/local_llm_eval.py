"""Measure the embedded local model (issue 13) on the question set: validator pass rate,
fallback rate, faithfulness of accepted answers, latency per answer.

    MRS_ASSIST_LLM_LOCAL=smollm2 python scripts/local_llm_eval.py eval/questions-test.yaml [START:END]

Each question is asked through the service (retrieval, extractive answer, verdict), then the
model phrases it through the same validated path as any model (answer.llm.phrase_answer).
"Faithful" for an accepted answer: every sentence carries a citation [id] of a retrieved clause
and the validator finds no problem in it (re-checked here).
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

from mrs_assist.answer.llm import phrase_answer
from mrs_assist.config import Settings
from mrs_assist.data import YamlFile
from mrs_assist.schemas import AskRequest
from mrs_assist.service import Services
from mrs_assist.validate import AnswerDraft, validate_answer_draft
from mrs_assist.validate.text import clause_ids_in


def main() -> None:
    path, span = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else ":"  # e.g. "0:20"
    start, _, end = span.partition(":")
    questions = YamlFile(Path(path), root=list).data[int(start or 0) : int(end) if end else None]
    settings = Settings()
    assert settings.llm_local, "set MRS_ASSIST_LLM_LOCAL=smollm2"
    plain = Services(settings.model_copy(update={"llm_local": None}))
    chat = Services(settings).chat_model
    rows = []
    for q in questions:
        base = plain.ask(AskRequest(question=q["question"], policy_ids=q.get("policy_ids")))
        t = time.perf_counter()
        out, problems = phrase_answer(
            chat, q["question"], base.citations, base.answer, corpus=plain.corpus,
            policy_ids=q.get("policy_ids"), vocabulary=plain.fixed_vocabulary,
        )
        secs = time.perf_counter() - t
        row = {"id": q["id"], "mode": out.mode, "seconds": round(secs, 1),
               "problems": sorted({p.code for p in problems}), "attempts": 1 + any(p.attempt == 2 for p in problems)}
        if out.mode == "llm":
            retrieved = {c.clause_id for c in base.citations}
            sentences = [s for s in re.split(r"(?<=[.!?])\s+", out.answer.strip()) if s.strip()]
            cited_each = all(set(clause_ids_in(s)) & retrieved for s in sentences)
            recheck = validate_answer_draft(
                AnswerDraft(answer=out.answer, cited_clause_ids=[c.clause_id for c in out.citations]),
                question=q["question"], citations=base.citations, corpus=plain.corpus,
                policy_ids=q.get("policy_ids"), vocabulary=plain.fixed_vocabulary,
            )
            row |= {"sentences": len(sentences), "every_sentence_cited": cited_each,
                    "revalidated": not recheck, "answer": out.answer[:300]}
        rows.append(row)
        print(json.dumps(row), flush=True)
    k = len(rows)
    acc = [r for r in rows if r["mode"] == "llm"]
    lat = sorted(r["seconds"] for r in rows)
    print(json.dumps({
        "questions": k, "accepted": len(acc), "pass_rate": round(len(acc) / k, 3),
        "fallback_rate": round(1 - len(acc) / k, 3),
        "accepted_every_sentence_cited": sum(r["every_sentence_cited"] for r in acc),
        "accepted_revalidated": sum(r["revalidated"] for r in acc),
        "latency_median_s": lat[k // 2], "latency_max_s": lat[-1], "latency_mean_s": round(sum(lat) / k, 1),
        "problem_codes": sorted({c for r in rows for c in r["problems"]}),
    }))


if __name__ == "__main__":
    main()
