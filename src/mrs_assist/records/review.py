"""What a signer reviewed: the record's outcome, facts and letter, hashed part by part.

A record shows its ``review_hash``; the sign request sends it back. Signing compares it with
the record's state at that moment, so a signature binds the version the signer saw: a letter
swapped, a fact overridden or an outcome changed in between makes the sign call fail (409)
naming the parts that changed. Every audit entry of a record keeps the parts and the hash of
the state it leaves (``details.review``), which is how an old hash is traced to what changed.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from mrs_assist.records.tables import RecordRow

PARTS = ("outcome", "facts", "letter")
"""The parts of a record a signer reviews, in the order a 409 names them."""


def _sha256(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def review_parts(row: RecordRow) -> dict[str, str]:
    """sha256 of each reviewed part of the record as stored: outcome (recommendation, physician
    review, policy and version), facts (name and value of each) and the current letter text."""
    try:
        facts = json.loads(row.response_json or "{}").get("facts") or []
    except ValueError:
        facts = None  # an unreadable response hashes as such; the audit names the tampered column
    return {
        "outcome": _sha256(
            [row.recommendation, row.requires_physician_review, row.policy_id, row.policy_version, row.status]
        ),
        "facts": _sha256(
            [[f.get("name"), f.get("value")] for f in facts if isinstance(f, dict)] if isinstance(facts, list) else None
        ),
        "letter": _sha256(row.letter_markdown),
    }


def review_hash(parts: dict[str, str], record_id: str) -> str:
    """The one hash a client sends back: sha256 over the record's id and the parts' hashes, so a
    hash reviewed on one record never signs another with the same content."""
    return _sha256({"record_id": record_id, **{name: parts[name] for name in PARTS}})


def changed_parts(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """The parts whose hashes differ, in PARTS order."""
    return [name for name in PARTS if before.get(name) != after.get(name)]
