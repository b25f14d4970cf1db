"""Evaluate a policy's criteria for a case in three-valued (Kleene) logic.

The formula is ``scope ∧ indications ∧ ¬(exclusion₁ ∨ …)``, where scope is "some
requested CPT code is one the policy governs" (unknown when no code is given) and "the
MRS is not of a region other than the brain". True → ``meets_criteria``, false →
``does_not_meet_criteria``, unknown → ``needs_more_information`` (README "API": Outcomes).

Because each policy's formula is read-once (``policy`` checks it), Kleene evaluation is
exact — an unknown result means some completion of the unknown facts decides either way —
and an unknown fact could change the outcome exactly when, on the way from its leaf to
the root, no sibling under an AND is false and no sibling under an OR is true.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from pydantic import BaseModel, Field

from mrs_assist.criteria.asking import QuestionGroup, group_missing
from mrs_assist.criteria.catalogue import Catalogue, Evidence, FactValue
from mrs_assist.criteria.policy import REGION_FACT, Item, Node, Policy
from mrs_assist.schemas import Finding, Outcome, PolicyNotice, TraceNode, Truth

CPT_FACT = "cpt_code_in_scope"
REGION_COVERAGE_FACT = "other_region_covered"
"""Not a fact of the notes: under a policy whose scope names an ``asked_region``, whether the
physician reviewer finds the policy covers MRS of that region (always unknown here)."""
"""Pseudo-fact of the scope's CPT leaf: a requested code is one the policy governs.
Listed in ``missing_facts`` when no CPT code was given and it could change the outcome."""

_OUTCOME: dict[Truth, Outcome] = {
    True: "meets_criteria",
    False: "does_not_meet_criteria",
    None: "needs_more_information",
}


def kleene_and(values: Iterable[Truth]) -> Truth:
    """False if any value is false, else unknown if any is unknown, else true."""
    values = list(values)
    if any(v is False for v in values):
        return False
    return None if any(v is None for v in values) else True


def kleene_or(values: Iterable[Truth]) -> Truth:
    """True if any value is true, else unknown if any is unknown, else false."""
    values = list(values)
    if any(v is True for v in values):
        return True
    return None if any(v is None for v in values) else False


def kleene_not(value: Truth) -> Truth:
    """The negation; unknown stays unknown."""
    return None if value is None else not value


class Evaluation(BaseModel):
    """The checker's result: outcome, trace, and what is missing to decide."""

    policy_id: str
    policy_version: str
    outcome: Outcome
    requires_physician_review: bool = Field(description="True for every outcome but meets_criteria.")
    trace: TraceNode
    missing_facts: list[str] = Field(
        default_factory=list,
        description="Unknown facts whose value could change the outcome (and no others).",
    )
    missing_questions: list[str] = Field(default_factory=list, description="One per missing fact.")
    asked: list[QuestionGroup] = Field(
        default_factory=list,
        description="The missing facts a request for information asks, grouped by likely indication (criteria.asking).",
    )
    deciding_clauses: list[str] = Field(default_factory=list, description="Full clause ids.")
    safety_flags: list[Finding] = Field(default_factory=list)
    investigational: list[Finding] = Field(
        default_factory=list, description="True facts the policy calls experimental/investigational."
    )
    notices: list[PolicyNotice] = Field(default_factory=list)


def _fact_value(facts: Mapping[str, FactValue | Truth], name: str) -> tuple[Truth, list[Evidence]]:
    fv = facts.get(name)
    if isinstance(fv, FactValue):
        return fv.value, list(fv.evidence)
    return fv, []


class _Builder:
    def __init__(self, policy: Policy, catalogue: Catalogue | None, facts, cpt_codes) -> None:
        self.policy = policy
        self.catalogue = catalogue
        self.facts = facts
        self.cpt_codes = cpt_codes

    def label_of(self, name: str) -> str:
        if self.catalogue is not None and name in self.catalogue:
            return self.catalogue.spec(name).label
        return name.replace("_", " ")

    def leaf(self, node_id: str, name: str, clause: str, label: str | None, see_also) -> TraceNode:
        value, evidence = _fact_value(self.facts, name)
        return TraceNode(
            id=node_id, label=label or self.label_of(name), kind="fact", fact=name, value=value,
            clause_id=clause, see_also=list(see_also), evidence=evidence,
        )

    def node(self, node: Node, node_id: str) -> TraceNode:
        if node.fact is not None:  # Node's validator guarantees a leaf names its clause
            return self.leaf(node_id, node.fact, node.clause or "", node.label, node.see_also)
        children = [self.node(c, f"{node_id}/{i}") for i, c in enumerate(node.children)]
        if node.kind == "all":
            value, default = kleene_and(c.value for c in children), "ALL of the following"
        elif node.kind == "any":
            value, default = kleene_or(c.value for c in children), "ANY of the following"
        else:
            value, default = kleene_not(children[0].value), f"NOT: {children[0].label}"
        return TraceNode(
            id=node_id, label=node.label or default, kind=node.kind, value=value,
            clause_id=node.clause, see_also=list(node.see_also), children=children,
        )

    def scope(self) -> TraceNode:
        scope = self.policy.scope
        codes = [c.strip().upper().lstrip("+") for c in self.cpt_codes if c.strip()]
        cpt_value = any(c in scope.cpt_codes for c in codes) if codes else None
        requested = ", ".join(codes) if codes else "none given"
        cpt = TraceNode(
            id="scope/cpt", kind="cpt", fact=CPT_FACT, value=cpt_value, clause_id=scope.cpt_clause,
            label=f"a requested CPT code is one the policy governs ({', '.join(scope.cpt_codes)}); "
            f"requested: {requested}",
        )
        region = self.leaf("scope/region/0", REGION_FACT, scope.region_clause, None, [])
        not_region = TraceNode(
            id="scope/region", kind="not", value=kleene_not(region.value), children=[region],
            label=f"the MRS is of the {scope.body_region}",
        )
        if scope.asked_region:
            # A region the policy's text names without criteria for it (Cohere: muscle): the
            # scope is then the physician reviewer's to decide, never decided here, so never an
            # approval; the notes' region stays a known fact with its evidence.
            named = self.leaf("scope/region/1/0", scope.asked_region, scope.region_clause, None, [])
            covered = TraceNode(
                id="scope/region/1/1", kind="fact", fact=REGION_COVERAGE_FACT, value=None,
                clause_id=scope.region_clause,
                label="the physician reviewer finds that the policy covers MRS of this region",
            )
            asked = TraceNode(
                id="scope/region/1", kind="all", value=kleene_and([named.value, covered.value]),
                children=[named, covered], label="a region the policy names, which the physician reviewer finds covered",
            )
            region = region.model_copy(update={"id": "scope/region/0/0"})
            not_region = TraceNode(
                id="scope/region", kind="any", value=kleene_or([kleene_not(region.value), asked.value]),
                label=f"the MRS is of the {scope.body_region}, or of a region the policy names and the physician reviewer finds covered",
                children=[not_region.model_copy(update={"id": "scope/region/0", "children": [region]}), asked],
            )
        return TraceNode(
            id="scope", kind="all", value=kleene_and([cpt.value, not_region.value]),
            children=[cpt, not_region], label="the request is within the policy's scope",
        )

    def exclusions(self) -> TraceNode:
        leaves = [
            self.leaf(f"exclusions/0/{i}", it.fact, it.clause, it.label, it.see_also)
            for i, it in enumerate(self.policy.exclusions)
        ]
        any_node = TraceNode(
            id="exclusions/0", kind="any", value=kleene_or(c.value for c in leaves),
            children=leaves, label="ANY exclusion applies",
        )
        return TraceNode(
            id="exclusions", kind="not", value=kleene_not(any_node.value), children=[any_node],
            clause_id=self.policy.exclusions_clause, label="no exclusion applies",
        )


def build_trace(
    policy: Policy,
    facts: Mapping[str, FactValue | Truth],
    cpt_codes: Sequence[str],
    *,
    catalogue: Catalogue | None = None,
) -> TraceNode:
    """The evaluated formula tree (root: scope ∧ indications ∧ no exclusion)."""
    b = _Builder(policy, catalogue or policy.catalogue, facts, cpt_codes)
    children = [b.scope(), b.node(policy.indications, "indications")]
    if policy.exclusions:
        children.append(b.exclusions())
    return TraceNode(
        id="criteria", kind="all", value=kleene_and(c.value for c in children), children=children,
        label=f"{policy.policy_id} criteria",
    )


def relevant_unknowns(root: TraceNode) -> list[TraceNode]:
    """Unknown leaves whose value could change the root's value, left to right.

    Exact for read-once formulas: a leaf is relevant iff, walking up to the root, every
    AND ancestor's other children are not false and every OR ancestor's other children
    are not true.
    """
    found: list[TraceNode] = []

    def walk(node: TraceNode, open_path: bool) -> None:
        if not open_path:
            return
        if not node.children:
            if node.value is None:
                found.append(node)
            return
        for i, child in enumerate(node.children):
            others = [c.value for j, c in enumerate(node.children) if j != i]
            if node.kind == "all":
                ok = all(v is not False for v in others)
            elif node.kind == "any":
                ok = all(v is not True for v in others)
            else:
                ok = True
            walk(child, ok)

    walk(root, True)
    return found


def _satisfied(node: TraceNode, out: list[str], *, see_also: bool = False) -> None:
    """Clauses of the parts that make a true node true; absence (a true NOT) cites nothing.

    With ``see_also`` a true leaf also cites the further clauses it encodes: a true
    exclusion is decided by each non-indication that names it (Cohere .3 and .4).
    """
    if node.value is not True or node.kind == "not":
        return
    if node.clause_id:
        out.append(node.clause_id)
    if see_also and node.kind == "fact":
        out.extend(node.see_also)
    for child in node.children:
        if node.kind == "all" or child.value is True:
            _satisfied(child, out, see_also=see_also)


def _failed(node: TraceNode, out: list[str]) -> None:
    """Clauses of the parts that make a false node false.

    Under a false ANY every alternative failed: each is cited by its own clause when it has
    one (not every sub-item of it), so the list reads "none of criteria 1–8 is met".
    """
    if node.value is not False:
        return
    if node.clause_id:
        out.append(node.clause_id)
    if node.kind == "not":
        # The negated part is true: a true exclusion, a repeat study, a non-brain region.
        child = node.children[0]
        if child.kind == "not":
            _failed(child.children[0], out)
        else:
            _satisfied(child, out, see_also=True)
    elif node.kind == "all":
        for child in node.children:
            if child.value is False:
                _failed(child, out)
    elif node.kind == "any":
        for child in node.children:
            if child.clause_id:
                out.append(child.clause_id)
            else:
                _failed(child, out)


def _findings(items: Sequence[Item], facts, catalogue: Catalogue | None, only_safety=False) -> list[Finding]:
    found = []
    for item in items:
        role = catalogue.spec(item.fact).role if catalogue and item.fact in catalogue else None
        if only_safety and not (item.safety or role == "safety"):
            continue
        if _fact_value(facts, item.fact)[0] is True:
            label = item.label or (catalogue.spec(item.fact).label if catalogue else item.fact)
            found.append(Finding(fact=item.fact, label=label, clause_id=item.clause))
    return found


def _question(policy: Policy, catalogue: Catalogue | None, name: str) -> str:
    if name == REGION_COVERAGE_FACT:
        return (
            "The MRS is requested for a region other than the brain that this policy names without "
            "criteria for it: physician reviewer, does the policy cover MRS of this region?"
        )
    if name == CPT_FACT:
        return (
            "Which CPT code is requested? This policy governs "
            f"{', '.join(policy.scope.cpt_codes)}."
        )
    if catalogue is not None and name in catalogue:
        return catalogue.spec(name).question
    return f"Please document whether the following applies: {name.replace('_', ' ')}."


def evaluate(
    policy: Policy,
    facts: Mapping[str, FactValue | Truth],
    cpt_codes: Sequence[str],
    *,
    catalogue: Catalogue | None = None,
) -> Evaluation:
    """The policy's outcome for the case, with trace, missing facts and deciding clauses.

    ``facts`` maps fact names to FactValue (or a bare bool/None); a fact not given is
    unknown. ``catalogue`` defaults to the one the policy was loaded against; it supplies
    labels and questions. Raises nothing for missing facts: unknown is its own value.
    """
    catalogue = catalogue or policy.catalogue
    trace = build_trace(policy, facts, cpt_codes, catalogue=catalogue)
    outcome = _OUTCOME[trace.value]

    missing: list[str] = []
    deciding: list[str] = []
    if trace.value is None:
        unknown = relevant_unknowns(trace)
        missing = [n.fact for n in unknown if n.fact]
        deciding = [n.clause_id for n in unknown if n.clause_id]
    elif trace.value is True:
        _satisfied(trace.children[1], deciding)  # the indication path only
    else:
        _failed(trace, deciding)

    investigational = _findings(policy.investigational, facts, catalogue)
    if trace.value is False and trace.children[1].value is False:
        deciding += [f.clause_id for f in investigational]

    return Evaluation(
        policy_id=policy.policy_id,
        policy_version=policy.version,
        outcome=outcome,
        requires_physician_review=outcome != "meets_criteria",
        trace=trace,
        missing_facts=missing,
        missing_questions=[_question(policy, catalogue, n) for n in missing],
        asked=group_missing(trace, missing, facts, catalogue),
        deciding_clauses=list(dict.fromkeys(deciding)),
        safety_flags=_findings(policy.safety_flags, facts, catalogue)
        + _findings(policy.exclusions, facts, catalogue, only_safety=True),
        investigational=investigational,
        notices=[PolicyNotice(clause_id=n.clause, message=n.message, kind=n.kind) for n in policy.notices],
    )
