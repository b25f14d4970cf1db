"""Issue 23: `eval` scores each answer's verdict claim against the expected verdict, per kind,
and loads the independent question sets when their files exist."""

from __future__ import annotations

from pathlib import Path

import pytest

from mrs_assist.errors import ConfigError
from mrs_assist.evaluation.data import INDEPENDENT_SPLITS, SPLITS, load_questions
from mrs_assist.evaluation.questions import summarise_verdicts, verdict_score


@pytest.mark.parametrize(
    ("expected", "claim", "right", "wrong"),
    [
        ("yes", "yes", True, False),
        ("yes", "no", False, True),
        ("yes", "quote", False, False),
        ("depends", "only_if", True, False),
        ("only_if", "depends", True, False),
        ("no", "depends", False, True),
        ("not_addressed", "not_addressed", True, False),
        ("not_addressed", "yes", False, True),
        (None, "yes", None, None),
    ],
)
def test_verdict_score(expected, claim, right, wrong):
    assert verdict_score(expected, claim) == {"verdict_right": right, "verdict_wrong": wrong}


def test_summarise_verdicts_counts_per_kind():
    def row(i, kind, right, wrong):
        return {"id": i, "kind": kind, "gold": ["x#1"], "ask": {"verdict_right": right, "verdict_wrong": wrong,
                                                                 "gold_in_first_six": right}}

    rows = [row("a", "coverage", True, False), row("b", "coverage", False, True), row("c", "coding", False, False),
            {"id": "d", "kind": "coding", "gold": [], "ask": {"verdict_right": None, "verdict_wrong": None}}]
    summary = summarise_verdicts(rows)
    assert (summary["questions"], summary["right"], summary["wrong"], summary["no_verdict"]) == (3, 1, 1, 1)
    assert summary["by_kind"]["coverage"]["accuracy"] == 0.5 and summary["by_kind"]["coding"]["wrong"] == 0
    assert summary["wrong_ids"] == ["b"]


def test_independent_splits_load_when_present(tmp_path: Path):
    for split in SPLITS:
        (tmp_path / f"questions-{split}.yaml").write_text("[]\n")
    assert load_questions(tmp_path, SPLITS + INDEPENDENT_SPLITS) == []
    (tmp_path / "questions-indep-dev.yaml").write_text(
        "- {id: x-1, kind: coverage, question: 'Does NIA cover MRS for stroke?', gold: [], keywords: [], expect: 'no',"
        " writer: a}\n"
    )
    (question,) = load_questions(tmp_path, SPLITS + INDEPENDENT_SPLITS)
    assert (question.split, question.expect, question.writer) == ("indep-dev", "no", "a")
    (tmp_path / "questions-indep-dev.yaml").write_text("- {id: x-1, kind: coverage, question: q, gold: [], keywords: [], expect: maybe}\n")
    with pytest.raises(ConfigError, match="x-1"):
        load_questions(tmp_path, ("indep-dev",))


def test_a_plain_not_addressed_answer_with_citations_is_not_a_decline():
    from mrs_assist.evaluation.questions import declined

    assert not declined("Not addressed — no indexed policy is Aetna's (indexed: …); the closest text follows.")
    assert declined("The guidelines in this corpus do not address this question. No clause was relevant enough to quote.")
