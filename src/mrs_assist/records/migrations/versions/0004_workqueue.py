"""The work queue and the case's documents (issue 21): who a case is assigned to, whether it is
routed to the physician queue, a voided mark (kept, excluded from reports), the member and
provider named at intake (for search), and the index of the documents the notes were read from.

Columns are nullable: records stored before this revision have none (signed rows are immutable,
so they are not backfilled; the store reads null as "not assigned, not voided, one pasted note").

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("assignee", sa.String(100)),
    ("routed_to", sa.String(20)),
    ("voided_at", sa.DateTime()),
    ("voided_by", sa.String(100)),
    ("void_reason", sa.Text()),
    ("member_name", sa.String(200)),
    ("member_ref", sa.String(100)),
    ("provider_name", sa.String(200)),
    ("documents_json", sa.Text()),
)


def upgrade() -> None:
    # No new index: each one costs every write a page, and the queue's filters run over the
    # undecided cases a team has open, which the status and due-time indexes already narrow.
    for name, type_ in _COLUMNS:
        op.add_column("records", sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    for name, _ in reversed(_COLUMNS):
        op.drop_column("records", name)
