"""Question classes found by probing the four policies past the dev splits (issue 23, session 13b).

149 probe questions were written from the policy texts alone, each with my verdict, and asked
through the service: 101 right / 18 wrong / 30 no verdict before this branch, 124 / 4 / 21 after
("are HealthHelp and Cohere the same on neonatal HIE?" was right only because HealthHelp's HIE was
missed; both now cover it under different conditions, which "same" does not compare).
A second round of 28 probes, written after the first fixes to test them in other words, read
17 / 3 / 8 on the base, 20 / 4 / 4 after the first round, 26 / 0 / 2 after the second.
Each class that read wrong is tested below in words of its own:
- a history entry that keeps something as it was ("no change in position statement",
  "coverage statements maintained") records no change; a change asked of the position statement
  (or its criteria, its indications) is one an entry names for it, adding to or deleting from it
  ("Updated references" changes the references only); "after 2019" excludes 2019; "was X
  changed since Y?" is a history question, and "after 2024" is no word of the entries;
- a definition clause defines the term its text opens with ("Indeterminate findings are …" under
  the id "definitions.indeterminate"); "is there a definition of X?" and "does P have any
  definitions?" are yes/no questions, not requests for the definition;
- "an 18 year old a pediatric patient for P?": a person noun after the term;
- "P1 covers X. What about P2?" / "… Does P2?": a premise, then a follow-up that asks P2 alone;
- a requirement asked "for" a condition (a known brain tumor, gliomas, a brain mass) asks over the
  indications that carry it, and so does a group named by its condition ("across HealthHelp's brain
  tumor indications", even when that condition is the one asked); "require X?" at the question's end names X;
- "covered by A (and B) but not (denied by) C?": a contrast of payers; "is it only P?": the only quantifier;
- "an epilepsy surgery workup": HealthHelp's pre-surgical purpose in other words;
- "does NIA require office visit notes?": the policy's own "must be provided" sentence;
- "does the pump rule MRS out?": an exclusion question, beside a stated case too;
- "is Cohere's policy version 2?": the policy's own version line;
- "… if / when the MRI was (clearly) diagnostic?": a condition on the ask states the case, beside
  what the ask itself states of it ("a known glioblastoma"; a hedged diagnosis is the indication asked);
- "does Cohere require a biopsy first?": a prerequisite no criteria clause names is not required;
- "does HealthHelp cover MRS for neonatal HIE?": a payer that lists only the broader condition named
  inside the specific one (HIE, for prognosis) answers for it.
A third round of 21 probes (other kinds): 16 / 2 / 3 now; the two wrong are left (below).
- "is the 3-month rule a bar?" beside a case the checker finds meeting: no, nothing bars it.

Some probes and my verdicts (before → after):
  "Has Florida Blue changed its position statement since 2024?" no (wrong → right);
  "Does HealthHelp define indeterminate findings?" yes (wrong → right);
  "Is an 18 year old a pediatric patient for HealthHelp purposes?" yes (wrong → right);
  "HealthHelp covers MRS for MS. What about Florida Blue?" no (wrong → right);
  "Does HealthHelp require a non-diagnostic MRI before MRS for a known brain tumor?" no (wrong → right);
  "Is MS covered by HealthHelp but not Florida Blue?" yes (wrong → right);
  "HealthHelp: adult with an insulin pump and known GBM for biopsy planning. Does the pump rule MRS out?" no (wrong → right);
  "Could Cohere approve MRS for Canavan disease if the MRI was diagnostic?" no (wrong → right);
  "Does NIA require office visit notes to be submitted?" yes (none → right);
  "Is Cohere's policy version 2?" yes (none → right);
  "Cohere: adult with known GBM, MRI unequivocally shows progression. Is MRS appropriate?" no (right → right);
  "Does Aetna cover MRS for brain tumors?" not addressed (right → right).
Left: "Does Cohere treat a 17-year-old as pediatric?" yes (none: Cohere's type line is metadata by an
earlier decision, test_payer_quantifiers); "Cohere: neonatal HIE, head
ultrasound and MRI equivocal" yes (wrong: the note reader, not the ask path); "HealthHelp: MRS for
MS, but the result will not change management" no (wrong: the reader misses this wording); "can MRS be
approved for Alexander disease without an indeterminate MRI?" no (only if: a denied finding in the ask
is not read; rewriting it as "no indeterminate MRI" made the reader read Cohere's "no inconclusive
imaging" as inconclusive, so it was not done).
"""

from __future__ import annotations

import pytest
from support.asking import ask as _ask
from support.asking import verdict_of as _verdict
from support.no_index import NoIndex

from mrs_assist.answer import definition, history
from mrs_assist.answer.plan import premise_follow_up
from mrs_assist.config import Settings
from mrs_assist.errors import IndexNotReadyError
from mrs_assist.service import Services


@pytest.fixture(scope="module")
def services() -> Services:
    return Services(Settings(), retriever=NoIndex())


# --- a history entry that keeps something as it was ----------------------------------------------------
_ENTRIES = [
    ("p#history.2018-06-15", "06/15/18 Revision; revised position statement. Updated references.",
     "06/15/18 Revision; revised position statement. Updated references."),
    ("p#history.2023-09-30", "09/30/23 Review: position statements and references updated.",
     "09/30/23 Review: position statements and references updated."),
    ("p#history.2025-05-15", "05/15/25 Review; no change in position statement. Updated references.",
     "05/15/25 Review; no change in position statement. Updated references."),
]


def test_an_entry_that_keeps_the_position_is_no_change_to_it():
    verdict = history.from_entries("Did P change its position statement in 2025?", ["P"], "P", "p", _ENTRIES)
    assert verdict.claim == "no"


def test_a_change_to_the_position_is_found_in_the_span_asked():
    verdict = history.from_entries("Has P's position statement been updated since 2020?", ["P"], "P", "p", _ENTRIES)
    assert verdict.claim == "yes" and verdict.claims[0].clause_ids == ["p#history.2023-09-30"]
    # none after 2024: no, citing the latest change before it
    verdict = history.from_entries("Has P revised its position statement since 2024?", ["P"], "P", "p", _ENTRIES)
    assert verdict.claim == "no" and verdict.claims[0].clause_ids == ["p#history.2023-09-30"]


def test_an_unnamed_part_still_counts_any_change():
    # the references were updated in 2025: a change asked with no part named is found
    verdict = history.from_entries("Did P update its references in 2025?", ["P"], "P", "p", _ENTRIES)
    assert verdict.claim == "yes"


@pytest.mark.parametrize(
    ("question", "claim"),
    [
        ("Has the Florida Blue position statement been revised after 2024?", "no"),
        ("Did Florida Blue's position statement change at its 2026 review?", "no"),
        ("Was the Florida Blue position statement changed since 2019?", "yes"),
    ],
)
def test_florida_blues_position_changes_are_read_from_the_entries_that_name_it(services, question, claim):
    _verdict(services, question, claim)


# --- definitions: the term a definition opens with; whether one exists ---------------------------------
def test_a_definition_defines_the_term_its_text_opens_with():
    text = "Indeterminate findings are inconclusive or insufficient for treatment planning."
    assert definition._defines("p#definitions.indeterminate", text, "indeterminate findings")
    assert not definition._defines("p#definitions.indeterminate", text, "findings")


@pytest.mark.parametrize(
    ("question", "terms"),
    [
        ("Is there a definition of ischemia anywhere in HealthHelp?", ["ischemia"]),
        ("Does the HealthHelp guideline include a definition for edema?", ["edema"]),
        ("Does Florida Blue have any guideline-specific definitions?", []),
        ("Are there any definitions in the Florida Blue policy?", []),
    ],
)
def test_whether_a_definition_exists_is_a_yes_no_question(question, terms):
    assert definition.define_asked(question) == terms


@pytest.mark.parametrize(
    ("question", "claim"),
    [
        ("Does HealthHelp define what indeterminate findings are?", "yes"),
        ("Is there a definition for necrosis in the HealthHelp guideline?", "yes"),
        ("Does Florida Blue's guideline have any specific definitions?", "no"),
    ],
)
def test_definition_questions_get_a_verdict(services, question, claim):
    _verdict(services, question, claim)


# --- an age and the term it counts as, with a person noun after the term --------------------------------
@pytest.mark.parametrize(
    ("question", "claim"),
    [
        ("Is a 19 year old a pediatric patient under HealthHelp?", "yes"),
        ("HealthHelp: is a 23-year-old a pediatric member?", "depends"),  # outside, unless special needs
        ("Is a 10 year old an adult patient for HealthHelp?", None),  # no adult band written by HealthHelp
    ],
)
def test_an_age_asked_as_a_term_then_a_person_noun(services, question, claim):
    if claim is None:
        assert definition.age_asked(question) == (10.0, "adult")
        return
    assert definition.age_asked(question)[1] == "pediatric"
    _verdict(services, question, claim)


# --- a premise, then a follow-up naming another payer ----------------------------------------------------
def test_a_follow_up_after_a_statement_is_found():
    assert premise_follow_up("Cohere lists X. How about NIA?") == "How about NIA?"
    # a question before it: the follow-up asks the same question again (not this shape)
    assert premise_follow_up("Does Cohere list X? How about NIA?") == ""
    assert premise_follow_up("Does Cohere list X?") == ""


@pytest.mark.parametrize(
    ("question", "claim"),
    [
        ("NIA covers spectroscopy for radiation necrosis versus recurrence. And Florida Blue?", "yes"),
        ("HealthHelp lists traumatic brain injury for MRS. What about NIA?", "no"),
        ("Cohere covers MRS for Canavan disease when the MRI is inconclusive. How about Florida Blue?", "no"),
    ],
)
def test_the_follow_up_payer_alone_is_asked(services, question, claim):
    verdict = _verdict(services, question, claim)
    assert len(verdict.claims) == 1


# --- a requirement asked for a condition -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "claim"),
    [
        # HealthHelp's tumor indications need a known tumor, not a non-diagnostic MRI
        ("For a patient with a known brain tumor, does HealthHelp require the MRI to be indeterminate first?", "no"),
        ("Is a non-diagnostic MRI required by HealthHelp for gliomas?", "no"),
        # Cohere's mass indications all sit under its inconclusive-imaging condition
        ("Does Cohere require inconclusive imaging for a brain mass?", "yes"),
    ],
)
def test_a_requirement_asked_for_a_condition_asks_over_its_indications(services, question, claim):
    verdict = _verdict(services, question, claim)
    assert "depends" not in verdict.text.split(" — ")[0].lower()


def test_a_group_of_indications_named_by_its_condition_is_asked_over(services):
    # the condition required is the one that names the group: every indication in it requires it
    _verdict(services, "Across HealthHelp's brain tumor indications, does the tumor have to be known already?", "yes")


def test_a_requirement_asked_with_no_condition_still_depends_on_the_indication(services):
    _verdict(services, "Does HealthHelp require a non-diagnostic MRI before MRS?", "depends")


# --- "A but not B?": a contrast of payers -----------------------------------------------------------------
def test_the_payer_before_but_not_is_the_one_asked_to_cover():
    from mrs_assist.answer import quantifier

    terms = {"a-mrs": ("Alpha",), "b-mrs": ("Beta",)}
    assert quantifier.quantifier("Is X covered by Alpha but not by Beta?") == "but_not"
    assert quantifier.contrast_subject("Is X covered by Alpha but not by Beta?", terms) == ["a-mrs"]
    assert quantifier.contrast_subject("Alpha covers X, but Beta doesn't?", terms) == ["a-mrs"]
    assert quantifier.contrast_subject("Is X covered but not listed by Alpha?", terms) == []  # no payer after it


@pytest.mark.parametrize(
    ("claims", "claim"),
    [
        ({"A": "yes", "B": "no"}, "yes"),
        ({"A": "only_if", "B": "no"}, "only_if"),
        ({"A": "no", "B": "no"}, "no"),
        ({"A": "yes", "B": "yes"}, "no"),
        ({"A": "yes", "B": "depends"}, "depends"),
    ],
)
def test_a_contrast_holds_when_the_first_covers_and_the_others_do_not(claims, claim):
    from mrs_assist.answer.quantifier import combine

    assert combine("but_not", claims, subject="A") == claim


@pytest.mark.parametrize(
    ("question", "claim"),
    [
        ("Does HealthHelp cover spectroscopy for traumatic brain injury but not Cohere?", "yes"),
        ("Is a brain tumor versus abscess workup covered by NIA but not by Florida Blue?", "no"),  # both cover it
        ("Is MRS for multiple sclerosis covered by NIA, but HealthHelp doesn't cover it?", "no"),  # the reverse
        ("Adult with multiple sclerosis: approved under HealthHelp but not under Florida Blue?", "yes"),
    ],
)
def test_a_contrast_of_payers_gets_one_verdict(services, question, claim):
    verdict = _verdict(services, question, claim)
    assert len(verdict.claims) == 2


# --- a pre-surgical purpose in other words ----------------------------------------------------------------
def test_an_epilepsy_surgery_workup_is_the_pre_surgical_purpose(services):
    _verdict(services, "Does HealthHelp cover MRS as part of an epilepsy surgery workup?", "yes")
    _verdict(services, "Would HealthHelp cover spectroscopy for epilepsy before seizure surgery?", "yes")


# --- a record asked to be sent with the request -------------------------------------------------------------
def test_a_record_asked_for_is_found_in_the_policys_must_be_provided_sentence():
    from mrs_assist.answer import documentation

    clauses = {"p": [("p#info", "Some preamble. Recent office visit notes and laboratory data must be provided.")]}
    verdict = documentation.from_documentation("Does P require lab data to be sent?", clauses, {"p": "P"}, {"p": ("P",)})
    assert verdict.claim == "yes" and verdict.claims[0].clause_ids == ["p#info"]
    # a record no sentence asks for: no verdict (the policy may ask for it elsewhere)
    assert documentation.from_documentation("Does P require a biopsy report to be sent?", clauses, {"p": "P"}, {"p": ("P",)}) is None
    assert not documentation.asked("Does P cover MRS for epilepsy?")


@pytest.mark.parametrize(
    "question",
    [
        "Do I have to send NIA recent office visit notes with an MRS request?",
        "Is it required that lab data be provided to NIA?",
        "Does NIA expect the results of prior imaging to be included?",
        "Does NIA require recent office visit notes?",  # the record named, no verb of sending
    ],
)
def test_nias_documentation_sentence_answers_what_must_be_sent(services, question):
    verdict = _verdict(services, question, "yes")
    assert verdict.claims[0].clause_ids == ["nia-brain-mrs#general-information"]


# --- "does X rule MRS out?": the object between the verb and its particle -------------------------------------
@pytest.mark.parametrize(
    ("question", "claim"),
    [
        # HealthHelp's device list is a safety flag, not a denial, even beside a case that meets its criteria
        ("HealthHelp: known glioma, biopsy target planning, and the patient has a spinal cord stimulator. "
         "Does the stimulator rule the study out?", "no"),
        # Cohere lists aneurysm clips as a non-indication
        ("Do metallic aneurysm clips rule MRS out for Cohere?", "yes"),
    ],
)
def test_rule_it_out_asks_whether_the_item_excludes(services, question, claim):
    verdict = _verdict(services, question, claim)
    assert "meets the criteria" not in verdict.text


# --- a policy's own version line ---------------------------------------------------------------------------------
def test_a_version_question_reads_the_value_asked():
    from mrs_assist.answer import version

    assert version.asked("Is Cohere's MRS policy version 2?") == ("version", "2")
    assert version.asked("Is NIA's guideline number NIA_CG_003?") == ("number", "NIA_CG_003")
    assert version.asked("Was Cohere's policy version 1 in 2024?") is None  # the past: history answers it
    assert version.asked("Does Cohere cover MRS for MS?") is None


@pytest.mark.parametrize(
    ("question", "claim"),
    [
        ("Is the current Cohere guideline version 2?", "yes"),
        ("Is Cohere's spectroscopy policy on version 4?", "no"),
        ("Is NIA's guideline number NIA_CG_003?", "yes"),
    ],
)
def test_a_version_question_gets_a_verdict_from_the_version_line(services, question, claim):
    verdict = _verdict(services, question, claim)
    assert any("guideline-info" in i for c in verdict.claims for i in c.clause_ids)


# --- several payers before "but not"; "is it only P?" ---------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "claim"),
    [
        # HealthHelp covers a known glioma's grading, Cohere under its imaging condition, NIA calls it investigational
        ("Is spectroscopy to grade a glioma covered by HealthHelp and Cohere but not by NIA?", "only_if"),
        # Cohere lists no traumatic brain injury: the first side does not hold together
        ("Traumatic brain injury spectroscopy - covered by HealthHelp and Cohere, but not NIA?", "no"),
    ],
)
def test_several_payers_before_but_not_hold_together_only_when_each_holds(services, question, claim):
    verdict = _verdict(services, question, claim)
    assert "each of" in verdict.text.split(";")[0]


def test_is_it_only_a_named_payer_asks_the_only_quantifier(services):
    from mrs_assist.answer.quantifier import quantifier

    assert quantifier("Which payers list TBI? Is it only HealthHelp?") == "only"
    assert quantifier("Is it only if the MRI is inconclusive?") is None
    _verdict(services, "Which payers cover spectroscopy for traumatic brain injury? Is it only HealthHelp?", "yes")
    _verdict(services, "Tumor versus abscess spectroscopy: is it just Florida Blue that covers it?", "no")


# --- a condition put on the ask states the case -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "claim"),
    [
        # Cohere needs conventional imaging inconclusive: a diagnostic MRI fails it
        ("Would Cohere approve spectroscopy for a mitochondrial disease if the MRI was clearly diagnostic?", "no"),
        # HealthHelp's leukodystrophy criterion: an indeterminate MRI and a therapy decision
        ("Does HealthHelp cover MRS for metachromatic leukodystrophy assuming the MRI is indeterminate and "
         "therapy planning is needed?", "yes"),
        # "when", with no article before the study, and the adverb after the verb
        ("Would Cohere cover spectroscopy for an inborn error of metabolism when CT is definitely conclusive?", "no"),
        # what the ask itself says of the case stays beside the condition: a known tumor, its purpose
        ("Would Cohere cover MRS for a known glioblastoma, recurrence versus radiation necrosis, "
         "if the MRI was equivocal?", "yes"),
    ],
)
def test_a_condition_on_the_imaging_is_read_as_the_stated_case(services, question, claim):
    verdict = _verdict(services, question, claim)
    assert "as the question states the case" in verdict.text


# --- a prerequisite the criteria never name ---------------------------------------------------------------------
def test_a_prerequisite_no_criteria_clause_names_is_not_required():
    from mrs_assist.answer import prerequisite

    criteria = {"p": [("p#indications", "Known tumor and an inconclusive MRI.")]}
    verdict = prerequisite.from_unnamed("a tissue sample", criteria, {"p": "P"})
    assert verdict.claim == "no" and verdict.claims[0].clause_ids == ["p#indications"]
    # a word of it in the criteria ("a failed MRI" beside "an inconclusive MRI"): perhaps in other words, no verdict
    assert prerequisite.from_unnamed("a failed MRI", criteria, {"p": "P"}) is None
    assert prerequisite.from_unnamed("prior authorization", criteria, {"p": "P"}) is None  # no content word


@pytest.mark.parametrize(
    "question",
    [
        "Does Cohere require a tissue biopsy before spectroscopy of a brain mass?",
        "Is a neurosurgery consult required by Florida Blue before MRS?",
    ],
)
def test_a_prerequisite_the_policy_never_names_gets_no(services, question):
    _verdict(services, question, "no")


@pytest.mark.parametrize(
    "question",
    [
        "Does HealthHelp require a biopsy?",  # its criteria name a biopsy (as a purpose): not this answer
        "Does NIA require prior imaging?",  # its general information asks for prior imaging results
    ],
)
def test_a_prerequisite_a_criteria_clause_names_gets_no_no(services, question):
    try:
        claim = _ask(services, question).verdict.claim
    except IndexNotReadyError:  # left to retrieval (this service has no index)
        claim = None
    assert claim != "no"


# --- a second round of probes: the same classes in other words ------------------------------------------------
_NIA_ENTRIES = [
    ("n#history.2020-05", "May 2020 Updated references", "May 2020 Updated references"),
    ("n#history.2019-07.1", "July 2019 | Deleted therapeutic f/u indication", "Deleted therapeutic f/u indication"),
]


def test_a_change_to_the_indications_is_one_that_adds_to_or_deletes_from_them():
    # updated references are no change to the indications; a deleted indication is one
    verdict = history.from_entries("Did N change its indications in 2020?", ["N"], "N", "n", _NIA_ENTRIES)
    assert verdict.claim == "no"
    verdict = history.from_entries("Did N change its indications in 2019?", ["N"], "N", "n", _NIA_ENTRIES)
    assert verdict.claim == "yes" and verdict.claims[0].clause_ids == ["n#history.2019-07.1"]


def test_after_a_year_excludes_that_year_and_since_includes_it():
    assert history.from_entries("Were N's indications revised after 2019?", ["N"], "N", "n", _NIA_ENTRIES).claim == "no"
    assert history.from_entries("Were N's indications revised since 2019?", ["N"], "N", "n", _NIA_ENTRIES).claim == "yes"


@pytest.mark.parametrize(
    ("question", "claim"),
    [
        ("Has HealthHelp defined 'necrosis'?", "yes"),
        ("Cohere covers MRS for inborn errors of metabolism. Does NIA?", "no"),
        ("Is spectroscopy for hepatic encephalopathy prognosis covered by HealthHelp but denied by Florida Blue?", "yes"),
        ("Does NIA ask for recent office visit notes with the request?", "yes"),
    ],
)
def test_the_classes_in_other_words(services, question, claim):
    _verdict(services, question, claim)


# --- a specific condition a payer does not list, the broader one it does ----------------------------------------
@pytest.mark.parametrize(
    ("question", "claim"),
    [
        # HealthHelp lists encephalopathy, HIE among them, for prognosis: neonatal HIE is an HIE
        ("Does HealthHelp cover spectroscopy for perinatal hypoxic ischemic encephalopathy?", "only_if"),
        ("Neonatal HIE: do Cohere and HealthHelp both cover MRS?", "yes"),
        # a payer that lists neither: still no
        ("Does Florida Blue cover spectroscopy for neonatal HIE?", "no"),
    ],
)
def test_a_payer_that_lists_only_the_broader_condition_answers_for_it(services, question, claim):
    verdict = _verdict(services, question, claim)
    if claim != "no":
        assert any("healthhelp-mrs#indications.3" in c.clause_ids for c in verdict.claims)


# --- "is it a bar?" beside a case that meets ------------------------------------------------------------------------
def test_a_bar_asked_of_a_case_that_meets_is_no(services):
    # imaging five weeks ago, but treatment started since: Cohere's recent-imaging non-indication does not hold
    verdict = _verdict(services, "Cohere: patient with a known glioma needing grading, MRI inconclusive; a head CT 7 weeks ago, "
                                 "new headaches since. Is the three-month rule a bar here?", "no")
    assert "meets the criteria" in verdict.text
