"""'Does NIA require office visit notes?': answered from a policy's own "must be provided" sentence.

A question that asks whether some record must be sent with a request is answered yes when a
current sentence of the policy asked both says something must be provided, included or
submitted and names every content word asked ("recent pertinent office visit notes … must be
provided"); the sentence is quoted, with its own "if applicable" kept. Anything else is left to
the other answers (no sentence found is no "no": a policy may ask for records elsewhere).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from mrs_assist.answer.verdict import per_payer
from mrs_assist.schemas import Verdict, VerdictClaim

_ASKED = re.compile(
    r"(?:^|[:;,.]\s*)(?:(?:does|do|will|would|is|are)\b[^?]*?"
    r"\b(?:requir\w*|must|ha(?:ve|s)\s+to|need\w*(?:\s+to)?|expect\w*)|must)\b[^?]*?"
    r"\b(?:submit\w*|sen[dt]|includ\w*|provid\w*|attach\w*|document\w*|be\s+in(?:cluded)?\s+the\s+(?:request|packet))\b[^?]*\?",
    re.I)
"""A record asked to be sent with the request ("… require office visit notes to be submitted?")."""
_RECORD = re.compile(
    r"(?:^|[:;,.]\s*)(?:does|do|will|would)\b[^?]*?\b(?:requir\w*|ask\s+for|need\w*)\s+(?:[\w'’-]+\s+){0,4}?"
    r"(?:notes|records|results|reports?|data|documentation|paperwork)(?:\s+(?:with|in|for|along\s+with)\s+[^?]{0,40})?\s*\?", re.I)
"""A record named as what is required, no verb of sending ("does NIA require office visit notes?")."""
_MUST = re.compile(r"\bmust\s+be\s+(?:provided|included|submitted|sent|attached)\b|\bis\s+required\b|\bare\s+required\b", re.I)
_WORD = re.compile(r"[a-z]{3,}")
_STOP = frozenset({
    "does", "will", "would", "are", "must", "have", "has", "need", "needs", "needed", "require", "requires",
    "required", "requiring", "expect", "expects", "expected", "submit", "submitted", "submitting", "send", "sent",
    "include", "included", "including", "provide", "provided", "attach", "attached", "documentation", "document",
    "documents", "the", "and", "for", "with", "any", "all", "request", "requests", "requested", "mrs", "spectroscopy",
    "brain", "that", "this", "from", "under", "into", "when", "prior", "authorization", "auth", "packet", "also",
    "guideline", "policy", "its", "their", "there", "been", "being", "along", "you", "provider", "ordering", "part",
    "ask", "asks", "asking", "want", "wants",
})


def asked(question: str) -> bool:
    """True when the question asks whether a record must be sent with the request."""
    return bool(_ASKED.search(question) or _RECORD.search(question))


def _words(question: str, names: Iterable[str]) -> set[str]:
    for name in sorted(names, key=len, reverse=True):
        question = re.sub(rf"(?<!\w){re.escape(name)}(?:['’]s)?(?!\w)", " ", question, flags=re.I)
    return {w for w in _WORD.findall(question.lower()) if w not in _STOP}


def _holds(words: set[str], sentence: str) -> bool:
    """Every word asked begins a word of the sentence ("lab" names "laboratory"; a plural its singular)."""
    return all(re.search(rf"\b{re.escape(w.rstrip('s') if len(w) > 4 else w)}", sentence, re.I) for w in words)


def from_documentation(question: str, clauses: Mapping[str, list[tuple[str, str]]], payers: Mapping[str, str],
                       names: Mapping[str, Iterable[str]]) -> Verdict | None:
    """Yes per policy whose current sentence requires a record named by every content word
    asked; None when some policy asked has no such sentence (``clauses``: policy → its current
    clauses (id, text); ``names``: policy → its names, which are no word asked)."""
    claims, kinds = [], []
    for pid, payer in payers.items():
        words = _words(question, names.get(pid, ()))
        if not words:
            return None
        found = [(cid, s) for cid, text in clauses.get(pid, ()) for s in re.split(r"(?<=[.;])\s+", text)
                 if _MUST.search(s) and _holds(words, s)]
        if not found:
            return None
        cid, sentence = found[0]
        claims.append(VerdictClaim(text=f'Yes — {payer} ({pid}) writes "{sentence.strip()}" [{cid}].', clause_ids=[cid]))
        kinds.append("yes")
    return per_payer(claims, kinds, "Whether each policy asks for it with the request, by payer:", "clause") if claims else None
