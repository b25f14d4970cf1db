"""The service lines of a PAS request as they stand after each claim update: kept as audited
entries of the record (action `fhir_claim_items`, in the record store's hash-chained audit log),
each holding the items (sequence, product/service codes, cancelled or not) and what the update
changed (added, modified, cancelled sequences). Later inquiries and the ClaimResponse read the
latest entry, so a cancelled or added line stays as the provider last sent it.

Only codes and sequence numbers are kept (no clinical text).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from mrs_assist.records.audit import append_entry
from mrs_assist.records.db import utc_now
from mrs_assist.records.tables import AuditRow, RecordRow

ACTION = "fhir_claim_items"
MAX_ITEMS = 50
MAX_CODES = 5


def item_state(claim: dict[str, Any], cancelled) -> list[dict[str, Any]]:
    """The claim's items as stored: sequence, 'system|code' of each product/service coding, cancelled."""
    out = []
    for i, item in enumerate(claim.get("item") or [], start=1):
        if not isinstance(item, dict):
            continue
        codes = [f"{c.get('system', '')}|{c['code']}"[:200] for c in (item.get("productOrService") or {}).get("coding") or []
                 if isinstance(c, dict) and c.get("code")]
        sequence = item.get("sequence") if isinstance(item.get("sequence"), int) else i
        out.append({"sequence": sequence, "codes": codes[:MAX_CODES], "cancelled": bool(cancelled(item))})
    return out[:MAX_ITEMS]


def changes(before: list[dict[str, Any]] | None, after: list[dict[str, Any]]) -> dict[str, list[int]]:
    """Which sequences an update added, modified (other codes) or cancelled."""
    old = {i["sequence"]: i for i in before or []}
    out: dict[str, list[int]] = {"added": [], "modified": [], "cancelled": []}
    for item in after:
        was = old.get(item["sequence"])
        if item["cancelled"] and not (was or {}).get("cancelled"):
            out["cancelled"].append(item["sequence"])
        elif was is None:
            out["added"].append(item["sequence"])
        elif was["codes"] != item["codes"]:
            out["modified"].append(item["sequence"])
    return out


def latest(store, record_id: str) -> list[dict[str, Any]] | None:
    """The items of the record's latest `fhir_claim_items` entry (None: none stored)."""
    with store.db.read() as session:
        row = session.execute(select(AuditRow).where(AuditRow.record_id == record_id, AuditRow.action == ACTION)
                              .order_by(AuditRow.seq.desc()).limit(1)).scalar_one_or_none()
        if row is None:
            return None
        return json.loads(row.details).get("items")


def save(store, record_id: str, items: list[dict[str, Any]], *, user) -> dict[str, list[int]]:
    """Store the items as they now stand (an audited entry of the record); returns the changes
    since the last stored items (all added for the first)."""
    before = latest(store, record_id)
    changed = changes(before, items)
    if before == items:
        return changed
    with store.db.write() as session:
        row = session.get(RecordRow, record_id)
        append_entry(session, actor=user.name, role=user.role.value, action=ACTION, at=utc_now(), record=row,
                     details={"items": items, **changed})
    return changed


def as_claim_items(items: list[dict[str, Any]], cancelled_extension: str) -> list[dict[str, Any]]:
    """Stored items as Claim items (for a response built from the record)."""
    out = []
    for item in items:
        codings = [{**({"system": s} if s else {}), "code": c} for s, _, c in (x.partition("|") for x in item["codes"])]
        claim_item: dict[str, Any] = {"sequence": item["sequence"], "productOrService": {"coding": codings}}
        if item.get("cancelled"):
            claim_item["modifierExtension"] = [{"url": cancelled_extension, "valueBoolean": True}]
        out.append(claim_item)
    return out
