"""'Does NIA still list X?': answered from the policy's own struck-through (deleted) language.

The curated corpus keeps a policy's deleted passages (``Clause.deleted``,
``Clause.deleted_text``) but never cites them. A question asking whether a payer *still*
lists, covers or includes something is answered "no" when its words are found in the
payer's deleted language and in none of its current, non-history clauses; the verdict cites
the current list the passage is no longer part of. Anything else is left to retrieval.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from mrs_assist.answer.verdict import cite_ids, render
from mrs_assist.schemas import Verdict, VerdictClaim

_STILL = re.compile(
    r"\bstill\s+(?:list|cover|include|name|mention|call|consider|recogni[sz]e|allow|approve)(?:s|d|ed)?\b\s*(?P<rest>[^?]*)", re.I)
_QUOTED = re.compile(r"(?<!\w)[‘'\"“](?P<q>[^'\"”’]{6,})[’'\"”](?!\w)")
"""Quoted words; an apostrophe inside a word ("Florida Blue's", "Alzheimer's") opens no quote."""
_WORD = re.compile(r"[a-z]{3,}")
_STOP = frozenset({"the", "and", "for", "with", "mrs", "any", "its", "their", "that", "this", "from", "under", "vs"})
_SHARE = 0.8
"""Share of the asked words a passage must contain to be the one the question names."""


_STILL_IN = re.compile(
    r"\b(?:is|are)\s+(?P<subject>[^?]{3,160}?)\s+still\s+(?:in|part of|listed|included|there|present|current)\b", re.I)
"""'Is NIA's old therapeutic follow-up indication still in the guideline?': the subject asks."""
_WHERE = re.compile(
    r"\s+(?:among|in|on|within|as (?:one of|an?|part of))\s+(?:[\w'’-]+\s+){0,4}?"
    r"(?:indications?|list|lists|guidelines?|polic(?:y|ies)|criteria|uses|coverage)\b.*$", re.I)
_ASIDE = re.compile(r"\([^)]*\)|\b[\w-]+['’]s\b|\b(?:old|former|original|previous|prior|earlier)\b", re.I)


def still_asked(question: str) -> str:
    """What a 'still lists …' question asks about (its quoted words, else the words after the
    verb, or the subject of "is X still in …"); '' when it asks no such thing."""
    match = _STILL.search(question)
    subject = _STILL_IN.search(question) if match is None else None
    if match is None and subject is None:
        return ""
    quoted = _QUOTED.search(question)
    if quoted:
        return quoted.group("q")
    if match is not None:  # "cystic lesions among its MRS indications": where it was listed is not what
        return _WHERE.sub("", match.group("rest"))
    # its owner's name, a parenthetical gloss and "old" are not what was listed
    return _ASIDE.sub(" ", subject.group("subject"))


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def _share(asked: set[str], text: str) -> float:
    return len(asked & _words(text)) / len(asked) if asked else 0.0


def from_struck(asked: str, payer: str, policy_id: str, deleted: Iterable[str], current: Iterable[str],
                current_list: list[str]) -> Verdict | None:
    """No, when ``asked`` is found in the policy's ``deleted`` passages and in none of its
    ``current`` clause texts; None otherwise. ``current_list``: the clause ids of its current
    indications (cited)."""
    words = _words(asked)
    if len(words) < 2 or max((_share(words, t) for t in deleted), default=0.0) < _SHARE:
        return None
    if max((_share(words, t) for t in current), default=0.0) >= _SHARE:
        return None
    text = (f"No — {payer} ({policy_id}) no longer lists it: that language is struck (deleted) in the "
            f"current guideline; its current indications are {cite_ids(current_list)}.")
    return render("", [VerdictClaim(text=text, clause_ids=list(current_list))], "criteria", "no")


_DELETED = re.compile(r"\b(?:deleted|removed|retired|eliminated|dropped|struck)\b", re.I)


def from_history_deleted(asked: str, payer: str, policy_id: str, history: Iterable[tuple[str, str, str]],
                         current: Iterable[str]) -> Verdict | None:
    """No, when one of the policy's own history entries records deleting what ``asked`` names
    ("Deleted therapeutic f/u indication" for "does NIA still cover MRS for therapeutic
    follow-up?") and no current, non-history clause still names it; None otherwise.
    ``history``: (clause id, text, text with shorthand spelled out) of its history entries."""
    words = _words(asked)
    if len(words) < 2:
        return None
    # the sentence that deletes must carry the words ("Added X. Deleted Y." deletes Y, not X)
    entries = [(cid, text) for cid, text, spelled in history
               if any(_DELETED.search(part) and _share(words, part) >= _SHARE for part in re.split(r"(?<=[a-z)])\.\s+", spelled))]
    if not entries or max((_share(words, t) for t in current), default=0.0) >= _SHARE:
        return None
    cid, text = entries[0]
    claim = f'No — {payer} ({policy_id}) records it deleted: "{text}" [{cid}]; no current clause names it.'
    return render("", [VerdictClaim(text=claim, clause_ids=[cid])], "clause", "no")
