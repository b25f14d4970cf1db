"""Write an evaluation: results.json, report.md, report.html and the PNG figures.

The JSON holds everything (headline metrics, per-retriever tables, every question and
case row); the reports show the tables a reviewer reads, the question-by-question
comparison of retrievers, and every miss and failure.
"""

from __future__ import annotations

import json
from pathlib import Path

from mrs_assist.evaluation.clausemap import FUZZY_SHARE, MIN_FUZZY_TOKENS
from mrs_assist.evaluation.plots import plot_confusion, plot_latency, plot_recall_curves
from mrs_assist.evaluation.questions import KS, RETRIEVERS
from mrs_assist.evaluation.render import Image, Section, Table, fmt, to_html, to_markdown

TITLE = "mrs-assist evaluation"
RETRIEVER_NOTES = {
    "hybrid": "ours: curated clause chunks, payer detection, dense + BM25 fused (RRF), one hit per clause",
    "hybrid_no_detect": "ours without payer detection (every document searched)",
    "dense": "dense ranker only, same curated chunks, detection and quotas",
    "bm25": "BM25 ranker only, same curated chunks, detection and quotas",
    "langchain": "plain LangChain: raw seeds, RecursiveCharacterTextSplitter(1000, 200), same model, "
                 "ephemeral Chroma, similarity_search (k=4 for its answer); units are chunks",
}


def write_report(result: dict, out: Path, gate: list[str] | None = None, thresholds: dict | None = None) -> dict[str, Path]:
    """Write every artefact into out (created); returns {kind: path}."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "results.json", "markdown": out / "report.md", "html": out / "report.html"}
    if gate is not None:
        result = {**result, "gate": {"failures": gate, "passed": not gate}}
    paths["json"].write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    det = result["determination"]
    retrievers = result["retrieval"]["retrievers"]
    paths["confusion"] = plot_confusion(det["confusion"]["labels"], det["confusion"]["matrix"], out / "confusion.png",
                                        "Determinations: gold × predicted")
    paths["recall"] = plot_recall_curves(
        {n: {k: r[f"recall@{k}"] for k in KS} for n, r in retrievers.items()}, out / "recall_at_k.png")
    paths["latency"] = plot_latency(result["latency"], out / "latency.png")
    sections = build_sections(result, paths, gate, thresholds or {})
    paths["markdown"].write_text(to_markdown(TITLE, sections), encoding="utf-8")
    paths["html"].write_text(to_html(TITLE, sections), encoding="utf-8")
    return paths


def _summary(result: dict, gate: list[str] | None, thresholds: dict) -> Section:
    meta = result["meta"]
    s = Section("Summary").add(
        f"{meta['questions']} questions and {meta['cases']} gold cases, finished {meta['finished']} "
        f"in {meta['seconds']} s; index {meta['index_generation']}, model {meta['embedding_model']}.")
    if gate is not None:
        s.add("Regression gate: " + ("PASSED" if not gate else f"FAILED ({len(gate)})"), *(f"- {line}" for line in gate))
    rows = []
    for name, value in result["headline"].items():
        t = thresholds.get(name)
        bound = "" if t is None else " ".join(p for p in (f"≥ {t.min:g}" if t.min is not None else "",
                                                         f"≤ {t.max:g}" if t.max is not None else "") if p)
        rows.append([name, value, bound])
    s.add(Table(["metric", "value", "threshold"], rows))
    for note in meta.get("notes", []):
        s.add(f"Note: {note}")
    return s


def _retrieval(result: dict, paths: dict) -> list[Section]:
    retrievers = result["retrieval"]["retrievers"]
    table = Table(["retriever", *[f"recall@{k}" for k in KS], "MRR", "nDCG@10", "keyword acc.", "answer chars", "what it is"], [
        [n, *[r[f"recall@{k}"] for k in KS], r["mrr"], r["ndcg@10"], r["keyword_accuracy"],
         fmt(r.get("mean_answer_chars"), 0), RETRIEVER_NOTES.get(n, "")]
        for n, r in retrievers.items()])
    kinds = sorted({k for r in retrievers.values() for k in r["recall@5_by_kind"]})
    by_kind = Table(["recall@5 by kind", *retrievers], [[k, *[r["recall@5_by_kind"].get(k) for r in retrievers.values()]] for k in kinds])
    main = Section("Retrieval: ours vs baselines").add(
        "Mean over questions with gold clauses. recall@k = share of gold clauses among the first k units; "
        "MRR = 1/rank of the first unit holding a gold clause; nDCG@10 with binary gain per unit. "
        "Keyword accuracy: every keyword of the question in the answer (ours: the /v1/ask answer; dense/BM25: "
        "the same extractive composer over their hits; LangChain: its four chunks joined, hence its length).",
        f"LangChain chunks are scored by the clauses they contain: a clause counts when its normalised text "
        f"(markup stripped, lower-case, whitespace collapsed) is inside the normalised chunk, or, for clauses of "
        f"≥ {MIN_FUZZY_TOKENS} tokens, when ≥ {FUZZY_SHARE:.0%} of its tokens appear in the chunk in order. "
        "A chunk is one unit, so at equal k LangChain reads several clauses per unit.",
        table, by_kind, Image(paths["recall"], "recall@k per retriever"))
    comp = result["retrieval"]["comparison"]
    tally = Table(["comparison (recall@5, per question)", "wins", "ties", "losses"],
                  [[k.replace("_", " "), v["win"], v["tie"], v["loss"]] for k, v in comp["tally"].items()])
    names = [n for n in RETRIEVERS if n in retrievers]
    per_q = Table(["question", "kind", *[f"rank {n}" for n in names], "effects"], [
        [q["id"], q["kind"], *[q["first_rank"].get(n) or "—" for n in names], "; ".join(q["effects"])]
        for q in comp["questions"]])
    buy = Section("What curation, clause anchors and fusion buy, question by question").add(
        "fusion: ours vs the dense-only and BM25-only rankers (helps = better than both, hurts = worse than both). "
        "payer detection: ours vs ours searching every document. curation and anchors: our dense ranker over "
        "curated clause chunks vs the LangChain pipeline's dense search over raw chunks (same model). "
        "Ranks are of the first unit holding a gold clause in the top 10 (— = none).", tally, per_q)
    return [main, buy]


def _answers(result: dict) -> Section:
    a = result["answers"]
    na = a["not_addressed"]
    misses = []
    for q in result["questions"]:
        ask = q["ask"]
        hyb = q["retrievers"].get("hybrid", {})
        problems = []
        if q["gold"] and hyb.get("recall@5", 1) < 1:
            problems.append(f"recall@5 {hyb['recall@5']:.2f} (gold {', '.join(q['gold'])}; got {', '.join(hyb['top'][:5])})")
        if ask["keyword_hit"] is False:
            problems.append(f"keywords missing: {', '.join(ask['missing_keywords'])}")
        if q["kind"] == "not-addressed" and not (ask["declined"] or ask["unmentioned_note"] or ask.get("not_addressed")):
            problems.append(f"answered instead of declining (cited {', '.join(ask['cited'])})")
        if q["gold"] and ask["declined"]:
            problems.append("declined although the guidelines answer it")
        if problems:
            misses.append([q["id"], q["kind"], q["question"], "; ".join(problems)])
    return Section("Answers (/v1/ask)").add(
        f"Keyword accuracy {fmt(a['keyword_accuracy'])}. Not-addressed questions handled {fmt(na['handled_rate'])} "
        f"({na['declined']} declined, {na['unmentioned_note']} answered with the 'no guideline uses the words' note, "
        f"of {na['questions']}). False declines: {', '.join(a['false_declines']) or 'none'}. "
        f"Answer modes: {a['modes']}.",
        Table(["question", "kind", "text", "miss"], misses) if misses else "No per-question misses.")


def _verdicts(result: dict) -> Section:
    """Verdict correctness on the independent question sets, per kind."""
    s = Section("Verdicts on independent questions (issue 23)")
    independent = result.get("independent") or {}
    if not independent:
        return s.add("No independent question set (eval/questions-indep-*.yaml) in this run.")
    rows = []
    for split, entry in independent.items():
        v = entry["verdicts"]
        for kind, t in [("all", v), *v["by_kind"].items()]:
            rows.append([split, kind, t["questions"], t["right"], t["wrong"], t["no_verdict"], fmt(t["accuracy"]),
                         fmt(t["wrong_rate"]), fmt(t["gold_in_first_six"])])
    wrong = "; ".join(f"{split}: {', '.join(e['verdicts']['wrong_ids']) or 'none'}" for split, e in independent.items())
    return s.add(
        "A verdict is right when the answer's verdict claim (yes / no / only if / depends / not addressed) answers "
        "the writer's expected verdict; wrong when it claims another; a quoted clause with no claim is neither. "
        f"Wrong verdicts: {wrong}.",
        Table(["split", "kind", "questions", "right", "wrong", "no verdict", "accuracy", "wrong rate", "gold in first six"], rows),
    )


def _determinations(result: dict, paths: dict) -> Section:
    d = result["determination"]
    labels = d["confusion"]["labels"]
    s = Section("Determinations (gold cases)").add(
        f"{d['scored']} scored (case, policy) pairs, {d['ambiguous_skipped']} ambiguous skipped, {d['errors']} errors. "
        f"Accuracy {fmt(d['accuracy'])}; needs_more_information recall {fmt(d['needs_more_information_recall'])}; "
        f"documented-fact accuracy {fmt(d['fact_accuracy'])}.",
        Table(["policy", "pairs", "accuracy"], [[p, v["cases"], v["accuracy"]] for p, v in d["per_policy"].items()]),
        Table(["gold \\ predicted", *labels], [[g, *row] for g, row in zip(labels, d["confusion"]["matrix"])]),
        Image(paths["confusion"], "confusion matrix"))
    mi, cc = d["missing_information"], d["criterion_citations"]
    s.add(Table(["measure", "precision", "recall", "detail"], [
        ["missing information (gold missing vs trace.missing_facts)", mi["precision"], mi["recall"],
         f"{mi['true_positives']} right of {mi['predicted']} listed, {mi['gold']} expected"],
        ["criterion citations (gold deciding vs trace.deciding_clauses)", cc["precision"], cc["recall"],
         f"{cc['pairs']} pairs with gold clauses; precision with ancestors of a gold clause ignored: "
         f"{fmt(cc['precision_ancestors_ignored'])}"],
    ]))
    letters = d["letters"]
    s.add("Letter validation: " + (f"pass rate {fmt(letters['pass_rate'])} over {letters['letters']} letters"
                                  if letters["computed"] else letters["reason"]))
    rows = []
    for f in d["failures"]:
        facts = "; ".join(f"{m['fact']}: expected {m['expected']}, got {m['got']}" for m in f.get("fact_mismatches", []))
        rows.append([f["case"], f["policy"], f["gold"], f["predicted"] or f.get("error"),
                     ", ".join(f["deciding"]) or "—", ", ".join(f["missing"]) or "—", facts or "—"])
    s.add(Table(["case", "policy", "expected", "got", "deciding (got)", "missing (got)", "fact mismatches"], rows)
          if rows else "No per-case failures.")
    cite_rows = []
    for r in result["cases"]:
        if r["gold"] is None or not r["gold_deciding"] or not r.get("predicted"):
            continue
        extra = sorted(set(r["deciding"]) - set(r["gold_deciding"]))
        lacking = sorted(set(r["gold_deciding"]) - set(r["deciding"]))
        if lacking:
            cite_rows.append([r["case"], r["policy"], ", ".join(lacking), ", ".join(extra) or "—"])
    if cite_rows:
        s.add("Pairs missing a gold deciding clause:", Table(["case", "policy", "gold clause not cited", "cited instead"], cite_rows))
    if d["ambiguous"]:
        s.add("Ambiguous (not scored): " + "; ".join(f"{r['case']}/{r['policy']} → {r['predicted']}" for r in d["ambiguous"]))
    return s


def _case_sets(result: dict) -> Section:
    """Every case set with its harms beside accuracy (issue 18), confusion matrices and per-style rows."""
    sets = {"gold (eval/cases.yaml)": result["determination"]}
    sets |= {f"realistic {k}": v for k, v in result.get("realistic", {}).items()}
    sets |= {f"independent {k}": v for k, v in result.get("independent_cases", {}).items()}
    s = Section("Case sets: harms beside accuracy").add(
        "A wrong approval (approved where the expected outcome is not meets_criteria) and a denial draft "
        "where the case meets are harms; a pend is a cost. The independent sets were written by people "
        "who never saw the rules (eval/independent/README.md).",
        Table(["set", "pairs", "accuracy", "pend recall", "wrong approvals", "wrong denial drafts",
               "denials where a pend was expected", "approval rate among meets"],
              [[name, v.get("scored", v.get("pairs")), v["accuracy"], v["needs_more_information_recall"],
                v.get("wrong_approvals"), v.get("wrong_denials"), v.get("denials_where_pend_expected"),
                v.get("approval_rate_among_meets")] for name, v in sets.items()]))
    for name, v in sets.items():
        labels = v["confusion"]["labels"]
        s.add(f"{name}: confusion (rows expected, columns decided)",
              Table(["expected \\ decided", *labels], [[g, *row] for g, row in zip(labels, v["confusion"]["matrix"])]))
    for name, v in result.get("independent_cases", {}).items():
        s.add(f"independent {name}: per documentation style",
              Table(["style", "pairs", "accuracy", "wrong approvals", "wrong denial drafts"],
                    [[tag, c["pairs"], c["accuracy"], c["wrong_approvals"], c["wrong_denials"]]
                     for tag, c in v["per_class"].items()]))
    return s


def build_sections(result: dict, paths: dict, gate: list[str] | None, thresholds: dict) -> list[Section]:
    """Every report section, in reading order."""
    c, j = result["citations"], result["judge"]
    cites = Section("Citation validity").add(
        f"{c['checked']} citations checked in every ask and determine response; validity {fmt(c['validity'])} "
        "(text verbatim equal to the corpus clause).")
    if c["invalid"]:
        cites.add(Table(["where", "clause", "problem"], [[i["where"], i["clause_id"], i["problem"]] for i in c["invalid"]]))
    judge = Section("LLM judge (RAGAS-style)").add(
        f"Faithfulness {fmt(j['faithfulness'])}, answer relevancy {fmt(j['answer_relevancy'])} over {j['answers']} answers "
        f"(judge {j['model']}, {j['judge_errors']} judge errors)." if j["computed"]
        else f"Faithfulness and answer relevancy: {j['reason']}.")
    lat = Section("Latency per stage").add(
        Table(["stage", "n", "median ms", "p95 ms", "max ms"],
              [[n, s["n"], s["median_ms"], s["p95_ms"], s["max_ms"]] for n, s in result["latency"].items()]),
        Image(paths["latency"], "latency per stage"))
    return [_summary(result, gate, thresholds), *_retrieval(result, paths), _answers(result), _verdicts(result),
            _determinations(result, paths), _case_sets(result), cites, judge, lat]
