"""What a yes / no question's "yes" means: "Does NIA consider MRS for epilepsy investigational?"
is answered yes where NIA calls it so, and "Does Cohere deny MRS in that case?" yes where the
case does not meet Cohere's criteria — not with the coverage claim, whose "no" would say the
opposite of the sentence that follows it.

The predicate is the one the asking sentence names: investigational or denied; covered when it
names coverage too ("approvable or still E/I?") or neither.
"""

from __future__ import annotations

import re

from mrs_assist.answer.verdict import FLAG_LEAD
from mrs_assist.schemas import Verdict, VerdictClaim

_COVERED = re.compile(
    r"\b(?:cover(?:s|ed|age)?|approv\w*|authori[sz]\w*|allow\w*|medically necessary|appropriate|meets?|"
    r"eligible|pay for)\b", re.I)
_INVESTIGATIONAL = re.compile(r"\b(?:investigational|experimental|unproven|e/i)\b", re.I)
_DENIED = re.compile(
    r"(?:\bnot|n't|\bnever)\s+(?:be\s+)?(?:considered\s+)?(?:cover|approv|allow|pay|medically necessary|appropriate)\w*"
    r"|\bnon-?covered\b"
    # the payer's act, not a patient who "denies headaches"
    r"|\b(?:does|do|would|will|should|must|can|could|is|are|be)\b[^?.;]{0,60}?\b(?:deny|denied|an?\s+(?:[\w-]+\s+)?denial)\b"
    r"|\b(?:grounds|reason|basis)\s+(?:for|to)\s+den\w+", re.I)
_LISTED = re.compile(
    r"\b(?:list|lists|listed|include|includes|included|name|names|named)\b[^?]{0,60}?\b(?:as\s+(?:an?\s+)?)?"
    r"(?:(?:MRS|brain MRS|covered)\s+)?(?<!non-)indications?\b"
    r"|\bamong\s+(?:its|the|their)\s+(?:[\w-]+\s+){0,2}(?<!non-)indications\b", re.I)
"""'Does HealthHelp still include Krabbe disease as an MRS indication?': whether it is listed,
not whether it is covered without conditions."""
_LEADS = re.compile(r"^(?:Yes|No) — |^It depends — ")


PREMISE = re.compile(
    # "Given that NIA calls it investigational, would NIA deny it?": a leading premise ends at its comma
    r"(?:^|(?<=[:;]))\s*(?:given that|considering that|even though|although)\b[^?.;,]*,"
    r"|,?\s*\b(?:given that|considering that|even though|although)\b[^?.;]*"
    # "The 2024 summary of changes says an ataxia indication was added, so this is covered, right?"
    r"|[^?.;]*,\s*(?:and\s+)?(?:so|therefore|thus|hence|which means)\b(?!\s+(?:far|that|much|long)\b)", re.I)
"""A premise the question grants ("…, given that HH says it added an ataxia indication?", "X says
…, so is it covered?"): it does not change what is asked (the current position, not the history)."""


def _asking(question: str) -> str:
    """The sentence that asks, less a premise it grants ("NIA calls it investigational, so would it
    be denied?" asks whether it is denied)."""
    parts = [p for p in re.split(r"(?<=[.!?])\s+", question.strip()) if p.strip()]
    asking = [p for p in parts if p.rstrip().endswith("?")]
    return PREMISE.sub("", asking[-1] if asking else question)


def asked_predicate(question: str) -> str:
    """'listed', 'investigational', 'denied' or 'covered': what a yes answers in the asking sentence."""
    asking = _asking(question)
    if _LISTED.search(asking) and not _DENIED.search(asking) and not _INVESTIGATIONAL.search(asking):
        return "listed"
    found = [name for name, rx in (("denied", _DENIED), ("investigational", _INVESTIGATIONAL)) if rx.search(asking)]
    if len(found) != 1 or _COVERED.search(_DENIED.sub(" ", asking)):
        return "covered"  # both asked ("can I deny, or approve …?", "approvable or still E/I?"): the coverage claim
    return found[0]


_INVESTIGATIONAL_NOTE = "not called experimental/investigational; "
_LISTED_NOTE = "listed, under conditions: "


def as_asked(verdict: Verdict, predicate: str, investigational: bool) -> Verdict:
    """The verdict's claim (and the lead of its one sentence) for the predicate asked.
    ``investigational``: the policy calls what decided it experimental/investigational.
    Denied flips yes and no; investigational is yes only where the policy calls it so, and
    no where it covers it (under conditions or not) or merely does not list it; an open case
    stays open. Verdicts of several sentences (several payers) are left as they are; a safety
    flag's row beside the one answer is no second answer ("would HH deny it?" of a case that
    meets HealthHelp's criteria and names a recent stent is no)."""
    answers = [i for i, c in enumerate(verdict.claims) if not c.text.startswith(FLAG_LEAD)]
    if predicate == "covered" or len(answers) != 1 or verdict.claim not in ("yes", "no", "only_if", "depends"):
        return verdict
    old = verdict.claim
    if predicate == "listed":  # listed with conditions is listed; not listed or investigational stays no
        if old != "only_if" or verdict.basis != "criteria":
            return verdict
        new, note = "yes", _LISTED_NOTE
    elif predicate == "denied":
        new = {"yes": "no", "no": "yes"}.get(old, old)
        note = ""
    elif investigational:
        new, note = "yes", ""
    elif verdict.basis == "checker" and old == "depends":
        new, note = old, ""
    else:
        new, note = "no", _INVESTIGATIONAL_NOTE
    if new == old and not note:
        return verdict
    claim = verdict.claims[answers[0]]
    body = _LEADS.sub("", claim.text, count=1)
    if body is claim.text or body == claim.text:  # "Only if …" keeps its own words after the new lead
        body = claim.text[0].lower() + claim.text[1:]
    lead = {"yes": "Yes", "no": "No"}.get(new, "It depends")
    text = f"{lead} — {note}{body}"
    claims = list(verdict.claims)
    claims[answers[0]] = VerdictClaim(text=text, clause_ids=list(claim.clause_ids))
    whole = text if len(claims) == 1 else verdict.text.replace(claim.text, text, 1)
    return verdict.model_copy(update={"text": whole, "claim": new, "claims": claims})
