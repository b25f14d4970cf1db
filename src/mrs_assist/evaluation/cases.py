"""Gold cases → determination accuracy, missing information, criterion citations, letters.

Each case runs under every policy it lists, through ``Services.determine`` (the function
behind POST /v1/determinations). Ambiguous expectations (``outcome: null``) are listed
but left out of every score.

Criterion citations compare gold ``deciding`` with ``trace.deciding_clauses``:
recall over pairs whose gold is non-empty; precision over the same pairs (a pair whose
gold is ``[]`` is skipped: its deciding clause, e.g. a scope clause, is not in the gold
data). Cohere ``non-indications.3`` and ``.4`` count as one clause (eval/CASES.md,
judgement call 6: both texts cover MRI-unsafe devices). A second precision, "ancestors
ignored", drops predicted clauses that are parents of a gold clause (``indications.2``
above ``indications.2.a.2``): they are where the tree hangs, not a wrong citation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mrs_assist.evaluation.data import OUTCOMES, Case
from mrs_assist.evaluation.metrics import confusion_matrix, micro_precision_recall, rate
from mrs_assist.evaluation.timing import Stopwatch
from mrs_assist.schemas import DeterminationRequest

EQUIVALENT_CLAUSES = {"cohere-mrs#non-indications.4": "cohere-mrs#non-indications.3"}
"""Clause ids scored as the one they map to (eval/CASES.md, judgement call 6)."""


def canonical(ids: list[str]) -> set[str]:
    """Clause ids with equivalent ones merged."""
    return {EQUIVALENT_CLAUSES.get(i, i) for i in ids}


def without_ancestors(predicted: set[str], gold: set[str]) -> set[str]:
    """Predicted ids minus those that are strict ancestors of a gold id."""
    return {p for p in predicted if not any(g.startswith(p + ".") for g in gold)}


@dataclass
class CaseContext:
    """What the case pass needs, built once per run."""

    services: Any
    stopwatch: Stopwatch
    on_citation: Callable[[str, Any], None] | None = None
    letters: str = "unknown"
    """'unknown' until probed, then 'available' or the reason they are not."""
    letter_results: list[dict] = field(default_factory=list)


def _request(case: Case, policy_id: str, *, letter: bool = False) -> DeterminationRequest:
    return DeterminationRequest(
        policy_id=policy_id, cpt_codes=case.cpt_codes, clinical_notes=case.notes,
        patient={"age_years": case.age_years}, facts=case.facts, letter=letter,
    )


def _time_stages(ctx: CaseContext, case: Case) -> None:
    """Time extraction once per case and the checker once per policy, as determine runs them."""
    from mrs_assist.criteria import evaluate, resolve_facts
    from mrs_assist.extract import extract_facts

    services = ctx.services
    with ctx.stopwatch.time("extract"):
        extracted = extract_facts(case.notes, age_years=case.age_years, catalogue=services.catalogue, mrs_requested=True)
    facts = resolve_facts(extracted, case.facts, services.catalogue)
    for policy_id in case.expected:
        policy = services.policy(policy_id)
        with ctx.stopwatch.time("check"):
            evaluate(policy, facts, case.cpt_codes, catalogue=services.catalogue)


def _letter(ctx: CaseContext, case: Case, policy_id: str) -> dict | None:
    """Draft the letter once more with letter=True; None when letters are not available."""
    if ctx.letters not in ("unknown", "available"):
        return None
    try:
        with ctx.stopwatch.time("letter"):
            response = ctx.services.determine(_request(case, policy_id, letter=True))
    except NotImplementedError:
        ctx.letters = "letters not available"
        return None
    except Exception as exc:  # noqa: BLE001 - a letter that crashes fails validation
        if ctx.letters == "unknown":
            ctx.letters = "available"
        return {"passed": False, "problems": [f"error: {type(exc).__name__}: {exc}"[:300]]}
    letter = response.letter
    if letter is None and _held_by_screening(response):
        return {"passed": None, "held": "note screening held the outcome: no letter is drafted by design"}
    if letter is None:
        if ctx.letters == "unknown":
            ctx.letters = "letters not available (no letter in the response)"
            return None
        return {"passed": False, "problems": ["no letter"]}
    ctx.letters = "available"
    problems = [p.message for p in letter.problems]
    return {"passed": not problems, "problems": problems}


def _held_by_screening(response) -> bool:
    """A note the screening escalated pends for a person, who writes what to ask: no draft."""
    from mrs_assist.screening import SCREENING_FLAG_PREFIX

    held = response.recommendation == "needs_more_information"
    return held and any(flag.startswith(SCREENING_FLAG_PREFIX) for flag in response.safety_flags)


def evaluate_case(ctx: CaseContext, case: Case) -> list[dict]:
    """One row per (case, policy): expected vs returned outcome, clauses, missing facts."""
    _time_stages(ctx, case)
    rows = []
    for policy_id, exp in case.expected.items():
        row: dict = {"case": case.id, "title": case.title, "policy": policy_id, "gold": exp.outcome,
                     "gold_deciding": list(exp.deciding), "gold_missing": list(exp.missing)}
        try:
            with ctx.stopwatch.time("determine"):
                response = ctx.services.determine(_request(case, policy_id))
        except Exception as exc:  # noqa: BLE001 - a crash is a failure to report, not to stop on
            row.update(predicted=None, error=f"{type(exc).__name__}: {exc}"[:300], correct=False,
                       deciding=[], missing=[], fact_mismatches=[])
            rows.append(row)
            continue
        for c in response.citations:
            if ctx.on_citation:
                ctx.on_citation(f"determine {case.id}/{policy_id}", c)
        got = {f.name: f.value for f in response.facts}
        row.update(
            predicted=response.recommendation,
            correct=exp.outcome is not None and response.recommendation == exp.outcome,
            deciding=list(response.trace.deciding_clauses),
            missing=list(response.trace.missing_facts),
            fact_mismatches=[
                {"fact": name, "expected": value, "got": got.get(name)}
                for name, value in case.expected_facts.items() if got.get(name) is not value
            ],
            expected_facts=len(case.expected_facts),
        )
        letter = _letter(ctx, case, policy_id)
        if letter is not None:
            row["letter"] = letter
        rows.append(row)
    return rows


def summarise_cases(rows: list[dict], letters: str) -> dict:
    """Accuracy (overall, per policy), confusion matrices, missing-info and citation P/R."""
    scored = [r for r in rows if r["gold"] is not None]
    labels = list(OUTCOMES) + ["error"]
    pairs = [(r["gold"], r["predicted"] or "error") for r in scored]
    per_policy = {}
    for pid in dict.fromkeys(r["policy"] for r in rows):
        mine = [r for r in scored if r["policy"] == pid]
        per_policy[pid] = {
            "accuracy": rate(r["correct"] for r in mine), "cases": len(mine),
            "confusion": confusion_matrix([(r["gold"], r["predicted"] or "error") for r in mine], labels),
        }
    nmi = [r for r in scored if r["gold"] == "needs_more_information"]
    missing = micro_precision_recall((r["gold_missing"], r["missing"]) for r in scored)
    decided = [r for r in scored if r["gold_deciding"]]
    cites = micro_precision_recall((canonical(r["gold_deciding"]), canonical(r["deciding"])) for r in decided)
    lenient = micro_precision_recall(
        (canonical(r["gold_deciding"]), without_ancestors(canonical(r["deciding"]), canonical(r["gold_deciding"])))
        for r in decided
    )
    facts_total = sum(r.get("expected_facts", 0) for r in scored if r["predicted"])
    harm = harms(scored)
    facts_wrong = sum(len(r["fact_mismatches"]) for r in scored if r["predicted"])
    letter_rows = [r["letter"] for r in rows if "letter" in r and r["letter"]["passed"] is not None]
    held = sum(1 for r in rows if "letter" in r and r["letter"]["passed"] is None)
    return {
        "pairs": len(rows), "scored": len(scored), "ambiguous_skipped": len(rows) - len(scored),
        "errors": sum(1 for r in rows if r["predicted"] is None),
        "accuracy": rate(r["correct"] for r in scored),
        "per_policy": per_policy,
        "confusion": {"labels": labels, "matrix": confusion_matrix(pairs, labels)},
        "needs_more_information_recall": rate(r["predicted"] == "needs_more_information" for r in nmi),
        "missing_information": missing.as_dict(),
        "criterion_citations": {**cites.as_dict(), "precision_ancestors_ignored": lenient.precision,
                                "pairs": len(decided)},
        "fact_accuracy": (facts_total - facts_wrong) / facts_total if facts_total else None,
        **harm,
        "letters": {
            "computed": letters == "available",
            "reason": None if letters == "available" else f"not computed ({letters})",
            "pass_rate": rate(r["passed"] for r in letter_rows) if letters == "available" else None,
            "letters": len(letter_rows),
            "held_by_screening": held,
        },
        "failures": [r for r in scored if not r["correct"]],
        "ambiguous": [r for r in rows if r["gold"] is None],
    }


def harms(rows: list[dict]) -> dict:
    """The two harms, counted apart from accuracy, and what the safety rule costs.

    ``wrong_approvals``: approved where the expected outcome is not ``meets_criteria``.
    ``wrong_denials``: a denial draft where the expected outcome is ``meets_criteria``.
    ``denials_where_pend_expected``: a denial draft where the writer expected a pend (not a harm
    by the issue's definition, but a physician's time spent on a case the notes do not decide).
    ``approval_rate_among_meets``: the share of truly-meeting pairs approved (the rest pend or err:
    the cost of the safety rule to reviewers).
    """
    meets = [r for r in rows if r["gold"] == "meets_criteria"]
    return {
        "wrong_approvals": sum(1 for r in rows if r["predicted"] == "meets_criteria" and r["gold"] != "meets_criteria"),
        "wrong_denials": sum(1 for r in meets if r["predicted"] == "does_not_meet_criteria"),
        "denials_where_pend_expected": sum(
            1 for r in rows if r["predicted"] == "does_not_meet_criteria" and r["gold"] == "needs_more_information"
        ),
        "approval_rate_among_meets": rate(r["predicted"] == "meets_criteria" for r in meets),
    }


def per_tag(rows: list[dict], cases: dict[str, Any]) -> dict[str, dict]:
    """Accuracy and harms over the (case, policy) pairs of each tag the cases carry (styles)."""
    tags = sorted({t for c in cases.values() for t in c.tags})
    out = {}
    for tag in tags:
        mine = [r for r in rows if r["gold"] is not None and tag in cases[r["case"]].tags]
        h = harms(mine)
        out[tag] = {"pairs": len(mine), "accuracy": rate(r["correct"] for r in mine),
                    "wrong_approvals": h["wrong_approvals"], "wrong_denials": h["wrong_denials"]}
    return out


# --- the independent set (eval/independent/README.md) --------------------------------------
INDEPENDENT_CASE_SPLITS = {
    "dev": "independent/dev", "dev2": "independent/dev2", "dev3": "independent/dev3", "dev4": "independent/dev4",
    "dev5": "independent/dev5", "dev6": "independent/dev6", "dev7": "independent/dev7",
    "dev8": "independent/dev8", "dev9": "independent/dev9", "dev10": "independent/dev10",
    "dev11": "independent/dev11", "dev12": "independent/dev12",
    "test": "independent/test",
}
"""Split name → folder under eval/ of writers' files. Written by people who never saw the rules:
dev (writers A, B), dev2 (writers C, D: the first test split, scored once in session 4), dev3
(writers E, F: session 5's test split), dev4 (writers G, H: session 6's), dev5 (writers I, J:
session 7's), dev6 (writers K, L: session 8's), dev7 (writers M, N: session 9's), dev8
(writers O, P: session 10's), dev9 (writers Q, R: session 11's), dev10 (writers S, T: session
12's) and dev11 (writers U, V: session 13's test split, each scored once then) and dev12 (writers
DY, DZ: written in session 14 as development data, never held out) are development data; test (writers W, X, written in session 14 with the errata in their brief) is scored once,
at the end, and never tuned on."""


def evaluate_independent(services: Any, eval_dir: Any, split: str, stopwatch: Stopwatch | None = None) -> dict:
    """One independent split through ``Services.determine``: accuracy, pend recall, the harms,
    per-style figures, the confusion matrix and failing rows; raises ConfigError when invalid."""
    from mrs_assist.evaluation.data import load_writer_cases

    cases = {c.id: c for c in load_writer_cases(eval_dir / INDEPENDENT_CASE_SPLITS[split])}
    return _score_set(services, cases, split, stopwatch, per_tag)


def independent_headline(independent: dict[str, dict]) -> dict[str, float | None]:
    """Headline metrics of the independent splits: ``independent_<split>.accuracy`` and friends."""
    out: dict[str, float | None] = {}
    for split, r in independent.items():
        for key in ("accuracy", "needs_more_information_recall", "wrong_approvals", "wrong_denials"):
            out[f"independent_{split}.{key}"] = r[key]
    return out


def _score_set(services: Any, cases: dict[str, Any], split: str, stopwatch: Stopwatch | None, by_tag) -> dict:
    ctx = CaseContext(services, stopwatch or Stopwatch(), letters="not drafted for this case set")
    rows = [row for case in cases.values() for row in evaluate_case(ctx, case)]
    summary = summarise_cases(rows, ctx.letters)
    return {
        "split": split, "cases": len(cases), "pairs": summary["scored"],
        "accuracy": summary["accuracy"],
        "needs_more_information_recall": summary["needs_more_information_recall"],
        "wrong_approvals": summary["wrong_approvals"], "wrong_denials": summary["wrong_denials"],
        "denials_where_pend_expected": summary["denials_where_pend_expected"],
        "approval_rate_among_meets": summary["approval_rate_among_meets"],
        # Pend precision needs the gold facts; writers' cases carry outcomes only.
        "pend_precision": pend_precision(rows, cases) if any(c.expected_facts for c in cases.values()) else None,
        "per_class": by_tag(rows, cases),
        "confusion": summary["confusion"],
        "failures": summary["failures"],
    }


# --- the realistic gold set (eval/realistic/README.md) -------------------------------------
REALISTIC_SPLITS = {"dev": "cases_realistic_dev.yaml", "test": "cases_realistic_test.yaml"}
"""Split name → file under eval/. The test split is scored by the gate, never tuned on."""

TRAP_CLASSES = {
    "trap-lists": "negation inside lists and screening lines",
    "trap-devices": "device qualifiers (MR Conditional, brand/model)",
    "trap-family": "family history",
    "trap-history": "copied-forward and resolved history",
    "trap-denial": "denial and non-assertion (ruled out, checkboxes, Q/A, someone else)",
    "trap-abbrev": "abbreviation collisions",
    "trap-purpose": "purpose logic (qualifier unknown, closing)",
    "trap-overpend": "over-pending (regions, non-covered reasons, paraphrases)",
}
"""Case tag → the class of extraction failure it exercises (issue 12)."""


def pend_precision(rows: list[dict], cases: dict[str, Any]) -> float | None:
    """Share of predicted pends whose listed missing facts were all really absent from the notes.

    A listed fact was absent when the case's gold facts give it no value (not listed, or
    null: stated without the qualifier the policy needs). A pend asking for a fact the
    notes already decide costs the provider a needless round trip.
    """
    pends = [r for r in rows if r["predicted"] == "needs_more_information"]
    if not pends:
        return None
    def absent(row: dict) -> bool:
        gold = cases[row["case"]].expected_facts
        return all(gold.get(fact) is None for fact in row["missing"])
    return rate(absent(r) for r in pends)


def per_class(rows: list[dict], cases: dict[str, Any]) -> dict[str, dict]:
    """Accuracy over the (case, policy) pairs of each trap class."""
    out = {}
    for tag, label in TRAP_CLASSES.items():
        mine = [r for r in rows if r["gold"] is not None and tag in cases[r["case"]].tags]
        out[tag] = {"label": label, "pairs": len(mine), "accuracy": rate(r["correct"] for r in mine)}
    return out


def evaluate_realistic(services: Any, eval_dir: Any, split: str, stopwatch: Stopwatch | None = None) -> dict:
    """One realistic split through ``Services.determine``: accuracy, pend recall and
    precision, per-class accuracy and the failing rows; raises ConfigError when the file
    is missing or invalid."""
    from mrs_assist.evaluation.data import load_cases

    cases = {c.id: c for c in load_cases(eval_dir, REALISTIC_SPLITS[split])}
    return _score_set(services, cases, split, stopwatch, per_class)


def realistic_headline(realistic: dict[str, dict]) -> dict[str, float | None]:
    """Headline metrics of the realistic splits: ``realistic_<split>.accuracy`` and friends."""
    out: dict[str, float | None] = {}
    for split, r in realistic.items():
        out[f"realistic_{split}.accuracy"] = r["accuracy"]
        out[f"realistic_{split}.needs_more_information_recall"] = r["needs_more_information_recall"]
        out[f"realistic_{split}.pend_precision"] = r["pend_precision"]
        out[f"realistic_{split}.wrong_approvals"] = r.get("wrong_approvals")
        out[f"realistic_{split}.wrong_denials"] = r.get("wrong_denials")
    return out
