"""The record store on SQLite and on a real PostgreSQL server: drafts, overrides, letters, sign-off, corrections."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from test_postgres import postgres_server, postgres_url  # noqa: F401  (fixtures shared across modules)

from mrs_assist.auth import Role, User
from mrs_assist.config import Settings
from mrs_assist.errors import ConflictError, ForbiddenError, InvalidRequestError, NotFoundError
from mrs_assist.letters.structure import LetterTemplate
from mrs_assist.signoff import require_signer
from mrs_assist.records import Record, RecordStore, current_revision, dispose_engine, head_revision, verify_chain
from mrs_assist.records.db import get_engine
from mrs_assist.letters.model import KIND_BY_OUTCOME
from mrs_assist.schemas import DeterminationRequest, DeterminationResponse, FactOut, Letter
from mrs_assist.service import Services

REVIEWER = User("nurse-ann", Role.reviewer)
PHYSICIAN = User("dr-lee", Role.physician)
ADMIN = User("ops-sam", Role.admin)

HTML = "<p>the letter as the service renders it</p>"
"""What a letter edit stores beside its Markdown (the store renders nothing)."""
NOTES = "58-year-old with a known glioblastoma; MRI inconclusive for recurrence versus radiation necrosis."


def make_request(**changes) -> DeterminationRequest:
    """A request with clinical notes (the record of the case)."""
    fields = {"policy_id": "cohere-mrs", "cpt_codes": ["76390"], "clinical_notes": NOTES, "letter": True}
    return DeterminationRequest(**{**fields, **changes})


def make_response(recommendation: str = "needs_more_information", facts: dict | None = None) -> DeterminationResponse:
    """A checker response with the given outcome, and a letter saying so."""
    facts = facts if facts is not None else {"known_brain_tumor": True, "conventional_imaging_inconclusive": None}
    return DeterminationResponse(
        recommendation=recommendation,
        requires_physician_review=recommendation != "meets_criteria",
        policy_id="cohere-mrs",
        policy_version="2",
        facts=[FactOut(name=k, value=v, evidence=[]) for k, v in facts.items()],
        trace={"outcome": recommendation},
        missing_information=[k for k, v in facts.items() if v is None],
        citations=[],
        safety_flags=[],
        letter=Letter(
            kind=KIND_BY_OUTCOME[recommendation], outcome=recommendation, releasable=recommendation != "does_not_meet_criteria",
            requires_physician_signature=recommendation == "does_not_meet_criteria", mode="template", template_id="t1",
            template_version="1", settings_version="1", policy_id="cohere-mrs", policy_version="2", urgency="standard",
            markdown=f"# Determination\n\nOutcome: {recommendation}\n", html=f"<p>Outcome: {recommendation}</p>",
        ),
    )


def SIGN_AS_DRAFTED(recommendation: str, letter: str | None, user: User) -> dict:
    """The sign-off rule with the record's letter as its own template (these hand-made letters have
    no fields): the store tests check roles by outcome, not letter edits (tests/test_signoff.py does)."""
    template = LetterTemplate.from_marked(letter, {}) if letter is not None else None
    return require_signer(recommendation, letter, user, template=template)


def sign_as_drafted(store: RecordStore, id: str, *, user: User, review_hash: str | None) -> Record:
    """The sign-off workflow over the store alone: the rule (`SIGN_AS_DRAFTED`) on the record as
    read, then the store's signature bound to `review_hash`."""
    record = store.require_signable(id, review_hash)
    details = SIGN_AS_DRAFTED(record.response.recommendation, record.letter_markdown, user)
    return store.sign(id, user=user, review_hash=review_hash, details=details)


def override(store: RecordStore, id: str, name: str, value: bool | None, reason: str, *, user: User, recompute) -> Record:
    """The fact-override workflow over the store alone: `recompute` on the record as read, then
    the store's write bound to the version it was computed from."""
    record = store.get(id)
    facts = dict(record.request.facts or {}) | {o.name: o.value for o in record.overrides} | {name: value}
    return store.override_fact(id, name, value, reason, user=user, response=recompute(record.request, facts),
                               computed_from=record.review_hash)


def fake_recompute(request: DeterminationRequest, facts: dict[str, bool | None]) -> DeterminationResponse:
    """A stand-in checker: unsafe implant → deny; tumor and inconclusive imaging → approve; else pend."""
    merged = {"known_brain_tumor": True, "conventional_imaging_inconclusive": None, **facts}
    if merged.get("mri_unsafe_implant") is True:
        outcome = "does_not_meet_criteria"
    elif merged["known_brain_tumor"] is True and merged["conventional_imaging_inconclusive"] is True:
        outcome = "meets_criteria"
    elif False in (merged["known_brain_tumor"], merged["conventional_imaging_inconclusive"]):
        outcome = "does_not_meet_criteria"
    else:
        outcome = "needs_more_information"
    return make_response(outcome, merged)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """An empty database on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'records.sqlite3'}"
        yield url
        dispose_engine(url)
    else:
        yield request.getfixturevalue("postgres_url")


@pytest.fixture()
def store(db_url) -> RecordStore:
    return RecordStore(db_url)


class StoreServices(Services):
    """The real record workflows (roles, input, the sign-off rule) over a fake checker; the
    hand-made letters are their own templates (no fields)."""

    def recompute(self, request, facts):
        return fake_recompute(request, facts)

    def letter_template(self, record):
        drafted = [r.markdown for r in record.letter_revisions if r.source != "edit"]
        return LetterTemplate.from_marked(drafted[-1], {}) if drafted else None


@pytest.fixture()
def workflows(store, tmp_path) -> StoreServices:
    return StoreServices(Settings(data_dir=tmp_path / "data"), records=store)


# --- schema -----------------------------------------------------------------------------------
def test_migrations_run_from_empty_and_match_the_tables(db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from mrs_assist.records.tables import Base

    assert current_revision(db_url) is None
    RecordStore(db_url)
    assert current_revision(db_url) == head_revision()
    with get_engine(db_url).connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diffs == []


def test_from_settings_defaults_to_a_sqlite_file_in_data_dir(tmp_path):
    store = RecordStore.from_settings(Settings(data_dir=tmp_path, database_url=None))
    try:
        assert store.url == f"sqlite:///{tmp_path / 'records.sqlite3'}"
        assert (tmp_path / "records.sqlite3").exists()
    finally:
        dispose_engine(store.url)


# --- create, read, list -------------------------------------------------------------------
def test_create_keeps_request_response_and_letter(store):
    record = store.create(make_request(), make_response(), user=REVIEWER)
    assert record.status == "draft" and record.created_by == "nurse-ann"
    got = store.get(record.id)
    assert got.request.clinical_notes == NOTES
    assert got.response == make_response()
    assert got.letter_markdown.startswith("# Determination")
    assert [r.source for r in got.letter_revisions] == ["draft"]
    assert got.created_at.tzinfo is not None
    body = got.to_response(letter=got.response.letter).model_dump(mode="json")
    assert body["id"] == record.id and body["status"] == "draft" and body["recommendation"] == "needs_more_information"
    assert "clinical_notes" not in str(body) and NOTES not in str(body)


def test_unknown_or_malformed_id_is_not_found(store):
    with pytest.raises(NotFoundError):
        store.get("00000000-0000-4000-8000-000000000000")
    with pytest.raises(NotFoundError):
        store.get("'; DROP TABLE records; --")


def test_list_filters_by_status_policy_and_time(store):
    a = store.create(make_request(), make_response("meets_criteria"), user=REVIEWER)
    b = store.create(make_request(), make_response(), user=REVIEWER)
    sign_as_drafted(store, a.id, user=REVIEWER, review_hash=store.get(a.id).review_hash)
    assert [s.id for s in store.list()] == [b.id, a.id]
    assert [s.id for s in store.list(status="signed")] == [a.id]
    assert [s.id for s in store.list(status="draft")] == [b.id]
    assert store.list(policy_id="nia-brain-mrs") == []
    assert len(store.list(policy_id="cohere-mrs", limit=1)) == 1
    created_b = store.get(b.id).created_at
    assert [s.id for s in store.list(since=created_b)] == [b.id]
    assert [s.id for s in store.list(until=created_b)] == [a.id]
    naive = created_b.astimezone(UTC).replace(tzinfo=None)
    assert [s.id for s in store.list(since=naive)] == [b.id]
    assert store.list(since=datetime.now(UTC) + timedelta(hours=1)) == []
    with pytest.raises(InvalidRequestError):
        store.list(status="deleted")


# --- overrides --------------------------------------------------------------------------------
def test_override_reruns_the_checker_and_records_who_when_why(store):
    record = store.create(make_request(), make_response(), user=REVIEWER)
    seen = []

    def recompute(request, facts):
        seen.append((request.clinical_notes, dict(facts)))
        return fake_recompute(request, facts)

    updated = override(
        store, record.id, "conventional_imaging_inconclusive", True, "MRI report of 3/4 says equivocal", user=REVIEWER,
        recompute=recompute,
    )
    assert seen == [(NOTES, {"conventional_imaging_inconclusive": True})]
    assert updated.response.recommendation == "meets_criteria"
    (o,) = updated.overrides
    assert (o.name, o.value, o.previous_value, o.user, o.role) == (
        "conventional_imaging_inconclusive", True, None, "nurse-ann", "reviewer"
    )
    assert o.reason == "MRI report of 3/4 says equivocal"
    assert (o.recommendation_before, o.recommendation_after) == ("needs_more_information", "meets_criteria")
    assert updated.letter_markdown.endswith("Outcome: meets_criteria\n")
    assert [r.source for r in updated.letter_revisions] == ["draft", "regenerated"]
    # a second override keeps the first one in the facts handed to the checker
    again = override(store, record.id, "mri_unsafe_implant", True, "pacemaker", user=PHYSICIAN, recompute=recompute)
    assert seen[-1][1] == {"conventional_imaging_inconclusive": True, "mri_unsafe_implant": True}
    assert again.response.recommendation == "does_not_meet_criteria" and len(again.overrides) == 2
    assert store.get(record.id) == again


def test_override_keeps_structured_facts_of_the_request(store):
    record = store.create(make_request(facts={"known_brain_tumor": True}), make_response(), user=REVIEWER)
    seen = []
    override(
        store, record.id, "conventional_imaging_inconclusive", True, "r", user=REVIEWER,
        recompute=lambda req, facts: seen.append(facts) or fake_recompute(req, facts),
    )
    assert seen == [{"known_brain_tumor": True, "conventional_imaging_inconclusive": True}]


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [("Known Tumor", True, "r"), ("x" * 80, True, "r"), ("known_brain_tumor", True, "   "), ("known_brain_tumor", True, "r" * 2001)],
)
def test_override_rejects_bad_input(store, workflows, name, value, reason):
    record = store.create(make_request(), make_response(), user=REVIEWER)
    with pytest.raises(InvalidRequestError):
        workflows.override_fact(record.id, name, value, reason, user=REVIEWER)
    assert store.get(record.id).overrides == []


def test_failing_recompute_changes_nothing(store):
    record = store.create(make_request(), make_response(), user=REVIEWER)

    def broken(request, facts):
        raise InvalidRequestError("unknown fact 'foo'")

    with pytest.raises(InvalidRequestError):
        override(store, record.id, "foo", True, "why", user=REVIEWER, recompute=broken)
    assert store.get(record.id) == record
    assert verify_chain(store).entries == 1


# --- letters ------------------------------------------------------------------------------------
def test_edit_letter_keeps_every_revision(store, workflows):
    record = store.create(make_request(), make_response(), user=REVIEWER)
    store.edit_letter(record.id, "first edit", user=REVIEWER, html=HTML)
    edited = store.edit_letter(record.id, "second edit", user=PHYSICIAN, html=HTML)
    assert edited.response.letter.html == HTML and edited.response.letter.markdown == "second edit"
    assert edited.letter_markdown == "second edit"
    assert [(r.source, r.user) for r in edited.letter_revisions] == [
        ("draft", "nurse-ann"), ("edit", "nurse-ann"), ("edit", "dr-lee")
    ]
    assert store.edit_letter(record.id, "second edit", user=REVIEWER, html=HTML) == edited  # no-op, no new revision
    with pytest.raises(InvalidRequestError):
        workflows.edit_letter(record.id, "  ", user=REVIEWER)


def test_a_record_without_letter_can_get_one(store):
    response = make_response().model_copy(update={"letter": None})
    record = store.create(make_request(letter=False), response, user=REVIEWER)
    assert record.letter_markdown is None and record.letter_revisions == []
    assert store.edit_letter(record.id, "written by hand", user=REVIEWER, html=HTML).letter_markdown == "written by hand"


# --- sign-off rules --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("outcome", "user", "allowed"),
    [
        ("meets_criteria", REVIEWER, True),
        ("meets_criteria", PHYSICIAN, True),
        ("meets_criteria", ADMIN, False),
        ("needs_more_information", REVIEWER, True),
        ("needs_more_information", PHYSICIAN, True),
        ("needs_more_information", ADMIN, False),
        ("does_not_meet_criteria", REVIEWER, False),
        ("does_not_meet_criteria", PHYSICIAN, True),
        ("does_not_meet_criteria", ADMIN, False),
    ],
)
def test_who_may_sign_what(store, workflows, outcome, user, allowed):
    record = store.create(make_request(), make_response(outcome), user=REVIEWER)
    if allowed:
        signed = workflows.sign(record.id, user=user, review_hash=record.review_hash, attested=True)
        assert (signed.status, signed.signed_by, signed.signed_role) == ("signed", user.name, user.role.value)
        assert signed.signed_at is not None
    else:
        with pytest.raises(ForbiddenError) as err:
            workflows.sign(record.id, user=user, review_hash=record.review_hash, attested=True)
        if user.role is Role.reviewer:
            assert err.value.code == "physician_required"
        assert store.get(record.id).status == "draft"


def test_admin_makes_no_clinical_change(store, workflows):
    record = store.create(make_request(), make_response(), user=REVIEWER)
    with pytest.raises(ForbiddenError):
        workflows.create_record(make_request(), user=ADMIN)
    with pytest.raises(ForbiddenError):
        workflows.override_fact(record.id, "known_brain_tumor", False, "r", user=ADMIN)
    with pytest.raises(ForbiddenError):
        workflows.edit_letter(record.id, "x", user=ADMIN)
    for change in (lambda: workflows.assign(record.id, "me", None, user=ADMIN),
                   lambda: workflows.void(record.id, "mistake", user=ADMIN),
                   lambda: workflows.extend(record.id, 3, "records awaited", user=ADMIN)):
        with pytest.raises(ForbiddenError):
            change()
    assert store.get(record.id) == record


def test_override_to_adverse_then_needs_a_physician(store, workflows):
    record = store.create(make_request(), make_response("meets_criteria"), user=REVIEWER)
    workflows.override_fact(record.id, "mri_unsafe_implant", True, "pacemaker", user=REVIEWER)
    reviewed = store.get(record.id).review_hash
    with pytest.raises(ForbiddenError):
        workflows.sign(record.id, user=REVIEWER, review_hash=reviewed, attested=True)
    assert workflows.sign(record.id, user=PHYSICIAN, review_hash=reviewed, attested=True).signed_by == "dr-lee"


def test_an_override_computed_on_an_older_version_is_refused(store):
    """The store writes an override only onto the version the checker re-ran on."""
    record = store.create(make_request(), make_response(), user=REVIEWER)
    stale = record.review_hash
    override(store, record.id, "mri_unsafe_implant", True, "pacemaker", user=REVIEWER, recompute=fake_recompute)
    late = fake_recompute(record.request, {"known_brain_tumor": False})
    with pytest.raises(ConflictError) as err:
        store.override_fact(record.id, "known_brain_tumor", False, "r", user=REVIEWER, response=late, computed_from=stale)
    assert err.value.code == "record_changed" and len(store.get(record.id).overrides) == 1


# --- immutability and corrections -----------------------------------------------------------------
def test_signed_record_and_letter_are_immutable(store):
    record = store.create(make_request(), make_response("meets_criteria"), user=REVIEWER)
    signed = sign_as_drafted(store, record.id, user=REVIEWER, review_hash=store.get(record.id).review_hash)
    with pytest.raises(ConflictError):
        store.edit_letter(record.id, "changed", user=REVIEWER, html=HTML)
    with pytest.raises(ConflictError):
        override(store, record.id, "known_brain_tumor", False, "r", user=REVIEWER, recompute=fake_recompute)
    with pytest.raises(ConflictError):
        sign_as_drafted(store, record.id, user=PHYSICIAN, review_hash=store.get(record.id).review_hash)
    assert store.get(record.id) == signed


def test_database_refuses_to_change_a_signed_row(store, db_url):
    from sqlalchemy.exc import DBAPIError

    record = store.create(make_request(), make_response("meets_criteria"), user=REVIEWER)
    sign_as_drafted(store, record.id, user=REVIEWER, review_hash=store.get(record.id).review_hash)
    with pytest.raises(DBAPIError, match="mrs-assist"):
        with get_engine(db_url).begin() as conn:
            conn.execute(text("UPDATE records SET letter_markdown = 'forged' WHERE id = :id"), {"id": record.id})
    with pytest.raises(DBAPIError, match="mrs-assist"):
        with get_engine(db_url).begin() as conn:
            conn.execute(text("UPDATE fact_overrides SET reason = 'forged'"))
            conn.execute(text("UPDATE letter_revisions SET markdown = 'forged'"))
    assert store.get(record.id).letter_markdown.startswith("# Determination")


def test_correction_is_a_new_record_linked_to_the_signed_one(store):
    original = store.create(make_request(), make_response("meets_criteria"), user=REVIEWER)
    with pytest.raises(ConflictError):
        store.correct(original.id, user=PHYSICIAN, request=make_request(), response=make_response())
    sign_as_drafted(store, original.id, user=REVIEWER, review_hash=store.get(original.id).review_hash)
    fixed = store.correct(
        original.id, user=PHYSICIAN, request=make_request(clinical_notes=NOTES + " Pacemaker."),
        response=make_response("does_not_meet_criteria"),
    )
    assert fixed.id != original.id and fixed.corrects_id == original.id and fixed.status == "draft"
    assert store.get(original.id).corrected_by == [fixed.id]
    assert store.get(original.id).status == "signed"
    assert sign_as_drafted(store, fixed.id, user=PHYSICIAN, review_hash=store.get(fixed.id).review_hash).status == "signed"
    assert verify_chain(store).ok


def test_every_change_is_audited_in_order(store):
    record = store.create(make_request(), make_response(), user=REVIEWER)
    override(store, record.id, "conventional_imaging_inconclusive", True, "r", user=REVIEWER, recompute=fake_recompute)
    store.edit_letter(record.id, "edited", user=REVIEWER, html=HTML)
    sign_as_drafted(store, record.id, user=REVIEWER, review_hash=store.get(record.id).review_hash)
    assert [h["action"] for h in store.history(record.id)] == ["create", "override_fact", "edit_letter", "sign"]
    assert [h["actor"] for h in store.history(record.id)] == ["nurse-ann"] * 4
    result = verify_chain(store)
    assert result.ok and result.entries == 4


def test_concurrent_writers_append_one_unbroken_chain(db_url):
    from concurrent.futures import ThreadPoolExecutor

    store = RecordStore(db_url)
    workers = [RecordStore(db_url, migrate=False) for _ in range(3)]

    def work(i: int) -> str:
        s = workers[i % 3]
        record = s.create(make_request(), make_response("meets_criteria"), user=REVIEWER)
        s.edit_letter(record.id, f"letter {i}", user=REVIEWER, html=HTML)
        return record.id

    with ThreadPoolExecutor(max_workers=6) as pool:
        ids = list(pool.map(work, range(12)))
    result = verify_chain(store)
    assert result.ok, result.summary()
    assert result.entries == 24 and len(set(ids)) == 12
