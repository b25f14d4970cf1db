"""Guards against a wrong verdict where the question's shape is misread (issue 23): a
requirement question whose required thing names no condition fact ("is a prior biopsy
required for MRS of a known tumor?") is no requirement about the tumor; an exclusion question
that words a listed item the note reader did not read gets no "none applies"."""

from __future__ import annotations

import pytest
from support.no_index import NoIndex

from mrs_assist.answer import exclusion, requirement
from mrs_assist.config import Settings
from mrs_assist.schemas import AskRequest
from mrs_assist.service import Services


@pytest.mark.parametrize(
    ("question", "phrase"),
    [
        ("Is a prior biopsy required by HealthHelp for MRS of a known brain tumor?", "a prior biopsy"),
        ("Does Cohere require new symptoms for every repeat MRS?", "new symptoms"),
        ("Does HealthHelp require a non-diagnostic MRI for every indication?", "a non-diagnostic MRI"),
        ("Must the MRI be inconclusive?", None),
    ],
)
def test_the_required_phrase_is_what_the_question_says_is_required(question, phrase):
    assert requirement.required_phrase(question) == phrase


def test_a_question_wording_a_listed_item_is_not_told_none_applies():
    item = exclusion.ListedItem("recent_imaging", "recent imaging", ("c#non-indications.1",), text=(
        "The patient has undergone advanced imaging of the same body part within 3 months without undergoing "
        "treatment or developing new or worsening symptoms; OR"))
    lists = [exclusion.PolicyLists("c", "C", exclusions=[item], head="c#non-indications")]
    worded = "Is advanced imaging of the same body part within 3 months without new symptoms a non-indication?"
    assert exclusion.from_exclusion(worded, {}, lists, named=True) is None
    other = "Is a tattoo a non-indication?"
    assert exclusion.from_exclusion(other, {}, lists, named=True).claim == "no"


@pytest.fixture(scope="module")
def services() -> Services:
    return Services(Settings(), retriever=NoIndex())


def test_a_tumor_the_question_names_for_the_study_is_not_the_requirement_asked(services):
    asked = services.asker.plan(AskRequest(question="Is a prior biopsy required by HealthHelp for MRS of a known brain tumor?"))
    assert asked.required is None
    kept = services.asker.plan(AskRequest(question="Does HealthHelp require a known brain tumor for MRS biopsy localization?"))
    assert kept.required is not None and "known_brain_tumor" in kept.required.facts
