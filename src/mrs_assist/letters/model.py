"""Which letter an outcome gets, and signing one (the model, ``Letter``, is in ``mrs_assist.schemas``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from mrs_assist.schemas import Letter, LetterKind

__all__ = ["KIND_BY_OUTCOME", "Letter", "Signature", "record_letter", "signed_letter"]  # Letter lives with the response models

KIND_BY_OUTCOME: dict[str, LetterKind] = {
    "meets_criteria": "approval",
    "needs_more_information": "request_for_information",
    "does_not_meet_criteria": "adverse_determination_draft",
}


@dataclass(frozen=True)
class Signature:
    """An electronic signature: who signed, in which role, when, and the review hash they signed."""

    name: str
    role: str
    at: datetime
    review_hash: str
    case_number: str

    def line(self) -> str:
        """The signature line printed on the signed letter."""
        return (
            f"Electronically signed by {self.name} ({self.role}) on {self.at.isoformat(timespec='seconds')}; "
            f"review hash {self.review_hash}."
        )


def signed_letter(letter: Letter, markdown: str, signature: Signature) -> Letter:
    """The released letter: `markdown` (the text as reviewed) with the notice date, case number and
    signer filled from the sign-off, and an electronic-signature line in its Markdown and HTML."""
    from mrs_assist.letters.render import letter_html, md_escape
    from mrs_assist.letters.settings import load_letter_settings

    ph = load_letter_settings().placeholders
    fills = {
        ph.notice_date: signature.at.date().isoformat(),
        ph.case_number: signature.case_number,
        ph.reviewer_name: signature.name,
        ph.physician_name: signature.name,
        ph.reviewer_credentials: signature.role,
        ph.physician_credentials: signature.role,
        ph.signature_date: signature.at.date().isoformat(),
        "______________________________": "electronic signature (below)",
    }

    def fill(text: str, escape) -> str:
        for placeholder, value in fills.items():
            text = text.replace(placeholder, escape(value))
        return text

    line = signature.line()
    md = fill(markdown, md_escape).rstrip() + f"\n\n## Electronic signature\n\n{md_escape(line)}\n"
    facts = re.findall(r'<li data-fact="([^"]+)">', letter.html)  # the questions as drafted
    page = letter_html(md, letter.kind, facts=facts)
    return letter.model_copy(
        update={"markdown": md, "html": page, "status": "signed", "signed_by": signature.name, "releasable": True}
    )


def record_letter(record) -> Letter | None:
    """A stored record's letter as it reads now (`record`: a `mrs_assist.records.Record`): its
    current text; once signed, the released letter with its electronic-signature line. None
    without a letter."""
    letter = record.response.letter
    if letter is None or record.letter_markdown is None:
        return letter
    if letter.markdown != record.letter_markdown:
        letter = letter.model_copy(update={"markdown": record.letter_markdown})
    if record.status != "signed" or record.signed_at is None:
        return letter
    signature = Signature(
        name=record.signed_by or "", role=record.signed_role or "", at=record.signed_at,
        review_hash=record.signed_review_hash or "", case_number=record.id,
    )
    return signed_letter(letter, record.letter_markdown, signature)
