"""Who may sign which determination: by its outcome and by which regions of its letter were edited.

README "Auth": nothing but a physician may deny for medical necessity. A letter is a template
(`mrs_assist.letters.structure`): its determination part (kind, decision, reason, guideline,
rights and appeal text) is regenerated from the record and locked; reviewers fill named fields
(names, numbers, deadlines, a note to the provider, documents requested). So:

- ``meets_criteria`` (approval) and ``needs_more_information`` (pend) with a letter changed in
  its fields only (or unchanged, or no letter): a reviewer or a physician signs. A pend issues
  no denial — it asks for the listed documentation.
- Any other outcome, or a letter changed outside its fields (or whose field values would change
  its structure, or that cannot be matched to its template at all): only a physician signs.
- A letter that still shows a placeholder to fill (``[Member name]``, …) is not signed (422).
- ``admin`` makes no clinical change at all (see `mrs_assist.auth`).

The rule never reads the letter's words: it compares regions. `Services.sign` hands an
`authorize` callable to `RecordStore.sign`, which runs it on the locked row inside the signing
transaction: the store persists and audits, the rule lives here.
"""

from __future__ import annotations

from typing import Any

from mrs_assist.errors import ForbiddenError, InvalidRequestError
from mrs_assist.letters.structure import LetterEdit, LetterTemplate, compare_letter, unfilled_placeholders
from mrs_assist.users import CLINICAL_ROLES, Role, User

ADVERSE = "does_not_meet_criteria"
REVIEWER_OUTCOMES = frozenset({"meets_criteria", "needs_more_information"})
"""Outcomes a reviewer may sign when the letter's locked regions are as generated."""


def letter_edit(letter_markdown: str | None, template: LetterTemplate | None) -> LetterEdit | None:
    """Which regions of the letter differ from its regenerated template (None: no letter).

    Without a template to compare with (a model-written letter, a policy no longer in the
    corpus) every region counts as changed.
    """
    if letter_markdown is None:
        return None
    if template is None:
        return LetterEdit(locked_changed=True, where="the letter (no template to compare it with)")
    return compare_letter(template, letter_markdown)


def require_signer(
    recommendation: str,
    letter_markdown: str | None,
    user: User,
    *,
    template: LetterTemplate | None = None,
    placeholders: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Raise unless `user` may sign this outcome with this letter; returns details for the audit.

    Raises InvalidRequestError ``letter_incomplete`` (422) when the letter still shows a
    placeholder to fill; ForbiddenError ``physician_required`` (403) when the outcome is not an
    approval or pend or the letter changed outside its fields and the user is not a physician;
    ForbiddenError (403) for a non-clinical role.
    """
    if user.role not in CLINICAL_ROLES:
        raise ForbiddenError(f"role {user.role.value!r} may not sign determinations")
    edit = letter_edit(letter_markdown, template)
    if letter_markdown is not None and placeholders:
        if unfilled := unfilled_placeholders(letter_markdown, placeholders):
            raise InvalidRequestError(
                "the letter still shows placeholders to fill before it is signed: "
                + ", ".join(name.replace("_", " ") for name in unfilled),
                code="letter_incomplete",
            )
    structural = edit is not None and not edit.reviewer_edit
    if (recommendation not in REVIEWER_OUTCOMES or structural) and user.role is not Role.physician:
        if structural:
            where = f"outside its reviewer fields (first in: {edit.where})" if edit.locked_changed else (
                "in a field in a way that changes its structure (" + ", ".join(edit.bad_fields) + ")"
            )
            raise ForbiddenError(
                f"only a physician may sign this letter: it was edited {where}; a reviewer may edit "
                "only the named fields (names, numbers, deadlines, the note to the provider, documents requested)",
                code="physician_required",
            )
        raise ForbiddenError(
            "only a physician may sign an adverse determination or any outcome other than an "
            "approval or a request for information",
            code="physician_required",
        )
    return {
        "letter_edit": "none" if edit is None or not (edit.locked_changed or edit.fields_changed or edit.bad_fields)
        else "fields" if edit.reviewer_edit else "structure",
        "fields_changed": list(edit.fields_changed) if edit is not None else [],
    }


__all__ = ["ADVERSE", "REVIEWER_OUTCOMES", "letter_edit", "require_signer"]
