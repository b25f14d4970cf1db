"""The three-valued checker: Kleene tables, fact resolution, and exact missing facts.

The property tests compare ``evaluate`` with an independent two-valued oracle written
here from the policy model: a decided outcome must hold for every completion of the
unknown facts, a pending one must be decidable both ways, and ``missing_facts`` must be
exactly the unknown facts whose value can change the outcome.
"""

from __future__ import annotations

import itertools
import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mrs_assist.config import Settings
from mrs_assist.criteria import (
    CPT_FACT,
    REGION_COVERAGE_FACT,
    REGION_FACT,
    Catalogue,
    Evidence,
    FactSpec,
    FactValue,
    Node,
    Policy,
    evaluate,
    kleene_and,
    kleene_not,
    kleene_or,
    load_catalogue,
    load_policies,
    resolve_facts,
)
from mrs_assist.errors import InvalidRequestError

T, F, U = True, False, None
CORPUS = Settings().corpus_dir
CATALOGUE = load_catalogue(CORPUS / "facts.yaml")
POLICIES = load_policies(CORPUS, CATALOGUE)


# --- Kleene truth tables ------------------------------------------------------------------------

AND = {(T, T): T, (T, F): F, (T, U): U, (F, T): F, (F, F): F, (F, U): F, (U, T): U, (U, F): F,
       (U, U): U}
OR = {(T, T): T, (T, F): T, (T, U): T, (F, T): T, (F, F): F, (F, U): U, (U, T): T, (U, F): U,
      (U, U): U}


@pytest.mark.parametrize(("a", "b"), list(AND))
def test_kleene_and(a, b) -> None:
    assert kleene_and([a, b]) is AND[a, b]


@pytest.mark.parametrize(("a", "b"), list(OR))
def test_kleene_or(a, b) -> None:
    assert kleene_or([a, b]) is OR[a, b]


@pytest.mark.parametrize(("a", "expected"), [(T, F), (F, T), (U, U)])
def test_kleene_not(a, expected) -> None:
    assert kleene_not(a) is expected


def test_kleene_empty() -> None:
    assert kleene_and([]) is True and kleene_or([]) is False


# --- a small synthetic policy -------------------------------------------------------------------

def _spec(role: str, world: str) -> FactSpec:
    return FactSpec(label=f"{role} label", question=f"{role} question?", role=role, world=world)


SMALL_CATALOGUE = Catalogue(facts={
    "p1": _spec("purpose", "open"),
    "p2": _spec("purpose", "open"),
    "c1": _spec("condition", "open"),
    "x1": _spec("exclusion", "closed"),
    "s1": _spec("safety", "closed"),
    REGION_FACT: _spec("scope", "closed"),
})

SMALL = Policy.model_validate({
    "policy_id": "small",
    "version": "1",
    "scope": {"cpt_codes": ["76390"], "cpt_clause": "codes", "body_region": "brain",
              "region_clause": "ind"},
    "indications": {"clause": "ind", "any": [
        {"clause": "ind.1", "all": [{"fact": "c1", "clause": "ind.1"},
                                    {"fact": "p1", "clause": "ind.1.a"}]},
        {"fact": "p2", "clause": "ind.2"},
    ]},
    "exclusions_clause": "non",
    "exclusions": [{"fact": "x1", "clause": "non.1", "safety": True}],
    "safety_flags": [{"fact": "s1", "clause": "notes.1"}],
    "notices": [{"clause": "changes.1", "message": "heads up", "kind": "inconsistency"}],
}).bind(SMALL_CATALOGUE)


def _small(facts, cpt=("76390",)):
    base = {REGION_FACT: F, "x1": F}
    return evaluate(SMALL, {**base, **facts}, list(cpt))


@pytest.mark.parametrize(
    ("facts", "outcome", "missing", "deciding"),
    [
        ({"c1": T, "p1": T}, "meets_criteria", [], ["small#ind", "small#ind.1", "small#ind.1.a"]),
        ({"p2": T, "c1": U, "p1": U}, "meets_criteria", [], ["small#ind", "small#ind.2"]),
        ({"c1": F, "p1": U, "p2": U}, "needs_more_information", ["p2"], ["small#ind.2"]),
        ({"c1": U, "p1": U, "p2": F}, "needs_more_information", ["c1", "p1"],
         ["small#ind.1", "small#ind.1.a"]),
        ({"c1": U, "p1": F, "p2": F}, "does_not_meet_criteria", [],
         ["small#ind", "small#ind.1", "small#ind.2"]),
        ({"p2": T, "x1": U}, "needs_more_information", ["x1"], ["small#non.1"]),
        ({"p2": U, "x1": T}, "does_not_meet_criteria", [], ["small#non", "small#non.1"]),
        ({"p2": T, REGION_FACT: T}, "does_not_meet_criteria", [], ["small#ind"]),
    ],
    ids=["path", "other-branch-decides", "dead-branch-not-missing", "both-conjuncts",
         "all-false", "unknown-exclusion", "exclusion-decides", "non-brain"],
)
def test_small_policy(facts, outcome, missing, deciding) -> None:
    ev = _small(facts)
    assert (ev.outcome, ev.missing_facts, ev.deciding_clauses) == (outcome, missing, deciding)
    assert ev.missing_questions == [SMALL_CATALOGUE.spec(n).question for n in missing]
    assert ev.requires_physician_review is (outcome != "meets_criteria")


def test_cpt_unknown_is_a_missing_fact() -> None:
    ev = _small({"p2": T}, cpt=())
    assert ev.outcome == "needs_more_information"
    assert ev.missing_facts == [CPT_FACT]
    assert "76390" in ev.missing_questions[0]
    assert ev.deciding_clauses == ["small#codes"]
    assert _small({"p2": T}, cpt=("70553",)).deciding_clauses == ["small#codes"]


def test_safety_flags_notices_and_trace() -> None:
    ev = evaluate(SMALL, {"p2": FactValue(name="p2", value=T, source="notes",
                                          evidence=[Evidence(text="MRS for p2", start=4, end=14)]),
                          "s1": T, "x1": T, REGION_FACT: F}, ["76390"])
    assert [(f.fact, f.clause_id) for f in ev.safety_flags] == [
        ("s1", "small#notes.1"), ("x1", "small#non.1")]
    assert [(n.clause_id, n.kind) for n in ev.notices] == [("small#changes.1", "inconsistency")]
    leaf = next(n for n in ev.trace.walk() if n.fact == "p2")
    assert (leaf.value, leaf.clause_id, leaf.evidence[0].text) == (T, "small#ind.2", "MRS for p2")
    assert [c.id for c in ev.trace.children] == ["scope", "indications", "exclusions"]
    dumped = json.loads(json.dumps(ev.model_dump(mode="json")))
    assert dumped["trace"]["children"][1]["children"][1]["clause_id"] == "small#ind.2"


def test_trace_kinds_cover_every_node() -> None:
    ev = _small({"p2": T})
    kinds = {n.kind for n in ev.trace.walk()}
    assert kinds == {"all", "any", "not", "fact", "cpt"}


# --- resolve_facts ------------------------------------------------------------------------------

def _fv(name, value, source="notes", evidence=()):
    return FactValue(name=name, value=value, source=source, evidence=list(evidence))


EV = Evidence(text="x", start=0, end=1)


def test_resolve_defaults() -> None:
    facts = resolve_facts({}, {}, SMALL_CATALOGUE)
    assert list(facts) == list(SMALL_CATALOGUE.facts)
    assert {n: (f.value, f.source) for n, f in facts.items()} == {
        "p1": (U, "default"), "p2": (U, "default"), "c1": (U, "default"),
        "x1": (F, "default"), "s1": (F, "default"), REGION_FACT: (F, "default")}


def test_resolve_caller_overrides_extraction() -> None:
    facts = resolve_facts({"x1": _fv("x1", T, evidence=[EV]), "c1": _fv("c1", T, evidence=[EV])},
                          {"x1": F, "c1": T}, SMALL_CATALOGUE)
    assert (facts["x1"].value, facts["x1"].source, facts["x1"].evidence) == (F, "request", [])
    assert (facts["c1"].value, facts["c1"].source, facts["c1"].evidence) == (T, "request", [EV])


def test_resolve_explicit_null_is_not_closed() -> None:
    facts = resolve_facts({"p1": _fv("p1", T)}, {"x1": None, "p2": None}, SMALL_CATALOGUE)
    assert (facts["x1"].value, facts["x1"].source) == (U, "request")
    assert (facts["p2"].value, facts["p2"].source) == (U, "request")


def test_resolve_purpose_closure() -> None:
    facts = resolve_facts({"p1": _fv("p1", T, evidence=[EV])}, {}, SMALL_CATALOGUE)
    assert (facts["p1"].value, facts["p1"].source) == (T, "notes")
    assert (facts["p2"].value, facts["p2"].source) == (F, "closure")
    assert (facts["c1"].value, facts["c1"].source) == (U, "default")  # conditions stay open


def test_resolve_no_closure_without_a_true_purpose() -> None:
    facts = resolve_facts({"p1": _fv("p1", F, evidence=[EV])}, {}, SMALL_CATALOGUE)
    assert facts["p2"].value is U


def test_resolve_caller_purpose_triggers_closure() -> None:
    facts = resolve_facts({}, {"p2": True}, SMALL_CATALOGUE)
    assert (facts["p1"].value, facts["p1"].source) == (F, "closure")


def test_resolve_hedged_mention_stays_unknown() -> None:
    hedged = {"x1": _fv("x1", None, evidence=[EV]), "p2": _fv("p2", None, evidence=[EV]),
              "p1": _fv("p1", T, evidence=[EV])}
    facts = resolve_facts(hedged, {}, SMALL_CATALOGUE)
    assert (facts["x1"].value, facts["x1"].source) == (U, "notes")
    assert (facts["p2"].value, facts["p2"].source) == (U, "notes")
    # An extracted unknown without evidence is the same as not extracted.
    facts = resolve_facts({"x1": _fv("x1", None)}, {}, SMALL_CATALOGUE)
    assert (facts["x1"].value, facts["x1"].source) == (F, "default")


def test_resolve_rejects_unknown_names() -> None:
    with pytest.raises(InvalidRequestError, match="flying_carpet"):
        resolve_facts({}, {"flying_carpet": True}, SMALL_CATALOGUE)
    with pytest.raises(ValueError, match="flying_carpet"):
        resolve_facts({"flying_carpet": _fv("flying_carpet", T)}, {}, SMALL_CATALOGUE)


def test_closure_lets_an_unlisted_purpose_be_decided() -> None:
    # facts.yaml header: a request documented only for MS is decided under Florida Blue.
    facts = resolve_facts({"multiple_sclerosis": _fv("multiple_sclerosis", T, evidence=[EV])}, {},
                          CATALOGUE)
    assert evaluate(POLICIES["floridablue-mrs"], facts, ["76390"]).outcome == "does_not_meet_criteria"
    assert evaluate(POLICIES["healthhelp-mrs"], facts, ["76390"]).outcome == "meets_criteria"


# --- exactness against an independent oracle, for every policy ------------------------------

def _oracle_node(node: Node, a: dict[str, bool]) -> bool:
    if node.fact is not None:
        return a[node.fact]
    if node.kind == "all":
        return all(_oracle_node(c, a) for c in node.children)
    if node.kind == "any":
        return any(_oracle_node(c, a) for c in node.children)
    return not _oracle_node(node.children[0], a)


def oracle(policy: Policy, a: dict[str, bool]) -> bool:
    """Two-valued meaning of the policy, written independently of the engine. Under a scope
    that names an asked region, that region is in scope only if the physician reviewer finds it
    covered (a variable no caller supplies)."""
    asked = policy.scope.asked_region
    region_ok = not a[REGION_FACT] or (asked is not None and a[asked] and a[REGION_COVERAGE_FACT])
    return (a[CPT_FACT] and region_ok and _oracle_node(policy.indications, a)
            and not any(a[i.fact] for i in policy.exclusions))


def variables(policy: Policy) -> list[str]:
    facts = policy.formula_facts()
    if policy.scope.asked_region is None:
        return [CPT_FACT, *facts]
    at = facts.index(policy.scope.asked_region) + 1  # formula order: the finding follows the region it asks
    return [CPT_FACT, *facts[:at], REGION_COVERAGE_FACT, *facts[at:]]


def run(policy: Policy, partial: dict[str, bool | None]):
    cpt = partial[CPT_FACT]
    codes = [] if cpt is None else [policy.scope.cpt_codes[0]] if cpt else ["70553"]
    facts = {k: v for k, v in partial.items() if k not in (CPT_FACT, REGION_COVERAGE_FACT)}
    return evaluate(policy, facts, codes)


DECIDED = {"meets_criteria": True, "does_not_meet_criteria": False}
EXHAUSTIVE_LIMIT = 12


def check_exact(policy: Policy, partial: dict[str, bool | None], rng: random.Random) -> None:
    ev = run(policy, partial)
    unknown = [v for v in variables(policy) if partial[v] is None]
    assert set(ev.missing_facts) <= set(unknown)
    assert ev.missing_facts == [v for v in unknown if v in ev.missing_facts]  # formula order
    assert len(ev.missing_questions) == len(ev.missing_facts)

    def complete(bits: int) -> dict[str, bool]:
        return {**partial, **{v: bool(bits >> i & 1) for i, v in enumerate(unknown)}}

    exhaustive = len(unknown) <= EXHAUSTIVE_LIMIT
    if exhaustive:
        masks = range(2 ** len(unknown))
        out = {m: oracle(policy, complete(m)) for m in masks}

        def relevant(i: int) -> bool:
            return any(out[m] != out[m ^ (1 << i)] for m in masks)
    else:
        masks = [rng.getrandbits(len(unknown)) for _ in range(200)]
        out = {m: oracle(policy, complete(m)) for m in masks}

        def relevant(i: int) -> bool:
            return any(out[m] != oracle(policy, complete(m ^ (1 << i))) for m in masks)

    if partial.get(REGION_FACT):
        assert ev.outcome != "meets_criteria" or partial.get(REGION_COVERAGE_FACT)  # never approved here
    if ev.outcome in DECIDED:
        # (a) a decided outcome holds for every completion of the unknown facts
        assert set(out.values()) <= {DECIDED[ev.outcome]}
        assert ev.missing_facts == []
    elif exhaustive:
        # (b) a pending outcome can still go either way
        assert set(out.values()) == {True, False}
    # (d) no unlisted unknown fact can change the outcome
    for i, v in enumerate(unknown):
        if v not in ev.missing_facts:
            assert not relevant(i), f"{v} is relevant but not listed"
    if ev.outcome in DECIDED or not exhaustive:
        return
    # (c) each listed fact can change the outcome on its own ...
    for v in ev.missing_facts:
        assert relevant(unknown.index(v)), f"{v} is listed but cannot change the outcome"
    if REGION_COVERAGE_FACT in ev.missing_facts:
        return  # the physician's finding is no fact a caller supplies: nothing more can be set
    # ... and setting all of them (the rest still unknown) decides it, consistently.
    missing = ev.missing_facts
    settings_ = (itertools.product([False, True], repeat=len(missing)) if len(missing) <= 6
                 else ([rng.random() < 0.5 for _ in missing] for _ in range(16)))
    for values in settings_:
        filled = {**partial, **dict(zip(missing, values))}
        decided = run(policy, filled)
        assert decided.outcome in DECIDED, (missing, values, decided.missing_facts)
        completion = {**filled, **{v: False for v in unknown if filled[v] is None}}
        assert oracle(policy, completion) is DECIDED[decided.outcome]


@st.composite
def partial_assignments(draw, policy: Policy):
    return {v: None if v == REGION_COVERAGE_FACT else draw(st.sampled_from([None, False, True]))
            for v in variables(policy)}


@pytest.mark.parametrize("policy_id", sorted(POLICIES))
def test_missing_facts_are_exact(policy_id: str) -> None:
    policy = POLICIES[policy_id]

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(partial=partial_assignments(policy), seed=st.integers(0, 2**32 - 1))
    def prop(partial, seed):
        check_exact(policy, partial, random.Random(seed))

    prop()


@pytest.mark.parametrize("policy_id", sorted(POLICIES))
def test_everything_unknown_lists_every_variable(policy_id: str) -> None:
    policy = POLICIES[policy_id]
    partial = {v: None for v in variables(policy)}
    ev = run(policy, partial)
    assert ev.outcome == "needs_more_information"
    assert ev.missing_facts == variables(policy)
    check_exact(policy, partial, random.Random(0))


@pytest.mark.parametrize("policy_id", sorted(POLICIES))
def test_engine_agrees_with_oracle_on_complete_assignments(policy_id: str) -> None:
    policy, rng = POLICIES[policy_id], random.Random(policy_id)
    names = variables(policy)
    for _ in range(500):
        a = {v: rng.random() < 0.5 for v in names}
        assert DECIDED[run(policy, a).outcome] is oracle(policy, a)
