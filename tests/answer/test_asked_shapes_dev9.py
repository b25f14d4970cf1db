"""Question classes found on indep-dev9 (issue 23, session 12), each tested in words of its own:
a glioma named as one side of a glioma-versus-metastasis question is no known tumor; a
differential "not resolved" is still open, not denied; a condition of the kinds that define
special healthcare needs (a developmental or intellectual disability, cerebral palsy) names
such a need; a policy that hands a program's members to that program's guidelines answers
"does this guideline decide it?" with no; "when does <payer> consider …" asks for conditions,
not a date; "a different service from MRS?" is the names question asked the other way round;
"render … medically inappropriate" asks whether an item bars the study; a notice the
question names as its source answers from its own sentence; and "no longer qualifies because
she is not X" asks whether X is required; and a coverage question with no patient whose own
words state an exclusion (research only, no change in management) goes to the criteria; "is
<code> <another predicate>?" asks no code list; and a purpose a policy names a condition under
(HealthHelp: prognosis of an encephalopathy, HIE among them) conditions that condition's row;
two phrases read together never join across a denial of the later one ("for diagnosis, not
prognosis"), and a chemotherapy- or surgery-related change is a treatment effect."""

from __future__ import annotations

import pytest
from support.asking import ask as _ask
from support.asking import verdict_of as _verdict
from support.no_index import NoIndex

from mrs_assist.answer import coding, definition, literature, requirement, said, scope
from mrs_assist.answer.stance import Sentence
from mrs_assist.config import Settings
from mrs_assist.schemas import AskRequest
from mrs_assist.service import Services


@pytest.fixture(scope="module")
def services() -> Services:
    return Services(Settings(), retriever=NoIndex())


# --- what the note reader reads in the shapes these questions state ----------------------------------
@pytest.mark.parametrize(
    ("notes", "fact", "value"),
    [
        # a glioma named against a metastasis is one side of the question, no known tumor
        ("Solitary frontal mass on MRI, read as metastatic deposit versus primary low-grade glioma.", "known_brain_tumor", None),
        ("Cerebellar lesion without tissue diagnosis; radiology: secondary tumour or primary high-grade glioma?",
         "known_brain_tumor", None),
        ("Known GBM, resected 2024. New lesion now: recurrent GBM versus lymphoma.", "known_brain_tumor", True),
        # a differential "not resolved" is still open; "resolved" alone still denies what precedes it
        ("Radiology impression for the occipital lesion: tumor vs abscess, not resolved on repeat imaging.",
         "tumor_vs_nontumor_lesion", True),
        ("Occipital lesion; differential glioma versus infarct, not yet resolved.", "tumor_vs_nontumor_lesion", True),
        ("Glioblastoma, resolved.", "known_brain_tumor", False),
        # a denied later phrase is not joined to the first
        ("Cirrhosis with hepatic encephalopathy; spectroscopy wanted to confirm the diagnosis, not prognosis.",
         "encephalopathy_prognosis", None),
        ("Toxic encephalopathy - MRS requested for diagnosis rather than prognosis.", "encephalopathy_prognosis", None),
        # a chemotherapy- or surgery-related change is a treatment effect, hyphenated across a line too
        ("Treated GBM. Question: recurrence versus chemotherapy-related changes.", "tumor_recurrence_vs_treatment_effect", True),
        ("Treated GBM. Question: true progression vs post-surgical/chemotherapy-\nrelated change at the margin.",
         "tumor_recurrence_vs_treatment_effect", True),
    ],
)
def test_what_the_note_reader_reads(services, notes, fact, value):
    assert services.extract_facts(notes)[fact].value is value


# --- one side of a question of alternatives ----------------------------------------------------
def test_an_unbiopsied_mass_asked_as_metastasis_or_glioma_turns_on_a_known_tumor(services):
    verdict = _ask(services, "HealthHelp: 70-year-old with treated breast cancer; MRI shows one cerebellar lesion, "
                             "unbiopsied, reported as metastasis versus primary high-grade glioma. Is MRS approvable?").verdict
    assert verdict.claim in ("depends", "only_if") and verdict.checked
    assert "healthhelp-mrs#indications.1" in verdict.claims[0].clause_ids


# --- special healthcare needs named by a condition -----------------------------------------------
@pytest.mark.parametrize(
    ("question", "claim"),
    [
        ("HealthHelp: 22-year-old with an intellectual disability. May the pediatric age range extend beyond 21 for her?",
         "yes"),
        ("HealthHelp, 25 yo with global developmental delay - could the pediatric age bands widen to include him?", "yes"),
        # no condition of those kinds: the band stretches only for the patients its own line names
        ("HealthHelp: 22-year-old with a broken wrist. May the pediatric age range extend beyond 21 for her?", "depends"),
    ],
)
def test_a_condition_of_the_definition_names_a_special_need(services, question, claim):
    _verdict(services, question, claim)


def test_a_developmental_condition_is_read_as_a_special_need():
    assert definition._special("a 24 yo with cerebral palsy")
    assert definition._special("developmental disabilities since birth")
    assert not definition._special("a 24 yo with migraine")
    # denied, it names no need
    assert not definition._special("a 24 yo, no developmental delay")
    assert not definition._special("a 24 yo without any intellectual disability")


# --- a guideline that hands a program to its own guidelines ---------------------------------------
def test_hand_off_clauses_are_read_from_the_corpus(services):
    found = scope.hand_offs(services.corpus.clauses())
    assert ("floridablue-mrs", "floridablue-mrs#program-exceptions.fep") in {(p, c) for p, c, _, _ in found}


@pytest.mark.parametrize(
    ("question", "claim"),
    [
        ("Member is in the Federal Employee Plan through Florida Blue, with a recurrence question. Does the Florida Blue "
         "coverage guideline govern this request?", "no"),
        ("FEP enrollee under Florida Blue wants spectroscopy for MS - should we apply Florida Blue's criteria?", "no"),
        # what the other program's guidelines say is still outside every indexed policy
        ("Florida Blue FEP member: what do the FEP guidelines require for MRS?", "not_addressed"),
        ("Florida Blue FEP enrollee - is there a guideline that applies to her?", "not_addressed"),
        # the hand-off asked the other way round: yes
        ("Are Federal Employee Plan enrollees exempt from the Florida Blue coverage guideline for MRS?", "yes"),
        ("Do Florida Blue FEP members use their own criteria for spectroscopy?", "yes"),
        # excluded from coverage is not what the exception says: still outside every indexed policy
        ("Is a Florida Blue FEP member with epilepsy excluded from spectroscopy coverage?", "not_addressed"),
    ],
)
def test_does_this_guideline_decide_a_handed_off_member(services, question, claim):
    verdict = _verdict(services, question, claim, checked=False)
    if claim != "not_addressed":
        assert verdict.checked and verdict.claims[0].clause_ids == ["floridablue-mrs#program-exceptions.fep"]


def test_no_hand_off_without_the_decide_question():
    found = [("floridablue-mrs", "floridablue-mrs#program-exceptions.fep", "Federal Employee Plan (FEP): Follow FEP guidelines.",
              "the Federal Employee Program (FEP)")]
    asked = ["the Federal Employee Program (FEP)"]
    assert scope.from_hand_off("What does FEP pay for it?", asked, ["floridablue-mrs"], found, {"floridablue-mrs": "FB"}) is None
    assert scope.from_hand_off("Does FB's policy apply to an FEP member?", asked, ["floridablue-mrs"], found,
                               {"floridablue-mrs": "FB"}).claim == "no"


# --- "when does <payer> consider …" -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "dated"),
    [
        ("When does NIA consider the spectroscopy study reasonable?", False),
        ("When does Cohere consider a second study after recent imaging worthwhile?", False),
        ("When did Cohere edit its repeat imaging wording?", True),
        # a past 'when' of the same verbs still asks for a date
        ("When did Florida Blue consider the study investigational?", True),
    ],
)
def test_when_a_payer_considers_asks_for_conditions(services, question, dated):
    plan = services.asker.plan(AskRequest(question=question))
    assert ("date" in plan.intents) is dated


def test_when_a_payer_considers_is_a_conditions_question():
    assert said.conditions_asked("When does Cohere consider a second study after recent imaging worthwhile?")


# --- a different service ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "claim"),
    [
        ("Under Florida Blue, would 1H-MRS count as a separate service from MR spectroscopy?", "no"),
        ("Florida Blue - is 'MRSI' distinct from magnetic resonance spectroscopy?", "no"),
        ("Florida Blue: is 'proton spectroscopy' the same service as MRS?", "yes"),
    ],
)
def test_a_different_service_is_the_names_question_reversed(services, question, claim):
    _verdict(services, question, claim)


def test_different_asked_only_without_same():
    assert said.different_asked("is it a separate procedure from MRS?")
    assert said.different_asked("is 'NMR spectroscopy' distinct from MR spectroscopy?")
    assert not said.different_asked("is it the same service, or different from MRS?")
    # set apart from another payer's policy, not from the study: no names question
    assert not said.names_asked("Does Florida Blue's coverage of proton spectroscopy differ from Cohere's?")


# --- an item that renders the request inappropriate ---------------------------------------------------
def test_render_the_request_inappropriate_asks_whether_an_item_bars_it(services):
    verdict = _ask(services, "For HealthHelp, does an insulin pump on its own render the spectroscopy request "
                             "medically inappropriate?").verdict
    assert verdict.claim == "no" and verdict.checked


# --- a notice named as the source ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "claim"),
    [
        ("In Cohere's notices, does the AMA assume liability for the data it contains?", "no"),
        ("Per Cohere's notices, is the AMA recommending the use of fee schedules?", "no"),
        # the association's full name is its initials; the part may head the question
        ("According to Cohere's notices, is HCPCS a registered trademark of the AMA?", "yes"),
        ("Cohere disclaimer - does the AMA dispense medical services?", "no"),
        # no part named: a fee is still a topic the policies never set ...
        ("Does Cohere set a fee for 76390?", "not_addressed"),
        ("Does Cohere give RVUs to 76390?", "not_addressed"),
        # ... unless one sentence of the policy named speaks of the rest of what is asked too
        ("Is it the AMA, by way of the Cohere guideline, that assigns RVUs to CPT 76390?", "no"),
    ],
)
def test_a_named_notice_answers_from_its_own_sentence(services, question, claim):
    _verdict(services, question, claim, checked=False)


def test_part_asked_reads_the_code_as_cpt():
    kind, rest = said.part_asked("Does the AMA set RVUs for CPT 76390, according to the payer's notices?")
    assert kind == "notice" and "76390" not in rest and "notices" not in rest and "CPT" in rest
    assert said.part_asked("Does the AMA set RVUs for CPT 76390?") is None


# --- "no longer qualifies because she is not X" --------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "claim"),
    [
        # "covered only when X?" asks whether X is required
        ("Would HealthHelp approve MRS for multiple sclerosis only when the MRI is non-diagnostic?", "no"),
        ("Is spectroscopy for Krabbe disease covered by HealthHelp only if therapy planning is needed?", "yes"),
    ],
)
def test_covered_only_when_asks_a_requirement(services, question, claim):
    _verdict(services, question, claim)


def test_a_plan_stated_only_if_is_no_requirement_question():
    assert requirement.requirement_words("Known GBM; the team orders MRS only if the next MRI is equivocal. Covered?") == ""


def test_qualifies_because_not_asks_what_is_required():
    assert requirement.requirement_words("Is he ineligible now? Is he not covered because he isn't a newborn anymore?") \
        .strip().startswith("a newborn")
    assert requirement.requirement_words("Is MRS covered because the MRI was inconclusive?") == ""


def test_a_neonatal_period_hie_does_not_lapse_with_age(services):
    verdict = _ask(services, "Cohere: a 5-year-old whose HIE began at birth (neonatal HIE). Is he no longer eligible "
                             "because he is no longer a neonate?").verdict
    assert verdict.claim == "no" and verdict.checked and "without requiring: a neonate" in verdict.text


# --- a negation carried along a coordination ------------------------------------------------------------
@pytest.mark.parametrize(
    ("proposition", "claim"),
    [
        ("the vendor sells scanners", "no"),  # "does not build magnets or, in any market, sell scanners"
        ("the vendor builds magnets", "no"),
        ("the vendor trains staff", "yes"),
    ],
)
def test_a_negation_reaches_along_or(proposition, claim):
    found = [Sentence("p", "p#n.1", "Notices", "The vendor does not build magnets or, in any market, sell scanners"),
             Sentence("p", "p#n.2", "Notices", "The vendor trains staff every year")]
    assert literature.from_sentences(proposition, found, {"p": "P"}).claim == claim


def test_without_names_keeps_what_is_asked_of_the_document():
    text = said.without_names("Does the Cohere Health policy (via the AMA) set RVUs?", ["Cohere Health", "Cohere"])
    assert "Cohere" not in text and "policy" not in text and "via" not in text and "AMA" in text and "RVUs" in text


# --- an exclusion stated by a coverage question with no patient -----------------------------------------
@pytest.mark.parametrize(
    ("question", "policy"),
    [
        ("Would NIA pay for spectroscopy done purely for research?", "nia-brain-mrs"),
        ("Can Florida Blue approve an MRS whose result would not alter the treatment plan?", "floridablue-mrs"),
    ],
)
def test_a_stated_exclusion_is_decided_by_the_criteria(services, question, policy):
    verdict = _verdict(services, question, "no")
    assert verdict.basis == "checker" and policy in verdict.text


# --- a code asked about, not asked for ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "codes"),
    [
        ("Is 76390 reported once per session under NIA?", []),
        ("Is 0698T performed with gadolinium for Cohere?", []),
        ("Is 0698T on the NIA guideline?", ["0698T"]),
        ("Are 76390 and +0698T both listed by NIA?", ["76390", "0698T"]),
        ("Is 76390 listed by Florida Blue?", ["76390"]),
    ],
)
def test_a_code_with_another_predicate_asks_no_list(question, codes):
    assert coding.codes_asked(question) == codes


# --- a condition covered only for a purpose ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "claim"),
    [
        ("Will HealthHelp pay for spectroscopy in hypoxic-ischemic brain injury?", "only_if"),
        ("Will HealthHelp pay for spectroscopy to predict outcome after hypoxic-ischemic brain injury?", "yes"),
    ],
)
def test_hie_under_healthhelp_turns_on_the_prognosis_purpose(services, question, claim):
    verdict = _verdict(services, question, claim)
    assert "healthhelp-mrs#indications.3" in verdict.claims[0].clause_ids
    assert "not among" not in verdict.text


# --- a denied later phrase is not joined to the first --------------------------------------------------------
def test_a_denied_prognosis_asked_of_healthhelp_is_no_approval(services):
    verdict = _ask(services, "HealthHelp: adult with toxic encephalopathy; MRS requested for diagnosis, not prognosis. "
                             "Covered?").verdict
    assert verdict.claim != "yes"
