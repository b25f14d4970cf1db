"""Da Vinci DTR from the criteria: a policy's rule tree as a FHIR Questionnaire, and a
QuestionnaireResponse back into structured facts.

The Questionnaire mirrors the evaluated formula (scope ∧ indications ∧ ¬exclusions): each
ALL / ANY / NOT node is a group, each fact a yes/no question whose `code` cites its clause.
Because every formula is read-once, a fact is asked once and its linkId is its name.

`enableWhen` follows the tree: a question is shown only while no earlier sibling of it or of
an ancestor has already decided that parent (under ALL a sibling that is false, under ANY one
that is true). A sibling subtree decides its parent through any one of its "forcing" answers
(a leaf answer that alone fixes the subtree's value), so every condition is a plain `!=` on one
boolean question. Questions about the request's purpose are always shown (purpose closure
makes them matter everywhere). A hidden question can therefore never change the outcome, and
answers to hidden questions are dropped, as FHIR says they must be.
"""

from __future__ import annotations

import html
import re
from typing import Any

from mrs_assist.criteria import Catalogue, Policy
from mrs_assist.criteria.engine import REGION_COVERAGE_FACT, TraceNode, build_trace
from mrs_assist.fhir import cql
from mrs_assist.fhir.resources import FhirError, build, issue

QUESTIONNAIRE_URL = "http://mrs-assist.local/fhir/Questionnaire/"
"""Canonical base of generated questionnaires (`<base><policy_id>`, version = policy version)."""
DTR = "http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/"
STD_QUESTIONNAIRE = DTR + "dtr-std-questionnaire"
PACKAGE_BUNDLE = DTR + "DTR-QPackageBundle"
OUTPUT_PARAMETERS = DTR + "dtr-qpackage-output-parameters"
CLAUSE_SYSTEM = "urn:mrs-assist:clause"
"""Coding system of item codes: the clause id the item encodes."""
OTHER_GROUP = "other"


def canonical(policy: Policy) -> str:
    """The questionnaire's canonical reference with version ('url|version')."""
    return f"{QUESTIONNAIRE_URL}{policy.policy_id}|{policy.version}"


def _forcing(node: TraceNode, value: bool) -> list[tuple[str, bool]]:
    """Leaf answers (fact, answer) each of which alone makes `node` evaluate to `value`."""
    if node.kind == "fact":
        return [] if node.fact == REGION_COVERAGE_FACT else [(node.fact or "", value)]
    if node.kind == "not":
        return _forcing(node.children[0], not value)
    if node.kind in ("all", "any"):
        # ALL is false (ANY is true) as soon as one child is; the converse needs every child.
        if (node.kind == "all") != value or len(node.children) == 1:
            return [lit for child in node.children for lit in _forcing(child, value)]
    return []  # the CPT leaf is not a question: it comes from the claim


def _is_purpose(name: str | None, catalogue: Catalogue) -> bool:
    return bool(name) and name in catalogue and catalogue.spec(name).role == "purpose"


def _items(node: TraceNode, catalogue: Catalogue, inherited: list[tuple[str, bool]]) -> list[dict[str, Any]]:
    """The questionnaire items of `node`'s children; each question carries the enableWhen of
    every earlier sibling of it and of its ancestors (`inherited`)."""
    items = []
    deciding = False if node.kind == "all" else True  # the value of a child that decides the parent
    earlier: list[tuple[str, bool]] = []
    for child in node.children:
        item = _item(child, catalogue, inherited + earlier if node.kind in ("all", "any") else inherited)
        if item is not None:
            items.append(item)
        if node.kind in ("all", "any"):
            earlier += _forcing(child, deciding)
    return items


def _code(clause_id: str | None, label: str) -> list[dict[str, Any]]:
    return [{"system": CLAUSE_SYSTEM, "code": clause_id, "display": label[:200]}] if clause_id else []


def _item(node: TraceNode, catalogue: Catalogue, conditions: list[tuple[str, bool]]) -> dict[str, Any] | None:
    if node.kind == "cpt" or node.fact == REGION_COVERAGE_FACT:
        return None  # from the claim, or the physician reviewer's finding: no question for the provider
    if node.kind == "fact":
        spec = catalogue.spec(node.fact) if node.fact in catalogue else None
        # The text is the criterion as the policy states it (answered yes or no); the
        # catalogue's question is what the pend letter asks for the same fact.
        item: dict[str, Any] = {"linkId": node.fact, "type": "boolean",
                                "text": node.label or (spec.label if spec else node.fact)}
        if code := _code(node.clause_id, node.label):
            item["code"] = code
        # A purpose of the request is always asked: once any purpose is stated, the checker
        # reads the unstated ones as absent (facts catalogue, purpose closure), so even a
        # purpose under a decided branch can change the outcome.
        if conditions and not _is_purpose(node.fact, catalogue):
            item["enableWhen"] = [{"question": f, "operator": "!=", "answerBoolean": v} for f, v in conditions]
            if len(conditions) > 1:
                item["enableBehavior"] = "all"
        return item
    children = _items(node, catalogue, conditions)
    if not children:
        return None
    item = {"linkId": node.id, "type": "group", "text": node.label, "item": children}
    if code := _code(node.clause_id, node.label):
        item["code"] = code
    return item


def build_questionnaire(policy: Policy, catalogue: Catalogue) -> dict[str, Any]:
    """The policy's criteria tree as a FHIR Questionnaire (validated by fhir.resources)."""
    root = build_trace(policy, {}, policy.scope.cpt_codes[:1], catalogue=catalogue)
    items = _items(root, catalogue, [])
    formula = set(policy.formula_facts())
    others = [
        {"linkId": name, "type": "boolean", "text": catalogue.spec(name).label,
         "code": _code(clause, catalogue.spec(name).label)}
        for name, clause in [(i.fact, i.clause) for i in (*policy.safety_flags, *policy.investigational)]
        if name not in formula and name in catalogue
    ]
    if others:
        items.append({"linkId": OTHER_GROUP, "type": "group", "item": others,
                      "text": "Further documentation (safety flags, investigational uses): cited, never decisive alone"})
    url, version = canonical(policy).split("|")
    title = f"{policy.policy_id} criteria for MR spectroscopy (CPT {', '.join(policy.scope.cpt_codes)})"
    return cql.link(build("Questionnaire", {
        "id": policy.policy_id,
        "meta": {"profile": [STD_QUESTIONNAIRE]},
        "text": {"status": "generated",
                 "div": f'<div xmlns="http://www.w3.org/1999/xhtml"><p>{html.escape(title)}</p></div>'},
        "url": url,
        "version": version,
        "name": "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", policy.policy_id)),  # que-0
        "title": title,
        "status": "active",
        "subjectType": ["Patient"],
        "item": items,
    }), policy)  # pre-populated from the EHR's data by the policy's CQL Library (fhir.cql)


def library(policy: Policy, questionnaire: dict[str, Any]) -> dict[str, Any] | None:
    """The CQL Library the questionnaire references (`cqf-library`), or None when it pre-populates nothing."""
    facts = {i.get("linkId") for i in _all_items(questionnaire.get("item") or [])}
    return cql.library(policy, facts) if cql.prepopulated(facts) else None


def _all_items(items: list[dict[str, Any]]):
    for item in items:
        yield item
        yield from _all_items(item.get("item") or [])


def _leaves(items: list[dict[str, Any]]):
    for item in items:
        if item.get("type") == "group":
            yield from _leaves(item.get("item") or [])
        else:
            yield item


def enabled_items(questionnaire: dict[str, Any], answers: dict[str, bool | None]) -> set[str]:
    """linkIds of the boolean questions shown given `answers` (R4 enableWhen, '!=' semantics:
    an unanswered question is 'not equal')."""
    shown: set[str] = set()

    def on(item: dict[str, Any]) -> bool:
        conditions = [
            answers.get(c["question"]) is None or answers.get(c["question"]) != c["answerBoolean"]
            for c in item.get("enableWhen") or []
        ]
        if not conditions:
            return True
        return all(conditions) if item.get("enableBehavior", "all") == "all" else any(conditions)

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            if not on(item):
                continue
            if item.get("type") == "group":
                walk(item.get("item") or [])
            else:
                shown.add(item["linkId"])

    walk(questionnaire.get("item") or [])
    return shown


def _response_answers(items: list[dict[str, Any]], out: dict[str, bool | None], path: str) -> None:
    for i, item in enumerate(items or []):
        where = f"{path}.item[{i}]"
        answers = item.get("answer") or []
        if answers:
            values = [a.get("valueBoolean") for a in answers]
            if len(values) != 1 or not isinstance(values[0], bool):
                raise FhirError("each question takes one boolean answer", issues=[
                    issue("each question takes exactly one answer, valueBoolean", expression=f"{where}.answer")])
            out[item.get("linkId", "")] = values[0]
        _response_answers(item.get("item") or [], out, where)


def facts_from_response(policy: Policy, questionnaire: dict[str, Any], response: dict[str, Any]) -> dict[str, bool]:
    """The facts a QuestionnaireResponse answers for `policy`: answers of shown questions only
    (raises FhirError for another questionnaire, an unknown linkId or a non-boolean answer)."""
    expected = canonical(policy)
    named = response.get("questionnaire")
    if named and named not in (expected, expected.split("|")[0]):
        raise FhirError(f"the response answers another questionnaire than {expected}", issues=[
            issue(f"questionnaire must be {expected}", expression="QuestionnaireResponse.questionnaire", code="value")])
    answers: dict[str, bool | None] = {}
    _response_answers(response.get("item") or [], answers, "QuestionnaireResponse")
    known = {item["linkId"] for item in _leaves(questionnaire.get("item") or [])}
    if unknown := sorted(set(answers) - known):
        raise FhirError("the response answers questions the questionnaire does not ask", issues=[
            issue(f"{len(unknown)} answered linkId(s) are not questions of {expected}",
                  expression="QuestionnaireResponse.item.linkId", code="value")])
    shown = enabled_items(questionnaire, answers)
    return {name: value for name, value in answers.items() if name in shown and value is not None}


def prefilled_response(policy: Policy, questionnaire: dict[str, Any], facts: dict[str, bool | None],
                       *, subject: dict[str, Any] | None = None) -> dict[str, Any]:
    """A QuestionnaireResponse (in progress) with every known fact answered where its question is shown."""
    answers = {k: v for k, v in facts.items() if v is not None}
    shown = enabled_items(questionnaire, answers)

    def walk(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for item in items:
            if item.get("type") == "group":
                children = walk(item.get("item") or [])
                if children:
                    out.append({"linkId": item["linkId"], "item": children})
            elif item["linkId"] in shown and item["linkId"] in answers:
                out.append({"linkId": item["linkId"], "answer": [{"valueBoolean": answers[item["linkId"]]}]})
        return out

    data: dict[str, Any] = {"questionnaire": canonical(policy), "status": "in-progress", "item": walk(
        questionnaire.get("item") or [])}
    if subject:
        data["subject"] = subject
    if not data["item"]:
        del data["item"]
    return build("QuestionnaireResponse", data)


def unanswered(questionnaire: dict[str, Any], facts: dict[str, bool | None]) -> list[str]:
    """Shown questions that have no answer, in questionnaire order."""
    answers = {k: v for k, v in facts.items() if v is not None}
    shown = enabled_items(questionnaire, answers)
    return [item["linkId"] for item in _leaves(questionnaire.get("item") or []) if item["linkId"] in shown
            and item["linkId"] not in answers]
