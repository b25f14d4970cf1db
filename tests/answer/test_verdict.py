"""Every ask answer opens with a verdict: decided by the checker, the matrix, a list or a clause,
each claim cited and checked; history is labelled and never decides when a current clause does."""

from __future__ import annotations

import pytest

from mrs_assist.answer import verdict as verdicts
from mrs_assist.answer.extractive import compose_answer
from mrs_assist.answer.plan import plan_question, stated_case
from mrs_assist.answer.scope import foreign_payers, unset_topics
from mrs_assist.config import Settings
from mrs_assist.errors import IndexNotReadyError
from mrs_assist.retrieve.shorthand import expand_shorthand, spell_out
from mrs_assist.retrieve.structure import ClauseStructure, clause_kinds, question_intents
from mrs_assist.schemas import AskRequest, Citation
from mrs_assist.service import Services
from mrs_assist.validate import AnswerDraft, validate_answer_draft


class NoIndex:
    """No index: the verdicts below must stand on the criteria and the checker alone."""

    def search(self, *args, **kwargs):
        raise IndexNotReadyError("no index in this test")

    rank = search


@pytest.fixture(scope="module")
def services() -> Services:
    return Services(Settings(), retriever=NoIndex())


def _ask(services: Services, question: str):
    return services.ask(AskRequest(question=question))


# --- the two questions of issue 13 --------------------------------------------------------------
def test_stated_case_goes_through_the_checker_and_names_the_deciding_criterion(services):
    response = _ask(services, "pt had MRI brain 5 wks ago, no new sx, can we approve MRS under cohere?")
    verdict = response.verdict
    assert verdict.basis == "checker" and verdict.checked
    assert verdict.text.startswith("No — ")
    assert "advanced imaging of the same body part within 3 months" in verdict.text
    assert [c.clause_ids for c in verdict.claims] == [["cohere-mrs#non-indications.1"]]
    # the answer opens with the verdict; the deciding clause is the first citation
    assert response.answer.startswith(verdict.text)
    assert response.citations[0].clause_id == "cohere-mrs#non-indications.1"


def test_comparison_gets_a_row_per_payer_from_the_current_criteria(services):
    response = _ask(services, "What's the difference between HealthHelp and Florida Blue for epilepsy?")
    verdict = response.verdict
    assert verdict.basis == "criteria" and verdict.checked
    rows = {c.clause_ids[-1]: c.text for c in verdict.claims}
    # HealthHelp lists epilepsy for pre-surgical evaluation only (issue 23: the purpose is a condition)
    assert rows["healthhelp-mrs#indications.2"].startswith("Only if the MRS is for pre-surgical evaluation — HealthHelp")
    assert rows["floridablue-mrs#position"].startswith("No — ")
    # Florida Blue's 2006 "investigational statement … epilepsy" line never decides
    assert not any("history" in cid for c in verdict.claims for cid in c.clause_ids)
    assert verdict.text.count("\n- ") == 2


def test_history_clauses_are_labelled_in_the_quotes(services):
    corpus = services.corpus
    history = corpus.clause("floridablue-mrs#history.2006-07-15")
    position = corpus.clause("floridablue-mrs#position")

    class Hit:
        def __init__(self, clause):
            self.clause_id, self.policy_id, self.section, self.text = clause.id, clause.policy_id, clause.section, clause.text
            self.payer, self.score = "Florida Blue", 1.0

    answer, _ = compose_answer("epilepsy", [Hit(position), Hit(history)], kinds=services.asker._kinds)
    lines = answer.splitlines()
    assert lines[2].startswith("- (history — not the current position)") and "[floridablue-mrs#history.2006-07-15]" in lines[2]
    assert not lines[1].startswith("- (history")


@pytest.mark.parametrize(
    ("question", "start", "clause"),
    [
        ("cohere, neonate w HIE, MRI inconclusive - approve mrs?", "Yes — ", "cohere-mrs#indications.2.b.1"),
        ("NIA: pt w/ parkinsons, neuro wants MRS, approvable?", "No — ", "nia-brain-mrs#background.other-diseases"),
    ],
)
def test_stated_cases_decide_yes_and_no(services, question, start, clause):
    verdict = _ask(services, question).verdict
    assert verdict.basis == "checker" and verdict.text.startswith(start)
    assert clause in verdict.claims[0].clause_ids


def test_a_stated_safety_item_is_flagged_before_the_open_criteria(services):
    verdict = _ask(services, "HH: pt had a stent placed 3 wks ago, MRS ok?").verdict
    assert verdict.claims[0].text.startswith("Safety flag under HealthHelp")
    assert verdict.claims[0].clause_ids == ["healthhelp-mrs#contraindications.1"]
    assert verdict.claims[1].text.startswith("It depends — ") and verdict.claim == "depends"


def test_response_keeps_the_contract_and_adds_verdict(services):
    body = _ask(services, "Does NIA cover MRS for glioma grading?").model_dump(mode="json")
    assert {"answer", "citations", "mode"} <= body.keys() and body["mode"] == "extractive"
    assert body["verdict"]["basis"] == "criteria" and body["verdict"]["checked"] is True
    assert body["verdict"]["text"].startswith("No — ") and "experimental/investigational" in body["verdict"]["text"]
    cited = {c["clause_id"] for c in body["citations"]}
    assert all(set(c["clause_ids"]) <= cited for c in body["verdict"]["claims"])


# --- the guard ----------------------------------------------------------------------------------
def _problems_of(citations, services):
    def problems_of(text, ids):
        draft = AnswerDraft(answer=text, cited_clause_ids=ids)
        found = validate_answer_draft(
            draft, question="q", citations=citations, corpus=services.corpus, vocabulary=services.fixed_vocabulary
        )
        return [p.code for p in found]

    return problems_of


def _citation(corpus, clause_id):
    c = corpus.clause(clause_id)
    return Citation(clause_id=c.id, policy_id=c.policy_id, section=c.section, text=c.text, score=1.0)


def test_check_verdict_passes_a_built_verdict_and_rejects_tampering(services):
    corpus = services.corpus
    citations = [_citation(corpus, "cohere-mrs#non-indications.1")]
    cell = verdicts.MatrixCell("cohere-mrs", "Cohere Health", "stroke", "not_covered", [], ["cohere-mrs#non-indications.1"])
    good = verdicts.from_matrix([cell])
    assert verdicts.check_verdict(good, citations, _problems_of(citations, services)) == []

    uncited = good.model_copy(update={"claims": [good.claims[0].model_copy(update={"clause_ids": ["cohere-mrs#notes.1"]})]})
    assert any("not among the citations" in p for p in verdicts.check_verdict(uncited, citations, _problems_of(citations, services)))

    bare = good.model_copy(update={"claims": [good.claims[0].model_copy(update={"clause_ids": []})]})
    assert any("without a citation" in p for p in verdicts.check_verdict(bare, citations, _problems_of(citations, services)))

    misquoted = good.model_copy(update={"text": good.text + ' "MRS is always appropriate" [cohere-mrs#non-indications.1]'})
    assert "quote_not_verbatim" in verdicts.check_verdict(misquoted, citations, _problems_of(citations, services))


# --- plan, structure, shorthand -----------------------------------------------------------------
def test_stated_case_keeps_the_facts_and_drops_the_ask(services):
    case = stated_case("pt had MRI brain 5 wks ago, no new sx, can we approve MRS under cohere?", services.corpus)
    assert case == "patient had MRI brain 5 weeks ago. no new symptoms."
    assert stated_case("Does NIA cover MRS for glioma grading?", services.corpus) == ""


def test_plan_is_computed_once_with_one_coverage_rule(services):
    criteria = services.asker._criteria
    plan = plan_question("fla blue vs nia on epilepsy", None, corpus=services.corpus, criteria=criteria,
                         vocabulary=services.vocabulary)
    assert plan.named == ["floridablue-mrs", "nia-brain-mrs"] and plan.comparison and plan.decides_coverage
    past = plan_question("when did HH add the epilepsy indication", None, corpus=services.corpus,
                         criteria=criteria, vocabulary=services.vocabulary)
    assert past.named == ["healthhelp-mrs"] and "history" in past.intents and not past.decides_coverage


def test_list_units_are_the_parent_and_every_item_in_order(services):
    structure = ClauseStructure({"clause_id": c.id, "section": c.section, "clause_text": c.text} for c in services.corpus.clauses())
    unit = structure.unit("cohere-mrs#non-indications.3")
    assert unit[0] == "cohere-mrs#non-indications"
    assert unit[1:] == [f"cohere-mrs#non-indications.{i}" for i in range(1, 6)]
    assert structure.unit("healthhelp-mrs#indications.1.c")[1:] == [
        f"healthhelp-mrs#indications.1.c.{n}" for n in ("i", "ii", "iii", "iv", "v", "vi", "vii")
    ]
    assert structure.unit("cohere-mrs#level-of-care") == []


@pytest.mark.parametrize(
    ("clause_id", "kind"),
    [
        ("floridablue-mrs#history.2005-10-15", "history"),
        ("floridablue-mrs#history.2005-10-15", "date"),
        ("cohere-mrs#guideline-info.effective-date", "date"),
        ("cohere-mrs#guideline-info.version", "version"),
        ("nia-brain-mrs#guideline-info.cpt-codes", "code"),
        ("healthhelp-mrs#definitions.ataxia", "definition"),
        ("nia-brain-mrs#general-information", "documentation"),
    ],
)
def test_clause_kinds(services, clause_id, kind):
    c = services.corpus.clause(clause_id)
    assert kind in clause_kinds(c.id, c.section, c.text)


def test_question_intents_and_shorthand():
    assert {"date", "version"} <= question_intents("cohere effective date + version?")
    assert "list" in question_intents("which conditions does cohere list as non-indications")
    assert "list" not in question_intents("does HealthHelp list traumatic brain injury for MR spectroscopy?")
    assert "history" not in question_intents("MRS to evaluate residual tumor vs treatment change")
    assert expand_shorthand("what does NIA call E/I") == "what does NIA call E/I (experimental investigational)"
    assert spell_out("no new sx, s/p XRT") == "no new symptoms, status post radiation"


# --- issue 23: every verdict states its claim; what no indexed policy answers is said first ---------
@pytest.mark.parametrize(
    ("question", "claim"),
    [
        ("Does NIA cover MRS for glioma grading?", "no"),
        ("Does Florida Blue cover MRS for epilepsy?", "no"),
        ("Does HealthHelp cover MRS for multiple sclerosis?", "yes"),
        ("Does Cohere cover MRS for Canavan disease?", "only_if"),
        ("Which payers cover MRS for Canavan disease?", "depends"),
        ("HH: pt had a stent placed 3 wks ago, MRS ok?", "depends"),
        ("pt had MRI brain 5 wks ago, no new sx, can we approve MRS under cohere?", "no"),
        ("cohere, neonate w HIE, MRI inconclusive - approve mrs?", "yes"),
    ],
)
def test_every_decided_verdict_states_its_claim(services, question, claim):
    verdict = _ask(services, question).verdict
    assert verdict.claim == claim and verdict.checked


@pytest.mark.parametrize(
    ("question", "says"),
    [
        ("Does Aetna cover MRS for brain tumors?", "no indexed policy is Aetna's"),
        ("Is MR spectroscopy approvable under UHC for epilepsy?", "no indexed policy is UnitedHealthcare's"),
        ("What is the fee for CPT 76390?", "set no fee"),
        ("What's the copay for MRS under Florida Blue?", "set no fee"),
        ("How many days does Cohere take to decide an MRS request?", "no review turnaround time"),
    ],
)
def test_questions_no_indexed_policy_answers_say_so_first(services, question, says):
    response = services.ask(AskRequest(question=question))
    assert response.verdict.claim == "not_addressed" and response.verdict.claims == []
    assert response.answer.startswith("Not addressed — ") and says in response.verdict.text


def test_an_indexed_payer_named_beside_another_is_still_answered(services):
    verdict = _ask(services, "Aetna aside, does Florida Blue cover MRS for epilepsy?").verdict
    assert verdict.claim == "no" and "floridablue-mrs#position" in verdict.claims[0].clause_ids


def test_scope_words_need_whole_words():
    assert foreign_payers("pt in humana medicare advantage") == ["Humana"]
    assert foreign_payers("Is MRS covered for a cigarette smoker?") == []
    assert [t.name for t in unset_topics("Does Cohere cover MRS for epilepsy?")] == []
    assert [t.name for t in unset_topics("coverage appeal after denial")] == ["appeal"]


@pytest.mark.parametrize(
    ("question", "claim", "clause", "deciding"),
    [
        # issue 23's misreadings: a stated case read wrongly
        ("Known GBM, MRI read as unequivocal progression, not inconclusive. Does Cohere cover MRS?", "no",
         "cohere-mrs#indications.1", "conventional MRI or CT is inconclusive"),
        ("New lesion, DDx subacute infarct vs neoplasm. Does NIA approve MRS?", "yes",
         "nia-brain-mrs#indications.2", "distinguish a brain tumor from a non-tumor lesion"),
        ("Adult HIE after cardiac arrest under Cohere - covered?", "no", "cohere-mrs#indications.2.b.1", "neonatal period"),
        ("Does Cohere cover MRS for HIE in a 40 year old?", "no", "cohere-mrs#indications.2.b.1", "a neonate"),
    ],
)
def test_a_stated_case_is_read_as_stated(services, question, claim, clause, deciding):
    response = _ask(services, question)
    verdict = response.verdict
    assert verdict.basis == "checker" and verdict.claim == claim and verdict.checked
    assert clause in verdict.claims[0].clause_ids and deciding in verdict.claims[0].text
    # the question's own facts are shown back under the verdict
    assert verdict.described and response.answer.split("\n")[1].startswith("As you describe it: ")


def test_the_facts_shown_back_say_what_was_read_and_from_which_words(services):
    verdict = _ask(services, "Adult HIE after cardiac arrest under Cohere - covered?").verdict
    assert 'hypoxic-ischemic encephalopathy (HIE) ("HIE")' in verdict.described
    assert "not: a neonate (first 28 days of life)" in verdict.described


def test_stated_case_keeps_a_qualifier_with_its_fragment(services):
    # typed into the ask itself: fragments, the qualifier kept with its own
    case = stated_case("Known GBM, MRI read as unequivocal progression, not inconclusive - Cohere ok?", services.corpus)
    assert case == "Known GBM. MRI read as unequivocal progression, conclusive."
    # a sentence that states the case is read whole, as a note's sentence
    case = stated_case("Known GBM, MRI read as unequivocal progression, not inconclusive. Cohere ok?", services.corpus)
    assert case == "Known GBM, MRI read as unequivocal progression, conclusive."


@pytest.mark.parametrize(
    ("question", "claim", "start", "clause"),
    [
        ("Does HealthHelp require a non-diagnostic MRI for every indication, e.g. MS?", "no",
         "No — HealthHelp (healthhelp-mrs) requires it", "healthhelp-mrs#indications.4"),
        ("Does Cohere require conventional imaging to be inconclusive?", "yes",
         "Yes — Cohere Health (cohere-mrs) requires, for every indication", "cohere-mrs#indications.1"),
        ("Is an inconclusive MRI required by NIA?", "no", "No — none of National Imaging", "nia-brain-mrs#indications.1"),
        ("Does HealthHelp need a known brain tumor for biopsy guidance?", "yes",
         "Yes — HealthHelp (healthhelp-mrs) requires, for MRS to guide or localize a brain biopsy: a known",
         "healthhelp-mrs#indications.1"),
        ("Does Cohere require the patient to be a neonate for HIE?", "yes", "Yes — Cohere", "cohere-mrs#indications.2.b.1"),
    ],
)
def test_a_requirement_question_is_answered_about_the_requirement(services, question, claim, start, clause):
    verdict = _ask(services, question).verdict
    assert verdict.claim == claim and verdict.checked and verdict.text.startswith(start)
    assert clause in verdict.claims[0].clause_ids


def test_committee_lines_and_reference_lists_never_decide(services):
    structure = services.asker.structure
    assert "committee" in structure.kinds["nia-brain-mrs#approval.committee"]
    assert "committee" in structure.kinds["floridablue-mrs#committee-approval"]

    class Hit:
        def __init__(self, clause_id):
            self.clause_id, self.policy_id = clause_id, clause_id.split("#")[0]
            self.kinds = structure.kinds[clause_id]

    hits = [Hit("nia-brain-mrs#approval.committee"), Hit("healthhelp-mrs#references.4"), Hit("nia-brain-mrs#indications.2")]
    assert verdicts.prefer_current(hits, frozenset()).clause_id == "nia-brain-mrs#indications.2"
    assert question_intents("Does Cohere cover MRS for HIE in a 40 year old?") == frozenset()


@pytest.mark.parametrize(
    ("question", "claim", "start", "clause"),
    [
        ("Is an MR-conditional pacemaker by itself a non-indication?", "no", "No — none of Cohere Health",
         "cohere-mrs#non-indications"),
        # Cohere lists pacemakers only when not MRI-compatible: a bare pacemaker turns on that
        ("Does a pacemaker rule out MRS under Cohere?", "depends",
         "It depends — Cohere Health (cohere-mrs) lists it as a non-indication only", "cohere-mrs#non-indications.3"),
        ("Does a pacemaker that is not MRI compatible rule out MRS under Cohere?", "yes",
         "Yes — Cohere Health (cohere-mrs) lists it as a non-indication", "cohere-mrs#non-indications.3"),
        ("Does claustrophobia exclude a patient from MRS under Cohere?", "no", "No — Cohere Health (cohere-mrs) does not exclude it",
         "cohere-mrs#notes.1"),
        ("Is a cochlear implant a contraindication for HealthHelp?", "yes", "Yes — HealthHelp (healthhelp-mrs) lists it where MRI may be",
         "healthhelp-mrs#contraindications.2"),
    ],
)
def test_an_exclusion_question_is_answered_from_the_policy_lists(services, question, claim, start, clause):
    verdict = _ask(services, question).verdict
    assert verdict.claim == claim and verdict.checked and verdict.text.startswith(start)
    assert clause in verdict.claims[0].clause_ids and verdict.described


@pytest.mark.parametrize(
    ("question", "claim", "says"),
    [
        ("HH MRS for MS?", "yes", "HealthHelp (healthhelp-mrs) covers MRS for multiple sclerosis"),
        ("Is MRS to distinguish tumor recurrence from radiation necrosis covered by all four payers?", "yes",
         "Yes — each of the 4 payers covers it"),
        ("Is MRS for epilepsy covered by every payer?", "no", "No — not every payer"),
        ("Florida Blue FEP member needs MRS for radiation necrosis vs recurrence. What do the FEP guidelines say?",
         "not_addressed", "no indexed policy is the Federal Employee Program (FEP)'s"),
        ("Does any of the policies specify magnet field strength (1.5T vs 3T) for MRS?", "not_addressed", "field strength"),
        # the ask is the last sentence: a contraindication named in the case does not make it an exclusion question
        ("Cohere: patient with renal insufficiency in whom gadolinium is contraindicated. Can MRS go ahead?", "depends", ""),
        ("HealthHelp, adult with MS who has a cochlear implant: does the implant mean denial?", "no",
         "does not exclude it"),
    ],
)
def test_terse_every_payer_and_outside_questions(services, question, claim, says):
    verdict = _ask(services, question).verdict
    assert verdict.claim == claim and says in verdict.text


def test_what_must_follow_a_requirement_verb_is_what_is_asked(services):
    # "does the tumor have to have been treated" asks about treatment, which no condition fact names
    plan = services.asker.plan(AskRequest(question="NIA's first indication: does the brain tumor have to have been treated already?"))
    assert plan.required is None


@pytest.mark.parametrize(
    ("question", "claim", "clause"),
    [
        ("Is 0698T listed by NIA?", "yes", "nia-brain-mrs#guideline-info.cpt-codes"),
        ("Do HealthHelp, Cohere or Florida Blue list +0698T alongside 76390?", "no", "cohere-mrs#procedure-codes.76390"),
    ],
)
def test_a_code_question_is_answered_from_each_policy_code_list(services, question, claim, clause):
    verdict = _ask(services, question).verdict
    assert verdict.claim == claim and verdict.checked
    assert clause in {i for c in verdict.claims for i in c.clause_ids}


def test_a_code_in_passing_is_not_a_code_question():
    from mrs_assist.answer.coding import codes_asked

    assert codes_asked("Is HealthHelp's procedure code table (76390 only) the complete list of billable codes?") == []
    assert codes_asked("Is 76390 the code for MRS under Florida Blue?") == ["76390"]


def test_an_exclusion_question_to_a_policy_without_exclusions_is_not_addressed(services):
    response = _ask(services, "Under the NIA brain MRS guideline, does an aneurysm clip exclude the study?")
    assert response.verdict.claim == "not_addressed" and response.verdict.claims == []
    assert response.answer.startswith("Not addressed — National Imaging Associates")


def test_counts_as_claims_yes_only_when_one_clause_names_both():
    from mrs_assist.answer.terms import counts_as, names_both

    clause = "Conventional imaging by magnetic resonance imaging (MRI) or computed tomography (CT) is inconclusive; AND"
    asked = counts_as("Does a CT count as conventional imaging for Cohere?")
    assert asked == (["CT"], ["conventional", "imaging"]) and names_both(clause, *asked)
    assert not names_both(clause, *counts_as("Does a PET scan count as conventional imaging for Cohere?"))
    assert counts_as("Does Cohere cover MRS for HIE?") is None
    # a term that points back is the study named before it; the payer's name and "requirement" are not the kind
    asked = counts_as("The only imaging so far is a head CT, read as indeterminate. Would it fulfil Cohere's "
                      "conventional-imaging requirement?")
    assert asked == (["CT"], ["conventional", "imaging"]) and names_both(clause, *asked)
    assert counts_as("Nothing was done yet. Does that meet the conventional imaging requirement?") is None
    assert counts_as("Does a 40-year-old with MS meet Cohere's criteria?") is None


def test_the_digest_named_by_what_it_is(services):
    plan = services.asker.plan(AskRequest(question="How does the digest describe what MRS is?"))
    assert plan.named == ["magellan-mrs-digest"]
    assert services.asker.plan(AskRequest(question="Does HealthHelp cover MRS for MS?")).named == ["healthhelp-mrs"]


@pytest.mark.parametrize(
    ("question", "claim"),
    [
        ("Is MRS covered for hepatic encephalopathy under HealthHelp?", "only_if"),
        ("Does HealthHelp cover MRS for presurgical epilepsy evaluation?", "yes"),
    ],
)
def test_an_indication_limited_to_a_purpose_is_covered_only_for_it(services, question, claim):
    assert _ask(services, question).verdict.claim == claim


def test_a_rejected_verdict_is_logged_by_its_problem_codes_only(services, monkeypatch, caplog):
    """The validator's messages may quote the question (a stated case, an MRN): never logged."""
    monkeypatch.setattr(verdicts, "check_verdict", lambda *a, **k: [
        "unsupported_assertion: answer states a number not in the request or guideline: 'MRN 4417733'"])
    with caplog.at_level("WARNING", logger="mrs_assist"):
        _ask(services, "HH MRS for MS?")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "verdict rejected by the validator: unsupported_assertion" in logged
    assert "4417733" not in logged
