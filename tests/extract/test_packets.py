"""Which packet document each span sits in, and which document governs a fact the documents
disagree about (extract/packets.py): the most recent by its header's date, wherever it stands."""

from __future__ import annotations

from mrs_assist.extract.packets import place_in_packet
from mrs_assist.schemas import EvidenceOut, FactOut

# Document A comes first but is dated after document B: A governs.
NOTES = (
    "DOCUMENT A - ADDENDUM 03/01/2025\nNo pacemaker (removed 02/2025).\n\n"
    "DOCUMENT B - ORDER FORM 01/10/2025\nImplants: pacemaker.\n"
)


def span(text: str, after: int = 0) -> EvidenceOut:
    start = NOTES.index(text, after)
    return EvidenceOut(text=text, start=start, end=start + len(text))


def test_the_most_recent_document_governs_wherever_it_stands():
    newer, older = span("pacemaker"), span("pacemaker", NOTES.index("DOCUMENT B"))
    [fact] = place_in_packet(NOTES, [FactOut(name="mri_unsafe_implant", value=False, evidence=[newer], contrary=[older])])
    assert fact.governing_document is not None and fact.governing_document.index == 0
    assert fact.governing_document.header == "DOCUMENT A - ADDENDUM 03/01/2025"
    assert fact.governing_document.date == "2025-03-01"
    assert [e.document.index for e in fact.contrary] == [1] and fact.contrary[0].document.date == "2025-01-10"


def test_an_older_document_never_governs_and_one_note_has_no_documents():
    newer, older = span("pacemaker"), span("pacemaker", NOTES.index("DOCUMENT B"))
    [fact] = place_in_packet(NOTES, [FactOut(name="mri_unsafe_implant", value=True, evidence=[older], contrary=[newer])])
    assert fact.governing_document is None and fact.evidence[0].document.index == 1
    one = "No pacemaker. Implants: pacemaker."
    facts = [FactOut(name="mri_unsafe_implant", value=None, evidence=[EvidenceOut(text="pacemaker", start=25, end=34)])]
    assert place_in_packet(one, facts) == facts
