"""Issue 23: a case stated in a question is read by the note reader as a note is: its hedges,
negations and differentials decide, not the bare words the question happens to use."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mrs_assist.answer import history
from mrs_assist.answer import verdict as verdicts
from mrs_assist.answer.definition import age_asked
from mrs_assist.answer.plan import stated_case
from mrs_assist.answer.requirement import first_alternative, is_sufficiency, numbered_criterion, requirement_words
from mrs_assist.answer.scope import foreign_payers
from mrs_assist.config import Settings
from mrs_assist.errors import IndexNotReadyError
from mrs_assist.schemas import AskRequest
from mrs_assist.service import Services


def _no_index(*args, **kwargs):
    raise IndexNotReadyError("no index in this test")


@pytest.fixture(scope="module")
def services() -> Services:
    """No index: these verdicts stand on the criteria and the checker alone."""
    return Services(Settings(), retriever=SimpleNamespace(search=_no_index, rank=_no_index))


def _verdict(services: Services, question: str):
    return services.ask(AskRequest(question=question)).verdict


def test_a_stating_sentence_goes_to_the_reader_whole(services):
    case = stated_case("HealthHelp: 35-year-old man with numbness. The neurologist writes 'possible MS, MRI pending.' "
                       "Approve MRS?", services.corpus)
    assert "possible MS" in case and "Approve" not in case


def test_a_hedged_indication_is_not_read_as_asserted(services):
    verdict = _verdict(services, "HealthHelp: 35-year-old man with arm numbness. The neurologist writes "
                                 "'possible MS, MRI pending.' Approve MRS?")
    assert verdict.claim == "depends"
    assert any(d.startswith("not established: multiple sclerosis") for d in verdict.described)


@pytest.mark.parametrize(
    ("question", "claim"),
    [
        # the infarct is one side of a tumor / non-tumor differential, a listed NIA use
        ("NIA: 65-year-old man with a new frontal lesion. Radiology impression: 'acute infarct versus tumor'. "
         "Is MRS covered?", "yes"),
        # the same words asserted: NIA calls MRS for stroke experimental
        ("NIA: 65-year-old man with a new frontal lesion and an acute infarct. Is MRS covered?", "no"),
    ],
)
def test_an_indication_inside_a_differential_is_the_readers(services, question, claim):
    assert _verdict(services, question).claim == claim


@pytest.mark.parametrize(
    ("question", "foreign"),
    [
        ("Florida Blue commercial (non-FEP) member with a glioma: is MRS covered?", []),
        ("A Florida Blue member, not FEP, with a glioma: covered?", []),
        ("Florida Blue FEP member with a glioma: is MRS covered?", ["the Federal Employee Program (FEP)"]),
        ("Does Aetna cover MRS for glioma, other than Cigna?", ["Aetna"]),
    ],
)
def test_a_payer_the_question_sets_aside_is_not_named(question, foreign):
    assert foreign_payers(question) == foreign


def test_a_set_aside_payer_is_not_read_into_the_case(services):
    verdict = _verdict(services, "Florida Blue commercial (non-FEP) member, 60, with a new parietal lesion; "
                                 "the differential is abscess versus neoplasm. Is MRS medically necessary?")
    assert verdict.claim == "yes"
    assert not any("Federal Employee" in d for d in verdict.described)


def test_how_quickly_asks_a_turnaround_the_policies_do_not_set(services):
    assert _verdict(services, "How quickly must Cohere decide an MRS request?").claim == "not_addressed"


def test_a_scope_row_that_says_no_decides_whichever_indication():
    covered = verdicts.MatrixCell("healthhelp-mrs", "HealthHelp", "MELAS", "covered", [], ["healthhelp-mrs#indications.6"])
    region = verdicts.MatrixCell("healthhelp-mrs", "HealthHelp", "MRS of the calf", "not_covered", [],
                                 ["healthhelp-mrs#indications"], role="scope")
    assert verdicts.from_matrix([covered, region]).claim == "no"
    # two indications, neither a scope row: the payer's answer depends on which one
    other = verdicts.MatrixCell("healthhelp-mrs", "HealthHelp", "stroke", "not_covered", [], ["healthhelp-mrs#indications"])
    assert verdicts.from_matrix([covered, other]).claim == "depends"


def test_mrs_outside_the_brain_is_no_whatever_it_is_for(services):
    verdict = _verdict(services, "Can HealthHelp approve MRS of the thigh muscle for a suspected mitochondrial disorder?")
    assert verdict.claim == "no" and verdict.checked


@pytest.mark.parametrize(
    ("question", "claim", "says"),
    [
        # the leukodystrophy item asks more than the imaging: not enough by itself
        ("HealthHelp, girl with metachromatic leukodystrophy: is a non-diagnostic MRI by itself sufficient under item 4?",
         "no", "also requires: therapy evaluation or planning"),
        # no indication named: a condition is met beside a listed indication, never instead of one
        ("Is an indeterminate MRI alone enough for Cohere to approve MRS?", "no", "together with one of its listed"),
        ("For HealthHelp, is a known brain tumor enough for biopsy guidance?", "yes", "requires nothing more than"),
    ],
)
def test_a_sufficiency_question_is_answered_about_what_else_is_required(services, question, claim, says):
    verdict = _verdict(services, question)
    assert verdict.claim == claim and says in verdict.text and verdict.checked


def test_an_either_or_question_is_answered_by_its_first_alternative():
    assert first_alternative("does the tumor have to be known, or is a suspected mass enough?") == \
        "does the tumor have to be known"
    assert not is_sufficiency("does the tumor have to be known, or is a suspected mass enough?")
    assert is_sufficiency("is a suspected mass enough, or must the tumor be known?")


def test_struck_language_is_no_longer_listed():
    deleted = ["Cystic lesions vs. cystic metastasis or cystic primary neoplasm – MRS may determine"]
    current = ["distinguish a brain tumor from other non-tumor diagnoses"]
    verdict = history.from_struck("cystic metastasis versus cystic primary neoplasm", "NIA", "nia-brain-mrs",
                                  deleted, current, ["nia-brain-mrs#indications.1"])
    assert verdict.claim == "no" and verdict.claims[0].clause_ids == ["nia-brain-mrs#indications.1"]
    # the same words still in a current clause: not for this rule to say
    assert history.from_struck("cystic primary neoplasm", "NIA", "nia-brain-mrs", deleted,
                               ["cystic primary neoplasm"], ["nia-brain-mrs#indications.1"]) is None
    assert history.still_asked("Is 'cystic metastasis versus cystic primary neoplasm' still listed by NIA?") == \
        "cystic metastasis versus cystic primary neoplasm"
    assert history.still_asked("Does NIA list cystic lesions?") == ""


def test_a_still_question_on_struck_language_is_answered_no(services):
    verdict = _verdict(services, "Is 'cystic metastasis versus cystic primary neoplasm' still listed by NIA?")
    assert verdict.claim == "no" and verdict.checked and "struck" in verdict.text


def test_does_x_make_mrs_inappropriate_asks_about_an_exclusion(services):
    verdict = _verdict(services, "For HealthHelp, would an insulin pump on its own render MRS medically unnecessary?")
    assert verdict.claim == "no" and "not a reason to deny by itself" in verdict.text


def test_a_granted_premise_does_not_turn_a_case_into_a_history_question(services):
    question = ("HealthHelp: 6-year-old with gait ataxia; brain MRI is normal. Does MRS meet criteria, "
                "given that HealthHelp says it added an ataxia indication?")
    assert "history" not in services.asker.plan(AskRequest(question=question)).intents
    assert _verdict(services, question).claim == "no"


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("Is an inconclusive MRI on its own enough for Cohere?", True),
        ("is a suspected mass enough, or must the tumor be known?", True),
        ("Does a cochlear implant by itself qualify as a non-indication?", True),
        ("Does NIA think MRS has been validated as accurate enough for treatment decisions?", False),
        ("Is there enough evidence for MRS in epilepsy?", False),
    ],
)
def test_what_counts_as_a_sufficiency_question(question, asks):
    assert is_sufficiency(question) is asks


def test_a_sentence_about_the_policy_is_not_read_as_the_case(services):
    case = stated_case("Patient is 40 with a known glioma and new enhancement. HealthHelp calls MRS for stroke "
                       "experimental. Covered?", services.corpus)
    assert "glioma" in case and "stroke" not in case
    # a leading "Under the … guideline," only says who is asked
    case = stated_case("Under the NIA guideline, a 40-year-old with a known glioma is being worked up for surgery, "
                       "and the surgeon wants MRS. Covered?", services.corpus)
    assert "the surgeon wants MRS" in case


# --- session 7: a question read by its structure ------------------------------------------------
def test_a_stating_sentence_is_read_whole_across_its_commas(services):
    question = ("HealthHelp: 35-year-old with drug-resistant temporal lobe epilepsy, being worked up for resection; "
                "MRS is ordered as part of the pre-surgical evaluation. Meets guideline?")
    case = stated_case(question, services.corpus)
    assert "epilepsy, being worked up for resection; MRS is ordered" in case
    assert not case.startswith("HealthHelp") and "Meets" not in case
    verdict = _verdict(services, question)
    assert verdict.claim == "yes" and "healthhelp-mrs#indications.2" in verdict.text


def test_a_case_stated_only_as_a_hedge_is_not_answered_as_the_bare_indication(services):
    verdict = _verdict(services, "HealthHelp: 11-year-old, no neurological diagnosis; the order says 'r/o MS?'. "
                                 "Brain MRS requested. Can it be approved as is?")
    assert verdict.claim == "depends"
    assert any(d.startswith("not established: multiple sclerosis") for d in verdict.described)


def test_a_hedged_exclusion_is_open_not_absent(services):
    verdict = _verdict(services, "Metal worker with possible metallic foreign body in the orbit - Cohere non-indication for MRS?")
    assert verdict.claim == "depends" and "cohere-mrs#non-indications.5" in verdict.text and verdict.checked
    # documented, it is one
    assert _verdict(services, "Metal worker with a metallic foreign body in the orbit - Cohere non-indication for MRS?").claim == "yes"


@pytest.mark.parametrize(
    "question",
    [
        ("Cohere lists 'neonatal hypoxic ischemic encephalopathy'. Does 'neonatal' mean the patient must be a newborn "
         "at the time of the request?"),
        # 'when … is requested' is the condition asked about, not a date
        "In Cohere's 'neonatal hypoxic ischemic encephalopathy', does the patient have to be a neonate when MRS is requested?",
        # an age limit asks about the policy's age conditions
        "Cohere's 'neonatal hypoxic ischemic encephalopathy' — does 'neonatal' cap the patient's age at the time of the request?",
    ],
)
def test_neonatal_hie_names_the_diagnosis_not_an_age_limit(services, question):
    verdict = _verdict(services, question)
    assert verdict.claim == "no" and "without requiring: a neonate" in verdict.text and verdict.checked


def test_plain_hie_under_cohere_still_needs_a_neonate(services):
    verdict = _verdict(services, "Does Cohere require the patient to be a neonate for hypoxic ischemic encephalopathy?")
    assert verdict.claim == "yes"


@pytest.mark.parametrize(
    ("question", "claim"),
    [
        # the band itself asked about, for the patients its own line names: it may stretch
        ("HealthHelp: a 24-year-old with special healthcare needs — can the pediatric age ranges stretch to cover them?", "yes"),
        # this patient asked about: it depends on the special needs being judged to apply
        ("Under HealthHelp, can a 24-year-old with special healthcare needs be treated under the pediatric definitions?",
         "depends"),
        ("HealthHelp: can the pediatric age range stretch to a 30-year-old?", "depends"),
    ],
)
def test_an_age_band_question_is_answered_about_what_it_asks_of(services, question, claim):
    assert age_asked(question) is not None
    assert _verdict(services, question).claim == claim


@pytest.mark.parametrize(
    ("question", "claim", "says"),
    [
        # epilepsy read without a surgical work-up states why the study is wanted: the tumor
        # purposes close, and Florida Blue lists no epilepsy use
        ("Florida Blue: 29-year-old with drug-resistant temporal lobe epilepsy and a negative MRI. The epileptologist "
         "orders MRS. Medically necessary?", "no", "floridablue-mrs#position"),
        # HealthHelp lists the pre-surgical use: that is what it turns on ("seizures" asserts nothing)
        ("HealthHelp, 9-year-old with epilepsy well controlled on one drug. MRS is requested to 'better characterize' "
         "the seizures. Is this within HealthHelp's indications?", "depends", "pre-surgical evaluation of epilepsy"),
        # the same condition with its qualifying purpose denied states the reason: nothing else is open
        ("Under HealthHelp: 14-year-old, focal seizures on two medications; epilepsy surgery not planned. Spectroscopy "
         "ordered to look at the seizure focus. Does it qualify?", "no", "pre-surgical evaluation of epilepsy"),
        # a purpose the case asserts still decides beside it
        ("Under HealthHelp, a 40-year-old with epilepsy and a known low-grade glioma; epilepsy surgery not planned. MRS "
         "to tell tumor progression from treatment effect. Covered?", "yes", "known (diagnosed) brain tumor"),
    ],
)
def test_a_condition_read_without_its_purpose_is_the_readers_open_fact(services, question, claim, says):
    verdict = _verdict(services, question)
    assert verdict.claim == claim and says in verdict.text


def test_every_stating_sentence_is_the_case_once_one_describes_the_patient(services):
    question = ("NIA: GBM after resection and chemoradiation. The clinic note says 'possible early recurrence vs "
                "treatment effect on last scan; if next month's MRI is still indeterminate, will get MRS.' The MRS "
                "order was submitted now. Approve?")
    assert stated_case(question, services.corpus).startswith("GBM after resection and chemoradiation.")
    assert _verdict(services, question).claim == "depends"


@pytest.mark.parametrize(
    ("question", "claim", "opens"),
    [
        # a yes answers the predicate asked, not coverage
        ("Does NIA consider MRS investigational for epilepsy?", "yes", "Yes — National Imaging"),
        ("Is MRS for glioma grading experimental under NIA?", "yes", "Yes — National Imaging"),
        ("Does HealthHelp consider MRS investigational for multiple sclerosis?", "no",
         "No — not called experimental/investigational; HealthHelp"),
        ("Does Florida Blue deny MRS for multiple sclerosis?", "yes", "Yes — multiple sclerosis is not among"),
        ("Is MRS for MS not covered by Florida Blue?", "yes", "Yes — multiple sclerosis is not among"),
        ("Cohere: brain MRI 6 weeks ago, no treatment since and no new symptoms. Does Cohere deny MRS in that case?",
         "yes", "Yes — as the question states the case, it does not meet"),
        # both asked: the coverage claim, as before
        ("NIA member, MRS requested as part of seizure focus workup before epilepsy surgery. Approvable or still E/I?",
         "no", "No —"),
        ("Is MRS covered by HealthHelp for multiple sclerosis?", "yes", "Yes — HealthHelp"),
    ],
)
def test_a_yes_answers_the_predicate_the_question_asks(services, question, claim, opens):
    verdict = _verdict(services, question)
    assert verdict.claim == claim and verdict.text.startswith(opens) and verdict.checked


def test_a_patient_who_denies_a_symptom_is_no_denial_asked():
    from mrs_assist.answer.polarity import asked_predicate

    assert asked_predicate("Patient denies headaches; is MRS covered by HealthHelp for MS?") == "covered"
    assert asked_predicate("Would Cohere deny MRS here?") == "denied"


def test_one_side_of_a_differential_is_a_possibility_not_the_diagnosis(services):
    verdict = _verdict(services, "NIA: 30-year-old with a new brain lesion, MS plaque vs tumor on MRI. "
                                 "MRS to sort it out. Covered?")
    assert verdict.claim != "no"  # not denied as MS, which NIA does not list


def test_no_listed_indication_is_named_as_such_not_by_the_region_check(services):
    verdict = _verdict(services, "Under NIA, is MRS covered for a patient with multiple sclerosis?")
    assert verdict.claim == "no" and "none of its listed indications applies" in verdict.text
    assert "region other than the brain" not in verdict.text


def test_a_purpose_the_question_denies_is_not_the_purpose_asked(services):
    # the question denies the one purpose HealthHelp covers it for: no (session 13; "only if" before)
    assert _verdict(services, "HealthHelp: MRS for hepatic encephalopathy without any prognosis question — "
                              "covered?").claim == "no"
    assert _verdict(services, "HealthHelp: MRS for hepatic encephalopathy to assess prognosis — covered?").claim == "yes"


@pytest.mark.parametrize(
    ("question", "claim", "says"),
    [
        # an alternative is not a requirement: Cohere takes a mass, known or suspected, or a known tumor
        ("Does Cohere require a known brain tumor for biopsy guidance?", "no", "it accepts either"),
        ("Does Cohere require a known brain tumor?", "no", "none of Cohere Health (cohere-mrs) listed indications requires"),
        ("Does HealthHelp need a known brain tumor for biopsy guidance?", "yes", "requires, for MRS to guide"),
        # what else is required names the other conditions, not the alternative to the one asked
        ("Is a suspected brain mass enough for Cohere to approve MRS for biopsy guidance?", "no",
         "also requires: conventional MRI or CT is inconclusive (non-diagnostic or indeterminate) ["),
    ],
)
def test_a_condition_offered_as_one_alternative_is_not_required(services, question, claim, says):
    verdict = _verdict(services, question)
    assert verdict.claim == claim and says in verdict.text and verdict.checked


@pytest.mark.parametrize(
    ("question", "claim"),
    [
        # a relative's condition is not the patient's: open, not the bare indication's "yes"
        ("Under HealthHelp, 41-year-old man whose father had multiple sclerosis; he reports tingling, no MRI yet. "
         "Spectroscopy requested. Approvable?", "depends"),
        # the patient's own condition still decides when a relative has it too
        ("HealthHelp: 33-year-old woman with relapsing MS; her brother has MS as well. MRS requested. Approvable?", "yes"),
    ],
)
def test_a_relatives_condition_is_not_the_patients(services, question, claim):
    verdict = _verdict(services, question)
    assert (verdict.claim, verdict.basis) == (claim, "checker")


@pytest.mark.parametrize(
    ("question", "claim", "says"),
    [
        # a criterion named by its number scopes the requirement to the indications under it
        ("In HealthHelp's criterion 1, does the tumor need to be diagnosed already, or is a suspicious lesion enough?",
         "yes", "under its criterion 1: a known (diagnosed) brain tumor"),
        ("For HealthHelp's fourth indication, must the MRI be non-diagnostic or indeterminate?", "yes", "under its criterion 4"),
        # asked of every payer: one payer that does not require it makes it a no, not 'it depends'
        ("Do all of the payers make an inconclusive MRI a prerequisite for MRS?", "no", "not every payer requires"),
    ],
)
def test_a_numbered_criterion_or_every_payer_scopes_a_requirement(services, question, claim, says):
    verdict = _verdict(services, question)
    assert (verdict.claim, verdict.checked) == (claim, True) and says in verdict.text


def test_a_criterion_number_and_a_known_subject_are_read_from_the_question():
    assert numbered_criterion("NIA's second indication: is a biopsy needed?") == "2"
    assert numbered_criterion("Does Cohere non-indication 1 apply?") is None
    assert requirement_words("Does the lesion have to be confirmed first?") == "known brain lesion"
    assert requirement_words("Does the tumor have to have been treated already?").strip() == "have been treated already?"


def test_where_a_struck_item_was_listed_is_not_what_is_asked():
    assert history.still_asked("Does NIA still list cystic lesions among its MRS indications?") == "cystic lesions"


def test_a_stated_cases_time_is_not_a_date_asked(services):
    question = ("Florida Blue: known GBM treated 1 year ago, MRI shows new enhancement — tumor recurrence or radiation "
                "necrosis? MRS requested. Covered?")
    assert "date" not in services.asker.plan(AskRequest(question=question)).intents
    assert _verdict(services, question).claim == "yes"
    assert "date" in services.asker.plan(AskRequest(question="What year did Florida Blue revise its position?")).intents


def test_both_covering_asks_each_payer(services):
    verdict = _verdict(services, "Do Cohere and Florida Blue both cover MRS for tumor recurrence versus radiation necrosis?")
    assert verdict.claim == "yes" and verdict.text.startswith("Yes — each of the 2 payers covers it")


def test_a_condition_set_only_in_a_plan_the_case_states_is_not_given(services):
    # "if next week's MRI is inconclusive" is the oncologist's plan, not a condition the reviewer asks under
    planned = _verdict(services, "Cohere: known GBM after chemoradiation with new enhancement. If next week's MRI is "
                                 "inconclusive, the oncologist plans MRS. Can we approve MRS now?")
    assert planned.claim == "depends" and "conventional MRI or CT is inconclusive" in planned.text
    asked = _verdict(services, "Cohere: known GBM after chemoradiation with new enhancement. Can we approve MRS if the "
                               "MRI is inconclusive?")
    assert "turns on: conventional MRI or CT is inconclusive" not in asked.text
