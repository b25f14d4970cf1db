"""Who may sign which determination: by its outcome and by its letter's own words.

DESIGN.md: nothing but a physician may deny for medical necessity. So:

- ``meets_criteria`` (approval) and ``needs_more_information`` (pend): a reviewer or a
  physician signs. A pend issues no denial — it asks for the listed documentation — so it is
  not an adverse determination; if the information never comes, the denial is a correction
  signed by a physician.
- ``does_not_meet_criteria`` (adverse): only a physician signs.
- A letter whose text denies, limits or withholds the service (`letter_stance` on the
  edited text) is adverse whatever the recommendation: only a physician signs it.
- A letter that states another outcome than the recommendation cannot be signed at all.
- ``admin`` makes no clinical change at all (see `mrs_assist.auth`).

`Services.sign` hands `require_signer` to `RecordStore.sign`, which runs it on the locked
row inside the signing transaction: the store persists and audits, the rule lives here.
"""

from __future__ import annotations

from typing import Any

from mrs_assist.auth import CLINICAL_ROLES, Role, User
from mrs_assist.errors import ConflictError, ForbiddenError

ADVERSE = "does_not_meet_criteria"
SIGNERS: dict[str, frozenset[Role]] = {
    "meets_criteria": frozenset(CLINICAL_ROLES),
    "needs_more_information": frozenset(CLINICAL_ROLES),
    ADVERSE: frozenset({Role.physician}),
}


def require_signer(recommendation: str, letter_markdown: str | None, user: User) -> dict[str, Any]:
    """Raise unless `user` may sign this outcome with this letter; returns details for the audit.

    Raises ConflictError ``letter_contradicts_outcome`` (409) when the letter states another
    outcome, ForbiddenError ``physician_required`` (403) when the outcome or the letter is
    adverse and the user is not a physician, ForbiddenError (403) for a non-clinical role.
    """
    from mrs_assist.validate.letter import letter_stance

    stance = letter_stance(letter_markdown)
    if stance.contradicts(recommendation):
        raise ConflictError(
            f"the letter reads as {', '.join(stance.stated)} but the determination is {recommendation}: "
            "edit the letter (or override the facts) so they agree before signing",
            code="letter_contradicts_outcome",
        )
    adverse = recommendation == ADVERSE or stance.adverse
    allowed = SIGNERS[ADVERSE] if adverse else SIGNERS.get(recommendation, SIGNERS[ADVERSE])
    if user.role not in allowed:
        if adverse:
            raise ForbiddenError(
                "only a physician may sign an adverse determination or a letter that denies, "
                "limits or withholds the service",
                code="physician_required",
            )
        raise ForbiddenError(f"role {user.role.value!r} may not sign determinations")
    return {"letter_adverse": stance.adverse}


__all__ = ["ADVERSE", "SIGNERS", "require_signer"]
