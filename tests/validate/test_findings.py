"""Issue 18: a letter states only findings the records evidence. A model's sentence is read with
the project's own note reader (``letters.findings``); a finding without evidence, or denied
against it, rejects the draft — in any field — and the template letter is used instead."""

from __future__ import annotations

import re
from functools import cache

import pytest
import yaml
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from letter_fixtures import all_cases, case, corpus  # noqa: F401

from conftest import REAL_CORPUS

from mrs_assist.config import ROOT
from mrs_assist.letters import draft_letter
from mrs_assist.letters.context import build_context
from mrs_assist.letters.findings import findings_reader
from mrs_assist.letters.settings import load_fact_wording, load_letter_settings
from mrs_assist.letters.vocabulary import fixed_vocabulary
from mrs_assist.schemas import DeterminationRequest
from mrs_assist.validate import LetterDraft, validate_letter_draft
from mrs_assist.validate.findings import finding_problems, statements

FACTS = REAL_CORPUS / "facts.yaml"
DENIAL, PEND, APPROVAL = "cohere_implant_denial", "cohere_pend", "nia_recurrence_approval"
good = lambda name, key: case(name).good_draft[key]  # noqa: E731


def read(text: str) -> dict[str, bool]:
    return findings_reader(FACTS)(text)


def problems_for(name: str, *, reader=True, **changes):
    c = case(name)
    draft = LetterDraft.model_validate({**c.good_draft, **changes})
    return validate_letter_draft(
        draft, determination=c.determination, corpus=corpus(), notes=c.notes, request=c.request,
        letter_settings=load_letter_settings(), vocabulary=fixed_vocabulary(FACTS),
        read_findings=findings_reader(FACTS) if reader else None,
    )


def test_the_reader_reads_a_letters_sentence_as_the_notes_are_read():
    assert read("The records show a known brain tumor.")["known_brain_tumor"] is True
    assert read("She is pregnant.") == {"pregnancy": True}
    assert read("The MRI was inconclusive.") == {"conventional_imaging_inconclusive": True}
    assert read("The records show no pacemaker.") == {"mri_unsafe_implant": False}
    # Asked about, not stated: nothing is read.
    assert read("The records do not say whether the MRI was inconclusive.") == {}
    assert read("Anxious about a brain tumor after her sister's diagnosis.") == {}


@pytest.mark.parametrize("name", list(all_cases()))
def test_good_drafts_state_only_evidenced_findings(name):
    assert problems_for(name) == []


HOSTILE = {
    # (case, changes, code): each field the model writes is read.
    "invented_finding_in_the_reason": (
        DENIAL, dict(reason=good(DENIAL, "reason") + " The records also show that she is pregnant."), "unevidenced_finding"),
    "relative_worry_turned_into_a_finding": (
        "floridablue_ms_denial", dict(reason=good("floridablue_ms_denial", "reason") + " The records show a known brain tumor."),
        "unevidenced_finding"),
    "pend_fact_stated_as_found": (
        PEND, dict(reason="The records describe a brain lesion, and the conventional MRI was inconclusive."),
        "unevidenced_finding"),
    "negated_evidence_contradicted": (
        DENIAL,
        dict(reason="The records show no pacemaker or other implanted device. The guideline lists incompatible "
                    "implantable devices as a reason MRS is not appropriate [cohere-mrs#non-indications.3]."),
        "contradicted_finding"),
    "evidenced_tumor_denied": (
        APPROVAL, dict(reason="The records do not show a known brain tumor. The guideline covers this use [nia-brain-mrs#indications.1]."),
        "contradicted_finding"),
    "finding_smuggled_into_peer_to_peer": (
        DENIAL, dict(peer_to_peer="She is pregnant. Your provider may ask for a peer-to-peer discussion with the physician reviewer."),
        "unevidenced_finding"),
    "finding_smuggled_into_appeal_rights": (
        DENIAL, dict(appeal_rights="Because the MRI was inconclusive, you may appeal within 180 days of the date of this notice."),
        "unevidenced_finding"),
}


@pytest.mark.parametrize("label", list(HOSTILE))
def test_a_hostile_draft_is_rejected_and_the_template_used(label):
    name, changes, code = HOSTILE[label]
    assert code in {p.code for p in problems_for(name, **changes)}
    assert code not in {p.code for p in problems_for(name, reader=False, **changes)}  # the reader is what finds it
    bad = LetterDraft.model_validate({**case(name).good_draft, **changes}).model_dump_json()
    c = case(name)
    letter = draft_letter(c.determination, c.request, corpus=corpus(), chat_model=FakeListChatModel(responses=[bad, bad]))
    assert letter.mode == "template" and letter.model_attempts == 2
    assert code in {p.code for p in letter.problems}
    assert "pregnant" not in letter.markdown


def test_criteria_quoted_or_cited_and_questions_are_not_findings():
    clause = corpus().clause("cohere-mrs#indications.1").text
    # A verbatim clause quote, a sentence citing that clause and a question assert nothing of the member.
    assert problems_for(PEND, reason=f'The guideline says "{clause}" [cohere-mrs#indications.1]. '
                                     "The records do not say whether conventional imaging was inconclusive.") == []
    assert statements(f'Is the MRI inconclusive? It says "{clause}".', [clause]) == ["It says ."]


@cache
def _gold() -> list[dict]:
    return yaml.safe_load((ROOT / "eval" / "cases.yaml").read_text(encoding="utf-8"))


POLICIES = ["healthhelp-mrs", "cohere-mrs", "nia-brain-mrs", "floridablue-mrs"]


@pytest.mark.parametrize("chunk", range(4))
def test_the_template_letters_of_the_gold_cases_state_only_evidenced_findings(services, chunk):
    """Every gold case (one policy each, in turn) through the checker: the template letter's reasons,
    read with its fixed wording (the catalogue's labels) set aside, state nothing unevidenced."""
    wording = load_fact_wording(FACTS)
    labels = [w.label for w in wording.values()]
    cases = _gold()[chunk::4]
    assert cases
    for i, c in enumerate(cases):
        request = DeterminationRequest(
            policy_id=POLICIES[(i + chunk) % 4], cpt_codes=c["cpt_codes"], clinical_notes=c["notes"],
            patient={"age_years": c.get("age_years")}, facts=c.get("facts"),
        )
        response = services.determine(request)
        context = build_context(response, request, corpus=services.corpus, settings=load_letter_settings(), wording=wording)
        found = finding_problems([("reason", r) for r in context.reasons], determination=response,
                                 corpus=services.corpus, read_findings=findings_reader(FACTS), fixed=labels)
        assert found == [], (c["id"], request.policy_id, found)
        # The labels set aside above reach the member as findings only with the records' words:
        # each item the records are said to document is a true fact's label quoting its evidence.
        evidenced = {f.name: " ".join(e.text for e in f.evidence) for f in response.facts if f.value is True and f.evidence}
        for reason in context.reasons:
            if not re.match(r"The records sent (?:document|describe) the following", reason):
                continue
            quotes: list[str] = []  # the records' words set apart first: a label inside them is no claim
            reason = re.sub(r' \(the records: "([^"]*)"\)', lambda q: quotes.append(q.group(1)) or f" #{len(quotes) - 1}", reason)
            for fact, label in sorted(((n, w.label) for n, w in wording.items()), key=lambda x: -len(x[1])):
                for m in re.finditer(rf"(?<![\w-]){re.escape(label)}(?![\w-])", reason):
                    assert fact in evidenced, (c["id"], request.policy_id, label)
                    quote = re.match(r" #(\d+)", reason[m.end():])
                    assert quote is None or quotes[int(quote.group(1))] in " ".join(evidenced[fact].split()), (c["id"], label)
                reason = reason.replace(label, " ")


@pytest.fixture(scope="module")
def services():
    from mrs_assist.service import Services

    return Services()
