"""A pend asks what a nurse would send (issue 21 item 6): the questions of the case's likely
indication, grouped and worded by the catalogue, not every fact of every open branch."""

from __future__ import annotations

import re

import pytest

from conftest import REAL_CORPUS

from mrs_assist.config import Settings
from mrs_assist.criteria.asking import GENERAL, asked_fact_names
from mrs_assist.letters.context import build_context
from mrs_assist.letters.settings import load_fact_wording, load_letter_settings
from mrs_assist.letters.vocabulary import fixed_vocabulary
from mrs_assist.schemas import DeterminationRequest
from mrs_assist.service import Services
from mrs_assist.validate import LetterDraft, validate_letter_draft

LESION = "58-year-old with headaches. MRI brain shows a 1.5 cm left frontal lesion of unclear significance. MRS requested."
TUMOUR_PURPOSES = {"glioma_grading", "tumor_recurrence_vs_treatment_effect", "tumor_vs_nontumor_lesion",
                   "tumor_vs_other_neoplasm", "biopsy_guidance", "treatment_planning_or_response"}
CONGENITAL = {"metabolic_disorder", "mitochondrial_disorder", "leukodystrophy"}


@pytest.fixture(scope="module")
def services(tmp_path_factory) -> Services:
    return Services(Settings(data_dir=tmp_path_factory.mktemp("data")))


def _determine(services, policy_id, notes):
    return services.determine(
        DeterminationRequest(policy_id=policy_id, cpt_codes=["76390"], clinical_notes=notes, letter=True)
    )


# (policy, notes, asked exactly, never asked though missing, the first group's heading names)
CASES = {
    # the example: a frontal lesion → the tumour questions, not the congenital disorders
    "cohere_lesion": ("cohere-mrs", LESION, TUMOUR_PURPOSES, CONGENITAL, "a brain mass or mass-like lesion"),
    # HealthHelp needs a known tumour: the lesion points there (the catalogue ties a lesion to a
    # known tumour and a glioma), not at criterion 4 because its MRI is inconclusive
    "healthhelp_lesion": ("healthhelp-mrs", LESION, TUMOUR_PURPOSES | {"known_brain_tumor", "glioma"},
                          {"leukodystrophy", "therapy_planning_needed", "multiple_sclerosis", "epilepsy_presurgical"},
                          "a brain mass or mass-like lesion"),
    # HIE documented: ask whether the patient is a neonate, not every tumour and congenital question
    "cohere_hie": ("cohere-mrs", "Hypoxic-ischemic encephalopathy after cardiac arrest. MRI indeterminate. MRS requested.",
                   {"neonate"}, set(), "hypoxic-ischemic encephalopathy"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_pend_asks_the_likely_indications_questions_only(services, name):
    policy_id, notes, asked, never, heading = CASES[name]
    response = _determine(services, policy_id, notes)
    assert response.recommendation == "needs_more_information"
    missing = set(response.trace.missing_facts)
    assert asked < missing or asked == missing == {"neonate"}  # a real narrowing, from the checker's own list
    assert set(asked_fact_names(response)) == asked
    groups = response.trace.asked
    assert len(groups) == 1 and groups[0].likely and heading in groups[0].heading.lower()
    assert groups[0].clause_id and groups[0].clause_id.startswith(policy_id + "#indications")

    letter = response.letter
    assert re.findall(r'data-fact="(\w+)"', letter.html) == asked_fact_names(response)  # one item per asked fact
    questions = letter.markdown.split("## Information we need", 1)[1].split("Other documents requested", 1)[0]
    assert questions.count("\n1. ") == 1 and f"\n{len(asked)}. " in questions and f"\n{len(asked) + 1}. " not in questions
    for fact in never & missing:
        assert f'data-fact="{fact}"' not in letter.html
    if name.endswith("_lesion"):
        assert "leukodystroph" not in letter.markdown.lower()  # the complaint


def test_a_pend_quotes_only_the_criteria_it_asks_about(services):
    response = _determine(services, "cohere-mrs", LESION)
    assert "cohere-mrs#indications.2.c.1" in response.trace.deciding_clauses  # the checker's list is unchanged
    assert "[cohere-mrs#indications.2.c" not in response.letter.markdown
    assert "[cohere-mrs#indications.2.a.1]" in response.letter.markdown


def test_with_nothing_pointing_every_open_indication_is_asked_in_its_own_group(services):
    response = _determine(services, "cohere-mrs", "45 y/o F, new headaches. MRS brain requested.")
    groups = response.trace.asked
    assert [g.heading for g in groups][0] == GENERAL and groups[0].facts == ["conventional_imaging_inconclusive"]
    assert [g.likely for g in groups] == [False, False, False, False]
    # a 45-year-old may still have had HIE as a newborn (DESIGN: "neonatal HIE" names the diagnosis)
    assert groups[2].facts == ["neonatal_period_hie"]
    assert set(groups[3].facts) == CONGENITAL and groups[3].heading.startswith("If the request is about one of the following: ")
    assert asked_fact_names(response) == response.trace.missing_facts  # nothing dropped without a reason
    reason = response.letter.markdown.split("## Reason for this decision", 1)[1].split("## ", 1)[0]
    for long, short in (("magnetic resonance spectroscopy (MRS)", "MRS"), ("magnetic resonance imaging (MRI)", "MRI"),
                        ("computed tomography (CT)", "CT")):
        reason = reason.replace(long, short).replace(long[0].upper() + long[1:], short)  # first uses spelled out
    for group in groups[1:]:
        assert group.heading[:60] in reason  # the groups, in words, in the letter (glossary terms spelled out later)
    assert "Whatever the reason for the MRS, the guideline needs" in reason and "_" not in reason  # no internal fact names


def test_a_record_stored_without_groups_asks_every_missing_fact(services):
    response = _determine(services, "cohere-mrs", LESION)
    older = response.model_copy(update={"trace": response.trace.model_copy(update={"asked": []})})
    assert asked_fact_names(older) == response.trace.missing_facts


def _draft_of(services, response, request) -> LetterDraft:
    """The template letter's own sections as a draft, so the validator judges what is sent."""
    context = build_context(response, request, corpus=services.corpus, settings=load_letter_settings(),
                            wording=load_fact_wording(REAL_CORPUS / "facts.yaml"))
    return LetterDraft(
        outcome=response.recommendation,
        decision="We need more information before we can decide on this request.",
        reason=" ".join(context.reasons),
        quotes=[{"clause_id": c.clause_id, "quote": c.text} for c in context.clauses],
        information_requested=[{"fact": q.fact, "question": q.question} for q in context.questions],
        decision_timeframe="We decide standard requests within 7 calendar days of receiving them.",
        appeal_rights="If you disagree, you may appeal within 180 days of the date of this notice.",
        peer_to_peer="Your provider may ask for a peer-to-peer discussion with the physician reviewer.",
    )


@pytest.mark.parametrize("name", list(CASES))
def test_the_validator_passes_the_pend_and_refuses_one_that_drops_a_deciding_question(services, name):
    policy_id, notes, asked, _, _ = CASES[name]
    request = DeterminationRequest(policy_id=policy_id, cpt_codes=["76390"], clinical_notes=notes)
    response = services.determine(request)
    draft = _draft_of(services, response, request)

    def problems(d):
        return validate_letter_draft(
            d, determination=response, corpus=services.corpus, notes=notes, request=request,
            letter_settings=load_letter_settings(), vocabulary=fixed_vocabulary(REAL_CORPUS / "facts.yaml"),
        )

    assert problems(draft) == []
    dropped = draft.model_copy(update={"information_requested": draft.information_requested[1:]})
    assert [p.code for p in problems(dropped)] == ["missing_fact_not_addressed"]
