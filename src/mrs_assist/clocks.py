"""Decision clocks of CMS-0057-F: an expedited request is decided within 72 hours and a
standard one within 7 calendar days of receipt; a recorded extension (with its reason)
moves the due time. Pure functions over datetimes — the record store keeps the values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

Urgency = Literal["standard", "expedited"]

TIMEFRAMES: dict[str, timedelta] = {"expedited": timedelta(hours=72), "standard": timedelta(days=7)}
"""42 CFR 422.568(b)(1), 422.572(a) as amended by CMS-0057-F: the decision timeframes."""
MAX_EXTENSION_DAYS = 14
"""The longest extension the rules allow (14 calendar days)."""


def due_at(received_at: datetime, urgency: Urgency, *, extension_days: int = 0) -> datetime:
    """When a decision on a request received at `received_at` is due (raises ValueError for a bad urgency)."""
    if urgency not in TIMEFRAMES:
        raise ValueError(f"urgency must be one of {', '.join(TIMEFRAMES)}")
    return aware(received_at) + TIMEFRAMES[urgency] + timedelta(days=extension_days)


def seconds_left(due: datetime, *, now: datetime | None = None) -> float:
    """Seconds until `due` (negative once overdue)."""
    return (aware(due) - aware(now or datetime.now(UTC))).total_seconds()


def aware(value: datetime) -> datetime:
    """`value` in UTC (a naive datetime is taken as UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
