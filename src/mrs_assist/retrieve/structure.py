"""The structure of the indexed clauses: list parents and items, and each clause's kind.

Two things a flat ranking misses (issue 13): a list asked as a whole ("which conditions
does Cohere list as non-indications") is one parent clause and its items, not the single
best item; and metadata questions (dates, versions, codes, definitions, history,
documentation) want the clauses that carry that metadata. Both are read from the stored
chunk metadata only — clause ids (a dotted id's parent is the id without its last part),
sections and clause text — so they follow any corpus written to corpus/README.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

# --- clause kinds ------------------------------------------------------------------------------
_MONTHS = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*"
_DATE = re.compile(
    rf"\b{_MONTHS}\.?\s+(?:\d{{1,2}},\s*)?\d{{4}}\b|\b\d{{1,2}}/\d{{1,2}}/\d{{2,4}}\b|\b\d{{4}}-\d{{2}}(?:-\d{{2}})?\b",
    re.I,
)
_SECTION_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("history", re.compile(r"histor|update information|summary of changes|revision", re.I)),
    ("definition", re.compile(r"definition", re.I)),
    ("code", re.compile(r"\bcod(?:e|es|ing)\b|billing", re.I)),
    ("reference", re.compile(r"\breferences?\b", re.I)),
    ("notice", re.compile(r"notice|disclaimer|trademark", re.I)),
    ("committee", re.compile(r"committee|approval|sign-?off", re.I)),
)
_TEXT_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("version", re.compile(r"\bversion\b|\bguideline number\b", re.I)),
    ("code", re.compile(r"\bCPT\b|\bHCPCS\b|^\+?\d{4}[0-9T]\b")),
    ("documentation", re.compile(r"\bdocumentation\b", re.I)),
)
_SHORT = 240
"""A dated clause longer than this is prose that mentions a date, not a date entry."""

KINDS = ("history", "date", "version", "code", "definition", "documentation", "reference", "notice", "committee")
_COMMITTEE = re.compile(r"\b(?:reviewed\s*/\s*approved|approved by|committee|is a subsidiary of)\b", re.I)


def clause_kinds(clause_id: str, section: str, text: str) -> frozenset[str]:
    """The kinds of a clause (see KINDS) from its section, id and text; may be empty."""
    kinds = {kind for kind, pattern in _SECTION_KINDS if pattern.search(section)}
    local = clause_id.split("#", 1)[-1]
    if local.startswith(("history.", "summary-of-changes")):
        kinds.add("history")
    if local.startswith(("approval", "committee", "guideline-info.publisher")) or (len(text) <= _SHORT and _COMMITTEE.search(text)):
        kinds.add("committee")  # an approval, sign-off or publisher line: who stands behind it, never what it says
    dated = _DATE.search(text)
    if (dated and dated.start() < 24) or (len(text) <= _SHORT and (dated or re.search(r"\bdate\b", text, re.I))):
        kinds.add("date")  # a dated entry (history lines start with their date) or a short dated clause
    if len(text) <= _SHORT:
        kinds |= {kind for kind, pattern in _TEXT_KINDS if pattern.search(text)}
    elif "documentation" not in kinds and _TEXT_KINDS[2][1].search(text):
        kinds.add("documentation")
    return frozenset(kinds)


# --- what a question asks for -------------------------------------------------------------------
_INTENTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("date", re.compile(
        r"\b(?:when|date[sd]?|effective|revised|implement\w*|last (?:updated|review\w*|revis\w*)|"
        r"original(?:ly)?|first (?:publish\w*|created|written|issued)|since when|what (?:year|yr)|yr|year)\b"
        r"(?![- ]?olds?\b)", re.I)),  # "a 40 year old" is an age, not a date
    ("version", re.compile(r"\bversions?\b|\bv\d\b|\bver\b|\bguideline (?:number|no|#)", re.I)),
    ("history", re.compile(
        r"\b(?:history|historical|remov(?:e|ed|al)|delet(?:e|ed|ion)|add|added|drop(?:ped)?|previously|"
        r"revisions?|updated|updates|changes|changed)\b|\bwhat\b(?:\W+\w+){0,4}\W+change\b", re.I)),
    ("code", re.compile(r"\b(?:cpt|hcpcs|codes?|billing|bill(?:ed)?)\b|\+?\b\d{4}[0-9T]\b", re.I)),
    ("definition", re.compile(r"\b(?:defin\w*|defn|def|meaning|means|age ranges?|what counts as)\b", re.I)),
    ("documentation", re.compile(
        r"\b(?:documentation|documents?|docs|paperwork|submit\w*|send|sent|office (?:visit )?notes|records)\b", re.I)),
)
_LIST = re.compile(
    r"\b(?:list (?:all|every|the|of)|full list|whole list|complete list|all (?:of )?(?:the|their|its)|"
    r"every (?:one|item|indication|condition|criterion)|all of them)\b"
    r"|\b(?:what|which)\b[^?]*\b(?:list|lists|name|names)\s*(?:\?|$)"
    r"|\bwhat are (?:the |their |its )?(?:\w+ )?(?:indications|criteria|contraindications|non-indications|options|"
    r"names|conditions|uses|exceptions|requirements)\b"
    r"|\b(?:indications|contraindications|non-indications|criteria|sub-?indications)\s*(?:\?|$)",
    re.I,
)


def question_intents(question: str) -> frozenset[str]:
    """The metadata kinds a question asks for (dates, versions, history, codes, …) plus
    ``"list"`` when it asks for a list as a whole."""
    intents = {kind for kind, pattern in _INTENTS if pattern.search(question)}
    if _LIST.search(question):
        intents.add("list")
    return frozenset(intents)


def _natural(part: str) -> tuple:
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"[.-]", part))


class ClauseStructure:
    """Kinds, parents and ordered children of the indexed clauses (full clause ids)."""

    def __init__(self, metas: Iterable[Mapping[str, Any]]) -> None:
        self.kinds: dict[str, frozenset[str]] = {}
        for meta in metas:
            cid = meta["clause_id"]
            if cid not in self.kinds:
                self.kinds[cid] = clause_kinds(cid, meta.get("section", ""), meta.get("clause_text", ""))
        self.parent: dict[str, str] = {}
        self.children: dict[str, list[str]] = {}
        for cid in self.kinds:
            head, _, _ = cid.rpartition(".")
            if head and "#" in head and head in self.kinds:
                self.parent[cid] = head
                self.children.setdefault(head, []).append(cid)
        for kids in self.children.values():
            kids.sort(key=lambda c: _natural(c.rpartition(".")[2]))

    def unit(self, clause_id: str) -> list[str]:
        """The list a clause belongs to, as [parent, item, item, …]; [] when it is in none.

        A clause with items is the parent of its own unit; an item's unit is its parent's.
        """
        head = clause_id if clause_id in self.children else self.parent.get(clause_id)
        if head is None:
            return []
        return [head, *self.children[head]]

    def routed(self, clause_id: str, intents: frozenset[str]) -> bool:
        """True when the clause carries what a metadata question asks for."""
        return bool(self.kinds.get(clause_id, frozenset()) & intents)
