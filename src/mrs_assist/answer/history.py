"""'Does NIA still list X?': answered from the policy's own struck-through (deleted) language.

The curated corpus keeps a policy's deleted passages (``Clause.deleted``,
``Clause.deleted_text``) but never cites them. A question asking whether a payer *still*
lists, covers or includes something is answered "no" when its words are found in the
payer's deleted language and in none of its current, non-history clauses; the verdict cites
the current list the passage is no longer part of. Anything else is left to retrieval.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from mrs_assist.answer.verdict import cite_ids, render
from mrs_assist.schemas import Verdict, VerdictClaim

_STILL = re.compile(
    r"\bstill\s+(?:list|cover|include|name|mention|call|consider|recogni[sz]e|allow|approve|contain|carry|keep|"
    r"have|has|had|having)(?:s|d|ed|ing)?\b\s*(?P<rest>[^?]*)", re.I)
_PATIENT_HAS = re.compile(r"\b(?:pt|patient|member|child|kid|he|she|they|symptoms?|sx|seizures?)\s+$", re.I)
"""The subject right before "still has …" is the patient (a stated case), not the payer."""
_QUOTED = re.compile(r"(?<!\w)[‘'\"“](?P<q>[^'\"”’]{6,})[’'\"”](?!\w)")
"""Quoted words; an apostrophe inside a word ("Florida Blue's", "Alzheimer's") opens no quote."""
_WORD = re.compile(r"[a-z]{3,}")
_STOP = frozenset({"the", "and", "for", "with", "mrs", "any", "its", "their", "that", "this", "from", "under", "vs", "versus",
                   # words for a part of the document, not what it said ("the cystic lesions paragraph")
                   "paragraph", "section", "passage", "language", "wording", "text", "bullet",
                   # the list it was an item of ("the old cystic lesion indication"), not what it listed
                   "indication", "indications", "list", "lists", "statement", "statements"})
_SHARE = 0.8
"""Share of the asked words a passage must contain to be the one the question names."""


_STILL_IN = re.compile(
    r"\b(?:is|are)\s+(?P<subject>[^?]{2,160}?)\s+still\s+(?:in|part of|listed|included|there|present|current|"
    # "is the cystic-lesions section still active policy?": whether it is in force, in other words
    r"active|valid|effective|operative|applicable|good|live|on the books|the case|so|true)\b", re.I)
"""'Is NIA's old therapeutic follow-up indication still in the guideline?': the subject asks."""
_WHERE = re.compile(
    r"\s+(?:among|in|on|within|as (?:one of|an?|part of))\s+(?:[\w'’-]+\s+){0,4}?"
    r"(?:indications?|list|lists|guidelines?|polic(?:y|ies)|criteria|uses?|coverage)\b.*$", re.I)
_STUDY = re.compile(r"\s+(?:for|of|with|in)\s+(?:the\s+)?(?:brain\s+|proton\s+)?(?:MRS|MR spectroscopy|(?:magnetic resonance )?spectroscopy)"
                    r"(?:\s+(?:of|in)\s+the\s+brain)?\s*$", re.I)
"""'… a therapeutic follow-up indication for brain MRS': the study it is an indication for is
not a word of what was listed (every indication of the guideline is one for brain MRS)."""
_ASIDE = re.compile(r"\([^)]*\)|(?:\b[A-Z][\w-]*\s+)*\b[\w-]+['’]s\b|(?i:\b(?:old|former|original|previous|prior|earlier)\b)")
"""A gloss, an owner ("Florida Blue's", the whole name) and "old" are not what was listed."""


_STILL_STATUS = re.compile(
    r"\b(?:is|are)\s+(?P<subject>[^?]{2,80}?)\s+still\s+(?:considered\s+|deemed\s+|called\s+|classified\s+as\s+)?"
    r"(?:investigational|experimental|e/i|unproven)\b", re.I)
"""'Is MRS still investigational under Florida Blue?': the status itself is what is asked."""
_ANAPHOR = re.compile(r"^\s*(?:that|this|the same|these|those|it)\b\s*(?P<noun>[a-z]+)?", re.I)
_NOUNS = r"statement|indication|language|exception|criterion|criteria|section|list|definition|position"


_STATUS_WORD = re.compile(r"\b(?:investigational|experimental|unproven)\b", re.I)
_SAYING = re.compile(r"^(?:statement|language|position)$", re.I)


def _antecedent(question: str, noun: str) -> str:
    """'an investigational statement' for 'that statement': the noun with up to two words before
    it in a sentence before the one that asks; else, for a statement (language, position) that an
    earlier sentence reports without the noun ("the 2006 update named A and B as
    investigational"), the status it made (a statement that calls uses investigational is an
    investigational statement); '' when none."""
    before = [p for p in re.split(r"(?<=[.!?])\s+", question.strip()) if p.strip()][:-1]
    for sentence in reversed(before):
        match = re.search(rf"((?:[\w'’/-]+\s+){{0,2}}){noun}s?\b", sentence, re.I)
        if match:  # "an investigational list": what it held, not the container ("statement", "list")
            return " ".join(re.sub(r"\b(?:an?|the|added|its|their)\b", " ", match.group(1), flags=re.I).split())
    if _SAYING.match(noun):
        for sentence in reversed(before):
            if _STATUS_WORD.search(sentence):
                return "investigational"  # the status, as the policies' own entries word it
    return ""


def still_asked(question: str) -> str:
    """What a 'still lists …' question asks about (its quoted words, else the words after the
    verb, or the subject of "is X still in …", or what "that statement" refers to, or the status
    of "is MRS still investigational?"); '' when it asks no such thing."""
    match = _STILL.search(question)
    if match is not None and _PATIENT_HAS.search(question[:match.start()]):
        match = None  # "the patient still has seizures": the case, not the policy's list
    subject = _STILL_IN.search(question) if match is None else None
    if match is None and subject is None:
        return "investigational" if _STILL_STATUS.search(question) else ""
    if subject is not None and (anaphor := _ANAPHOR.match(subject.group("subject"))):
        noun = anaphor.group("noun") or ""
        if not noun:  # "is it still there?", "is that still the case?": what the sentence before it named
            return next((found for n in _NOUNS.split("|") if (found := _antecedent(question, n))), "") \
                or _antecedent(question, "statement")
        return _antecedent(question, noun) if re.fullmatch(_NOUNS, noun, re.I) else ""
    quoted = _QUOTED.search(question)
    if quoted:
        return quoted.group("q")
    if match is not None:  # "cystic lesions among its MRS indications": where it was listed is not what
        # a parenthetical gloss ("the therapeutic follow-up (tx response) indication") is no word of it
        return _STUDY.sub("", _WHERE.sub("", re.sub(r"\([^)]*\)", " ", match.group("rest"))))
    # its owner's name, a parenthetical gloss and "old" are not what was listed
    return _ASIDE.sub(" ", subject.group("subject"))


def _words(text: str) -> set[str]:
    """Content words, a plural's 's' dropped ("cystic lesion" names "cystic lesions")."""
    return {w[:-1] if len(w) > 4 and w.endswith("s") and not w.endswith("ss") else w
            for w in _WORD.findall(text.lower()) if w not in _STOP}


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
    if len(words) < 2 and words != {"investigational"}:  # the status alone: "is MRS still investigational?"
        return None
    # the sentence that deletes must carry the words ("Added X. Deleted Y." deletes Y, not X)
    entries = [(cid, text) for cid, text, spelled in history
               if any(_DELETED.search(part) and _share(words, part) >= _SHARE for part in re.split(r"(?<=[a-z)])\.\s+", spelled))]
    if not entries or max((_share(words, t) for t in current), default=0.0) >= _SHARE:
        return None
    cid, text = entries[0]
    claim = f'No — {payer} ({policy_id}) records it deleted: "{text}" [{cid}]; no current clause names it.'
    return render("", [VerdictClaim(text=claim, clause_ids=[cid])], "clause", "no")


# --- "did P add / delete / call … (in 2019)?" from the policy's own history entries ---------------
_PAST_ASKED = re.compile(
    r"(?:^|[:;,—–-]\s*)(?:did|has|have|had"
    # "was MS ever listed as investigational?": a was / were question marked as about the past
    r"|(?:was|were)(?=[^?]*\b(?:ever|once|previously|originally|formerly|at (?:one|some) (?:time|point)|in the past)\b)"
    # "was the TBI indication added by HealthHelp?": a passive event, not a state ("was it investigational in 2004?"
    # asks a state the entries, which record events, cannot date)
    r"|(?:was|were)(?=[^?]*\b(?:added|deleted|removed|introduced|dropped|struck|retired|inserted|"
    # "was the position statement changed since 2019?": a change is an event the entries record
    r"changed|revised|updated|modified|amended)\b))"
    r"\b(?P<rest>[^?]*)\?\s*$", re.I)
_ACTIONS = [
    (re.compile(r"\b(?:add(?:s|ed|ing)?|introduc\w*|inserted|insert)\b", re.I), " add "),
    (re.compile(r"\b(?:delet\w*|remov\w*|drop(?:s|ped)?|struck|strike|strik\w*|eliminat\w*|retir\w*|took out|take out|taken out)\b", re.I),
     " delete "),
    (re.compile(r"\b(?:revis\w*|chang\w*|edit\w*|modif\w*|amend\w*|updat\w*|switch\w*|mov(?:e|ed|ing)|reclassif\w*|"
                r"convert\w*|went|go)\b", re.I), " revise "),
    (re.compile(r"\b(?:experimental|e/i|unproven)\b", re.I), " investigational "),
    (re.compile(r"\bMS\b"), " multiple sclerosis "),
    (re.compile(r"\bTBI\b"), " traumatic brain injury "),
    (re.compile(r"\bHIE\b"), " hypoxic ischemic encephalopathy "),
]
_RELATION = frozenset({
    "ever", "once", "previously", "originally", "formerly", "before", "call", "called", "consider", "considered",
    "deem", "deemed", "list", "listed", "name", "named", "mention", "mentioned", "make", "made", "treat", "treated",
    "classify", "classified", "guideline", "policy", "mrs", "brain", "its", "their", "ever", "been", "have", "has",
    "was", "were", "did", "any", "among", "part", "version", "update", "review", "reviewed", "year", "month",
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
    "december", "the", "and", "for", "with", "that", "this", "from", "under", "into", "than", "magnetic",
    "resonance", "spectroscopy", "statement", "one", "time", "some", "point", "past", "since", "position", "stance",
    # whom a change concerns ("an exception for FEP members"), not a word the entry must carry
    "member", "members", "enrollee", "enrollees",
    # "did NIA update anything after 2019?": any entry of the action asked
    "anything", "something",
})
_YEAR = re.compile(r"\b(?:19|20)\d{2}\b")


_LATEST = re.compile(
    r"\b(?:in|with|during|by|at)\s+(?:its|the|their|his|her)\s+(?:latest|most\s+recent|last|newest|recent)\s+"
    r"(?:revision|update|version|review|round\s+of\s+changes|changes?|edition)s?\b", re.I)
"""'… in its latest revision': which entry is asked (the newest dated one), no word an entry records."""


_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december")
_BOUND = re.compile(r"\b(?P<how>since|after|before|prior to|until|up to)\s+(?:(?:the\s+)?(?:end|start|beginning)\s+of\s+)?"
                    r"(?:(?P<month>" + "|".join(_MONTHS) + r")\s+)?(?P<year>(?:19|20)\d{2})\b", re.I)
_DATED_ID = re.compile(r"\b(?P<year>(?:19|20)\d{2})-(?P<month>\d{2})\b")
"""An entry's year and month as its id spells them ("history.2021-02", "history.2023-09-30")."""


def _date_key(cid: str) -> tuple[int, int]:
    """An entry's (year, month) as its id spells them; month 0 when the id gives a year alone."""
    if dated := _DATED_ID.search(cid):
        return int(dated.group("year")), int(dated.group("month"))
    years = [int(y) for y in _YEAR.findall(cid)]
    return (max(years), 0) if years else (0, 0)


def _same_month(bound: re.Match, cid: str) -> bool:
    """True when the span asked starts at a month ("since February 2021") and the entry is dated
    in that month: the revision the span is counted from, not one made since it."""
    month = bound.group("month")
    dated = _DATED_ID.search(cid)
    return bool(month and dated and int(dated.group("year")) == int(bound.group("year"))
                and int(dated.group("month")) == _MONTHS.index(month.lower()) + 1)


def _within(bound: re.Match, holding: list[tuple[str, str, str]], who: str) -> Verdict | None:
    """Yes when an entry holding the words is dated inside the span asked ("since 2010": after
    it; "before 2005": before it), no when every one is dated outside it; None when one is undated."""
    year = int(bound.group("year"))
    after = bound.group("how").lower() in ("since", "after")
    since = bound.group("how").lower() == "since"
    dated = []
    for cid, text, own in holding:
        found = [int(y) for y in _YEAR.findall(f"{cid} {text}")]
        if not found:
            return None
        # "since 2019" counts 2019 itself, "after 2019" does not
        within = any((y >= year if since else y > year) if after else y < year for y in found)
        dated.append((cid, own, within and not (after and _same_month(bound, cid))))
    inside = [(cid, own) for cid, own, ok in dated if ok]
    if inside:
        cid, own = inside[-1] if after else inside[0]
        return render("", [VerdictClaim(text=f'Yes — {who} records it: "{own}" [{cid}].', clause_ids=[cid])], "clause", "yes")
    nearest = max if after else min  # the entry nearest the span asked
    cid, own, _ = nearest(dated, key=lambda d: _date_key(d[0]))
    span = " ".join(w for w in (bound.group("how").lower(), bound.group("month"), str(year)) if w)
    return render("", [VerdictClaim(text=f'No — not {span}: {who} records it as "{own}" [{cid}].', clause_ids=[cid])],
                  "clause", "no")


def _entry_words(text: str, part: re.Pattern[str] | None = None) -> set[str]:
    """The words an entry records, its actions as " add ", " delete ", " revise ". A sentence that
    keeps something as it was ("no change in position statement", "Maintain position statements")
    records no change; with ``part`` (the part of the document asked, "the position statement"),
    only a sentence naming that part records a change ("Updated references" changes the references)."""
    words: set[str] = set()
    for sentence in re.split(r"(?<=[.;,])\s+", text):  # "coverage statements maintained, references updated"
        own = _sentence_words(sentence)
        if part is not None and own & {"add", "delete"}:
            own.add("revise")  # adding to or deleting from the part asked changes it
        if _KEPT.search(sentence) or (part is not None and not part.search(sentence)):
            own -= _CHANGES
        words |= own
    return words


def _sentence_words(text: str) -> set[str]:
    for rx, word in _ACTIONS:
        text = rx.sub(word, text)
    # a plural names what the singular does ("its indications" / "… indication")
    return {re.sub(r"(?<=[a-rt-z])s$", "", w) for w in _WORD.findall(text.lower()) if w not in _STOP and w not in _RELATION}


_CHANGES = frozenset({"add", "delete", "revise"})
_KEPT = re.compile(r"\bno\s+changes?\b|\bunchanged\b|\bmaintain(?:s|ed)?\b|\bwithout\s+(?:any\s+)?changes?\b", re.I)
"""A sentence that keeps what it names as it was: no change to it."""
_PARTS = re.compile(r"\b(?:position|coverage)\s+statements?\b|\b(?:medical\s+necessity\s+)?criteria\b|\bindications?\b", re.I)
"""The parts of a guideline that state its coverage position (its position statement, criteria,
indications): asked by name, a change must name the part ("Updated references" changes none)."""


def _added_not_deleted(wanted: set[str], years: set[str], bound, entries: Iterable[tuple[str, str, str]],
                       who: str, current: Sequence[str]) -> Verdict | None:
    """'Did HealthHelp remove ataxia from its indications?': no, when its history records adding
    what is asked, no entry records deleting it and a current clause still names it (a "did P
    delete" question, no year asked); None otherwise."""
    if "delete" not in wanted or years or bound is not None:
        return None
    if not any(wanted - {"delete", "indication"} <= _entry_words(t) for t in current):
        return None  # struck since, or never current: not settled by the history alone
    added = wanted - {"delete"} | {"add"}
    if not wanted - {"delete"}:
        return None
    found = [(cid, own) for cid, text, own in entries if added <= _entry_words(text)]
    if not found:
        return None
    cid, own = found[0]
    claim = f'No — {who} records adding it, not deleting it: "{own}" [{cid}].'
    return render("", [VerdictClaim(text=claim, clause_ids=[cid])], "clause", "no")


def past_asked(question: str) -> bool:
    """True when the sentence that asks is a "did / has P …?" question."""
    last = [p for p in re.split(r"(?<=[.!?])\s+", question.strip()) if p.strip()][-1:]
    return bool(last and _PAST_ASKED.search(last[0]))


def from_entries(question: str, payer_names: Iterable[str], payer: str, policy_id: str,
                 entries: Iterable[tuple[str, str, str]], current: Sequence[str] = ()) -> Verdict | None:
    """Yes, when one of the policy's history entries (``entries``: clause id, the entry's text
    with its parents' — "July 2019", "Added the following …:" — shorthand spelled out, and its
    own text as written) holds every word of what a
    "did P …?" question asks ("Did NIA delete the therapeutic follow-up indication?"); no, when
    the entries that hold them all are dated in another year than the one asked; None otherwise."""
    last = [p for p in re.split(r"(?<=[.!?])\s+", question.strip()) if p.strip()][-1:]
    match = _PAST_ASKED.search(last[0]) if last else None
    if match is None:
        return None
    rest = match.group("rest")
    for name in sorted(payer_names, key=len, reverse=True):
        rest = re.sub(rf"(?<!\w){re.escape(name)}(?:['’]s)?(?!\w)", " ", rest, flags=re.I)
    latest = _LATEST.search(rest)
    rest = _LATEST.sub(" ", rest)
    years = set(_YEAR.findall(rest))
    bound = _BOUND.search(rest)
    # the span asked ("after 2024") bounds the entries; it is no word of theirs
    wanted = _entry_words(_YEAR.sub(" ", _BOUND.sub(" ", rest)))
    if not wanted or not wanted & {"add", "delete", "revise", "investigational"}:
        return None  # no action or status asked: not a history question
    # "has its position statement changed?": a change that names that part, not "Updated references"
    part = _PARTS if wanted & _CHANGES and _PARTS.search(rest) else None
    holding = [(cid, text, own) for cid, text, own in entries if wanted <= _entry_words(text, part)]
    if not holding:
        return _added_not_deleted(wanted, years, bound, entries, f"{payer} ({policy_id})", current)
    if bound is not None:  # "since 2010", "before 2005": a span of years, not one year
        return _within(bound, holding, f"{payer} ({policy_id})")
    if latest is not None and not years:
        # "did HealthHelp add MS in its latest revision?": the newest year any entry names is the one asked
        dated = [y for cid, text, _ in entries for y in _YEAR.findall(f"{cid} {text}")]
        if not dated:
            return None
        years = {max(dated)}
    dated = [(cid, own) for cid, text, own in holding if not years or years & set(_YEAR.findall(f"{cid} {text}"))]
    who = f"{payer} ({policy_id})"
    if dated:
        cid, own = dated[0]
        claim = f'Yes — {who} records it: "{own}" [{cid}].'
        return render("", [VerdictClaim(text=claim, clause_ids=[cid])], "clause", "yes")
    if not all(_YEAR.search(f"{cid} {text}") for cid, text, _ in holding):
        return None  # an undated entry might be the one asked
    cid, _, own = holding[0]
    claim = f'No — not in {", ".join(sorted(years))}: {who} records it as "{own}" [{cid}].'
    return render("", [VerdictClaim(text=claim, clause_ids=[cid])], "clause", "no")
