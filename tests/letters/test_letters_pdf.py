"""PDF letters: they open, and they say the decision (pypdf reads them back)."""

from __future__ import annotations

import io
import re

import pytest
from letter_fixtures import SIGNATURE, all_cases, case, corpus  # noqa: F401
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from pypdf import PdfReader

from mrs_assist.letters import draft_letter, render_pdf, signed_letter

DECISION = {
    "approval": "Approved.",
    "request_for_information": "Decision pending: more information needed.",
    "adverse_determination_draft": "Not approved (adverse determination — DRAFT).",
}


def pdf_text(data: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(data))
    text = " ".join(page.extract_text() for page in reader.pages)
    return reader, re.sub(r"\s+", " ", text)


@pytest.mark.parametrize("name", list(all_cases()))
def test_pdf_opens_and_contains_the_decision(name):
    c = case(name)
    letter = draft_letter(c.determination, c.request, corpus=corpus())
    data = render_pdf(letter)
    assert data.startswith(b"%PDF-")
    reader, text = pdf_text(data)
    assert len(reader.pages) >= 1
    assert DECISION[c.kind] in text
    assert "CPT 76390 — magnetic resonance spectroscopy (MRS)" in text
    if c.kind == "approval":  # nothing to appeal in an approval
        assert "appeal" not in text.lower() and "peer-to-peer" not in text.lower()
    else:
        assert "You may appeal within 180 days of the date of this notice." in text
        assert "peer-to-peer discussion with the physician reviewer" in text
    for clause_id in c.determination.trace.deciding_clauses:
        assert f"[{clause_id}]" in text.replace("- ", "-")
    assert reader.metadata.title


def test_adverse_pdf_is_marked_draft_until_signed():
    c = case("cohere_implant_denial")
    letter = draft_letter(c.determination, c.request, corpus=corpus())
    _, text = pdf_text(render_pdf(letter))
    assert text.count("DRAFT") >= 3  # banner, title, decision (+ watermark on each page)
    assert "DRAFT — NOT FOR RELEASE." in text
    _, signed_text = pdf_text(render_pdf(signed_letter(letter, letter.markdown, SIGNATURE)))
    assert signed_text.count("DRAFT") < text.count("DRAFT")  # no watermark once signed


def test_pdf_of_a_model_letter_and_of_escaped_text():
    c = case("cohere_implant_denial")
    letter = draft_letter(c.determination, c.request, corpus=corpus(),
                          chat_model=FakeListChatModel(responses=[c.good_reply()]))
    assert letter.mode == "llm"
    _, text = pdf_text(render_pdf(letter))
    assert "The request for magnetic resonance spectroscopy (MRS) is not approved." in text
    assert "[cohere-mrs#non-indications.3]" in text.replace("- ", "-")
