"""Decision clocks (CMS-0057-F): urgency, received and due times, a recorded extension; the
submitter's claim identifier a FHIR PAS request came with (for $inquiry); and FHIR PAS
Subscriptions (rest-hook).

Columns are nullable: records stored before this revision have none, and the code reads
their received time as their creation time and their urgency from the stored request
(signed rows are immutable, so they are not backfilled).

Revision ID: 0003
Revises: 0001 (the lead re-chains it after 0002_trust at merge)
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("records", sa.Column("urgency", sa.String(16), nullable=True))
    op.add_column("records", sa.Column("received_at", sa.DateTime(), nullable=True))
    op.add_column("records", sa.Column("due_at", sa.DateTime(), nullable=True))
    op.add_column("records", sa.Column("extension_days", sa.Integer(), nullable=True))
    op.add_column("records", sa.Column("extension_reason", sa.Text(), nullable=True))
    op.add_column("records", sa.Column("extended_at", sa.DateTime(), nullable=True))
    op.add_column("records", sa.Column("extended_by", sa.String(100), nullable=True))
    op.add_column("records", sa.Column("submitter_ref", sa.String(300), nullable=True))
    op.create_index("ix_records_due_at", "records", ["due_at"])
    op.create_index("ix_records_submitter_ref", "records", ["submitter_ref"])
    op.create_table(
        "fhir_subscriptions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("org_identifier", sa.String(100), nullable=True),
        sa.Column("endpoint", sa.Text(), nullable=False),
        sa.Column("payload_content", sa.String(20), nullable=False),
        sa.Column("headers_json", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("last_event_at", sa.DateTime(), nullable=True),
        sa.Column("events", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("fhir_subscriptions")
    op.drop_index("ix_records_submitter_ref", "records")
    op.drop_index("ix_records_due_at", "records")
    for column in ("submitter_ref", "extended_by", "extended_at", "extension_reason", "extension_days",
                   "due_at", "received_at", "urgency"):
        op.drop_column("records", column)
