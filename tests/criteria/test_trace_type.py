"""The determination trace is typed (Trace / TraceNode) while its JSON stays the contract's."""

from __future__ import annotations

from mrs_assist.config import Settings
from mrs_assist.criteria import evaluate, resolve_facts
from mrs_assist.criteria.engine import TraceNode
from mrs_assist.extract import extract_facts
from mrs_assist.schemas import DeterminationRequest, DeterminationResponse, Trace
from mrs_assist.service import Services

NOTES = (
    "34-year-old with a newly found non-enhancing glioma. MRS requested for grading of the glioma "
    "(low vs high grade). Pacemaker in place.\n"
)


def test_trace_is_typed_and_its_json_is_the_contracts(tmp_path):
    services = Services(Settings(data_dir=tmp_path))
    request = DeterminationRequest(policy_id="nia-brain-mrs", cpt_codes=["76390"], clinical_notes=NOTES)
    response = services.determine(request)
    trace = response.trace
    assert isinstance(trace, Trace) and isinstance(trace.root, TraceNode)
    assert [c.id for c in trace.root.children][:2] == ["scope", "indications"]
    assert trace.deciding_clauses and set(trace.deciding_clauses) <= trace.clause_ids()

    # the JSON is exactly what the untyped dict used to be
    policy = services.policy("nia-brain-mrs")
    facts = resolve_facts(extract_facts(NOTES, catalogue=services.catalogue), None, services.catalogue)
    ev = evaluate(policy, facts, ["76390"], catalogue=services.catalogue)
    assert response.model_dump(mode="json")["trace"] == {
        "outcome": ev.outcome,
        "root": ev.trace.model_dump(mode="json"),
        "deciding_clauses": ev.deciding_clauses,
        "missing_facts": ev.missing_facts,
        "asked": [g.model_dump() for g in ev.asked],
        "investigational": [f.model_dump() for f in ev.investigational],
        "safety": [f.model_dump() for f in ev.safety_flags],
        "notices": [n.model_dump() for n in ev.notices],
    }
    # read by attribute only: the dict-era mapping methods are gone
    assert not any(hasattr(trace, m) for m in ("get", "items", "keys", "__getitem__", "__contains__"))


def test_a_stored_trace_of_another_shape_round_trips(tmp_path):
    stored = {"outcome": "needs_more_information", "missing_facts": ["glioma"], "legacy_key": {"kind": "any"}}
    body = {"recommendation": "needs_more_information", "requires_physician_review": True, "policy_id": "p",
            "policy_version": "1", "facts": [], "trace": stored, "missing_information": ["?"], "citations": [],
            "safety_flags": []}
    response = DeterminationResponse.model_validate(body)
    assert response.trace.root is None and response.trace.missing_facts == ["glioma"]
    assert response.trace.model_dump(mode="json")["legacy_key"] == {"kind": "any"}
    assert DeterminationResponse.model_validate_json(response.model_dump_json()) == response


def test_letter_is_typed_and_its_json_keeps_every_field(tmp_path):
    from mrs_assist.schemas import Letter

    services = Services(Settings(data_dir=tmp_path))
    request = DeterminationRequest(policy_id="nia-brain-mrs", cpt_codes=["76390"], clinical_notes=NOTES, letter=True)
    response = services.determine(request)
    assert isinstance(response.letter, Letter)
    body = response.model_dump(mode="json")["letter"]
    assert {"kind", "outcome", "status", "releasable", "mode", "markdown", "html", "problems", "model_attempts"} <= set(body)
    assert body["outcome"] == response.recommendation and body["markdown"] == response.letter.markdown
    assert DeterminationResponse.model_validate(response.model_dump(mode="json")).letter == response.letter
    # the API documents the letter's fields instead of an open object
    schema = DeterminationResponse.model_json_schema()
    assert "markdown" in schema["$defs"]["Letter"]["properties"]


def test_trace_queries_live_in_criteria_and_agree_with_the_typed_trace(tmp_path):
    from mrs_assist.criteria.trace import deciding_clause_ids, facts_valued, missing_fact_names, section, traced_clause_ids

    services = Services(Settings(data_dir=tmp_path))
    response = services.determine(DeterminationRequest(policy_id="nia-brain-mrs", cpt_codes=["76390"], clinical_notes=NOTES))
    assert set(deciding_clause_ids(response)) == set(response.trace.deciding_clauses)
    assert traced_clause_ids(response) >= response.trace.clause_ids()
    assert missing_fact_names(response) == list(dict.fromkeys(response.missing_information))
    indications = section(response.trace, "indications")
    assert indications is response.trace.root.children[1] and indications.id == "indications"
    # glioma grading is investigational under this policy, not an exclusion: no exclusion leaf is true
    assert section(response.trace, "exclusions").value is True
    assert facts_valued(section(response.trace, "exclusions"), True) == []
    assert facts_valued(indications, True) == [n.fact for n in indications.walk() if n.fact and n.value is True]
    assert section(response.trace.model_copy(update={"root": None}), "scope") is None
