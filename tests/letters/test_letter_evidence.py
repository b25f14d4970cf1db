"""Issue 18: only findings with evidence in the records reach a letter, each quoting the words it rests on."""

from __future__ import annotations

import pytest

from mrs_assist.schemas import DeterminationRequest
from mrs_assist.service import Services

NOTES = (
    "58M, glioblastoma s/p resection and chemoradiation 2024. MRI brain 10/2025: new enhancement, "
    "indeterminate. New word-finding difficulty.\n"
    "Plan: MRS to distinguish recurrence from radiation necrosis.\n"
)


@pytest.fixture(scope="module")
def services() -> Services:
    return Services()


def _letter(services, notes, facts=None, policy_id="nia-brain-mrs"):
    request = DeterminationRequest(policy_id=policy_id, cpt_codes=["76390"], clinical_notes=notes, facts=facts,
                                   letter=True, patient={"age_years": 58})
    return services.determine(request)


def test_an_approval_quotes_the_records_behind_each_finding(services):
    response = _letter(services, NOTES)
    assert response.recommendation == "meets_criteria"
    fact = next(f for f in response.facts if f.name == "tumor_recurrence_vs_treatment_effect")
    quote = min((e.text for e in fact.evidence), key=len)
    assert f'(the records: "{quote}")' in response.letter.markdown
    assert quote in NOTES  # a quote of the records is the records' own words


def test_a_finding_without_evidence_is_not_said_to_be_in_the_records(services):
    # The caller asserts a fact the notes never mention: the decision may use it, the letter
    # does not tell the member the records document it.
    notes = "Plan: MRS requested. MRI indeterminate.\n"
    response = _letter(services, notes, facts={"tumor_vs_nontumor_lesion": True}, policy_id="floridablue-mrs")
    assert response.recommendation == "meets_criteria"
    assert "distinguish a brain tumor from a non-tumor lesion" not in response.letter.markdown.split("## Reason")[1].split("##")[0]
