"""What a request for information asks: the missing facts of the case's likely indication(s), grouped.

The checker's missing facts are every unknown fact that could change the outcome. For a frontal
lesion of unclear significance under Cohere that is the six brain-tumour questions and also every
congenital disorder (leukodystrophy included); a nurse asks only what decides the indication the
records point to. The choice is made from the trace's shape and the catalogue, never the notes:

* The policy's *indication choice* is the ANY node under ``indications`` (reached through ALL
  nodes only; the one with the most facts when there are several) whose alternatives are the
  indications. An alternative still unknown (not already false) is a *candidate*.
* A candidate is *likely* when the records point at it: one of its facts is documented true, or
  is tied by the catalogue's ``implied_by`` to a fact documented true (a lesion → a known tumour,
  a glioma). Only facts that name an indication point: a ``purpose`` fact, or a condition the
  catalogue ties to others (a diagnosis). A condition it ties to nothing ("conventional imaging
  inconclusive", "therapy planning needed") says how an indication is met, not which one.
* The likely candidates are asked, each its own group; when none is likely, every candidate is.
* Unknown facts outside the choice (Cohere's criterion 1, the CPT code, the repeat-imaging rule)
  decide whatever the indication: one group, asked first.

The groups ride in the trace (``Trace.asked``) so that the letter, its validator and the
workbench ask the same questions; a trace without them (a record stored before) asks every
missing fact.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


from mrs_assist.criteria.catalogue import Catalogue, FactValue
from mrs_assist.criteria.trace import deciding_clause_ids, missing_fact_names
from mrs_assist.schemas import QuestionGroup

GENERAL = "Needed whatever the reason for the MRS"


def _leaves(node) -> list:
    return [n for n in node.walk() if not n.children and n.fact]


def _choice(indications):
    """The ANY node whose alternatives are the indications, or None."""
    if indications is None or indications.value is not None:
        return None
    if indications.kind == "any":
        return indications
    if indications.kind != "all":
        return None
    found = [c for c in (_choice(child) for child in indications.children) if c is not None]
    return max(found, key=lambda n: len(_leaves(n)), default=None)


def _ties(catalogue: Catalogue) -> dict[str, set[str]]:
    """Each fact's neighbours through the catalogue's ``implied_by`` (either direction, one step)."""
    ties: dict[str, set[str]] = {name: set() for name in catalogue.facts}
    for name, spec in catalogue.facts.items():
        for other in (spec.detect or {}).get("implied_by") or []:
            if other in ties:
                ties[name].add(other)
                ties[other].add(name)
    return ties


def _pointing_facts(facts: Mapping[str, Any], catalogue: Catalogue) -> dict[str, set[str]]:
    """Facts documented true that name an indication, each with the facts the catalogue ties it to."""
    ties = _ties(catalogue)
    out: dict[str, set[str]] = {}
    for name, value in facts.items():
        value = value.value if isinstance(value, FactValue) else value
        if value is not True or name not in catalogue:
            continue
        role = catalogue.spec(name).role
        if role == "purpose" or (role == "condition" and ties[name]):
            out[name] = {name, *ties[name]}
    return out


def group_missing(root, missing: list[str], facts: Mapping[str, Any], catalogue: Catalogue | None) -> list[QuestionGroup]:
    """The missing facts to ask, grouped by likely indication (module docstring); ``root`` is the
    evaluated trace (``engine.TraceNode``), ``missing`` its relevant unknown facts."""
    if not missing:
        return []
    missing_set = set(missing)
    indications = next((c for c in root.children if c.id == "indications"), None)
    choice = _choice(indications)
    label = (lambda n: catalogue.spec(n).label if catalogue is not None and n in catalogue else n.replace("_", " "))
    branch_of: dict[str, str] = {}
    candidates = []
    if choice is not None:
        for branch in choice.children:
            asked = [leaf.fact for leaf in _leaves(branch) if leaf.value is None and leaf.fact in missing_set]
            if branch.value is None and asked:
                candidates.append((branch, asked))
                branch_of.update({leaf.id: branch.id for leaf in _leaves(branch)})
    general = [leaf.fact for leaf in _leaves(root) if leaf.fact in missing_set and leaf.value is None
               and leaf.id not in branch_of]
    pointing = _pointing_facts(facts, catalogue) if catalogue is not None else {}
    groups: list[QuestionGroup] = []
    if general:
        groups.append(QuestionGroup(heading=GENERAL, facts=list(dict.fromkeys(general))))
    likely = []
    for branch, asked in candidates:
        names = {leaf.fact for leaf in _leaves(branch)}
        pointers = [f for f, tied in pointing.items() if tied & names]
        if pointers:
            likely.append((branch, asked, pointers))
    for branch, asked, pointers in likely or [(b, a, []) for b, a in candidates]:
        if pointers:
            heading = f"About what the records describe: {_listed([label(f) for f in pointers], 'and')}"
        else:
            naming = [label(f) for f in _naming(branch, catalogue)]
            heading = f"If the request is about {'the' if len(naming) == 1 else 'one of the'} following: {_listed(naming, 'or')}"
        groups.append(QuestionGroup(
            heading=heading, indication=branch.id, clause_id=branch.clause_id, likely=bool(pointers),
            facts=list(dict.fromkeys(asked)),
        ))
    return groups


def _naming(branch, catalogue: Catalogue | None) -> list[str]:
    """The facts that name an indication branch: its diagnoses (conditions the catalogue ties to
    others), else its purposes, else all its facts."""
    names = list(dict.fromkeys(leaf.fact for leaf in _leaves(branch)))
    if catalogue is None:
        return names
    ties = _ties(catalogue)
    spec = lambda n: catalogue.spec(n) if n in catalogue else None  # noqa: E731
    diagnoses = [n for n in names if spec(n) and spec(n).role == "condition" and ties.get(n)]
    purposes = [n for n in names if spec(n) and spec(n).role == "purpose"]
    return diagnoses or purposes or names


def _listed(labels: list[str], conjunction: str) -> str:
    return labels[0] if len(labels) == 1 else "; ".join(labels[:-1]) + f"; {conjunction} " + labels[-1]


def asked_groups(determination: Any) -> list[QuestionGroup]:
    """The question groups of a determination's trace; one group of every missing fact when the
    trace carries none (a record stored before the groups were)."""
    groups = getattr(determination.trace, "asked", None) or []
    groups = [g if isinstance(g, QuestionGroup) else QuestionGroup.model_validate(g) for g in groups]
    if groups:
        return groups
    missing = missing_fact_names(determination)
    return [QuestionGroup(heading=GENERAL, facts=missing)] if missing else []


def asked_fact_names(determination: Any) -> list[str]:
    """The facts a request for information asks, in letter order (see ``asked_groups``)."""
    return list(dict.fromkeys(f for g in asked_groups(determination) for f in g.facts))


def asked_clause_ids(determination: Any) -> list[str]:
    """The clauses a request for information quotes: those of the asked facts' criteria (the
    deciding clauses when the trace carries no groups)."""
    if not getattr(determination.trace, "asked", None) or determination.trace.root is None:
        return deciding_clause_ids(determination)
    asked = set(asked_fact_names(determination))
    ids = [n.clause_id for n in determination.trace.root.walk() if n.fact in asked and n.value is None and n.clause_id]
    return list(dict.fromkeys(ids)) or deciding_clause_ids(determination)
