"""Letters drafted from real determinations (the checker's real trace) state the specific reason."""

from __future__ import annotations

import pytest

from mrs_assist.config import Settings
from mrs_assist.schemas import DeterminationRequest
from mrs_assist.service import Services


@pytest.fixture(scope="module")
def services() -> Services:
    return Services(Settings())


@pytest.mark.parametrize(
    ("policy_id", "notes", "kind", "reason"),
    [
        ("nia-brain-mrs", "Refractory focal epilepsy, MRI non-lesional. MRS requested for pre-surgical epilepsy evaluation.",
         "adverse_determination_draft", "pre-surgical evaluation of epilepsy. The guideline considers MRS for this use experimental or investigational"),
        ("cohere-mrs", "Pacemaker (not MRI conditional). GBM s/p XRT, MRI equivocal, MRS to distinguish recurrence vs radiation necrosis.",
         "adverse_determination_draft", "an implanted device that is not MRI-compatible"),
        ("cohere-mrs", "GBM s/p XRT, MRI equivocal, MRS to distinguish recurrence vs radiation necrosis.",
         "approval", "distinguish recurrent or residual brain tumor from treatment effects"),
        ("cohere-mrs", "45 y/o F, new headaches. MRS brain requested.", "request_for_information", "We cannot decide yet"),
    ],
)
def test_letter_reason_is_specific(services, policy_id, notes, kind, reason):
    response = services.determine(
        DeterminationRequest(policy_id=policy_id, cpt_codes=["76390"], clinical_notes=notes, letter=True)
    )
    letter = response.letter
    assert letter.kind == kind and letter.mode == "template"
    section = letter.markdown.split("## Reason for this decision", 1)[1].split("## ", 1)[0]
    assert reason in section
    assert "do not meet the guideline's criteria quoted below" not in section  # never the generic fallback here
