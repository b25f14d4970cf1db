"""What a literature document says, yes or no, from its own sentences (never a coverage verdict).

"Does the digest say MRS is typically requested by academic institutions?", "Does the digest
expect discogenic-pain MRS to catch on in community hospitals?", "Has Magellan added cord MRS
to its clinical guidelines?", "Is MRS for discogenic pain ready for routine use per the digest?"

Two readings, each answering only when a sentence's shape supports it:

- **stated**: one sentence (with its section heading) holds every content word of the asked
  proposition, synonyms folded ("expect" ~ "anticipate", "routine" ~ "regular", "catch on" ~
  "gain a foothold"). Its polarity answers: yes when it states them, no when it negates the
  asked words ("does not anticipate …", "not ready for regular use") or offers them only as
  possible ("for possible inclusion in our clinical guidelines"). A sentence that only hedges
  ("may explain", "suggest"), or leaves it open ("to determine whether …"), answers nothing
  unless the question hedges too.
- **readiness**: a question whether the document calls a use ready, routine, proven or
  recommended is answered from the sentence of the topic's section that says it is not yet
  ("not ready for regular use", "we do not recommend …", "for possible inclusion …"); a
  question whether it is still studied or unproven, yes from the same sentence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from mrs_assist.answer.stance import Sentence
from mrs_assist.answer.verdict import render
from mrs_assist.schemas import Verdict, VerdictClaim

_ASKING = re.compile(
    r"(?:^|[:;,—–-]\s*)(?P<aux>does|do|did|is|are|was|were|has|have|will|would|can|could|should)\b(?P<rest>[^?]*)\?\s*$",
    re.I)
_SUBJECT = re.compile(
    r"^\s*(?:the\s+|magellan(?:'s)?\s+|this\s+)*(?:magellan\s+)?(?:advanced imaging\s+)?(?:digest|article|trend article|it|magellan)"
    r"(?:'s)?(?:\s+(?:authors?|itself))?\s+"
    r"(?:(?:say|says|state|states|mention|mentions|write|writes|claim|claims|report|reports|indicate|indicates|conclude|"
    r"concludes|note|notes|describe|describes)\s+(?:that\s+)?)?", re.I)
_SOURCE = re.compile(
    r"\b(?:per|according to|in|from|by)\s+(?:the\s+)?(?:magellan(?:'s)?\s+)?(?:advanced imaging\s+)?(?:digest|article)\b", re.I)
_SYNONYMS = [
    (re.compile(r"\b(?:catch(?:es|ing)? on|take (?:hold|off)|gain(?:s|ing)? (?:a )?(?:foothold|traction)|spread|"
                r"widely adopted|be adopted|adoption|uptake|becom\w* (?:common|widespread|routine|standard|popular|mainstream))\b",
                re.I), " foothold "),
    (re.compile(r"\bRVUs?\b", re.I), " relative value units "),
    (re.compile(r"\bAmerican Medical Association\b", re.I), " AMA "),
    (re.compile(r"\b(?:need(?:s|ed)?|requir\w*)\b", re.I), " require "),
    (re.compile(r"\b(?:combined with|together with|alongside|along with|in conjunction with|in combination with|"
                r"paired with|added to)\b", re.I), " conjunction "),
    (re.compile(r"\b(?:routine(?:ly)?|regular(?:ly)?|standard|common(?:ly)?|everyday|mainstream)\b", re.I), " regular "),
    (re.compile(r"\b(?:expect(?:s|ed)?|anticipat\w*|foresee\w*|predict\w*)\b", re.I), " anticipate "),
    (re.compile(r"\b(?:keep(?:s)?|continu\w*|ongoing)\b", re.I), " continue "),
    (re.compile(r"\b(?:monitor\w*|watch\w*|track\w*)\b", re.I), " monitor "),
    (re.compile(r"\b(?:recommend\w*|endors\w*|advis\w*)\b", re.I), " recommend "),
    (re.compile(r"\b(?:validat\w*|confirm\w*)\b", re.I), " validate "),
    (re.compile(r"\b(?:stud(?:y|ies|ied|ying)|research\w*|investigated|investigation)\b", re.I), " study "),
    (re.compile(r"\b(?:add(?:s|ed|ing)?|inclu\w*|incorporat\w*)\b", re.I), " include "),
    (re.compile(r"\b(?:discogenic|disc|discs|disk|disks)\b", re.I), " disc "),
    (re.compile(r"\b(?:intramedullary|intralesional)\b", re.I), " cord "),
    (re.compile(r"\b(?:order(?:s|ed)?|request(?:s|ed)?)\b", re.I), " request "),
    (re.compile(r"\b(?:surg\w*|pre-?operative\w*|operation)\b", re.I), " surgery "),
]
_STOP = frozenset({
    "the", "and", "for", "with", "that", "this", "its", "their", "from", "into", "than", "any", "all", "are", "was",
    "were", "been", "being", "has", "have", "had", "will", "would", "can", "could", "should", "does", "did", "not",
    "mrs", "magnetic", "resonance", "spectroscopy", "digest", "article", "magellan", "healthcare", "advanced",
    "trend", "radiology", "say", "says", "said", "per", "according", "our", "we", "they", "them", "there", "about",
    "what", "which", "who", "whom", "how", "use", "used", "using", "still", "yet", "also", "currently", "current",
    "now", "such", "other", "some", "more", "most", "much", "very", "soon", "anytime", "these", "those", "then",
    "before", "prior", "after", "on", "in", "of", "to", "as", "by", "or", "an", "it", "is", "be", "at", "if",
    "may", "might", "suggest", "suggests", "whether", "possible", "possibly", "potential", "preliminary", "mention",
    "mentions", "state", "states", "write", "writes", "consider", "considers", "considered", "describe", "call",
    "calls", "called", "one", "way", "lot", "ever", "just", "only", "well",
})
_NEG = frozenset({"not", "never", "no", "n't", "nor", "cannot"})
_HEDGE = frozenset({"may", "might", "could", "suggest", "suggests", "suggested", "preliminary", "perhaps"})
_OPEN = frozenset({"whether"})
_POSSIBLE = frozenset({"possible", "potential", "future"})
_REACH = 4
"""Words before a matched word that a negation or hedge governs ("does not anticipate that …")."""
_PARTS = re.compile(r";|,\s*(?=(?:however|but|although|though|while|whereas)\b)|\b(?:however|but)\b", re.I)
_COMPARED = re.compile(r"\b(?:more|less|better|worse)\b[^?]*\bthan\b", re.I)
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|n't", re.I)

_READY = re.compile(
    r"\b(?:ready|routine(?:ly)?|regular(?:ly)?|standard(?: of care| practice)?|proven|established|accepted|"
    r"recommend\w*|endors\w*|support\w*|validated|reliable|effective|mainstream|evidence-based|"
    r"(?:included?|add(?:ed)?)\s+(?:\w+\s+){0,3}?(?:clinical\s+)?guidelines?)\b", re.I)
_NOT_READY_ASKED = re.compile(
    r"\b(?:investigational|experimental|unproven|not (?:yet )?(?:ready|proven|established|recommended)|"
    r"(?:still\s+)?(?:being|under)\s+(?:study|studied|investigation|research)|emerging|research(?:-only| only| tool)?)\b",
    re.I)
_NOT_YET = [
    re.compile(r"\bnot ready\b", re.I),
    re.compile(r"\b(?:do|does)\s+not\s+recommend\b", re.I),
    re.compile(r"\bfor possible inclusion\b", re.I),
    re.compile(r"\brequires? validation\b", re.I),
    re.compile(r"\bbeing studied\b", re.I),
]
"""A literature sentence saying a use is not established yet, strongest first."""


def asked(question: str) -> str | None:
    """The proposition a yes/no question asks of a document ("MRS is typically requested by
    academic institutions"), its subject and source phrases removed; None when it is no yes/no question."""
    last = [p for p in re.split(r"(?<=[.!?])\s+", question.strip()) if p.strip()]
    match = _ASKING.search(last[-1] if last else question)
    if match is None:
        return None
    rest = _SOURCE.sub(" ", match.group("rest"))
    return _SUBJECT.sub("", rest.strip(" ,"), 1).strip(" ,")


def _fold(text: str) -> str:
    for rx, word in _SYNONYMS:
        text = rx.sub(word, text)
    return text


def _tokens(text: str) -> list[str]:
    return [t.lower() for t in _TOKEN.findall(_fold(text).replace("’", "'"))]


def _stem(word: str) -> str:
    """The word's first five letters, past a tense or plural ending ("joined" and "join" agree)."""
    word = re.sub(r"(?<=\w{3})(?:ing|ed|es|s)$", "", word)
    return word[:5] if len(word) > 5 else word


def _content(tokens: Sequence[str]) -> list[str]:
    return [_stem(t) for t in tokens if len(t) >= 3 and t not in _STOP and t not in _NEG and not t.endswith("n't")]


_COORDINATED = frozenset({"or", "nor"})
_COORDINATED_REACH = 12
"""A negation reaches along a coordination ("does not directly or indirectly practice medicine or
dispense medical services": neither is done), this far back."""


def _governed(tokens: Sequence[str], wanted: set[str], words: frozenset[str]) -> bool:
    """True when one of ``words`` stands within reach before a token whose stem is wanted, or
    (for a negation) further back with an "or"/"nor" between that carries it to the token."""
    def found(w: str) -> bool:
        return w in words or (w.endswith("n't") and "n't" in words)

    for i, t in enumerate(tokens):
        if _stem(t) not in wanted:
            continue
        if any(found(w) for w in tokens[max(0, i - _REACH):i]):
            return True
        if words & _NEG:
            window = tokens[max(0, i - _COORDINATED_REACH):i]
            at = max((j for j, w in enumerate(window) if found(w)), default=None)
            if at is not None and _COORDINATED & set(window[at + 1:]):
                return True
    return False


def _stated(proposition: str, found: Sequence[Sentence], payers: dict[str, str]) -> Verdict | None:
    """Yes / no from the one sentence that holds every content word of the proposition."""
    if _COMPARED.search(proposition):
        return None  # a comparison's direction is ``answer.stance``'s to read
    q_tokens = _tokens(proposition)
    wanted = set(_content(q_tokens))
    if len(wanted) < 2:
        return None
    q_negated = any(t in _NEG or t.endswith("n't") for t in q_tokens)
    q_hedged = bool(set(q_tokens) & _HEDGE)
    best = []
    for s in found:
        s_tokens = _tokens(s.text)
        own = set(_content(s_tokens))
        if wanted <= own | set(_content(_tokens(s.section))) and len(wanted & own) >= 2:
            best.append((s, s_tokens))
    if len(best) != 1:
        return None  # none, or several sentences that might say different things
    s, _ = best[0]
    # the part of the sentence that holds most of the asked words decides ("…; however, this
    # technique requires validation" is read apart from the "may explain" before it)
    s_tokens = max((_tokens(part) for part in _PARTS.split(s.text)), key=lambda t: len(wanted & set(_content(t))))
    matched = wanted & set(_content(s_tokens))
    if _governed(s_tokens, matched, _OPEN):
        return None  # "to determine whether … is technically feasible": left open
    negated = _governed(s_tokens, matched, _NEG | {"n't"})
    # a possibility word the question uses itself is part of what it asks ("does it say future
    # studies are needed?" of "Future studies … are required"), not a hedge on it
    possible = _governed(s_tokens, matched, _POSSIBLE - set(q_tokens)) and not q_hedged
    if not negated and not possible and _governed(s_tokens, matched, _HEDGE) and not q_hedged:
        return None  # the sentence only hedges ("may explain"); the question asks it outright
    holds = not (negated or possible)
    claim = "yes" if holds != q_negated else "no"
    if claim == "yes":
        lead = "Yes"
    elif possible and not negated:
        lead = "No — only as a possibility"
    else:
        lead = "No — it says the opposite" if not q_negated else "No"
    return _verdict(lead, s, payers, claim)


def _topic_section(proposition: str, found: Sequence[Sentence]) -> list[Sentence]:
    """The sentences of the one section whose heading and text share the most topic words with the proposition."""
    wanted = set(_content(_tokens(_READY.sub(" ", _NOT_READY_ASKED.sub(" ", proposition)))))
    sections: dict[str, list[Sentence]] = {}
    for s in found:
        sections.setdefault(s.section, []).append(s)
    scored = sorted(
        ((len(wanted & set(_content(_tokens(" ".join([sec, *(s.text for s in ss)]))))), sec) for sec, ss in sections.items()),
        reverse=True)
    if not scored or scored[0][0] == 0 or (len(scored) > 1 and scored[1][0] == scored[0][0]):
        return []
    return sections[scored[0][1]]


def _readiness(proposition: str, found: Sequence[Sentence], payers: dict[str, str]) -> Verdict | None:
    """No when asked whether a use is ready / proven / recommended, yes when asked whether it is
    still studied / unproven, from the topic section's sentence that says it is not yet."""
    not_ready = bool(_NOT_READY_ASKED.search(proposition))
    ready = bool(_READY.search(proposition))
    if not_ready == ready or re.search(r"\bnot\b|n't\b", _NOT_READY_ASKED.sub(" ", proposition), re.I):
        return None
    section = _topic_section(proposition, found)
    for rx in _NOT_YET:
        s = next((s for s in section if rx.search(s.text)), None)
        if s is not None:
            lead = "Yes — it says it is not established yet" if not_ready else "No — it says it is not established yet"
            return _verdict(lead, s, payers, "yes" if not_ready else "no")
    return None


def from_literature(question: str, found: Iterable[Sentence], payers: dict[str, str]) -> Verdict | None:
    """Yes / no from what the document's own sentences say (``found``: its current, non-reference
    sentences); None when the question is no yes/no question or no sentence's shape answers it."""
    proposition = asked(question)
    if not proposition:
        return None
    found = list(found)
    return _stated(proposition, found, payers) or _readiness(proposition, found, payers)


def content_words(text: str) -> set[str]:
    """The stems the stated reading matches on (stop words, negations and short words aside)."""
    return set(_content(_tokens(text)))


def from_sentences(proposition: str, found: Iterable[Sentence], payers: dict[str, str]) -> Verdict | None:
    """Yes / no from the one sentence of ``found`` that holds every content word of the
    proposition, by its polarity (the *stated* reading above, for any document's sentences);
    None when no single sentence holds them or it only hedges."""
    return _stated(proposition, list(found), payers)


def _verdict(lead: str, s: Sentence, payers: dict[str, str], claim: str) -> Verdict:
    text = f'{lead}: {payers.get(s.policy_id, s.policy_id)} ({s.policy_id}) writes "{s.text.rstrip(".")}" [{s.clause_id}].'
    return render("", [VerdictClaim(text=text, clause_ids=[s.clause_id])], "clause", claim)
