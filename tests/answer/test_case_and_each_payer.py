"""Question classes found on indep-dev7 (issue 23, session 10): a contraindication the case's
chart documents is part of the case; "under both HealthHelp and NIA?" asks each payer named; a
"still lists X for brain MRS?" question asks about X, not the study; "inpatient as well as
outpatient?" asks whether each setting is allowed; a spaced slash in a quoted term writes two
names; "how many business days" asks a turnaround no policy sets."""

from __future__ import annotations

import pytest
from support.no_index import NoIndex

from mrs_assist.answer import applies, history, quantifier, said, scope, setting, terms
from mrs_assist.answer import verdict as verdicts
from mrs_assist.answer.exclusion import EXCLUDE
from mrs_assist.config import Settings
from mrs_assist.schemas import AskRequest, Citation
from mrs_assist.service import Services


@pytest.fixture(scope="module")
def services() -> Services:
    return Services(Settings(), retriever=NoIndex())


def _ask(services, question):
    return services.asker.ask(AskRequest(question=question))


def test_a_device_the_chart_documents_is_read_with_the_case(services):
    question = ("Cohere request for MRS to tell recurrent glioma from radiation necrosis after an inconclusive MRI; "
                "the chart documents an implanted defibrillator that is not MRI-conditional. OK to approve?")
    assert "defibrillator" in services.asker.plan(AskRequest(question=question)).case_text
    verdict = _ask(services, question).verdict
    assert verdict.claim == "no" and verdict.checked
    assert any(i.startswith("cohere-mrs#non-indications") for c in verdict.claims for i in c.clause_ids)


@pytest.mark.parametrize(
    ("question", "every"),
    [
        ("A 15-year-old with refractory focal epilepsy is a resection candidate. Covered under both HealthHelp and NIA?", True),
        ("Is glioma grading listed by both Cohere and Florida Blue?", True),
        ("Does HealthHelp cover both MS and epilepsy?", False),  # 'both' of two indications, one payer
        ("Both the MRI and the CT were inconclusive; does Cohere cover MRS?", False),
    ],
)
def test_both_before_two_named_payers_asks_each_of_them(services, question, every):
    assert services.asker.plan(AskRequest(question=question)).every_payer is every


def test_a_stated_case_under_both_payers_is_no_when_one_says_no(services):
    verdict = _ask(services, "A 15-year-old with refractory focal epilepsy is a resection candidate. "
                             "Covered under both HealthHelp and NIA?").verdict
    assert verdict.claim == "no" and verdict.checked
    assert verdict.text.startswith("No — not under every payer asked")


def _case(payer, outcome):
    return verdicts.PolicyCase(policy_id=payer.lower(), payer=payer, outcome=outcome,
                               deciding=[("a reason", f"{payer.lower()}#indications.1")], flags=[], missing=[])


@pytest.mark.parametrize(
    ("outcomes", "every", "claim"),
    [
        (["meets_criteria", "does_not_meet_criteria"], True, "no"),
        (["meets_criteria", "does_not_meet_criteria"], False, "depends"),
        (["meets_criteria", "meets_criteria"], True, "yes"),
        # one payer undecided, none refusing: still open, never a guessed yes
        (["meets_criteria", "needs_more_information"], True, "depends"),
    ],
)
def test_the_checker_over_each_payer(outcomes, every, claim):
    cases = [_case(p, o) for p, o in zip(["A", "B"], outcomes, strict=True)]
    assert verdicts.from_checker(cases, every=every).claim == claim


def test_a_still_question_asks_about_the_indication_not_the_study(services):
    assert history.still_asked("Does NIA still list a therapeutic follow-up indication for brain MRS?") == \
        "a therapeutic follow-up indication"
    assert history.still_asked("Does NIA still cover MRS for therapeutic follow-up?") == "MRS for therapeutic follow-up"
    verdict = _ask(services, "Does NIA still include a therapeutic follow-up indication for MR spectroscopy?").verdict
    assert verdict.claim == "no" and verdict.checked
    assert verdict.claims[0].clause_ids == ["nia-brain-mrs#history.2019-07.1"]


@pytest.mark.parametrize(
    ("question", "asked"),
    [
        ("Can Cohere review MRS for an inpatient stay as well as outpatient?", "both"),
        ("Is MRS restricted to outpatient under Cohere?", "outpatient"),
        # one setting, nothing restricted: whether that setting is allowed at all (session 14; was not asked here)
        ("Is MRS covered inpatient under Cohere?", "allowed in inpatient"),
        ("Is MRS for the inpatient ward team's patients interesting?", None),  # no allowance asked
    ],
)
def test_both_settings_named_asks_whether_each_is_allowed(question, asked):
    assert setting.setting_asked(question) == asked


@pytest.mark.parametrize(
    ("text", "claim"),
    [("Inpatient or Outpatient", "yes"), ("Outpatient only", "no"), ("Setting: any", None)],
)
def test_both_settings_yes_only_when_the_clause_names_each(text, claim):
    verdict = setting.from_setting("both", {"p": ("p#level-of-care", text)}, {"p": "Payer"})
    assert (verdict.claim if verdict.basis != "not_addressed" else None) == claim


def test_both_settings_answer_is_checked_against_the_level_of_care_clause(services):
    verdict = _ask(services, "Under Cohere, may 76390 be done inpatient as well as outpatient?").verdict
    assert verdict.claim == "yes" and verdict.checked
    assert verdict.claims[0].clause_ids == ["cohere-mrs#level-of-care"]


def test_a_spaced_slash_in_a_quote_writes_two_names(services):
    question = "A claim calls it 'MRSI / NMR spectroscopy'. Is that the same service as MRS for Florida Blue?"
    assert said.same_asked(question) == ["MRSI", "NMR spectroscopy"]
    assert said.same_asked("Is 'f/u spectroscopy' the same service as MRS?") == ["f/u spectroscopy"]
    verdict = _ask(services, question).verdict
    assert verdict.claim == "yes" and verdict.checked
    # a name the list does not hold is no yes: each name of the quote must be listed
    def cite(cid, text):
        return Citation(clause_id=cid, policy_id="p", section="Other", text=text, score=1.0)

    lists = [("Payer", cite("p#other", "Other names:"), [cite("p#other.1", "Magnetic resonance spectroscopy imaging (MRSI)")])]
    assert said.from_other_names(said.same_asked("Is 'MRSI / PET spectroscopy' the same service?"), lists) is None
    assert said.from_other_names(said.same_asked("Is 'MRSI' the same service?"), lists).claim == "yes"


@pytest.mark.parametrize(
    "question",
    ["How many business days does Cohere have to decide an MRS request?",
     "Within how many calendar days must NIA respond?"],
)
def test_business_days_ask_a_turnaround_no_policy_sets(question):
    assert [t.name for t in scope.unset_topics(question)] == ["turnaround"]


def test_whether_a_criterion_rescues_the_stated_case_is_asked_of_the_checker(services):
    question = ("Cohere: brain MRI five weeks ago was indeterminate. No treatment since, no new or worsening symptoms. "
                "MRS requested as a one-time clarifying follow-up. Does the repeat-imaging clause save it?")
    verdict = _ask(services, question).verdict
    assert verdict.claim == "no" and verdict.checked
    assert "cohere-mrs#non-indications.1" in verdict.claims[0].clause_ids


_REPEAT = applies.Defined("p#indications.2", "p", "Repeat imaging",
                          "repeat request following recent imaging of the same anatomic region with the same modality")


@pytest.mark.parametrize(
    ("question", "claim"),
    [
        ("Does the repeat-imaging clause apply to a first-ever MRS request?", "no"),
        ("No prior spectroscopy; must the repeat clause be met?", "no"),
        ("Patient never had MRS before. Does the repeat imaging clause apply?", "no"),
        # hostile: not a first MRS, or a first one here after one elsewhere: nothing is settled
        ("This is not the first MRS request; does the repeat clause apply?", None),
        ("First MRS at our center, but she had MRS elsewhere 2 months ago. Does the repeat clause apply?", None),
        ("MRI last week, now MRS. Does the repeat clause apply?", None),  # what a prior MRI makes it is not read here
    ],
)
def test_a_clause_defined_by_earlier_imaging_does_not_apply_to_a_first_mrs(question, claim):
    assert applies.asked(question, [_REPEAT]) == [_REPEAT]
    verdict = applies.from_applies(question, [_REPEAT], {"p": "Payer"})
    assert (verdict.claim if verdict else None) == claim


def test_a_definition_without_the_same_modality_settles_nothing():
    other = applies.Defined("p#x", "p", "Repeat imaging", "a second request within 90 days")
    assert applies.from_applies("Does the repeat clause apply to a first-ever MRS?", [other], {"p": "Payer"}) is None
    assert applies.asked("What does the repeat clause say?", [_REPEAT]) == []


def test_the_defining_clause_is_read_from_the_corpus_and_the_verdict_checked(services):
    verdict = _ask(services, "Cohere, first MRS for this patient, never had spectroscopy. "
                             "Does the repeat-imaging prong apply?").verdict
    assert verdict.claim == "no" and verdict.checked
    assert verdict.claims[0].clause_ids == ["cohere-mrs#indications.2.d"]


@pytest.mark.parametrize(
    ("question", "claim"),
    [
        ("Does HealthHelp still include Krabbe disease as an MRS indication?", "yes"),  # listed, with conditions
        ("Is HIE a listed indication under Cohere?", "yes"),
        ("Does NIA list multiple sclerosis as an MRS indication?", "no"),  # not listed stays no
        ("Does Cohere cover MRS for HIE?", "only_if"),  # coverage is still asked as coverage
    ],
)
def test_listed_as_an_indication_is_yes_when_listed_under_conditions(services, question, claim):
    verdict = _ask(services, question).verdict
    assert verdict.claim == claim and verdict.checked


def test_a_stating_sentence_goes_on_about_the_case_it_began(services):
    question = ("Cohere request for MRS to separate tumor recurrence from radiation necrosis after an inconclusive "
                "MRI; the record notes a cochlear implant that is not MR-compatible. Approvable?")
    assert "cochlear implant" in services.asker.plan(AskRequest(question=question)).case_text
    assert _ask(services, question).verdict.claim == "no"
    # a sentence that only asks keeps no fragment that does not describe the patient
    assert services.asker.plan(AskRequest(question="Does Cohere cover MRS, and what about Florida Blue?")).case_text == ""


@pytest.mark.parametrize(
    ("question", "asks"),
    [("Does Cohere consider aneurysm clips a reason not to approve MRS?", True),
     ("Is pregnancy grounds against approving MRS under Cohere?", True),
     ("Is there any reason to approve MRS for MS under Cohere?", False)],
)
def test_a_reason_not_to_approve_asks_about_an_exclusion(question, asks):
    assert bool(EXCLUDE.search(question)) is asks


@pytest.mark.parametrize(
    ("question", "read"),
    [
        ("Is a CT scan enough to satisfy Cohere's conventional imaging requirement?", (["CT"], ["conventional", "imaging"])),
        # only words around a study's name are dropped: "a repeat study" stays the term asked
        ("Cohere: when will a repeat study be considered reasonable and necessary?",
         (["repeat", "study"], ["reasonable", "necessary"])),
    ],
)
def test_a_study_named_with_scan_or_enough_is_the_study(question, read):
    assert terms.counts_as(question) == read


@pytest.mark.parametrize(
    ("question", "neonate_decides"),
    [
        # the neonatal-HIE item is not what refuses an adult's MS: nothing else of it is stated
        ("Cohere: adult with suspected multiple sclerosis, MRI equivocal. Covered?", False),
        # a 3-year-old's HIE: the item is stated, and its age part is what is not met
        ("Cohere: 3-year-old with HIE, MRI inconclusive. Approvable?", True),
    ],
)
def test_an_unmet_part_decides_only_an_item_the_case_states(services, question, neonate_decides):
    verdict = _ask(services, question).verdict
    assert verdict.claim == "no" and verdict.checked
    assert ("a neonate (first 28 days of life) (not met" in verdict.text) is neonate_decides


_ADDED = [("p#changes.1.a", "Added the following: | \"Ataxia in a child\" indication", "\"Ataxia in a child\" indication")]


@pytest.mark.parametrize(
    ("question", "current", "claim"),
    [
        ("Did Payer remove ataxia from its MRS indications?", ["Ataxia in a child"], "no"),
        ("Has Payer dropped the ataxia in a child indication?", ["Ataxia in a child"], "no"),
        # struck since (no current clause names it), or a year asked: the history alone settles nothing
        ("Did Payer remove ataxia from its MRS indications?", ["Epilepsy"], None),
        ("Did Payer remove ataxia in 2024?", ["Ataxia in a child"], None),
        # what was added is not what is asked
        ("Did Payer remove epilepsy?", ["Epilepsy"], None),
    ],
)
def test_a_deletion_asked_of_an_item_the_history_adds(question, current, claim):
    verdict = history.from_entries(question, ["Payer"], "Payer", "p", _ADDED, current)
    assert (verdict.claim if verdict else None) == claim


def test_a_deletion_asked_is_answered_from_the_corpus_history(services):
    verdict = _ask(services, "Did HealthHelp take out the ataxia indication?").verdict
    assert verdict.claim == "no" and verdict.checked
    assert verdict.claims[0].clause_ids == ["healthhelp-mrs#summary-of-changes.1.a"]


@pytest.mark.parametrize(
    ("question", "claim"),
    [
        ("Would both NIA and Florida Blue deny MRS for multiple sclerosis?", "yes"),  # neither lists it
        ("Would both NIA and HealthHelp deny MRS for multiple sclerosis?", "no"),  # HealthHelp covers it
        ("Do both NIA and Florida Blue call MRS for stroke investigational?", "no"),  # only NIA does
    ],
)
def test_each_payer_asked_of_the_predicate_asked(services, question, claim):
    verdict = _ask(services, question).verdict
    assert verdict.claim == claim and verdict.checked


@pytest.mark.parametrize(
    ("claims", "claim"),
    [({"A": "yes", "B": "yes"}, "yes"), ({"A": "yes", "B": "no"}, "no"), ({"A": "yes", "B": "only_if"}, "depends"),
     ({}, "quote")],
)
def test_every_combines_yes_only_when_each_says_yes(claims, claim):
    assert quantifier.combine("every", claims) == claim


@pytest.mark.parametrize(
    ("question", "claim"),
    [
        ("Is MRS for Parkinson disease covered by none of the payers?", "yes"),
        ("Is MRS for stroke covered by no payer?", "yes"),
        ("Does no payer cover MRS for multiple sclerosis?", "no"),  # HealthHelp does
        ("Do neither NIA nor Florida Blue cover MRS for multiple sclerosis?", "yes"),
    ],
)
def test_none_of_the_payers_is_yes_only_when_each_says_no(services, question, claim):
    verdict = _ask(services, question).verdict
    assert verdict.claim == claim and verdict.checked


def test_none_combines_no_when_one_payer_covers():
    assert quantifier.combine("none", {"A": "no", "B": "only_if"}) == "no"
    assert quantifier.combine("none", {"A": "no", "B": "depends"}) == "depends"
    assert quantifier.quantifier("Cohere: none of the listed conditions apply. Covered?") is None
