"""Which document of a packet each evidence span sits in, as the reviewer's page shows it.

A packet is split into its documents by ``layout.documents`` (the same split extraction uses
to let the most recent document govern). Here each span of a fact's evidence and contrary
mentions is given its document, and a fact whose documents disagree names the one that
governs, so the page can show both sides and why one decides (issue 18).
"""

from __future__ import annotations

from mrs_assist.extract.layout import document_at, documents
from mrs_assist.schemas import EvidenceOut, FactOut, PacketDocument

HEADER_CHARS = 120
"""The longest stretch of a document's header line the page shows."""
_DECORATION = " \t=-#*_"


def place_in_packet(notes: str, facts: list[FactOut]) -> list[FactOut]:
    """``facts`` with each span's packet document and, for a fact whose evidence sits in one
    document while an older document reads it otherwise, that governing document. Unchanged
    when the notes are one document."""
    docs = documents(notes)
    if len(docs) < 2:
        return facts
    refs = [
        PacketDocument(index=i, header=_header(notes, d.start), date=d.date.isoformat() if d.date else None)
        for i, d in enumerate(docs)
    ]

    def placed(spans: list[EvidenceOut]) -> list[EvidenceOut]:
        return [e.model_copy(update={"document": refs[document_at(docs, e.start)]}) for e in spans]

    out = []
    for fact in facts:
        evidence, contrary = placed(fact.evidence), placed(fact.contrary)
        held = {e.document.index for e in evidence if e.document}
        older = {c.document.index for c in contrary if c.document and c.document.index not in held}
        governing = None
        if len(held) == 1 and older and all(docs[i].order < docs[next(iter(held))].order for i in older):
            governing = refs[next(iter(held))]
        out.append(fact.model_copy(update={"evidence": evidence, "contrary": contrary, "governing_document": governing}))
    return out


def _header(notes: str, start: int) -> str:
    end = notes.find("\n", start)
    line = notes[start: end if end != -1 else len(notes)].strip(_DECORATION)
    return line[:HEADER_CHARS]
