"""Every gold case under every policy it decides: the checker is deterministic, so 100%.

A miss here is a bug to fix (in extraction, a policy file or the engine), not a rate to
accept. Cases whose outcome is genuinely ambiguous carry `outcome: null` and a reason in
eval/cases.yaml; they are not asserted.
"""

from __future__ import annotations

import pytest
import yaml

from mrs_assist.config import Settings
from mrs_assist.schemas import DeterminationRequest
from mrs_assist.service import Services

SETTINGS = Settings()
CASES = yaml.safe_load((SETTINGS.eval_dir / "cases.yaml").read_text(encoding="utf-8"))
DECIDED = [
    pytest.param(case, policy_id, expected, id=f"{case['id']}-{policy_id}")
    for case in CASES
    for policy_id, expected in case["expected"].items()
    if expected.get("outcome") is not None
]


@pytest.fixture(scope="module")
def services() -> Services:
    return Services(SETTINGS)


def _request(case: dict, policy_id: str) -> DeterminationRequest:
    return DeterminationRequest(
        policy_id=policy_id,
        cpt_codes=case.get("cpt_codes") or [],
        clinical_notes=case["notes"],
        patient={"age_years": case.get("age_years")},
        facts=case.get("facts") or None,
    )


def test_the_gold_set_is_big_and_covers_every_policy():
    assert len(CASES) >= 60
    policies = {pid for case in CASES for pid in case["expected"]}
    assert policies == {"healthhelp-mrs", "cohere-mrs", "nia-brain-mrs", "floridablue-mrs"}
    outcomes = {e["outcome"] for case in CASES for e in case["expected"].values()}
    assert {"meets_criteria", "does_not_meet_criteria", "needs_more_information"} <= outcomes


@pytest.mark.parametrize(("case", "policy_id", "expected"), DECIDED)
def test_gold_case(services, case, policy_id, expected):
    request = _request(case, policy_id)
    response = services.determine(request)

    # Issue 19 item 6: a note carrying a planted instruction is flagged, and never approved
    # automatically: an approval pends for a physician instead.
    flagged = any(f.startswith("note screening: ") for f in response.safety_flags)
    assert flagged == ("injection" in case["tags"])
    outcome = "needs_more_information" if flagged and expected["outcome"] == "meets_criteria" else expected["outcome"]
    assert response.recommendation == outcome
    assert response.requires_physician_review == (outcome != "meets_criteria")
    if "missing" in expected:
        assert sorted(response.trace.missing_facts) == sorted(expected["missing"])
    assert set(expected.get("deciding") or []) <= set(response.trace.deciding_clauses)

    # Evidence indexes into the notes; citations quote the corpus verbatim.
    for fact in response.facts:
        for span in fact.evidence:
            assert request.clinical_notes[span.start : span.end] == span.text
    for citation in response.citations:
        assert services.corpus.clause(citation.clause_id).text == citation.text
