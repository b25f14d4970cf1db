"""Hash everything: each tamper of issue 11, one by one, is named by `audit verify`, and signing
refuses a record that no longer matches its audit trail (issue 11, item 2)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from test_audit import tamper
from test_postgres import postgres_server, postgres_url  # noqa: F401
from test_records import HTML, PHYSICIAN, REVIEWER, db_url, fake_recompute, make_request, make_response, override, sign_as_drafted  # noqa: F401
from typer.testing import CliRunner

from mrs_assist.errors import ConflictError
from mrs_assist.records import RecordStore, verify_chain
from mrs_assist.records.db import get_engine
from mrs_assist.records.tables import LetterRow, OverrideRow, RecordRow

LETTER = "# Determination\n\nThe request does not meet the criteria; it is not approved."


@pytest.fixture()
def records(db_url):
    """An adverse draft with an override and an edited letter, and a signed approval (SQLite and PostgreSQL)."""
    store = RecordStore(db_url)
    draft = store.create(make_request(), make_response("needs_more_information"), user=REVIEWER)
    draft = override(
        store, draft.id, "known_brain_tumor", False, "no tumor on the outside report", user=PHYSICIAN, recompute=fake_recompute
    )
    assert draft.response.recommendation == "does_not_meet_criteria"
    store.edit_letter(draft.id, LETTER, user=PHYSICIAN, html=HTML)
    signed = store.create(make_request(), make_response("meets_criteria"), user=REVIEWER)
    _sign(store, signed.id)
    assert verify_chain(store).ok
    return store, draft.id, signed.id


def _sign(store: RecordStore, record_id: str) -> None:
    # Written so this file also runs against the code before issue 11 (whose sign took no hash).
    reviewed = getattr(store.get(record_id), "review_hash", None)
    if reviewed is None:
        store.sign(record_id, user=REVIEWER)
        return
    from mrs_assist.signoff import require_signer

    sign_as_drafted(store, record_id, user=REVIEWER, review_hash=reviewed)


def _first(url: str, table: str, record_id: str) -> int:
    with get_engine(url).connect() as conn:
        return conn.execute(text(f"SELECT min(id) FROM {table} WHERE record_id = :r"), {"r": record_id}).scalar()


# (what is tampered, the SQL, which record: "draft" or "signed", the column/row verify must name)
TAMPERS = [
    ("draft recommendation", "UPDATE records SET recommendation = 'meets_criteria' WHERE id = :draft", "records.recommendation"),
    ("draft physician review flag", "UPDATE records SET requires_physician_review = NOT requires_physician_review WHERE id = :draft", "records.requires_physician_review"),
    ("signed_role", "UPDATE records SET signed_role = 'physician' WHERE id = :signed", "records.signed_role"),
    ("signed_at", "UPDATE records SET signed_at = '2020-01-01 00:00:00' WHERE id = :signed", "records.signed_at"),
    ("signed_by", "UPDATE records SET signed_by = 'dr-someone' WHERE id = :signed", "records.signed_by"),
    ("created_by", "UPDATE records SET created_by = 'someone-else' WHERE id = :draft", "records.created_by"),
    ("created_role", "UPDATE records SET created_role = 'physician' WHERE id = :draft", "records.created_role"),
    ("created_at", "UPDATE records SET created_at = '2020-01-01 00:00:00' WHERE id = :draft", "records.created_at"),
    ("updated_at", "UPDATE records SET updated_at = '2020-01-01 00:00:00' WHERE id = :draft", "records.updated_at"),
    ("policy_id", "UPDATE records SET policy_id = 'nia-brain-mrs' WHERE id = :draft", "records.policy_id"),
    ("policy_version", "UPDATE records SET policy_version = '99' WHERE id = :draft", "records.policy_version"),
    ("status", "UPDATE records SET status = 'draft' WHERE id = :signed", "records.status"),
    ("request", "UPDATE records SET request_json = replace(request_json, 'glioblastoma', 'meningioma') WHERE id = :draft", "records.request_json"),
    # clock columns added by a later migration (0003_clocks): covered without touching the audit code
    ("due_at (clock)", "UPDATE records SET due_at = '2099-01-01 00:00:00' WHERE id = :draft", "records.due_at"),
    ("urgency (clock)", "UPDATE records SET urgency = 'expedited' WHERE id = :draft", "records.urgency"),
    ("letter text", "UPDATE records SET letter_markdown = 'Approved.' WHERE id = :draft", "records.letter_markdown"),
    ("override recommendation_before", "UPDATE fact_overrides SET recommendation_before = 'meets_criteria' WHERE id = :override", "fact_overrides row"),
    ("override recommendation_after", "UPDATE fact_overrides SET recommendation_after = 'meets_criteria' WHERE id = :override", "fact_overrides row"),
    ("override reason", "UPDATE fact_overrides SET reason = 'because' WHERE id = :override", "fact_overrides row"),
    ("override deleted", "DELETE FROM fact_overrides WHERE id = :override", "is missing"),
    ("letter revision rewritten", "UPDATE letter_revisions SET markdown = 'Approved.' WHERE id = :letter", "letter_revisions row"),
    ("letter revision author", "UPDATE letter_revisions SET actor = 'dr-lee', role = 'physician' WHERE id = :letter", "letter_revisions row"),
    ("letter revision deleted", "DELETE FROM letter_revisions WHERE id = :letter", "is missing"),
    ("letter revision added", "INSERT INTO letter_revisions (record_id, markdown, source, actor, role, at) "
     "VALUES (:draft, 'Approved.', 'edit', 'nurse-ann', 'reviewer', '2030-01-01 00:00:00')", "not in the audit trail"),
]


@pytest.mark.parametrize(("what", "sql", "named"), TAMPERS, ids=[t[0] for t in TAMPERS])
def test_each_tamper_is_detected_and_named(records, what, sql, named):
    store, draft_id, signed_id = records
    params = {
        "draft": draft_id,
        "signed": signed_id,
        "override": _first(store.url, "fact_overrides", draft_id),
        "letter": _first(store.url, "letter_revisions", draft_id),
    }
    tamper(store.url, sql, **{k: v for k, v in params.items() if f":{k}" in sql})
    result = verify_chain(store)
    assert not result.ok, what
    assert named in result.reason, result.reason
    assert (signed_id if ":signed" in sql else draft_id) in result.reason


def test_a_tampered_draft_cannot_be_signed(records):
    """Item 2 as reported: the recommendation flipped on an adverse draft, then a sign-off."""
    store, draft_id, _ = records
    seen = store.get(draft_id).review_hash
    tamper(store.url, "UPDATE records SET recommendation = 'meets_criteria' WHERE id = :draft", draft=draft_id)
    from mrs_assist.signoff import require_signer

    with pytest.raises(ConflictError) as refused:
        sign_as_drafted(store, draft_id, user=REVIEWER, review_hash=store.get(draft_id).review_hash)
    assert refused.value.code == "record_integrity"
    with pytest.raises(ConflictError):
        sign_as_drafted(store, draft_id, user=PHYSICIAN, review_hash=seen)
    assert store.get(draft_id).status == "draft"


def test_audit_verify_cli_names_the_row(records, monkeypatch):
    from mrs_assist.cli import app

    store, draft_id, _ = records
    tamper(store.url, "UPDATE records SET recommendation = 'meets_criteria' WHERE id = :draft", draft=draft_id)
    from mrs_assist.config import get_settings

    monkeypatch.setenv("MRS_ASSIST_DATABASE_URL", store.url)
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    get_settings.cache_clear()
    assert f"record {draft_id}: records.recommendation differs" in result.output


@pytest.mark.parametrize("table", [RecordRow, OverrideRow, LetterRow])
def test_every_column_of_the_table_definition_is_hashed(records, table):
    """Coverage comes from the table definitions: a column a later migration adds is hashed too."""
    from mrs_assist.records.audit import record_state, row_columns

    store, draft_id, _ = records
    with store.db.read() as session:
        row = session.get(RecordRow, draft_id)
        sample = row if table is RecordRow else (row.overrides if table is OverrideRow else row.letters)[0]
        assert set(row_columns(sample)) == {c.name for c in table.__table__.columns}
        state = record_state(row)
    hashed = state["records"] if table is RecordRow else next(iter(state[table.__tablename__].values()))
    assert set(hashed) == {c.name for c in table.__table__.columns}
