"""Question classes found by a third round of probes past the dev splits (issue 23, session 14c).

85 probe questions written from the policy texts alone, in phrasings unlike the dev files and
the earlier probe rounds (long stated cases with a negation or hedge, two payers ranked by
strictness, lowercase abbreviations and codes, "what does P say about X", things no policy sets):
60 right / 5 wrong / 20 no verdict on the base, 70 / 2 / 13 after; a second round of 18, written
after the fixes in other words: 15 / 0 / 3, then 16 / 0 / 2 ("CT perfusion" added). Each class that read wrong or
gave none is tested below in words of its own:
- "is it covered by FB …?", "approved by HH?": a payer's initials as the agent of a payer's passive
  verb name that payer as the one asked (it read every payer, "2 of 4 payers …", a depends);
- "does P cover PET / functional MRI / SPECT …?": the study asked to be covered is not MRS, which
  is all the indexed policies set criteria for: not addressed (fMRI read as MRS for tumor planning,
  an "only if");
- "is P1 stricter than P2 on X?", "which is more restrictive …?": a ranking of the payers, which no
  payer's yes answers ("2 of 2 payers cover …" read "yes"): it depends on the payer, row by row;
- "what does P say about <condition>?": the payer's position on a condition its criteria list (or
  call investigational) is what is asked, answered from the matrix (it quoted a clause, no verdict);
  the evidence ("say about the studies …") and devices ("say about pacemakers") keep their paths.
Left: "Cohere: newborn with HIE …, head ultrasound and MRI inconclusive" reads depends on the MRI
being inconclusive (the case reader misses "MRI inconclusive" after another study in the same
phrase; a safe verdict, the note reader's part); "HH cover mrs for autism?" reads not addressed
(autism is no indication term; "no" as listed-indications reasoning would be as true);
"which is stricter about tumor recurrence, NIA or Cohere?" quotes a background clause ("tumor
recurrence" alone is not read as the recurrence-versus-necrosis row); "what does P say about
pacemakers / repeat imaging within 3 months?" and literature "does NIA say MRS replaces biopsy?"
still quote their clause without a verdict (an overlap of words is no safe yes or no).
"""

from __future__ import annotations

import pytest
from support.asking import verdict_of as _verdict
from support.no_index import NoIndex

from mrs_assist.answer import quantifier, scope
from mrs_assist.answer.plan import documents_named
from mrs_assist.config import Settings
from mrs_assist.schemas import AskRequest
from mrs_assist.service import Services


@pytest.fixture(scope="module")
def services() -> Services:
    return Services(Settings(), retriever=NoIndex())


# --- initials as the agent of a passive payer verb -------------------------------------------------------
def test_initials_after_a_passive_payer_verb_name_the_payer(services):
    assert documents_named("Would spectroscopy be reimbursed by HH in a man with MS?", services.corpus) == ["healthhelp-mrs"]
    assert documents_named("is MRS approved by FB when a glioma recurs after radiation?", services.corpus) == ["floridablue-mrs"]
    assert documents_named("is the 76390 study paid by HH in MS?", services.corpus) == ["healthhelp-mrs"]


def test_initials_after_by_with_no_payer_verb_name_no_payer(services):
    # a lesion hidden by a foreign body: no payer's verb, no payer
    assert documents_named("Is the view obscured by FB near the orbit?", services.corpus) == []


def test_passive_initials_ask_that_payer_alone(services):
    verdict = _verdict(services, "Would MRS be paid for by HH for a man with multiple sclerosis?", "yes")
    assert "healthhelp-mrs" in verdict.text
    assert "cohere-mrs" not in verdict.text


# --- another imaging study asked to be covered -------------------------------------------------------------
@pytest.mark.parametrize("question", [
    "Will Florida Blue pay for a PET-CT to restage a glioma?",
    "Does HealthHelp approve fMRI before epilepsy surgery?",
    "Is a SPECT scan covered by Cohere for dementia?",
    "Does NIA authorize diffusion tensor imaging for TBI?",
    "Would HealthHelp approve a CT perfusion study after radiation?",
])
def test_another_study_covered_is_unset(question):
    assert [t.name for t in scope.unset_topics(question)] == ["another imaging study"]


@pytest.mark.parametrize("question", [
    "Cohere: PET was equivocal and MRI inconclusive for a suspected recurrence; does it cover MRS?",
    "Does NIA cover MRS after an fMRI for a brain lesion?",
    "Does Florida Blue cover MRS for a tumor versus abscess?",
])
def test_a_study_stated_as_done_is_not_what_is_asked(question):
    assert "another imaging study" not in [t.name for t in scope.unset_topics(question)]


# --- two payers ranked by strictness -------------------------------------------------------------------
@pytest.mark.parametrize("question, ranked", [
    ("Is HealthHelp more lenient than Florida Blue about radiation necrosis?", True),
    ("Which payer is the least restrictive for MS?", True),
    ("Is Cohere tighter than NIA on glioma grading?", True),
    ("Does Florida Blue cover MRS for a recurrent tumor?", False),
    ("Is it harder to read MRS near the skull base?", False),
])
def test_strictness_ranks_the_payers(question, ranked):
    assert quantifier.ranks_payers(question) is ranked


def test_ranking_two_payers_who_both_cover_is_no_yes(services):
    verdict = _verdict(services, "Is Florida Blue stricter than NIA on telling a tumor from an abscess?", "depends")
    assert "floridablue-mrs" in verdict.text and "nia-brain-mrs" in verdict.text


# --- "what does P say about <condition>" ----------------------------------------------------------------
def test_what_a_payer_says_about_a_listed_condition_is_its_position(services):
    verdict = _verdict(services, "What does HH have to say about MS?", "yes")
    assert "healthhelp-mrs" in verdict.text


def test_what_a_payer_says_about_an_investigational_use_is_no(services):
    verdict = _verdict(services, "What does NIA say regarding epilepsy?", "no")
    assert "nia-brain-mrs" in verdict.text


@pytest.mark.parametrize("question, coverage", [
    ("What does HealthHelp say about an implanted spinal cord stimulator?", False),  # a device, not spinal MRS
    ("What does NIA say about the trials of spectroscopy after a stroke?", False),  # the evidence: a literature question
    ("What would Cohere say on neonatal HIE?", True),
])
def test_what_a_payer_says_asks_its_position_on_a_condition_only(services, question, coverage):
    assert services.asker.plan(AskRequest(question=question)).coverage is coverage
