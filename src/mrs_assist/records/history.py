"""A case's history in words, from its audit trail and its letter revisions (`GET …/history`).

The audit trail holds hashes, never text; the letter text of each version is in the
letter-revision rows, written in the same transaction (same timestamp) as the entry that made
it, so each entry that changed the letter carries the diff from the version before.
"""

from __future__ import annotations

import difflib
import json
from datetime import datetime
from typing import Any

from mrs_assist.records.models import HistoryEvent
from mrs_assist.records.tables import AuditRow, LetterRow

_LABELS = {
    "create": "Case created",
    "correct": "Correction created",
    "override_fact": "Fact overridden",
    "edit_letter": "Letter edited",
    "sign": "Signed",
    "extend": "Decision timeframe extended",
    "assign": "Assignment changed",
    "void": "Case voided",
    "view_documents": "Documents read",
}


def _word(value: Any) -> str:
    return {True: "true", False: "false", None: "unknown"}.get(value, str(value)) if isinstance(value, bool | None) else str(value)


def _outcome(value: Any) -> str:
    return str(value or "").replace("_", " ")


def summarize(action: str, details: dict[str, Any]) -> str:
    """One line saying what an audit entry changed (ids and outcomes only: the trail holds no text)."""
    label = _LABELS.get(action, action.replace("_", " ").capitalize())
    if action in ("create", "correct"):
        return f"{label}: {_outcome(details.get('recommendation'))} under {details.get('policy_id')} {details.get('policy_version')}"
    if action == "override_fact":
        return (
            f"{label}: {details.get('fact')} {_word(details.get('previous_value'))} → {_word(details.get('value'))}; "
            f"recommendation {_outcome(details.get('recommendation_before'))} → {_outcome(details.get('recommendation_after'))}"
        )
    if action == "sign":
        return f"{label}: {_outcome(details.get('recommendation'))}, reviewed version {str(details.get('reviewed_hash', ''))[:12]}"
    if action == "extend":
        return f"{label} by {details.get('days')} days; now due {details.get('due_at')}"
    if action == "assign":
        who = details.get("assignee") or "nobody"
        routed = " and routed to the physician queue" if details.get("routed_to") == "physician" else ""
        return f"{label}: assigned to {who}{routed}"
    return label


def letter_diff(before: str | None, after: str, when: datetime) -> str:
    """Unified diff of one letter version against the one before it (empty before the first)."""
    lines = difflib.unified_diff(
        (before or "").splitlines(), after.splitlines(),
        fromfile="letter before" if before is not None else "no letter", tofile=f"letter {when.isoformat()}", lineterm="",
    )
    return "\n".join(lines)


def history_events(entries: list[AuditRow], letters: list[LetterRow], *, with_diffs: bool, aware) -> list[HistoryEvent]:
    """The case's events, oldest first; `with_diffs` attaches each letter change's diff (clinical roles)."""
    by_time: dict[str, list[LetterRow]] = {}
    for lr in letters:
        by_time.setdefault(aware(lr.at).isoformat(timespec="microseconds"), []).append(lr)
    previous: str | None = None
    events = []
    for entry in entries:
        details = json.loads(entry.details)
        diff = None
        made = by_time.pop(aware(datetime.fromisoformat(entry.at)).isoformat(timespec="microseconds"), [])
        for lr in made:
            if with_diffs:
                diff = letter_diff(previous, lr.markdown, aware(lr.at))
            previous = lr.markdown
        events.append(
            HistoryEvent(
                seq=entry.seq, at=aware(datetime.fromisoformat(entry.at)), actor=entry.actor, role=entry.role,
                action=entry.action, summary=summarize(entry.action, details), letter_diff=diff or None,
            )
        )
    return events
