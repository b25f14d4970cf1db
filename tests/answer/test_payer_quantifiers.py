"""Questions quantified over the payers ("besides X, does any …", "is X the only payer …",
"are X and Y the same on …"), a payer named by its initials at the lead, and a safety note
whose own clause adds a condition the question does not state: each gets the verdict its
structure asks for, not the four-payer matrix's mixed 'it depends'."""

from __future__ import annotations

import pytest

from mrs_assist.answer import definition, quantifier
from mrs_assist.answer.exclusion import joined_condition
from mrs_assist.config import Settings
from mrs_assist.errors import IndexNotReadyError
from mrs_assist.schemas import AskRequest
from mrs_assist.service import Services
from support.no_index import NoIndex


@pytest.fixture(scope="module")
def services() -> Services:
    return Services(Settings(), retriever=NoIndex())


@pytest.mark.parametrize(
    ("question", "claim", "says"),
    [
        # HealthHelp set aside: the other three do not list MS
        ("Besides HealthHelp, does any of the four payers (Cohere, NIA, Florida Blue) list multiple sclerosis as an MRS indication?",
         "no", "none of the 3 payers"),
        ("Other than HealthHelp, does any payer cover MRS for a mitochondrial disorder?", "only_if", "Cohere Health"),
        ("Epilepsy MRS: is HealthHelp the only one of the four payers that covers it?", "yes", "only HealthHelp"),
        ("Is Cohere the only payer that covers MRS for mitochondrial disorders?", "no", "HealthHelp also does"),
        ("Does any payer cover MRS for multiple sclerosis?", "yes", "HealthHelp covers"),
        ("Do HealthHelp and NIA differ on MS?", "yes", "differ"),
        ("Are NIA and BCBSF the same on using MRS to tell a brain tumor apart from an abscess or infection?", "yes", "the same"),
        # "same" with a word for what is compared, or bare, asked after two payers
        ("Cohere vs HealthHelp for MRS in epilepsy surgery planning: same rule?", "no", "differ"),
        ("Tumor vs abscess — NIA versus Florida Blue, same?", "yes", "the same"),
        ("FB: MRS to grade a glioma as low vs high grade - medically necessary?", "no", "Florida Blue"),
        # the predicate asked of each payer: calls it investigational / does not cover it
        ("Is NIA the only payer that calls MRS for stroke investigational?", "yes", "only National Imaging Associates"),
        ("Does any payer call MRS for epilepsy investigational?", "yes", "investigational"),
        ("Is Florida Blue the only payer that does not cover MRS for glioma grading?", "no", "also does"),
        ("Is HealthHelp the only payer that doesn't cover MRS for multiple sclerosis?", "no", "HealthHelp itself does not"),
        # no indication named: every indication row compared
        ("Do NIA and Florida Blue essentially cover the same MRS indications?", "yes", "list the same indications"),
        ("Do HealthHelp and Cohere cover the same indications?", "no", "differ on: pre-surgical evaluation of epilepsy"),
        # "can MRS be used to …" asks coverage
        ("Under HealthHelp, can MRS be used to differentiate a glioma from demyelination?", "only_if", "HealthHelp"),
    ],
)
def test_a_quantified_question_combines_the_payers_as_it_asks(services, question, claim, says):
    verdict = services.ask(AskRequest(question=question)).verdict
    assert verdict.claim == claim and says in verdict.text and verdict.checked


def test_set_aside_and_quantifier_read_the_question_structure():
    terms = {"healthhelp-mrs": ("HealthHelp", "HH"), "nia-brain-mrs": ("NIA",), "cohere-mrs": ("Cohere",)}
    assert quantifier.set_aside("Besides HealthHelp, does NIA or Cohere list MS?", terms) == ["healthhelp-mrs"]
    assert quantifier.set_aside("Other than NIA and Cohere, who covers MS?", terms) == ["nia-brain-mrs", "cohere-mrs"]
    assert quantifier.set_aside("Do HealthHelp and NIA cover MS?", terms) == []
    assert quantifier.quantifier("Only a non-contrast head CT has been done. Does that satisfy Cohere?") is None
    assert quantifier.quantifier("Only looking at the Cohere policy - is MRS appropriate for grading?") is None
    assert quantifier.combine("only", {"A": "only_if", "B": "no"}, subject="A") == "yes"
    assert quantifier.combine("only", {"A": "yes", "B": "only_if"}, subject="A") == "no"
    assert quantifier.combine("any", {"A": "no", "B": "no"}) == "no"
    # "the same" compares payers only when it names two or says "payers"
    assert quantifier.compares_payers("Had the same MRI 2 months ago; Cohere?", ["cohere-mrs"]) is False
    assert quantifier.quantifier("Same patient as before, now with a pacemaker: does Cohere exclude MRS?") is None
    assert quantifier.compares_payers("Do the payers agree on MS?", []) is True


def test_an_abbreviation_names_a_payer_only_at_the_lead(services):
    lead = services.asker.plan(AskRequest(question="FB: MRS for epilepsy - covered?"))
    inside = services.asker.plan(AskRequest(question="Cohere: metallic FB in the orbit, MRS for a brain mass?"))
    assert lead.named == ["floridablue-mrs"]
    assert "floridablue-mrs" not in inside.named


@pytest.mark.parametrize(
    ("question", "claim"),
    [
        # the note applies only where the MRS needs contrast, which the question does not say
        ("Cohere - patient with renal insufficiency in whom gadolinium is contraindicated. Does that exclude MRS?", "depends"),
        ("Cohere: renal insufficiency, gadolinium contraindicated, and the MRS protocol requires contrast administration. "
         "Is that a non-indication?", "no"),
        ("Under Cohere, does pregnancy exclude MRS?", "no"),
    ],
)
def test_a_safety_note_with_its_own_condition_depends_on_it(services, question, claim):
    verdict = services.ask(AskRequest(question=question)).verdict
    assert verdict.claim == claim and verdict.checked


def test_joined_condition_reads_the_items_first_sentence():
    text = ("NOTE: Patients with renal insufficiency where gadolinium contrast is contraindicated, and MRS requires "
            "contrast administration. Alternative imaging modalities should be considered in such cases.")
    assert joined_condition(text) == "MRS requires contrast administration"
    assert joined_condition("NOTE: MRI in pregnant patients should be requested at the discretion of the provider.") == ""


# --- age definitions: from the bands the policies write beside a term -----------------------------
@pytest.mark.parametrize(
    ("question", "claim", "clause"),
    [
        ("HealthHelp: does a 20-year-old count as pediatric?", "yes", "healthhelp-mrs#pediatric-preamble"),
        ("HH: does a 23-year-old count as pediatric?", "depends", "healthhelp-mrs#definitions.pediatric-ages.3.4"),
        ("Under HealthHelp, can a 24-year-old with special healthcare needs be treated under the pediatric definitions?",
         "depends", "healthhelp-mrs#definitions.pediatric-ages.3.4"),
        ("Under HealthHelp, does a 15-year-old count as an infant?", "no", "healthhelp-mrs#definitions.pediatric-ages.1"),
        # anyone past an age: whether the policy allows it at all (its "older ages may" line), not one patient
        ("HH: could a member who is over 21 ever be considered pediatric if they have special healthcare needs?",
         "yes", "healthhelp-mrs#definitions.pediatric-ages.3.4"),
        # anyone at all: some may (the line names whom), so yes; not "only if" (three independent writers read it so)
        ("Under HealthHelp, may a patient over 21 be considered pediatric?", "yes",
         "healthhelp-mrs#definitions.pediatric-ages.3.4"),
        ("Can anyone past age 25 count as an adolescent under HH?", "no", "healthhelp-mrs#definitions.pediatric-ages.3"),
        # the patient stated to have none of the needs the "older ages" line names; a band named with "in"
        ("HH: would a 26-year-old with no special healthcare needs be pediatric?", "no", "healthhelp-mrs#pediatric-preamble"),
        ("Is a 5-year-old in childhood by HealthHelp's definitions?", "yes", "healthhelp-mrs#definitions.pediatric-ages.2"),
    ],
)
def test_an_age_definition_question_is_answered_from_the_policys_band(services, question, claim, clause):
    verdict = services.ask(AskRequest(question=question)).verdict
    assert verdict.claim == claim and verdict.checked
    assert clause in {i for c in verdict.claims for i in c.clause_ids}


def test_an_age_no_band_answers_gets_no_verdict_not_the_checker(services):
    # Cohere's only age line is document metadata (the type line), which never decides: the
    # question goes to retrieval for a quote (this index-less service raises), not to the checker
    with pytest.raises(IndexNotReadyError):
        services.ask(AskRequest(question="Is a 19 yo considered an adult under Cohere?"))


def test_age_asked_needs_the_age_the_counting_verb_and_the_term_in_order():
    from mrs_assist.answer.definition import age_asked

    assert age_asked("HealthHelp: does a 20-year-old count as pediatric?") == (20.0, "pediatric")
    assert age_asked("Is MRS considered appropriate for a 10-year-old child?") is None
    assert age_asked("HH: 8 yo with ataxia, is MRS covered?") is None
    assert definition.beyond_asked("Can someone older than 21 be treated as a child?") == (21.0, "pediatric")
    assert definition.beyond_asked("Is MRS covered for someone over 21 under HealthHelp?") is None
    # the term right after the age, in a yes/no question that asks nothing about coverage
    assert age_asked("Is a 16-year-old an adolescent under HealthHelp?") == (16.0, "adolescent")
    assert age_asked("Does HealthHelp consider a 22-year-old pediatric?") == (22.0, "pediatric")
    assert age_asked("Is a 10-year-old child with MS covered under HH?") is None
    assert age_asked("HH: 8 yo child for MRS?") is None
    assert age_asked("Does HealthHelp consider a 25-year-old with special healthcare needs pediatric?") == (25.0, "pediatric")
