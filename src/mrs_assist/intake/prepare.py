"""A request as received → the request stored: documents read into the notes, checks made first.

The notes of a case are its typed notes followed by the text of each page of each document,
separated by a blank line; each document's place in them is a `DocumentIndex`, so an evidence
span's offsets say which page it sits on.
"""

from __future__ import annotations

import base64
import binascii
import re

from pydantic import ValidationError

from mrs_assist.errors import InvalidRequestError
from mrs_assist.intake.documents import read_document
from mrs_assist.records.models import DocumentIndex, has_visible_text
from mrs_assist.schemas import MAX_NOTES_CHARS, MAX_UNBROKEN_CHARS, DeterminationRequest

_SEPARATOR = "\n\n"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_UNBROKEN = re.compile(rf"\S{{{MAX_UNBROKEN_CHARS}}}")


def clean_text(text: str) -> str:
    """Extracted text as notes may hold it: form feeds and other control characters become line
    breaks or go, trailing spaces go, and an over-long unbroken run is broken with a space."""
    text = text.replace("\x0c", "\n").replace("\r\n", "\n")
    text = _CONTROL.sub("", text)
    text = "\n".join(line.rstrip() for line in text.split("\n")).strip()
    return _UNBROKEN.sub(lambda m: m.group(0) + " ", text)


def prepare_request(request: DeterminationRequest) -> tuple[DeterminationRequest, list[DocumentIndex] | None]:
    """The request to store and its documents' index (None when it has no documents).

    Raises InvalidRequestError (422) before anything is stored: nothing to decide on (no notes,
    no documents and no `facts` field), a document that is not base64 or cannot be read, or
    more text than a case holds.
    """
    uploads = request.documents or []
    # `facts` sent, even empty, is a structured answer (a DTR questionnaire left blank is one).
    if not uploads and not has_visible_text(request.clinical_notes) and request.facts is None:
        raise InvalidRequestError(
            "the request has no clinical notes, no documents and no facts: paste the notes or attach the documents",
            code="empty_request",
        )
    if not uploads:
        return request, None
    notes = request.clinical_notes.strip()
    index: list[DocumentIndex] = []
    if notes:
        index.append(DocumentIndex(name="Clinical notes", media_type="text/plain", method="typed", start=0, end=len(notes)))
    for upload in uploads:
        try:
            data = base64.b64decode(upload.content_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidRequestError(f"{upload.name}: content_base64 is not base64") from exc
        for page in read_document(upload.name, upload.media_type, data):
            text = clean_text(page.text)
            start = len(notes) + (len(_SEPARATOR) if notes else 0)
            notes = f"{notes}{_SEPARATOR}{text}" if notes else text
            index.append(
                DocumentIndex(
                    name=upload.name, media_type=upload.media_type, page=page.number, method=page.method,
                    start=start, end=start + len(text),
                )
            )
    if len(notes) > MAX_NOTES_CHARS:
        raise InvalidRequestError(
            f"the documents hold {len(notes):,} characters of text, more than the {MAX_NOTES_CHARS:,} a case holds; "
            "send the pages that bear on the request"
        )
    try:
        stored = DeterminationRequest.model_validate(
            {**request.model_dump(exclude={"documents"}), "clinical_notes": notes}
        )
    except ValidationError as exc:
        raise InvalidRequestError("the documents' text cannot be stored as notes") from exc
    return stored, index
