"""Combine extracted and caller-provided facts into the case's facts, one per catalogue entry.

The rules, in order (README "How it works": Interpretations decided; facts.yaml header):

1. A value the caller provides overrides the extracted one; an explicit null means
   "unknown" and is never closed by the rules below.
2. A closed-world fact (exclusion, safety item, scope) that is not documented is false
   (source ``default``).
3. Purposes close once one is stated as the reason for this study: when any purpose fact
   is true, or the notes state it without the qualifier a policy needs (an extracted
   unknown with evidence: "intractable epilepsy" without "pre-surgical"), every purpose
   fact that is not documented is false (source ``closure``). The stated one stays
   unknown and is asked. A caller's null closes nothing. ``purposes_stated`` is the one
   test, used wherever the rule applies.
4. Every other undocumented fact is unknown (source ``default``).

"Documented" means the caller sent a value for the fact, or extraction found it: an
extracted fact with a value, or with evidence even if its value is unknown (a hedged
mention such as "? pacemaker" stays unknown rather than being closed to false).
"""

from __future__ import annotations

from collections.abc import Mapping

from mrs_assist.criteria.catalogue import Catalogue, FactValue
from mrs_assist.errors import InvalidRequestError


def resolve_facts(
    extracted: Mapping[str, FactValue],
    provided: Mapping[str, bool | None] | None,
    catalogue: Catalogue,
) -> dict[str, FactValue]:
    """Every catalogue fact's value for the case, in catalogue order.

    Raises InvalidRequestError when the caller provides a fact the catalogue does not
    know, and ValueError when extraction produced one (a programming error).
    """
    provided = provided or {}
    if unknown := sorted(set(provided) - set(catalogue.facts)):
        raise InvalidRequestError(
            f"unknown fact name(s): {', '.join(unknown)}; see the facts catalogue for valid names"
        )
    if unknown := sorted(set(extracted) - set(catalogue.facts)):
        raise ValueError(f"extraction produced facts missing from the catalogue: {unknown}")

    resolved: dict[str, FactValue] = {}
    documented: set[str] = set()
    for name in catalogue.names():
        if name in provided:
            old = extracted.get(name)
            resolved[name] = FactValue(
                name=name,
                value=provided[name],
                # Keep the notes' evidence when the caller confirms what they show.
                evidence=list(old.evidence) if old and old.value == provided[name] else [],
                source="request",
            )
            documented.add(name)
        elif (fv := extracted.get(name)) is not None and (fv.value is not None or fv.evidence):
            resolved[name] = fv.model_copy(update={"name": name})
            documented.add(name)
        elif catalogue.spec(name).world == "closed":
            resolved[name] = FactValue(name=name, value=False, source="default")
        else:
            resolved[name] = FactValue(name=name, value=None, source="default")

    purposes = catalogue.names("purpose")
    # Notes that are not the whole record (pages missing) close the other purposes only by one
    # they assert: a purpose named without its qualifier may be settled on the missing page.
    partial = any(catalogue.spec(n).suspends_closure and resolved[n].value is not False for n in documented)
    if purposes_stated(resolved, purposes, asserted_only=partial):
        for p in purposes:
            if p not in documented:
                resolved[p] = FactValue(name=p, value=False, source="closure")
    return resolved


def purposes_stated(facts: Mapping[str, FactValue], purposes: list[str], *, asserted_only: bool = False) -> bool:
    """Whether the case states a reason for the study: a purpose that is true, or (unless
    ``asserted_only``) one the notes name without its qualifier (unknown, from the notes, with evidence)."""
    return any(
        (fv := facts.get(p)) is not None
        and (fv.value is True
             or (not asserted_only and fv.value is None and fv.source == "notes" and bool(fv.evidence)))
        for p in purposes
    )
