"""Coded denial reasons: every kind of adverse outcome maps to one X12 decision-reason code,
plain language and the deciding clause — the same in the letter and the PAS ClaimResponse."""

from __future__ import annotations

import pytest

from mrs_assist.config import Settings
from mrs_assist.criteria.reasons import ReasonCode, denial_reason, load_reasons, reason_kind
from mrs_assist.schemas import DeterminationRequest
from mrs_assist.service import Services

SERVICES = Services(Settings())


def decide(pid, facts, cpt=("76390",)):
    return SERVICES.determine(DeterminationRequest(policy_id=pid, cpt_codes=list(cpt), facts=facts, letter=True))


def test_the_reasons_file_has_one_entry_per_kind_and_a_system():
    table = load_reasons()
    assert set(table.reasons) == {"criteria_not_met", "experimental_investigational", "exclusion_applies",
                                  "outside_policy_scope", "service_not_governed"}
    assert table.system == "https://codesystem.x12.org/external/886"
    assert len({r.code for r in table.reasons.values()}) == len(table.reasons)


def test_a_reason_has_no_flag_that_nothing_reads():
    entry = {"code": "0U", "display": "d", "text": "t"}
    assert ReasonCode.model_validate(entry).code == "0U"
    with pytest.raises(ValueError, match="confirmed"):  # the old, never-read flag is refused, not ignored
        ReasonCode.model_validate({**entry, "confirmed": False})


@pytest.mark.parametrize("pid", sorted(SERVICES.policies))
def test_each_kind_of_adverse_outcome_gets_its_reason_and_clause(pid):
    policy = SERVICES.policies[pid]
    cases = [
        ({"non_brain_mrs_requested": True}, ("76390",), "outside_policy_scope"),
        ({}, ("70553",), "service_not_governed"),
    ]
    if policy.exclusions:
        cases.append(({policy.exclusions[0].fact: True}, ("76390",), "exclusion_applies"))
    cases.append(({leaf.fact: False for leaf in policy.indications.leaves()}, ("76390",), "criteria_not_met"))
    for facts, cpt, kind in cases:
        response = decide(pid, facts, cpt)
        assert response.recommendation == "does_not_meet_criteria", (facts, cpt)
        assert reason_kind(response.trace) == kind
        reason = denial_reason(response)
        assert reason.clause_id == response.trace.deciding_clauses[0]
        assert reason.clause_id.startswith(f"{pid}#")
        assert f"Decision reason code {reason.code}" in response.letter.markdown
        assert reason.text in response.letter.markdown
    assert denial_reason(decide(pid, {})) is None  # a pend is not adverse


def test_investigational_indications_get_their_own_reason():
    response = decide("nia-brain-mrs", {"glioma_grading": True})
    assert response.recommendation == "does_not_meet_criteria"
    assert reason_kind(response.trace) == "experimental_investigational"
