"""Question classes found on indep-dev8 (issue 23, session 11), each tested in words of its own:
a purpose the question asks to be required is not a purpose it states; an either-or setting
question asks whether the unrestricted setting is allowed too; a safety flag's row is no second
answer to "would they deny it?", and "auto denial" / "hard stop" ask for a bar (of each payer,
when "both" are named); "still have" / "still active" ask about struck or deleted language; a
study's result and the part imaged describe it ("an equivocal head CT") when asking what it
counts as; a premise before ", so" is granted, not asked; a literature document asked for
criteria of its own says no; a bare stated age ("pt is 22") and "does the band extend to him?"
(it depends) against "can the band stretch?" (yes)."""

from __future__ import annotations

import pytest
from support.no_index import NoIndex

from mrs_assist.answer import coding, definition, exclusion, history, polarity, said, setting, terms
from mrs_assist.answer import verdict as verdicts
from mrs_assist.config import Settings
from mrs_assist.schemas import AskRequest
from mrs_assist.service import Services


@pytest.fixture(scope="module")
def services() -> Services:
    return Services(Settings(), retriever=NoIndex())


def _ask(services, question):
    return services.asker.ask(AskRequest(question=question))


# --- a purpose asked as the requirement -------------------------------------------------------
_PROGNOSIS = verdicts.MatrixCell(
    policy_id="p", payer="P", indication="prognosis evaluation of encephalopathy", status="covered",
    conditions=[], clause_ids=["p#indications.3"])


@pytest.mark.parametrize(
    ("question", "status"),
    [
        ("Is MRS for encephalopathy limited to prognosis, or can it be used to diagnose it?", "covered_if"),
        ("Must the MRS for hepatic encephalopathy be for prognosis?", "covered_if"),
        ("Does the encephalopathy study need to be for prognosis, or is a diagnostic one fine?", "covered_if"),
        ("Is MRS covered for encephalopathy when the team wants it for prognosis?", "covered"),
        # the one purpose it is covered for, denied: ruled out (it was "covered_if" before session 13)
        ("Is MRS covered for encephalopathy without any prognosis question?", "purpose_denied"),
    ],
)
def test_a_purpose_asked_as_the_requirement_is_not_a_stated_purpose(question, status):
    assert verdicts.limit_purpose(_PROGNOSIS, question).status == status


# --- either-or settings ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "asked"),
    [
        ("Can 76390 be performed inpatient, or is it outpatient only?", "both"),
        ("Is MRS allowed for inpatients or just for outpatients under Cohere?", "both"),
        ("Is MRS approvable only as an outpatient, or inpatient too?", "both"),
        ("Is MRS restricted to outpatient under Cohere?", "outpatient"),
        ("Does Cohere limit MRS to inpatient or outpatient settings?", "inpatient"),  # one restriction governs both
    ],
)
def test_a_restriction_on_the_second_alternative_asks_whether_the_first_is_allowed(question, asked):
    assert setting.setting_asked(question) == asked


def test_inpatient_or_outpatient_only_is_yes_where_both_are_named(services):
    verdict = _ask(services, "Under Cohere, may the spectroscopy be done inpatient, or outpatient only?").verdict
    assert verdict.claim == "yes" and verdict.checked
    assert verdict.claims[0].clause_ids == ["cohere-mrs#level-of-care"]


# --- denial asked beside a safety flag; bars in shorthand; "both" payers ---------------------------
def test_a_flag_row_is_no_second_answer_to_a_denial_question():
    verdict = verdicts.from_checker([verdicts.PolicyCase(
        policy_id="p", payer="P", outcome="meets_criteria", deciding=[("a known tumor", "p#indications.1")],
        missing=[], flags=[("a recent stent", "p#contraindications.1")])])
    asked = polarity.as_asked(verdict, "denied", investigational=False)
    assert asked.claim == "no"
    assert asked.claims[0].text.startswith("No — ") and asked.claims[1].text.startswith(verdicts.FLAG_LEAD)
    assert "- No — " in asked.text and asked.text.startswith("For the case as the question states it:")


def test_would_they_deny_a_case_that_meets_with_a_flag_is_no(services):
    question = ("HealthHelp: biopsy-proven glioblastoma, MRS to plan treatment. A coronary stent was placed ten days ago. "
                "Would HealthHelp deny it?")
    verdict = _ask(services, question).verdict
    assert verdict.claim == "no" and verdict.checked
    assert any(c.text.startswith(verdicts.FLAG_LEAD) for c in verdict.claims)


@pytest.mark.parametrize(
    "question",
    ["Metal fragment near the eye - auto-deny?", "is that an auto denial under Cohere?",
     "Is a cochlear implant a hard stop for HealthHelp?",
     "Would the three-month imaging rule still bar coverage after a seizure last week?"],
)
def test_shorthand_bars_ask_an_exclusion_question(question):
    assert exclusion.EXCLUDE.search(question)


def _lists(payer, *, excluded):
    item = exclusion.ListedItem("aneurysm_clip", "aneurysm clips", (f"{payer.lower()}#x.1",), contraindication=not excluded)
    return exclusion.PolicyLists(policy_id=payer.lower(), payer=payer,
                                 exclusions=[item] if excluded else [], safety=[] if excluded else [item])


@pytest.mark.parametrize(("every", "claim"), [(True, "no"), (False, "depends")])
def test_a_bar_asked_of_both_payers_is_no_when_one_only_flags_it(every, claim):
    verdict = exclusion.from_exclusion("Is it a hard stop under both A and B?", {"aneurysm_clip": True},
                                       [_lists("A", excluded=True), _lists("B", excluded=False)], named=True, every=every)
    assert verdict.claim == claim
    if every:
        assert verdict.text.startswith("No — not under every payer asked: B")


def test_a_bar_both_payers_lack_keeps_the_plain_no():
    verdict = exclusion.from_exclusion("Is it a hard stop under both A and B?", {"aneurysm_clip": True},
                                       [_lists("A", excluded=False), _lists("B", excluded=False)], named=True, every=True)
    assert verdict.claim == "no" and verdict.text.startswith("Whether it excludes MRS")


# --- "still" in other words -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "asked"),
    [
        ("Does NIA still have a therapeutic follow-up (response to therapy) indication?", "a therapeutic follow-up indication"),
        ("Does NIA still carry the cystic lesions language?", "the cystic lesions language"),
        ("Is the former cystic lesion indication still part of NIA's guideline?", "the cystic lesion indication"),
        ("The patient still has seizures; does HealthHelp cover MRS?", ""),
        ("Is Florida Blue's experimental statement still in the guideline?", "experimental statement"),
    ],
)
def test_still_in_other_verbs(question, asked):
    assert " ".join(history.still_asked(question).split()) == asked


# --- counts as, with the study described ------------------------------------------------------
@pytest.mark.parametrize(
    "question",
    ["Would an equivocal head CT count as the 'conventional imaging' or must there be an MRI?",
     "Does an inconclusive sinus CT meet the 'conventional imaging' criterion?",
     "Can a non-contrast CT of the brain serve as conventional imaging for Cohere?"],
)
def test_a_described_study_counts_as_by_its_modality(question):
    asked = terms.counts_as(question)
    assert asked == (["CT"], ["conventional", "imaging"])
    assert terms.names_both("Conventional imaging by magnetic resonance imaging (MRI) or computed tomography (CT) "
                            "is inconclusive", *asked)


def test_two_modalities_are_both_the_term():
    assert terms.counts_as("Does a CT angiogram count as conventional imaging?")[0] == ["CT", "angiogram"]


# --- a premise before ", so" ----------------------------------------------------------------
def test_a_premise_before_so_is_granted_not_asked(services):
    question = ("HealthHelp: 9-year-old girl, unsteady gait for 4 months, brain MRI normal, no diagnosis. MRS ordered "
                "for the ataxia. HealthHelp's change summary lists an 'Ataxia in a child' indication as added, "
                "so she qualifies, correct?")
    plan = services.asker.plan(AskRequest(question=question))
    assert not plan.intents & {"history", "date", "version"}
    verdict = _ask(services, question).verdict
    assert verdict.claim == "no" and verdict.basis == "checker" and verdict.checked


@pytest.mark.parametrize(
    ("question", "predicate"),
    [
        ("Florida Blue calls it investigational, so the request would be denied, right?", "denied"),
        ("Given that Florida Blue calls it investigational, would they deny it?", "denied"),
        ("Would Florida Blue deny it, given that it calls it investigational?", "denied"),
        ("Florida Blue denies it, so is it investigational?", "investigational"),
    ],
)
def test_a_premise_is_no_part_of_the_predicate_asked(question, predicate):
    assert polarity.asked_predicate(question) == predicate


# --- a literature document asked for criteria -------------------------------------------------
@pytest.mark.parametrize(
    ("question", "asked"),
    [
        ("Does the digest provide any coverage criteria for spinal cord MRS?", True),
        ("Is the Magellan digest something I can use as approval criteria?", True),
        ("Does the digest lay out rules for disc MRS?", True),
        ("It says cord MRS was reviewed, so may I authorize a cord study using it?", True),
        ("Can I use the article as my criteria for disc MRS?", True),
        ("Does the digest say discogenic MRS is ready for routine use?", False),
    ],
)
def test_criteria_asked_of_a_document(question, asked):
    assert said.basis_asked(question) is asked


# --- a bare age; does the band extend, or can it ----------------------------------------------
@pytest.mark.parametrize(
    ("question", "age"),
    [
        ("HH member is 22 with special healthcare needs; does the pediatric definition apply to her?", 22.0),
        ("HH: patient is 19 — does the adolescent age range include her?", 19.0),
        ("HH: the lesion is 23 mm - does the pediatric age range apply?", None),
        ("HH: 28 y/o with special health care needs -- could HH treat her as a child?", 28.0),
    ],
)
def test_a_bare_age_said_of_the_patient(question, age):
    found = definition.age_asked(question)
    assert (found[0] if found else None) == age


# --- each class through the whole ask, in words of its own ---------------------------------------
@pytest.mark.parametrize(
    ("question", "claim"),
    [
        # a purpose asked as the requirement
        ("HealthHelp: does seizure MRS need to be for pre-surgical planning, or is a routine seizure workup fine?", "only_if"),
        ("Under HealthHelp, is MRS for encephalopathy limited to prognosis, or can it be used to diagnose it?", "only_if"),
        ("Does HealthHelp cover MRS for pre-surgical epilepsy evaluation?", "yes"),
        # a bar in shorthand, and of both payers named
        ("HH: known glioma, MRS to assess treatment response. Vascular stent placed 2 wks ago. Auto denial?", "no"),
        ("Are aneurysm clips a hard stop under both Cohere and HealthHelp?", "no"),
        # a requirement asked over a numbered criterion: its words name no indication of their own
        ("HealthHelp criterion 4 -- is therapy planning required on top of the non-diagnostic MRI?", "yes"),
        ("Does HealthHelp require therapy planning for MRS for a known brain tumor?", "no"),
        # a denial asked of a purpose, not an item of a list: the criteria answer (not "NIA lists no exclusions")
        ("Would NIA auto-deny MRS for glioma grading?", "yes"),
        ("Is Alzheimer's an automatic denial under Florida Blue?", "yes"),
        ("Is MS an outright denial under HealthHelp?", "no"),
        ("Is MS a non-indication under Cohere?", "no"),  # a word for the policy's own lists still asks the lists
        # whether a named bar blocks the stated case: no when what it needs is denied by the case
        ("Cohere: does the 3-month imaging rule prevent MRS when a CT 5 weeks ago was followed by new weakness?", "no"),
        ("Cohere: MRI 8 weeks ago, no treatment since, no new symptoms. Does the 3-month rule block MRS?", "yes"),
        # "still" in other words, of struck language (a plural's 's' and the list's own name aside)
        ("Is the former cystic lesion indication still part of NIA's guideline?", "no"),
        ("Is NIA's 'cystic lesions vs cystic metastasis or cystic primary neoplasm' passage still valid?", "no"),
        # a premise granted before ", so" is no part of what is asked
        ("NIA calls MRS for seizures investigational, so a pre-surgical epilepsy MRS would be denied, right?", "yes"),
        # a container word ("list", "statement") and its owner's whole name are not what was listed
        ("Florida Blue -- is its old investigational statement still part of the policy?", "no"),
        ("Is Florida Blue's 2006 investigational list still current?", "no"),
        # a literature document asked for criteria of its own
        ("Does the Magellan digest offer criteria we could use for MS spinal cord MRS?", "no"),
        # does the band extend to this patient (it depends) or can it stretch (it may)
        ("HealthHelp: patient is 24 with special healthcare needs (cerebral palsy). Does the pediatric age scope extend "
         "to him?", "depends"),
        ("HealthHelp: a 24-year-old with special healthcare needs - can the pediatric age ranges stretch to cover them?", "yes"),
    ],
)
def test_each_class_in_new_words(services, question, claim):
    verdict = _ask(services, question).verdict
    assert verdict.claim == claim and verdict.checked


def test_criteria_asked_of_the_digest_quote_the_topic_section(services):
    verdict = _ask(services, "Does the Magellan digest offer criteria we could use for MS spinal cord MRS?").verdict
    assert verdict.claims[0].clause_ids == ["magellan-mrs-digest#cord-lesions.1"]


@pytest.mark.parametrize(
    ("question", "named"),
    [
        ("Under FB, is MRS for epilepsy considered not medically necessary?", True),
        ("Per FB - MRS for MS covered?", True),
        ("With FB in the orbit, can Cohere approve MRS?", False),  # a foreign body, not the addressee
        ("Under Cohere, is a metallic FB near the eye a non-indication?", False),
    ],
)
def test_payer_initials_after_a_leading_under_name_the_addressee(services, question, named):
    assert ("floridablue-mrs" in services.asker.plan(AskRequest(question=question)).named) is named


@pytest.mark.parametrize(
    ("question", "codes"),
    [
        ("Is 76390 an add-on code under NIA?", []),  # what kind of code, not whether it is listed
        ("Is +0698T a Category III code for Cohere?", []),
        ("Is 0698T a listed code under NIA?", ["0698T"]),
        ("Does HealthHelp list 0698T?", ["0698T"]),
    ],
)
def test_a_code_kind_is_not_a_code_list_question(question, codes):
    assert coding.codes_asked(question) == codes
