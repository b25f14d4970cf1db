"""Exclusion questions: "Is an MR-conditional pacemaker by itself a non-indication?", "Does
claustrophobia exclude a patient under Cohere?", "Is a cochlear implant a contraindication
for HealthHelp?" — answered from each policy's own exclusion and safety lists.

The item the question names is read by the note reader (so "MR-conditional" reads as a safe
device); the verdict says per policy whether a listed exclusion applies (yes), whether it is
only a safety note the reviewer weighs (a contraindication list: yes when asked about
contraindications; otherwise no, it does not exclude), or that none applies (no).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from mrs_assist.answer.verdict import cite_ids, not_addressed, render
from mrs_assist.schemas import Verdict, VerdictClaim

EXCLUDE = re.compile(
    r"\b(?:exclu\w*|non-?\s?indications?|contra-?\s?indicat\w*|disqualif\w*|preclude\w*|"
    r"rules? out (?:mrs|coverage|approval)|"
    # "does the pump rule MRS out?": the object between the verb and its particle
    r"rul(?:e|es|ed|ing)\s+(?:the\s+)?(?:mrs|mr spectroscopy|spectroscopy|it|study|scan|coverage|approval)\s+out|bars?|reason (?:to|for) den\w*|auto(?:matic(?:ally)?)?[- ]?den\w*|hard[- ]stops?|"
    # "does Cohere consider aneurysm clips a reason not to approve MRS?"
    r"(?:reasons?|grounds?)\s+(?:not\s+to|against)\s+(?:approv|cover|authori[sz]|allow|perform|do)\w*|reasons? to refuse|"
    # "is pregnancy a reason Cohere would deny MRS?"
    r"(?:reasons?|grounds?)\s+(?:(?:that|why)\s+)?(?:[\w'’]+\s+){1,3}?(?:would|will|could|might|may|can|must|should)\s+den(?:y|ies)|"
    # "is an insulin pump a reason for HealthHelp to deny MRS?"
    r"(?:reasons?|grounds?)\s+for\s+(?:[\w'’]+\s+){1,3}?to\s+(?:deny|refuse|reject|decline)|"
    r"means? (?:a |automatic )?denial|grounds for denial|den(?:y|ied|ial) (?:because|for|on account)|"
    r"(?:make|makes|render|renders)\s+(?:[\w-]+\s+){0,4}(?:not medically|medically inappropriate|inappropriate|"
    r"medically unnecessary|unnecessary)|"
    r"(?:kill|kills|sink|sinks|block|blocks|torpedo\w*|doom\w*)\s+(?:the\s+|this\s+|an?\s+|my\s+)?(?:mrs\s+)?"
    r"(?:request|case|approval|auth\w*|study)|flag(?:s|ged)?\s+(?:that|this|it|them)|safety flag|"
    # "does the 3-month rule still block MRS if …?": whether a bar applies
    r"(?:block|blocks|blocked|bar|bars|barred|prevent|prevents)\s+(?:the\s+)?(?:mrs|mr spectroscopy|spectroscopy|it|coverage|approval)|"
    # "is MRS automatically not appropriate?", "outright ineligible": a coverage word denied without condition
    r"(?:automatic(?:ally)?|outright|categorical(?:ly)?|per se|by default)\s+(?:(?:be|is|are)\s+)?"
    r"(?:(?:not|never)\s+(?:be\s+)?(?:appropriate|covered|coverable|approv\w*|allowed|indicated|medically necessary|eligible|payable|"
    r"authori[sz]\w*)|inappropriate|ineligible|unnecessary|non-?covered|uncovered|exclud\w*|reject\w*|refus\w*|disallow\w*))\b",
    re.I,
)
CONTRA = re.compile(r"\bcontra-?\s?indicat\w*", re.I)
LIST_WORD = re.compile(r"\b(?:exclu\w*|non-?\s?indications?|contra-?\s?indicat\w*)", re.I)
"""Words naming a policy's own lists (not a denial): the lists answer, whatever the question names."""
_ABSOLUTE = re.compile(
    r"\b(?:absolute(?:ly)?|automatic(?:ally)?|by itself|on its own|in itself|per se|outright|categorical(?:ly)?|"
    r"hard[- ]stop|always|auto(?=[- ]?den))\b", re.I)
"""The question asks whether an item bars the study outright, not whether the policy lists it."""
_FLAG = re.compile(r"\bflag(?:s|ged)?\b", re.I)
JUDGING = re.compile(r"\b(?:consider|considers|regard|regards|deem|deems|view|views|classif(?:y|ies))\b", re.I)
"""A payer's verb of judging ("does HealthHelp consider X a contraindication?"): no word of the item."""
_QUALIFIED = re.compile(
    r"\bincompatible\b|\bnot\s+(?:MRI?[- ]?)?(?:compatible|conditional|safe)\b|\bnon-?\s?(?:MRI?[- ]?)?(?:compatible|conditional)\b"
    r"|\bMRI?[- ]unsafe\b", re.I)
"""An item the policy lists only for a device that is not MRI-compatible ("pacemakers that are not
MRI-compatible", "incompatible implantable devices")."""
_COMPATIBILITY_STATED = re.compile(r"compatib|conditional|\bMRI?[- ]?(?:safe|unsafe)\b|\blegacy\b", re.I)
"""The question says whether the device is MRI-compatible (either way)."""


def compatibility_open(item_texts: Sequence[str], question: str) -> bool:
    """Every listed item names the device only when it is not MRI-compatible, and the question
    says nothing of its compatibility: whether it excludes turns on that."""
    return bool(item_texts) and all(_QUALIFIED.search(t) for t in item_texts) and not _COMPATIBILITY_STATED.search(question)


@dataclass(frozen=True)
class ListedItem:
    """One exclusion or safety item of a policy, with its clause ids."""

    fact: str
    label: str
    clause_ids: tuple[str, ...]
    contraindication: bool = False
    """The item sits under a 'contraindicated' heading (HealthHelp's list), not a discretion note."""
    condition: str = ""
    """A further condition the item's own clause joins to it ("…, and MRS requires contrast
    administration"): the note applies only where that holds ('' when none)."""
    text: str = ""
    """The item's own clause text ('' when unknown)."""


_JOINED_CONDITION = re.compile(r",\s+and\s+(?P<condition>[^.;]+)")
_WORD = re.compile(r"[a-z]{4,}")
_COMMON = frozenset({"with", "that", "where", "when", "which", "patient", "patients", "requires", "require", "required"})


_NAMES_ITEM = 0.6
"""Share of a listed item's own words the question must use to be naming that item."""


def resembles(question: str, text: str) -> bool:
    """True when the question uses most of a listed item's own words ("advanced imaging of the
    same body part within 3 months without new symptoms" names Cohere's non-indication 1)."""
    def stems(t: str) -> set[str]:
        return {w[:5] for w in _WORD.findall(t.lower())} - {w[:5] for w in _COMMON}
    words = stems(text)
    return len(words) >= 3 and len(words & stems(question)) / len(words) >= _NAMES_ITEM


_EXAMPLES = re.compile(r"\((?:e\.?g\.?,?\s*|eg,?\s*|such as\s+|including\s+)?(?P<list>[^()]{3,200})\)", re.I)


def named_examples(question: str, items: Sequence[ListedItem]) -> dict[str, bool]:
    """Fact → True for each listed item one of whose clause's own examples the question names
    ("Incompatible implantable devices (e.g., pacemakers, defibrillators, cardiac valves)" and "is a
    cardiac valve a non-indication?"): the policy's own words, where the note reader has none."""
    found: dict[str, bool] = {}
    for item in items:
        for match in _EXAMPLES.finditer(item.text):
            for example in re.split(r",\s*|\s+(?:and|or)\s+", match.group("list")):
                words = [w for w in re.findall(r"[a-z]+", example.lower())]
                if not words or not any(len(w) >= 4 for w in words) or len(words) > 4:
                    continue
                pattern = r"\s+".join(rf"{re.escape(w.removesuffix('s'))}s?" for w in words)
                if re.search(rf"\b{pattern}\b", question, re.I):
                    found[item.fact] = True
    return found


def joined_condition(clause_text: str) -> str:
    """The condition a safety item's first sentence joins with ", and …" ("Patients with renal
    insufficiency where gadolinium contrast is contraindicated, and MRS requires contrast
    administration." → "MRS requires contrast administration"); '' when none."""
    first = re.split(r"(?<=[a-z)])\.\s", clause_text.strip(), maxsplit=1)[0]
    match = _JOINED_CONDITION.search(first)
    return match.group("condition").strip() if match else ""


def _unstated(condition: str, question: str) -> bool:
    """True when the question states none of the condition's own words (beyond common ones)."""
    words = set(_WORD.findall(condition.lower())) - _COMMON - {"mrs"}
    return bool(words) and not any(w in question.lower() for w in words)


def _cited(items: Sequence[ListedItem]) -> tuple[list[str], str]:
    """The items' clause ids and their labels joined ("a; b"), as a claim cites and names them."""
    return [c for i in items for c in i.clause_ids], "; ".join(dict.fromkeys(i.label for i in items))


@dataclass(frozen=True)
class PolicyLists:
    """What ``from_exclusion`` needs of one policy."""

    policy_id: str
    payer: str
    exclusions: list[ListedItem] = field(default_factory=list)
    safety: list[ListedItem] = field(default_factory=list)
    head: str | None = None
    """The exclusion list's lead-in clause, cited when no exclusion applies."""


def from_exclusion(question: str, facts: Mapping[str, bool | None], policies: Sequence[PolicyLists], *,
                   named: bool, every: bool = False, apart: bool = False) -> Verdict | None:
    """Per policy: does a listed exclusion apply to what the question names? ``facts``: what the
    note reader read in the question, None for an item it read as hedged ("possible metallic
    foreign body"). ``every``: the question asks it of each payer ("a hard stop under both
    HealthHelp and Cohere?"): no when one payer's answer is no. ``apart``: the question asks of
    its items one by one ("Is X a non-indication? What about Y?"): a safety note beside a listed
    exclusion gets its own "no", not the exclusion's "yes". None when the question names
    nothing any list covers and no policy with an exclusion list was asked."""
    # "does HealthHelp flag that?"; not "is it an absolute contraindication?", which asks for a bar
    asks_contra = bool(CONTRA.search(question) or _FLAG.search(question)) and not _ABSOLUTE.search(question)
    if named and policies and all(not p.exclusions and not p.safety for p in policies):
        names = " or ".join(f"{p.payer} ({p.policy_id})" for p in policies)
        return not_addressed(f"Not addressed — {names} lists no exclusions, non-indications or contraindications "
                             "for MRS; the closest text follows.")
    claims: list[VerdictClaim] = []
    kinds: list[str] = []
    silent: list[PolicyLists] = []
    answered: list[str] = []
    for policy in policies:
        who = f"{policy.payer} ({policy.policy_id})"
        excluded = [i for i in policy.exclusions if facts.get(i.fact) is True]
        flagged = [i for i in policy.safety if facts.get(i.fact) is True]
        hedged = [i for i in policy.exclusions if i.fact in facts and facts[i.fact] is None]
        partial = [i for i in policy.safety if i.fact in facts and facts[i.fact] is None]
        if excluded and compatibility_open([i.text for i in excluded], question):
            # the list names the device only when it is not MRI-compatible, and the question does not say
            ids, what = _cited(excluded)
            text = (f"It depends — {who} lists it as a non-indication only when it is not MRI-compatible: {what} "
                    f"{cite_ids(ids)}; the question does not say whether it is.")
            kind = "depends"
        elif excluded:
            ids, what = _cited(excluded)
            text, kind = f"Yes — {who} lists it as a non-indication: {what} {cite_ids(ids)}.", "yes"
        elif hedged:
            # exclusions are closed-world: a listed one applies once documented, and the
            # question states it only as possible or suspected
            ids, what = _cited(hedged)
            text = (f"It depends — {who} lists it as a non-indication once documented: {what} {cite_ids(ids)}; "
                    "the question states it only as possible, so it turns on whether it is confirmed.")
            kind = "depends"
        elif flagged and asks_contra and any(i.contraindication for i in flagged):
            items = [i for i in flagged if i.contraindication]
            ids, what = _cited(items)
            text = (f"Yes — {who} lists it where MRI may be contraindicated: {what} {cite_ids(ids)}; "
                    "a safety flag for the reviewer, not by itself a denial.")
            kind = "yes"
        elif flagged and (open_ := [i for i in flagged if i.condition and _unstated(i.condition, question)]):
            ids, what = _cited(open_)
            condition = "; ".join(dict.fromkeys(i.condition for i in open_))
            text = (f"It depends — {who} lists {what} as a note for the reviewer that applies where {condition} "
                    f"{cite_ids(ids)}; the question does not say so, and it is not a non-indication by itself.")
            kind = "depends"
        elif flagged:
            ids, what = _cited(flagged)
            text = (f"No — {who} does not exclude it: {what} is a safety note for the reviewer {cite_ids(ids)}, "
                    "not a reason to deny by itself.") if len({i.label for i in flagged}) == 1 else (
                    f"No — {who} excludes none of them: {what} are safety notes for the reviewer {cite_ids(ids)}, "
                    "none a reason to deny by itself.")
            kind = "no"
        elif partial:
            # a note named without all its own clause joins to it ("renal insufficiency", no gadolinium)
            ids, what = _cited(partial)
            text = (f"It depends — {who} lists {what} as a note for the reviewer {cite_ids(ids)}; the question does not "
                    "state all the note names, and it is not a non-indication by itself.")
            kind = "depends"
        elif policy.head and (named or policy.exclusions):
            if any(resembles(question, i.text) for i in policy.exclusions):
                return None  # the question words a listed item the reader did not read: not a "no"
            ids = [policy.head]
            text, kind = f"No — none of {who} non-indications applies to what the question names {cite_ids(ids)}.", "no"
        else:
            silent.append(policy)  # no list of its names what the question does, and it has no exclusion list to cite
            continue
        claims.append(VerdictClaim(text=text, clause_ids=list(dict.fromkeys(ids))))
        kinds.append(kind)
        answered.append(policy.payer)
        listed = {i.fact for i in [*excluded, *hedged]}
        if apart and listed and (notes := [i for i in flagged if i.fact not in listed]):
            ids, what = _cited(notes)
            claims.append(VerdictClaim(text=f"No — {who} does not exclude {what}: a safety note for the reviewer "
                                            f"{cite_ids(ids)}, not a reason to deny by itself.", clause_ids=list(dict.fromkeys(ids))))
            kinds.append("no")
            answered.append(policy.payer)
    if not claims and named and silent:
        names = " or ".join(f"{p.payer} ({p.policy_id})" for p in silent)
        return not_addressed(f"Not addressed — {names} lists nothing the question names among its exclusions, "
                             "non-indications or contraindications; the closest text follows.")
    if not claims:
        return None
    claim = kinds[0] if len(set(kinds)) == 1 else "depends"
    lead = "" if len(claims) == 1 else "Whether it excludes MRS, by payer:" if not apart else \
        "It depends on the item; whether each excludes MRS:" if len(set(kinds)) > 1 else "Whether each item excludes MRS:"
    if every and len(set(kinds)) > 1 and "no" in kinds:
        refusing = [payer for payer, k in zip(answered, kinds, strict=True) if k == "no"]
        claim, lead = "no", f"No — not under every payer asked: {' or '.join(refusing)} does not exclude it; by payer:"
    return render(lead, claims, "criteria", claim)
