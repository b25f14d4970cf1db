"""What a document itself says, yes or no: "Does the digest recommend adding the MRS code for
discogenic pain to clinical guidelines?", "Does the digest say MRS for discogenic pain looks
more promising than MRS for cord evaluation?".

Answered only from a sentence in the document's own voice that takes the stance asked about:
a recommendation made by the document ("we do not recommend …", "<payer> recommends …"),
whose polarity answers; or a comparison ("less promising than …") whose direction answers.
The sentence (with its section's heading) must share most of the question's words, so a
stance on another topic never answers. Nothing found: no verdict.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from mrs_assist.answer.verdict import render
from mrs_assist.schemas import Verdict, VerdictClaim

_RECOMMEND_ASKED = re.compile(
    r"^\s*(?:[^?]{0,80}[:,—-]\s*)?(?:does|do|did|is|are|would|will)\b[^?]*?\b(?:recommend\w*|advis\w*|endors\w*)\b(?P<rest>[^?]*)",
    re.I)
_RECOMMENDS = re.compile(r"\b(?:recommend\w*|advis(?:e|es|ed)|endors\w*)\b", re.I)
_NEGATIVE = re.compile(r"\b(?:not|never|no longer)\s+(?:\w+\s+)?(?:recommend|advise|endorse)\w*|\brecommend\w*\s+against\b", re.I)
_OWN_VOICE = re.compile(r"\b(?:we|our|us)\b", re.I)
_COMPARE = re.compile(r"\b(?P<dir>more|less)\s+(?P<adj>[a-z]{4,})\s+than\b(?P<rest>[^.?;]*)", re.I)
_WORD = re.compile(r"[a-z]{3,}")
_STOP = frozenset({
    "the", "and", "for", "with", "mrs", "any", "its", "their", "that", "this", "from", "under", "does", "did", "say",
    "says", "digest", "article", "guideline", "guidelines", "policy", "looks", "look", "than", "more", "less",
    "magellan", "advanced", "imaging", "recommend", "recommends", "adding", "including", "include", "per", "according",
})
_SHARE = 0.6


@dataclass(frozen=True)
class Sentence:
    """One sentence of a clause, with what locates it."""

    policy_id: str
    clause_id: str
    section: str
    text: str


def asks(question: str) -> bool:
    """True when the question asks a document's recommendation or comparison."""
    return bool(_RECOMMEND_ASKED.search(question) or _COMPARE.search(question))


def sentences(clauses: Iterable) -> list[Sentence]:
    """Every sentence of the clauses given (read once by the caller)."""
    return [
        Sentence(c.policy_id, c.id, c.section or "", part.strip())
        for c in clauses
        for part in re.split(r"(?<=[a-z0-9)])\.\s+(?=[A-Z])", c.text)
        if part.strip()
    ]


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def _share(asked: set[str], s: Sentence) -> float:
    return len(asked & _words(f"{s.section} {s.text}")) / len(asked) if asked else 0.0


def from_stance(question: str, found: Iterable[Sentence], payers: dict[str, str]) -> Verdict | None:
    """Yes / no from the document's own recommendation or comparison; None when none answers."""
    found = list(found)
    match = _RECOMMEND_ASKED.search(question)
    if match:
        asked = _words(match.group("rest"))
        best = [s for s in found if _RECOMMENDS.search(s.text) and _OWN_VOICE.search(s.text) and _share(asked, s) >= _SHARE]
        if best and len(asked) >= 2:
            s = max(best, key=lambda x: _share(asked, x))
            claim = "no" if _NEGATIVE.search(s.text) else "yes"
            lead = "No — it recommends against it" if claim == "no" else "Yes"
            return _verdict(lead, s, payers, claim)
    compared = _COMPARE.search(question)
    if compared:
        subject = _words(question[:compared.start()])
        other = _words(compared.group("rest"))
        for s in found:
            said = _COMPARE.search(s.text)
            if not said or said.group("adj").lower() != compared.group("adj").lower():
                continue
            then = _words(said.group("rest"))
            if other and len(other & then) / len(other) >= 0.5 and subject and _share(subject, s) >= 0.5:
                same = said.group("dir").lower() == compared.group("dir").lower()
            elif subject and len(subject & then) / len(subject) >= 0.5 and other and _share(other, s) >= 0.5 \
                    and not subject & _words(s.text[:said.start()]):
                # asked the other way round: "is cord MRS more promising than disc MRS?" of "disc MRS is less promising than cord MRS"
                same = said.group("dir").lower() != compared.group("dir").lower()
            else:
                continue
            claim = "yes" if same else "no"
            lead = "Yes" if claim == "yes" else f"No — it says {said.group('dir').lower()} {said.group('adj').lower()}, not {compared.group('dir').lower()}"
            return _verdict(lead, s, payers, claim)
    return None


def _verdict(lead: str, s: Sentence, payers: dict[str, str], claim: str) -> Verdict:
    text = f'{lead}: {payers.get(s.policy_id, s.policy_id)} ({s.policy_id}) writes "{s.text.rstrip(".")}" [{s.clause_id}].'
    return render("", [VerdictClaim(text=text, clause_ids=[s.clause_id])], "clause", claim)
