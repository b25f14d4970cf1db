"""The realistic gold set, its scoring (pend precision, per-class), the NegEx check and the gate."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mrs_assist.config import Settings
from mrs_assist.evaluation.cases import REALISTIC_SPLITS, TRAP_CLASSES, pend_precision, per_class, realistic_headline
from mrs_assist.evaluation.data import load_cases
from mrs_assist.evaluation.gate import check_thresholds, load_thresholds
from mrs_assist.evaluation.negex import DEFAULT_FILE, PUBLISHED, Pair, load_pairs, predict, score

EVAL_DIR = Settings().eval_dir


@pytest.fixture(scope="module")
def splits():
    return {split: load_cases(EVAL_DIR, name) for split, name in REALISTIC_SPLITS.items()}


def test_realistic_set_is_big_real_sized_balanced_and_split(splits):
    dev, test = splits["dev"], splits["test"]
    assert len(dev) + len(test) >= 60
    assert len(test) * 3 >= len(dev + test) - 3, "about a third held out"
    assert not {c.id for c in dev} & {c.id for c in test}
    for case in dev + test:
        assert 500 <= len(case.notes) <= 6000, case.id
    for split in (dev, test):
        outcomes = [e.outcome for c in split for e in c.expected.values()]
        assert outcomes.count("needs_more_information") * 3 >= len(outcomes), "at least a third pend"
        tags = {t for c in split for t in c.tags}
        assert set(TRAP_CLASSES) <= tags, f"every trap class in every split: {set(TRAP_CLASSES) - tags}"


def _row(case, policy, gold, predicted, missing=()):
    return {"case": case, "policy": policy, "gold": gold, "predicted": predicted, "missing": list(missing),
            "correct": gold == predicted}


def test_pend_precision_counts_pends_asking_for_documented_facts():
    cases = {"a": SimpleNamespace(expected_facts={"known_brain_tumor": True, "epilepsy_presurgical": None}, tags=["trap-lists"]),
             "b": SimpleNamespace(expected_facts={}, tags=["trap-family"])}
    rows = [
        _row("a", "p", "needs_more_information", "needs_more_information", ["epilepsy_presurgical"]),  # really absent
        _row("a", "q", "meets_criteria", "needs_more_information", ["known_brain_tumor"]),  # the notes give it
        _row("b", "p", "does_not_meet_criteria", "does_not_meet_criteria"),
    ]
    assert pend_precision(rows, cases) == 0.5
    assert pend_precision(rows[2:], cases) is None
    classes = per_class(rows, cases)
    assert classes["trap-lists"]["pairs"] == 2 and classes["trap-lists"]["accuracy"] == 0.5
    assert classes["trap-family"]["accuracy"] == 1.0
    assert classes["trap-devices"]["accuracy"] is None


def test_realistic_headline_names():
    head = realistic_headline({"test": {"accuracy": 0.9, "needs_more_information_recall": 1.0, "pend_precision": 0.8}})
    assert head == {"realistic_test.accuracy": 0.9, "realistic_test.needs_more_information_recall": 1.0,
                    "realistic_test.pend_precision": 0.8, "realistic_test.wrong_approvals": None,
                    "realistic_test.wrong_denials": None}


def test_negex_file_is_kept_with_its_counts():
    pairs = load_pairs(EVAL_DIR / DEFAULT_FILE)
    assert len(pairs) == 2376 and sum(p.negated for p in pairs) == 491
    assert (EVAL_DIR / "negex" / "README.md").read_text(encoding="utf-8").count("chapmanbe/negex") >= 1
    assert PUBLISHED["recall"] == pytest.approx(0.959, abs=1e-3)


def test_negex_score_arithmetic():
    pairs = [Pair("1", "x", "no x", True), Pair("1", "y", "y", False), Pair("1", "z", "no z", True), Pair("1", "w", "w", False)]
    s = score(pairs, [True, True, False, False])
    assert (s["tp"], s["fp"], s["fn"], s["tn"]) == (1, 1, 1, 1)
    assert s["accuracy"] == 0.5 and s["precision"] == 0.5 and s["recall"] == 0.5


@pytest.mark.parametrize(
    ("sentence", "concept", "negated"),
    [
        ("No CHEST PAIN.", "chest pain", True),
        ("There is trace MITRAL REGURGITATION.", "mitral regurgitation", False),
        ('"Denies shortness of breath, stridor, or AIR HUNGER."', "air hunger", True),
        ("There was no evidence of POLYPS or mass.", "polyps", True),
        ("She has been extreme-ly NAUSEATED since then and has vomited several times.", "nauseated", False),
    ],
)
def test_our_context_on_negex_sentences(sentence, concept, negated):
    from mrs_assist.extract import default_catalogue
    from mrs_assist.extract.pipeline import get_detector

    detector = get_detector(default_catalogue())
    assert predict(detector, Pair("0", concept, sentence, negated), with_layout=True) is negated


def test_gate_holds_the_issue_bars():
    limits = load_thresholds(EVAL_DIR / "thresholds.yaml")
    assert limits["realistic_test.accuracy"].min >= 0.97
    assert limits["realistic_test.needs_more_information_recall"].min >= 0.95
    assert {"negex.accuracy", "negex.precision", "negex.recall"} <= set(limits)
    head = {"realistic_test.accuracy": 0.96, "realistic_test.needs_more_information_recall": 1.0}
    bars = {k: v for k, v in limits.items() if k.startswith("realistic_test") and "wrong_" not in k}
    failures = check_thresholds(head, bars)
    assert failures == ["FAIL realistic_test.accuracy = 0.96 < min 0.97"]
