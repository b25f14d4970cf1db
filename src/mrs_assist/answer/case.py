"""A case stated in a question, through the checker: what was read from it, and what decided.

Both are shown to the reviewer: the facts as read ("As you describe it: …", with the words
they were read from) and the criterion that decided each policy's outcome, named by what the
case makes true or false rather than by a group label.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from mrs_assist.criteria import Catalogue, Evaluation, FactValue
from mrs_assist.criteria.facts import purposes_stated
from mrs_assist.criteria.questions import indication_spans

MAX_DECIDING = 3


def described_facts(extracted: Mapping[str, Any], catalogue: Catalogue) -> list[str]:
    """The stated facts as read, each with the words it was read from: 'a known (diagnosed)
    brain tumor ("Known GBM")', 'not: conventional MRI or CT is inconclusive ("not inconclusive")'."""
    out = []
    for name, fact in extracted.items():
        label = catalogue.spec(name).label if name in catalogue else name.replace("_", " ")
        words = "; ".join(dict.fromkeys(e.text for e in getattr(fact, "evidence", [])[:2]))
        said = f' ("{words}")' if words else ""
        if fact.value is None:  # read but hedged or a differential: shown so the reviewer sees why it is open
            out.append(f"not established: {label}{said}")
        else:
            out.append(f"{label}{said}" if fact.value else f"not: {label}{said}")
    return out


def named_indications(indications: list[str], case_text: str, read: Mapping[str, Any],
                       catalogue: Catalogue) -> dict[str, bool]:
    """The indications a question names that count as asserted beside what the note reader
    read: not one the reader read itself, or found hedged or negated ("possible MS, LP pending"), nor
    one whose every mention in the stated case lies inside words the reader read as another
    finding ("infarct" inside the differential "infarct versus neoplasm")."""
    spans = [(e.start, e.end) for fact in read.values() for e in getattr(fact, "evidence", [])]
    sides = [(e.start, e.end) for fact in read.values() for e in getattr(fact, "evidence", [])
             if any(m.startswith("differential") for m in e.modifiers)]
    out = {}
    for name in indications:
        fact = read.get(name)
        if _region_hedged(name, fact, catalogue):
            # "MRS of the calf muscle for suspected mitochondrial myopathy": the suspicion is the
            # diagnosis'; where the study is done is what the question asks about, stated
            out[name] = True
            continue
        if fact is not None and (fact.value is not None or any(e.modifiers for e in fact.evidence)):
            continue
        if fact is not None and fact.evidence and getattr(fact, "source", "notes") == "notes":
            continue  # read and left open on purpose ("epilepsy" with no surgical work-up): the reader's
        mentions = indication_spans(case_text, catalogue, name)
        if mentions and all(any(s <= a and b <= e for s, e in spans) or _other_side(case_text, a, b, sides)
                            for a, b in mentions):
            continue
        out[name] = True
    return out


_QUALIFIER_DENIED = "qualifier ("
"""The reader's mark on a condition it found whose qualifier the words deny ("epilepsy;
surgery is not being considered": the epilepsy is stated, not a pre-surgical work-up)."""


def close_on_stated_reason(facts: Mapping[str, FactValue], read: Mapping[str, Any],
                           catalogue: Catalogue) -> dict[str, FactValue]:
    """``facts`` with the purposes nothing documents closed (false) when the stated case gives
    the study's reason only as a condition whose qualifying purpose it denies ("9-year-old with
    epilepsy, surgery not being considered, MRS to characterize the seizures"): the reason is
    stated, and it is not one a policy lists, so no other purpose is left open. A purpose the
    case asserts already closes them (``resolve_facts``); a negated condition ("no epilepsy")
    states no reason and closes nothing."""
    purposes = catalogue.names("purpose")
    if purposes_stated(facts, purposes):
        return dict(facts)
    denied = [p for p in purposes if (fv := read.get(p)) is not None and fv.value is False
              and getattr(fv, "source", "") == "notes" and fv.evidence
              and any(m.startswith(_QUALIFIER_DENIED) or f" {_QUALIFIER_DENIED}" in m
                      for e in fv.evidence for m in e.modifiers)]
    if not denied:
        return dict(facts)
    return {name: (FactValue(name=name, value=False, source="closure")
                   if name in purposes and fv.value is None and fv.source == "default" else fv)
            for name, fv in facts.items()}


_RELATIVE = re.compile(
    r"\b(?:mother|father|mom|dad|parents?|sisters?|brothers?|siblings?|sons?|daughters?|aunts?|uncles?|cousins?|"
    r"grand(?:mother|father|parent)s?|relatives?|twin|family\s+history|FHx|FH)\b", re.I)
_CLAUSE_START = re.compile(r"[.;:!?]\s")


def relatives_conditions(indications: list[str], case_text: str, read: Mapping[str, Any],
                         catalogue: Catalogue) -> list[str]:
    """The indications a stated case names only as a relative's ("whose mother has MS"): the
    reader read none of it, and every mention follows a relative's word in its own clause. The
    patient's own condition is then not stated, so the answer is not the bare indication's."""
    out = []
    for name in indications:
        if name in read:
            continue
        mentions = indication_spans(case_text, catalogue, name)
        if mentions and all(_RELATIVE.search(case_text[_clause_start(case_text, a):a]) for a, _ in mentions):
            out.append(name)
    return out


def _clause_start(text: str, at: int) -> int:
    starts = [m.end() for m in _CLAUSE_START.finditer(text, 0, at)]
    return starts[-1] if starts else 0


def _region_hedged(name: str, fact: Any, catalogue: Catalogue) -> bool:
    """The question names the study's region (a scope fact) and the reader left it open only
    because a hedge on a diagnosis reached it ("possible (suspected)")."""
    if fact is None or fact.value is not None or name not in catalogue or catalogue.spec(name).role != "scope":
        return False
    modifiers = [m for e in fact.evidence for m in e.modifiers]
    return bool(modifiers) and all(m.startswith("possible") for m in modifiers)


_VERSUS = re.compile(r"^[\w\s/-]{0,30}?\b(?:vs\.?|versus|or)\s+(?:[\w/-]+\s+){0,2}$", re.I)


def _other_side(text: str, start: int, end: int, sides: list[tuple[int, int]]) -> bool:
    """The mention is one side of a differential whose other side the reader read as such
    ("MS plaque vs tumor"): a possibility, not a diagnosis."""
    for s, e in sides:
        between = text[end:s] if end <= s else text[e:start] if e <= start else None
        if between is not None and _VERSUS.match(between):
            return True
    return False


def deciding_criteria(evaluation: Evaluation, stated_facts: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """(criterion label, clause id) of what decided the outcome, at most three.

    Named by what the case makes true: an indication the policy calls investigational, a
    true exclusion or a met criterion ("advanced imaging … within 3 months"); a group's label
    ("none of 1-8 is met") only when no stated fact decided it.
    """
    true_leaf: dict[str, Any] = {}
    false_leaf: dict[str, Any] = {}
    closed: set[str] = set()  # clauses with a part false only because nothing states it
    group: dict[str, Any] = {}
    for node in evaluation.trace.walk():
        if not node.clause_id or node.value is None:
            continue
        if node.fact and node.value is True:
            true_leaf.setdefault(node.clause_id, node)
        if node.fact and node.value is False and node.fact in stated_facts:
            false_leaf.setdefault(node.clause_id, node)
        elif node.fact and node.value is False and not node.children:
            closed.add(node.clause_id)
        # a clause shared by a group and a leaf (the indications head and its region check) is
        # named by the group: "none of 1-8 is met", not the leaf's "MRS of a region other than the brain"
        # and a scope check that holds never names the indications sharing its clause (NIA's
        # indications.1 carries the region check: "MRS of a region other than the brain" is false)
        current = group.get(node.clause_id)
        if current is None or (current.fact and not node.fact) or (
                current.id.startswith("scope") and not node.id.startswith("scope")):
            group[node.clause_id] = node
    if evaluation.outcome == "does_not_meet_criteria" and evaluation.investigational:
        return [(f.label, f.clause_id) for f in evaluation.investigational][:MAX_DECIDING]
    if evaluation.outcome == "does_not_meet_criteria":
        # What the case states makes a required part false ("not: a neonate"), or an exclusion true.
        excluded = [cid for cid in evaluation.deciding_clauses
                    if cid in true_leaf and true_leaf[cid].id.startswith("exclusions")]
        # "adult with MS" under Cohere's neonatal-HIE item: not being a neonate decides nothing
        # when nothing else of the item (HIE) is stated; a clause is unmet "as the question
        # states the case" when the case states a part of it true, or every false part of it
        unmet = [cid for cid in evaluation.deciding_clauses
                 if cid in false_leaf and (cid in true_leaf or cid not in closed)]
        if excluded or unmet:
            return ([(true_leaf[cid].label, cid) for cid in excluded]
                    + [(f"{false_leaf[cid].label} (not met as the question states the case)", cid) for cid in unmet])[:MAX_DECIDING]
    stated = [cid for cid in evaluation.deciding_clauses if cid in true_leaf]
    if stated:
        return [(true_leaf[cid].label, cid) for cid in stated][:MAX_DECIDING]
    named = [(group[cid].label if cid in group else cid, cid) for cid in evaluation.deciding_clauses][:MAX_DECIDING]
    if named and evaluation.outcome == "does_not_meet_criteria" and all(
            cid in group and group[cid].value is False and group[cid].id.startswith("indications") for _, cid in named):
        named[0] = (f"none of its listed indications applies: {named[0][0]}", named[0][1])
    return named
