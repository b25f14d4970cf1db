"""Question classes found by probing after indep-dev9 (issue 23, session 12), each tested in
words of its own: a definition asked of a term a patient word names ("is a newborn defined by
…?") is a definition question, not a case; a denial asked for a reason ("would it be refused
because the tumour has not been diagnosed?") asks whether what is missing is required; and a
conclusive study written as shorthand in a question ("MRI diagnostic: covered?") is the case's
imaging fact, read before the colon that opens the ask."""

from __future__ import annotations

import pytest
from support.no_index import NoIndex

from mrs_assist.answer import definition, requirement
from mrs_assist.answer.plan import stated_case
from mrs_assist.config import Settings
from mrs_assist.errors import IndexNotReadyError
from mrs_assist.schemas import AskRequest
from mrs_assist.service import Services


@pytest.fixture(scope="module")
def services() -> Services:
    return Services(Settings(), retriever=NoIndex())


def _verdict(services, question):
    verdict = services.asker.ask(AskRequest(question=question)).verdict
    assert verdict.checked
    return verdict


# --- a term asked to be defined --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "term"),
    [
        ("Has Cohere got a definition for neonatal?", "neonatal"),
        ("Is the word infant defined in NIA's guideline?", "infant"),
        ("How does HealthHelp define a glioma?", "glioma"),
        ("Does Cohere set an age limit on a newborn?", "neonate"),
        ("Does Florida Blue define what an adolescent is?", "adolescent"),
        ("Does NIA state what age a neonate is?", "neonate"),
    ],
)
def test_the_term_a_definition_question_asks(question, term):
    assert (definition.define_asked(question) or definition.definition_sought(question)) == [term]


def test_an_open_definition_question_is_judged_only_where_nothing_is_defined(services):
    # "how does HealthHelp define …" a term it defines: the definition is quoted, not judged
    assert definition.definition_sought("How does HealthHelp define a glioma?") == ["glioma"]
    assert definition.define_asked("How does HealthHelp define a glioma?") is None
    with pytest.raises(IndexNotReadyError):  # no verdict from the definitions: retrieval quotes it
        services.asker.ask(AskRequest(question="How does HealthHelp define a glioma?"))
    assert _verdict(services, "How does Cohere define a newborn?").claim == "no"


@pytest.mark.parametrize(
    "question",
    [
        "Is a 19-year-old defined as an adult by HealthHelp?",  # a counting question: the age bands answer it
        "Is MRS covered for a newborn with HIE under Cohere?",
    ],
)
def test_no_term_is_asked_to_be_defined(question):
    terms = definition.define_asked(question)
    assert terms is None or not any(ch.isdigit() for t in terms for ch in t)


@pytest.mark.parametrize(
    ("question", "claim", "clause"),
    [
        # the word is used but never given an age: no, with what the policy does write
        ("Is a newborn defined anywhere by Cohere?", "no", "cohere-mrs#indications.2.b.1"),
        ("What age counts as neonatal under Cohere?", "no", "cohere-mrs#indications.2.b.1"),
        # a definitions section that names the term
        ("Is leukodystrophy defined by HealthHelp?", "yes", "healthhelp-mrs#definitions.leukodystrophy"),
        # an abbreviation its definition gives in brackets
        ("Is MRS defined by HealthHelp?", "yes", "healthhelp-mrs#definitions.magnetic-resonance-spectroscopy"),
        # a criterion that defines its own term where it uses it
        ("Does Cohere define 'repeat imaging'?", "yes", "cohere-mrs#indications.2.d"),
    ],
)
def test_a_definition_question_is_answered_from_what_the_policy_writes(services, question, claim, clause):
    verdict = _verdict(services, question)
    assert verdict.claim == claim
    assert any(i.startswith(clause) for c in verdict.claims for i in c.clause_ids)


def test_no_age_is_said_only_of_an_age_word(services):
    neonate = _verdict(services, "Does Cohere define a neonate?")
    assert "no age" in neonate.claims[0].text
    tumour = _verdict(services, "Does NIA define a brain tumor?")
    assert tumour.claim == "no" and "no age" not in tumour.claims[0].text


# --- a denial asked for a reason ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "words"),
    [
        ("Will spectroscopy be refused since the tumour has not yet been confirmed?", "known brain tumour"),
        ("Could HealthHelp reject it because no tumor has been established so far?", "known brain tumor"),
        ("Would the lesion be turned down because it has not been diagnosed as a glioma?", "known brain glioma"),
        ("Is it refused because the mass is not known to be a tumour?", "known brain tumour"),
        ("Is the request denied if there is no known brain tumor?", "known brain tumor"),
        ("Would NIA deny it because the CT was not inconclusive?", "inconclusive CT"),
        ("Does an absence of tumor confirmation lead to a denial?", "known brain tumor"),
    ],
)
def test_what_a_denial_for_a_reason_says_is_missing(question, words):
    assert requirement.denial_reason(question) == words


def test_a_denial_without_a_reason_asks_no_requirement():
    assert requirement.denial_reason("Would HealthHelp deny MRS for a suspected stroke?") == ""
    assert requirement.denial_reason("Was the request denied because of the pacemaker?") == ""


def test_a_denial_because_no_tumour_is_known_turns_on_the_payer(services):
    # HealthHelp's tumour criteria need a known tumour; the others accept a lesion or a suspected mass
    verdict = _verdict(services, "Could the study be refused because the tumor has not been diagnosed yet?")
    assert verdict.claim == "depends"
    by_payer = {c.clause_ids[0].split("#")[0]: c.text for c in verdict.claims}
    # the row opens with the claim it makes (session 13: "It depends on the indication", was "No")
    assert by_payer["healthhelp-mrs"].startswith("It depends on the indication — HealthHelp") and "only for" in by_payer["healthhelp-mrs"]
    assert by_payer["cohere-mrs"].startswith("No — none of")


@pytest.mark.parametrize(
    ("question", "claim"),
    [
        ("Would Cohere refuse MRS since no tumor has been confirmed yet?", "no"),
        ("Would HealthHelp reject MRS for MS because there is no known tumor?", "no"),
        ("Would HealthHelp deny MRS because the tumour is not yet diagnosed?", "depends"),
        # a 'when' that gives the denial's condition asks no date
        ("Is the study denied under Cohere when no tumour has been confirmed?", "no"),
    ],
)
def test_a_denial_for_a_reason_per_payer(services, question, claim):
    assert _verdict(services, question).claim == claim


# --- a conclusive study in a question's shorthand ------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "read"),
    [
        ("Alexander disease, CT diagnostic: covered by HealthHelp?", "CT was diagnostic"),
        ("Adrenoleukodystrophy with a conclusive MRI - does HealthHelp cover MRS?", "MRI was diagnostic"),
        ("Canavan disease, MRI clearly definitive; HealthHelp covers MRS?", "MRI was diagnostic"),
    ],
)
def test_a_conclusive_study_in_shorthand_is_the_cases(services, question, read):
    assert read in stated_case(question, services.corpus)


def test_a_non_diagnostic_study_stays_non_diagnostic(services):
    case = stated_case("Krabbe disease, MRI non-diagnostic: covered under HealthHelp?", services.corpus)
    assert "was diagnostic" not in case and "non-diagnostic" in case.lower()


@pytest.mark.parametrize(
    ("question", "claim"),
    [
        # HealthHelp 4 (leukodystrophies) needs a non-diagnostic MRI: a conclusive one fails it
        ("Metachromatic leukodystrophy, MRI diagnostic: is spectroscopy covered by HealthHelp?", "no"),
        # Cohere's indications all need an inconclusive study
        ("MELAS with a conclusive MRI: does Cohere cover MRS?", "no"),
        # HealthHelp 6 (mitochondrial disorders) asks for nothing more
        ("Leigh's syndrome, MRI diagnostic: does HealthHelp approve MRS?", "yes"),
    ],
)
def test_the_shorthand_decides_the_case(services, question, claim):
    assert _verdict(services, question).claim == claim


def test_a_non_diagnostic_study_is_not_the_reason_to_deny(services):
    verdict = _verdict(services, "Metachromatic leukodystrophy, MRI non-diagnostic: is spectroscopy covered by HealthHelp?")
    assert verdict.claim != "no"
