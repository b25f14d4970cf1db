"""Records, fact overrides, letter revisions and the hash-chained audit log, with guard triggers.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64

# Rows that may never change once written. `records` only once signed (a correction is a new row).
_APPEND_ONLY = ("audit_log", "fact_overrides", "letter_revisions")


def _ts() -> sa.DateTime:
    return sa.DateTime()


def upgrade() -> None:
    op.create_table(
        "records",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("policy_id", sa.String(100), nullable=False),
        sa.Column("policy_version", sa.String(50), nullable=False),
        sa.Column("recommendation", sa.String(40), nullable=False),
        sa.Column("requires_physician_review", sa.Boolean(), nullable=False),
        sa.Column("request_json", sa.Text(), nullable=False),
        sa.Column("response_json", sa.Text(), nullable=False),
        sa.Column("letter_markdown", sa.Text(), nullable=True),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_role", sa.String(20), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.Column("signed_at", _ts(), nullable=True),
        sa.Column("signed_by", sa.String(100), nullable=True),
        sa.Column("signed_role", sa.String(20), nullable=True),
        sa.Column("corrects_id", sa.String(36), sa.ForeignKey("records.id"), nullable=True),
        sa.CheckConstraint("status IN ('draft', 'signed')", name="ck_records_status"),
    )
    op.create_index("ix_records_policy_id", "records", ["policy_id"])
    op.create_index("ix_records_created_at", "records", ["created_at"])
    op.create_index("ix_records_corrects_id", "records", ["corrects_id"])
    op.create_index("ix_records_status_created", "records", ["status", "created_at"])

    op.create_table(
        "fact_overrides",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("record_id", sa.String(36), sa.ForeignKey("records.id"), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.Boolean(), nullable=True),
        sa.Column("previous_value", sa.Boolean(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recommendation_before", sa.String(40), nullable=False),
        sa.Column("recommendation_after", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("at", _ts(), nullable=False),
    )
    op.create_index("ix_fact_overrides_record_id", "fact_overrides", ["record_id"])

    op.create_table(
        "letter_revisions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("record_id", sa.String(36), sa.ForeignKey("records.id"), nullable=False),
        sa.Column("markdown", sa.Text(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("at", _ts(), nullable=False),
        sa.CheckConstraint("source IN ('draft', 'regenerated', 'edit')", name="ck_letter_source"),
    )
    op.create_index("ix_letter_revisions_record_id", "letter_revisions", ["record_id"])

    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("record_id", sa.String(36), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False, unique=True),
    )
    op.create_index("ix_audit_log_record_id", "audit_log", ["record_id"])

    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "entry_hash": GENESIS_HASH}])

    if op.get_bind().dialect.name == "postgresql":
        _postgresql_guards()
    else:
        _sqlite_guards()


def _sqlite_guards() -> None:
    for table in _APPEND_ONLY:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'mrs-assist: {table} is append-only'); END"
            )
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER records_signed_no_{verb.lower()} BEFORE {verb} ON records "
            "WHEN OLD.status = 'signed' "
            "BEGIN SELECT RAISE(ABORT, 'mrs-assist: a signed record is immutable'); END"
        )


def _postgresql_guards() -> None:
    op.execute(
        """
        CREATE FUNCTION mrs_assist_forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'mrs-assist: % on % is forbidden (%)', TG_OP, TG_TABLE_NAME, TG_ARGV[0]
                USING ERRCODE = 'restrict_violation';
        END
        $$
        """
    )
    for table in _APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION mrs_assist_forbid_change('append-only')"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION mrs_assist_forbid_change('append-only')"
        )
    op.execute(
        "CREATE TRIGGER records_signed_immutable BEFORE UPDATE OR DELETE ON records "
        "FOR EACH ROW WHEN (OLD.status = 'signed') "
        "EXECUTE FUNCTION mrs_assist_forbid_change('signed records are immutable')"
    )
    op.execute(
        "CREATE TRIGGER records_no_truncate BEFORE TRUNCATE ON records "
        "FOR EACH STATEMENT EXECUTE FUNCTION mrs_assist_forbid_change('records are kept')"
    )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in ("audit_log", "fact_overrides", "letter_revisions", "records", "audit_head"):
            op.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
        op.execute("DROP FUNCTION IF EXISTS mrs_assist_forbid_change()")
        return
    for table in ("audit_head", "audit_log", "letter_revisions", "fact_overrides", "records"):
        op.drop_table(table)
