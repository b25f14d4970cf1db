"""The independent case sets (eval/independent/README.md) and the harm counts beside accuracy."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from mrs_assist.errors import ConfigError
from mrs_assist.evaluation.cases import INDEPENDENT_CASE_SPLITS as INDEPENDENT_SPLITS, harms, independent_headline
from mrs_assist.evaluation.data import load_writer_cases

EVAL = Path(__file__).resolve().parents[2] / "eval"
POLICIES = {"healthhelp-mrs", "cohere-mrs", "nia-brain-mrs", "floridablue-mrs"}


def _row(gold: str, predicted: str) -> dict:
    return {"gold": gold, "predicted": predicted}


def test_harms_are_counted_apart_from_accuracy():
    rows = [
        _row("meets_criteria", "meets_criteria"),
        _row("needs_more_information", "meets_criteria"),  # wrong approval
        _row("does_not_meet_criteria", "meets_criteria"),  # wrong approval
        _row("meets_criteria", "does_not_meet_criteria"),  # wrong denial draft
        _row("meets_criteria", "needs_more_information"),  # a cost, not a harm
        _row("needs_more_information", "does_not_meet_criteria"),
    ]
    h = harms(rows)
    assert (h["wrong_approvals"], h["wrong_denials"], h["denials_where_pend_expected"]) == (2, 1, 1)
    assert h["approval_rate_among_meets"] == pytest.approx(1 / 3)
    head = independent_headline({"test": {"accuracy": 0.5, "needs_more_information_recall": 1.0, **h}})
    assert head["independent_test.wrong_approvals"] == 2 and head["independent_test.wrong_denials"] == 1


@pytest.mark.parametrize("split, at_least", [("dev", 100), ("dev2", 80), ("dev3", 80), ("dev4", 80), ("dev5", 80), ("dev6", 80), ("dev7", 80), ("dev8", 80), ("dev9", 80), ("dev10", 80), ("dev11", 80), ("dev12", 80), ("test", 80)])
def test_the_independent_splits_are_written_across_styles_and_policies(split, at_least):
    cases = load_writer_cases(EVAL / INDEPENDENT_SPLITS[split])
    assert len(cases) >= at_least
    styles = Counter(tag for c in cases for tag in c.tags)
    assert len(styles) >= 10 and min(styles.values()) >= 3
    assert all(set(c.expected) == POLICIES for c in cases)
    outcomes = Counter(e.outcome for c in cases for e in c.expected.values())
    assert min(outcomes.values()) >= len(cases) // 4  # no outcome starved


def test_the_splits_share_no_case_and_no_writer():
    """Each split's writers wrote no other split (the id's prefix names the writer)."""
    ids = {split: {c.id for c in load_writer_cases(EVAL / folder)} for split, folder in INDEPENDENT_SPLITS.items()}
    writers = {split: {i.split("-")[0] for i in found} for split, found in ids.items()}
    assert writers["dev"] == {"DA", "DB"} and writers["dev2"] == {"TC", "TD"} and writers["dev3"] == {"E", "F"}
    assert writers["dev4"] == {"TG", "TH"} and writers["dev5"] == {"TI", "TJ"}
    assert writers["dev6"] == {"TK", "TL"} and writers["dev7"] == {"TM", "TN"}
    assert writers["dev8"] == {"TO", "TP"} and writers["dev9"] == {"TQ", "TR"}
    assert writers["dev10"] == {"TS", "TT"} and writers["dev11"] == {"TU", "TV"}
    assert writers["dev12"] == {"DY", "DZ"} and writers["test"] == {"TW", "TX"}
    splits = list(ids)
    for i, a in enumerate(splits):
        for b in splits[i + 1:]:
            assert not ids[a] & ids[b] and writers[a].isdisjoint(writers[b])


def test_writer_files_are_parsed_strictly(tmp_path):
    (tmp_path / "a.yaml").write_text(
        "- id: X-1\n  styles: [clean]\n  cpt_codes: ['76390']\n  notes: n\n"
        "  expected: {cohere-mrs: {outcome: meets_criteria, reasoning: r}}\n"
        "- id: X-1\n  styles: [clean]\n  cpt_codes: ['76390']\n  notes: n\n"
        "  expected: {cohere-mrs: {outcome: meets_criteria, reasoning: r}}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="repeated case ids X-1"):
        load_writer_cases(tmp_path)
    (tmp_path / "a.yaml").write_text("- id: X-2\n  styles: []\n  cpt_codes: []\n  notes: n\n  expected: {}\n",
                                     encoding="utf-8")
    with pytest.raises(ConfigError, match="X-2 is invalid"):
        load_writer_cases(tmp_path)
    with pytest.raises(ConfigError, match="no case files"):
        load_writer_cases(tmp_path / "missing")


def test_the_report_shows_harms_for_every_case_set():
    from mrs_assist.evaluation.report import _case_sets
    from mrs_assist.evaluation.render import to_markdown

    labels = ["meets_criteria", "does_not_meet_criteria", "needs_more_information", "error"]
    matrix = [[3, 1, 0, 0], [2, 5, 0, 0], [1, 0, 4, 0], [0, 0, 0, 0]]
    one = {"scored": 16, "accuracy": 0.75, "needs_more_information_recall": 0.8, "wrong_approvals": 3,
           "wrong_denials": 1, "denials_where_pend_expected": 0, "approval_rate_among_meets": 0.75,
           "confusion": {"labels": labels, "matrix": matrix},
           "per_class": {"ocr-fax": {"pairs": 4, "accuracy": 0.5, "wrong_approvals": 1, "wrong_denials": 0}}}
    text = to_markdown("t", [_case_sets({"determination": one, "realistic": {"dev": one}, "independent_cases": {"test": one}})])
    assert "independent test" in text and "ocr-fax" in text and "wrong denial drafts" in text
