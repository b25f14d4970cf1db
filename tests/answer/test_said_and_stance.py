"""What the documents say, answered from their own words: a 'does X say anything about Y'
question whose topic no guideline uses is not addressed; an exclusion question about payers
whose lists name nothing asked is not addressed; a document's own recommendation or
comparison answers yes or no, and a stance in another voice (a cited study's) never does."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from support.no_index import NoIndex

from mrs_assist.answer import retrieved, stance
from mrs_assist.config import Settings
from mrs_assist.schemas import AskRequest
from mrs_assist.service import Services


@pytest.fixture(scope="module")
def services() -> Services:
    return Services(Settings(), retriever=NoIndex())


@pytest.mark.parametrize(
    ("question", "claim", "says"),
    [
        ("Does HealthHelp say anything about sedation or anesthesia for MRS in young children?", "not_addressed",
         "'sedation'"),
        ("Do NIA's brain MRS guideline or Florida Blue's MRS guideline list MRI-unsafe implants (pacemakers, aneurysm "
         "clips) as exclusions?", "not_addressed", "lists nothing the question names"),
        ("Does the Magellan digest recommend adding the MRS code for discogenic pain to clinical guidelines?", "no",
         "we do not recommend"),
        ("Does the digest say MRS for discogenic pain looks more promising than MRS for intralesional cord evaluation?",
         "no", "less promising"),
        ("Does the digest say MRS for discogenic pain looks less promising than MRS for intralesional cord evaluation?",
         "yes", "less promising"),
    ],
)
def test_what_a_document_says_is_answered_from_its_own_words(services, question, claim, says):
    verdict = services.ask(AskRequest(question=question)).verdict
    assert verdict.claim == claim and says in verdict.text and verdict.checked


def test_a_stance_in_another_voice_or_on_another_topic_does_not_answer():
    cited = stance.Sentence("p", "p#e", "Evidence", "It is recommended by the group to use MRS with conventional MRI.")
    ours = stance.Sentence("p", "p#d", "Discogenic pain", "We do not recommend including this CPT code in clinical guidelines.")
    assert stance.from_stance("Does P recommend using MRS with conventional MRI?", [cited], {"p": "P"}) is None
    assert stance.from_stance("Does P recommend MRS for prostate cancer staging?", [ours], {"p": "P"}) is None
    assert stance.from_stance("Does P recommend adding the code for discogenic pain to clinical guidelines?",
                              [ours], {"p": "P"}).claim == "no"


@pytest.mark.parametrize(
    ("question", "claim"),
    [
        ("Does Cohere restrict MRS to the outpatient setting?", "no"),  # its level of care: "Inpatient or Outpatient"
        ("Cohere: is MRS only covered as an outpatient study?", "no"),
    ],
)
def test_a_care_setting_question_is_answered_from_the_policys_setting_clause(services, question, claim):
    verdict = services.ask(AskRequest(question=question)).verdict
    assert verdict.claim == claim and verdict.checked
    assert [i for c in verdict.claims for i in c.clause_ids] == ["cohere-mrs#level-of-care"]


def test_a_policy_naming_no_setting_does_not_address_it():
    from mrs_assist.answer import setting

    assert setting.setting_asked("Is MRS limited to inpatients under HealthHelp?") == "inpatient"
    assert setting.setting_asked("Inpatient MRS for a stroke patient?") is None  # no restriction asked
    named = setting.setting_clauses([SimpleNamespace(policy_id="a", id="a#loc", text="Outpatient")])
    assert setting.from_setting("outpatient", named, {"a": "A"}).claim == "yes"
    assert setting.from_setting("outpatient", named, {"b": "B"}).claim == "not_addressed"


def test_a_statement_before_the_question_is_a_premise_not_what_is_asked(services):
    # its date and "summary of changes" do not make the ask a history question
    plan = services.asker.plan(AskRequest(question=(
        "HealthHelp's 2024 summary of changes says an 'Ataxia in a child' indication was added. "
        "Can I approve brain MRS for a 6-year-old whose stated reason is ataxia, with no other diagnosis?")))
    assert not plan.intents & {"history", "date", "version"} and plan.coverage
    # "investigational" in the premise does not make "is that statement still there?" a coverage question
    plan = services.asker.plan(AskRequest(question=(
        "Florida Blue's 2006 update added an investigational statement for epilepsy. "
        "Is that statement still in the current guideline?")))
    assert not plan.coverage


def test_a_group_clause_is_named_by_its_group_not_by_a_leaf_sharing_it(services):
    # HealthHelp's indications head is also the clause of its region check: an unlisted
    # indication is "none of 1-8 is met", never "MRS of a region other than the brain"
    verdict = services.ask(AskRequest(question="Does HealthHelp cover MRS for ataxia in a child?")).verdict
    assert verdict.claim == "no" and "region other than the brain" not in verdict.text
    assert "ANY of criteria 1-8" in verdict.text


@pytest.mark.parametrize(
    ("question", "claim"),
    [
        ("Does Florida Blue's MRS guideline define 'post-therapy changes', 'brain lesion' or any other terms?", "no"),
        ("Does HealthHelp define 'demyelination'?", "yes"),
    ],
)
def test_whether_a_policy_defines_a_term_is_answered_from_its_definitions(services, question, claim):
    verdict = services.ask(AskRequest(question=question)).verdict
    assert verdict.claim == claim and verdict.checked


def test_a_term_only_some_policies_define_gets_no_verdict():
    from mrs_assist.answer.definition import define_asked, from_defined

    assert define_asked("Does HealthHelp define 'epilepsy' and 'voxel'?") == ["epilepsy", "voxel"]
    assert define_asked("How does HealthHelp define 'pediatric'?") is None
    defs = {"h": [("h#definitions.epilepsy", "Epilepsy is …")]}
    assert from_defined(["epilepsy", "voxel"], defs, {"h": "H"}) is None
    assert from_defined(["epilepsy"], defs, {"h": "H"}).claim == "yes"


# --- session 7: questions a clause answers by its shape (answer.said) ---------------------------
def _hits(services: Services, *ids: str) -> list[SimpleNamespace]:
    """Retrieval hits for the clauses ``ids``, in order (what the retriever hands the verdict)."""
    kinds = services.asker.structure.kinds
    return [SimpleNamespace(clause_id=c.id, policy_id=c.policy_id, text=c.text, kinds=kinds.get(c.id, frozenset()))
            for c in (services.corpus.clause(i) for i in ids)]


def _hit_verdict(services: Services, question: str, *ids: str):
    asker = services.asker
    return retrieved.verdict_from_hits(asker.plan(AskRequest(question=question)), _hits(services, *ids),
                                       corpus=services.corpus, structure=asker.structure, kinds=asker._kinds,
                                       citations=asker._citations)[0]


def test_a_clause_saying_none_was_found_answers_an_existence_question_no(services):
    verdict = _hit_verdict(services, "Florida Blue Medicare Advantage member needs MRS. Is there an NCD or LCD that "
                                     "Florida Blue points to?", "floridablue-mrs#program-exceptions.medicare-advantage")
    assert verdict.claim == "no" and "were found" in verdict.text
    # the same clause does not answer whether something else exists
    verdict = _hit_verdict(services, "Is there a step therapy exemption process under Florida Blue?",
                           "floridablue-mrs#program-exceptions.medicare-advantage")
    assert verdict.claim == "quote"


def test_a_when_question_over_a_conditional_list_is_answered_only_if(services):
    verdict = _hit_verdict(services, "Cohere: when will a repeat study be considered reasonable and necessary?",
                           "cohere-mrs#indications.2.d")
    assert verdict.claim == "only_if"
    assert [c.clause_ids[0] for c in verdict.claims] == [
        "cohere-mrs#indications.2.d", "cohere-mrs#indications.2.d.1", "cohere-mrs#indications.2.d.2",
        "cohere-mrs#indications.2.d.3"]
    # a date question is not a conditions question
    verdict = _hit_verdict(services, "When did Cohere edit its repeat imaging criteria?", "cohere-mrs#indications.2.d")
    assert verdict.claim == "quote"


@pytest.mark.parametrize(
    ("question", "claim"),
    [
        ("A Florida Blue request says '1H-MRS' / 'proton spectroscopy' rather than MRS. Same service?", "yes"),
        ("Is 'MRSI' another name for MRS under Florida Blue?", "yes"),
    ],
)
def test_terms_a_policy_lists_among_the_studys_other_names_are_the_same_service(services, question, claim):
    verdict = services.ask(AskRequest(question=question)).verdict
    assert verdict.claim == claim and "floridablue-mrs#other" in verdict.claims[0].clause_ids and verdict.checked


def test_a_term_no_names_list_gives_is_not_claimed_the_same():
    from mrs_assist.answer.said import from_other_names
    from mrs_assist.schemas import Citation

    parent = Citation(clause_id="p#other", policy_id="p", section="", text="Other names used to report MRS:", score=1.0)
    items = [Citation(clause_id="p#other.1", policy_id="p", section="", text="Proton spectroscopy", score=1.0)]
    assert from_other_names(["MR perfusion"], [("P", parent, items)]) is None
    assert from_other_names(["proton spectroscopy"], [("P", parent, items)]).claim == "yes"


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("What does Florida Blue pay for CPT 76390?", "payment"),
        ("Under HealthHelp, should MRS be billed with modifier 26 or TC when the professional and technical "
         "components are split?", "billing modifiers"),
        ("Will Florida Blue pay for MRS for multiple sclerosis?", None),  # coverage, not an amount
    ],
)
def test_topics_the_policies_never_set(question, topic):
    from mrs_assist.answer.scope import unset_topics

    assert [t.name for t in unset_topics(question)] == ([topic] if topic else [])


@pytest.mark.parametrize(
    ("question", "clause"),
    [
        ("Can I deny, or approve, a spinal cord MRS request by citing the Magellan digest as the criteria?",
         "magellan-mrs-digest#cord-lesions.1"),
        ("A surgeon cites the Magellan digest to justify lumbar disc MRS before fusion. Can a reviewer approve on "
         "that basis?", "magellan-mrs-digest#discogenic-pain.3"),
    ],
)
def test_the_digest_is_never_the_basis_of_a_decision(services, question, clause):
    verdict = services.ask(AskRequest(question=question)).verdict
    assert verdict.claim == "no" and "never a source of criteria" in verdict.text and verdict.checked
    assert verdict.claims[0].clause_ids == [clause]


def test_the_magellan_digest_names_the_digest_not_nias_guideline(services):
    plan = services.asker.plan(AskRequest(question="Does the Magellan digest consider MRS for discogenic pain investigational?"))
    assert plan.named == ["magellan-mrs-digest"] and plan.decided_policies == []
    # NIA named in its own words stays named
    plan = services.asker.plan(AskRequest(question="Can I cite the Magellan digest to approve MRS of a cervical cord MS "
                                                   "plaque under the NIA brain MRS guideline?"))
    assert "nia-brain-mrs" in plan.named
