"""Care-setting questions: "Does Cohere restrict MRS to the outpatient setting?", "Is MRS
covered inpatient under HealthHelp?" — answered from the clause where a policy names its
settings (Cohere's level of care: "Inpatient or Outpatient"); a policy that names none does
not address it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from mrs_assist.answer.verdict import not_addressed, per_payer, render
from mrs_assist.schemas import Verdict, VerdictClaim

_SETTINGS = ("inpatient", "outpatient")
_SETTING = re.compile(r"\b(?:in|out)-?patients?\b", re.I)
_OWN = re.compile(r"\b(?:only|just|solely|exclusively)\s+(?:(?:as|an?|the|for|in)\s+){0,2}$", re.I)
"""A restricting adverb right before one setting: that alternative's own ("only as an outpatient")."""
_RESTRICT = re.compile(r"\b(?:restrict\w*|limit\w*|only|confined|exclusively)\b", re.I)
_ALLOWED = re.compile(
    r"\b(?:cover\w*|approv\w*|allow\w*|permit\w*|bill\w*|done|perform\w*|ok|okay|acceptable|authori[sz]\w*|eligible)\b", re.I)
"""An allowance asked of the one setting named ("is 76390 covered for inpatients?"): whether that setting is allowed."""
ALLOWED = "allowed in "
"""How ``setting_asked`` marks a question whether one setting is allowed at all ("allowed in inpatient")."""


def setting_asked(question: str) -> str | None:
    """The setting a question asks whether MRS is restricted to ('inpatient' / 'outpatient'), or
    'both' when it names both settings and asks whether each is allowed ("can it be reviewed for
    an inpatient stay as well as outpatient?"); else None."""
    found = _SETTING.search(question)
    if found is None:
        return None
    mentions = list(_SETTING.finditer(question))
    named = {m.group(0).lower().replace("-", "").removesuffix("s") for m in mentions}
    restrict = _RESTRICT.search(question)
    # "can it be done inpatient, or outpatient only?", "only as an outpatient, or inpatient too?": the
    # restriction is one alternative's own; the question asks whether the other is allowed too, as
    # "inpatient as well as outpatient?" does
    if restrict and named == set(_SETTINGS) \
            and re.search(r"\bor\b", question[mentions[0].end():mentions[-1].start()], re.I) \
            and (restrict.start() > mentions[0].end() or any(_OWN.search(question[:m.start()]) for m in mentions)):
        return "both"
    if restrict:
        return found.group(0).lower().replace("-", "").removesuffix("s")
    if named == set(_SETTINGS):
        return "both"
    # "can 76390 be billed in the inpatient setting?": whether the one setting named is allowed
    return ALLOWED + next(iter(named)) if _ALLOWED.search(question) else None


def setting_clauses(clauses: Iterable) -> dict[str, tuple[str, str]]:
    """Policy → (clause id, text) of the short clause naming its care settings (read once)."""
    out: dict[str, tuple[str, str]] = {}
    for c in clauses:
        if len(c.text) <= 80 and _SETTING.search(c.text) and c.policy_id not in out:
            out[c.policy_id] = (c.id, c.text)
    return out


def from_setting(setting: str, named: Mapping[str, tuple[str, str]], payers: Mapping[str, str], *,
                 every: bool = False, heads: Mapping[str, str] | None = None) -> Verdict | None:
    """Per policy asked: no, when its setting clause names both settings; yes when only the one
    asked; not addressed when no policy asked names a setting. ``every``: the question asks it of
    each payer ("under all payers?"), so a payer that names no setting is a row of its own, citing
    its criteria's head clause (``heads``: policy → clause id), and the payers together then
    depend on which is asked."""
    claims, kinds = [], []
    unnamed = [pid for pid in payers if pid not in named]
    for pid, payer in payers.items():
        if pid not in named:
            continue
        cid, text = named[pid]
        listed = {s for s in _SETTINGS if re.search(rf"\b{s[:-7]}-?patient\b", text, re.I)}
        if setting == "both":  # "inpatient as well as outpatient?": yes only when it names each
            if listed == set(_SETTINGS):
                line, kind = f'Yes — {payer} ({pid}) names both settings: "{text}" [{cid}].', "yes"
            elif listed:
                line, kind = f'No — {payer} ({pid}) names only one setting: "{text}" [{cid}].', "no"
            else:
                continue
        elif setting.startswith(ALLOWED):  # "covered for inpatients?": yes where it names that setting
            wanted = setting.removeprefix(ALLOWED)
            if wanted in listed:
                line, kind = f'Yes — {payer} ({pid}) names the {wanted} setting: "{text}" [{cid}].', "yes"
            elif listed:
                line, kind = f'No — {payer} ({pid}) names only the other setting: "{text}" [{cid}].', "no"
            else:
                continue
        elif listed == set(_SETTINGS):
            line, kind = f'No — {payer} ({pid}) names both settings: "{text}" [{cid}].', "no"
        elif listed == {setting}:
            line, kind = f'Yes — {payer} ({pid}) names only that setting: "{text}" [{cid}].', "yes"
        else:
            continue
        claims.append(VerdictClaim(text=line, clause_ids=[cid]))
        kinds.append(kind)
    if claims and every and unnamed:
        for pid in unnamed:
            if (head := (heads or {}).get(pid)) is None:
                return None  # a payer asked of whose criteria nothing can be cited: not answered here
            claims.append(VerdictClaim(text=f"Not addressed — {payers[pid]} ({pid}) names no care setting in its "
                                            f"criteria [{head}].", clause_ids=[head]))
            kinds.append("not_addressed")
    if not claims:
        names = " or ".join(f"{payers[p]} ({p})" for p in payers)
        return not_addressed(f"Not addressed — {names} names no care setting (inpatient or outpatient) for MRS; "
                             "the closest text follows.") if payers else None
    lead = "Whether MRS is allowed in both settings, by payer:" if setting == "both" else \
        "Whether MRS is allowed in that setting, by payer:" if setting.startswith(ALLOWED) else \
        "Whether MRS is restricted to that setting, by payer:"
    if every and len(claims) > 1 and "no" in kinds:  # "do all payers restrict it?": one payer's no answers it
        return render(f"No — not every payer; {lead[0].lower()}{lead[1:]}", claims, "criteria", "no")
    return per_payer(claims, kinds, lead)
