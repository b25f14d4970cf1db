"""Code questions: "Is 0698T listed by NIA?", "Do HealthHelp, Cohere or Florida Blue list
+0698T alongside 76390?" — answered per policy from the policy's own code clauses."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from mrs_assist.answer.verdict import cite_ids, per_payer, render
from mrs_assist.schemas import Verdict, VerdictClaim

CODE = re.compile(r"(?<![\w.])\+?(\d{4}[0-9T])\b")
YES_NO = re.compile(
    r"^\s*(?:\w+\s*[:,—-]\s*|(?:under|per|for|according\s+to)\s+[^,?]{1,60},\s*)?(?:is|are|does|do|did|can|could|should|will|would)\b"
    # "HH procedure code table -- anything besides 76390, and is that table meant to be exhaustive?"
    r"|(?:\s--|—|;|,\s*(?:and|or|but))\s*(?:is|are|does|do|did|can|could|should|will|would)\b[^?]*\?\s*$", re.I)


_ASKED = re.compile(
    r"\b(?:is|are|does|do)\s+(?:the\s+)?(?:cpt\s+|hcpcs\s+)?(?:codes?\s+)?\+?\d{4}[0-9T]\b"
    # … and then the listing itself, not another predicate ("is 76390 billed with contrast?" asks no list)
    r"(?=\s*(?:[?,;:)]|$|(?:and|or)\b|(?:still\s+)?(?:listed|included|named|recogni[sz]ed|valid|current|in|on|among|part|"
    r"appear\w*|show\w*|one|the|a|an|both|still)\b))"
    r"|\b(?:list|lists|listed|include|includes|included|carry|carries|use|uses|recogni[sz]e|recogni[sz]es)\s+(?:the\s+)?(?:cpt\s+|hcpcs\s+)?(?:code\s+)?"
    r"\+?\d{4}[0-9T]\b",
    re.I,
)


_BILLED_WITH = re.compile(
    r"\b(?:bill(?:s|ed)?|report(?:s|ed)?|cod(?:e|es|ed)|submit(?:s|ted)?)\s+(?:\w+\s+){0,2}?(?:with|under|using|as)\s+"
    r"(?:the\s+)?(?:cpt\s+|hcpcs\s+|code\s+)*\+?\d{4}[0-9T]\b"
    r"|\b(?:use|uses|using)\s+(?:the\s+)?(?:cpt\s+|hcpcs\s+|code\s+)*\+?\d{4}[0-9T]\b"
    r"|\+?\d{4}[0-9T]\s+(?:as\s+)?the\s+(?:cpt\s+|hcpcs\s+|procedure\s+|billing\s+)?code\b", re.I)
"""A code the question asks the policy to list, said another way ("is MRS billed with 70553?",
"do all four use CPT 76390?")."""
_PAYMENT = re.compile(r"\b(?:pay(?!ers?\b)\w*|reimburs\w*|fees?|rvus?|units?|modifiers?|same[- ]day)\b", re.I)
_NOT_CODES = re.compile(
    r"\b(?:cover\w*|approv\w*|medically|necessary|appropriate|criteria|indicat\w*|den(?:y|ied|ial)|authori[sz]\w*|"
    r"pay(?!ers?\b)\w*|reimburs\w*|fee|fees|rvus?|only|complete|other|another|besides|patient|member|same|together|"
    r"explain\w*|mean\w*|units?|modifiers?)\b", re.I)


_KIND_ASKED = re.compile(
    r"\+?\d{4}[0-9T]\s+(?:an?|the)\s+(?!(?:listed|included|named|recogni[sz]ed|valid|current|"
    # "is 76390 the CPT code for MRS?": the code set or the right code named, not a kind of code
    r"cpt|hcpcs|procedure|billing|billable|correct|right|proper|appropriate)\b)(?:[\w-]+\s+){1,2}codes?\b", re.I)
"""'Is 76390 an add-on code?': what kind of code it is, not whether a policy lists it."""


def codes_asked(question: str) -> list[str]:
    """The CPT/HCPCS codes a yes/no question asks whether a policy lists ("is 0698T listed",
    "do they list +0698T", "is MRS billed with 70553 under Florida Blue?"), without '+'; []
    otherwise ("is the table (76390 only) complete?", "is 76390 covered for MS?")."""
    asking = [p for p in re.split(r"(?<=[.!?])\s+", question.strip()) if p.strip()][-1:]
    if not YES_NO.search(question) or _PAYMENT.search(question) or _KIND_ASKED.search(question):
        return []  # "is 76390 subject to a payment reduction?", "is 76390 an add-on code?" ask no list
    # the narrow forms anywhere; else a billed-with form in the sentence that asks, with nothing
    # of coverage, payment or another code's question about it
    if not _ASKED.search(question) and not (asking and _BILLED_WITH.search(asking[0]) and not _NOT_CODES.search(question)):
        return []
    return list(dict.fromkeys(m.group(1).upper() for m in CODE.finditer(question)))


def from_codes(codes: Sequence[str], code_clauses: Mapping[str, tuple[str, list[tuple[str, str]]]],
               quantifier: str | None = None) -> Verdict | None:
    """Per policy, whether its code clauses list every code asked. ``code_clauses``: policy
    id → (payer, [(clause id, text)]); a policy without code clauses is left out.
    ``quantifier``: 'any' or 'none' when the question asks it of the payers together ("is 0698T
    listed by any payer?"): one yes / no for them all, the payers' rows beneath."""
    claims, kinds = [], []
    for pid, (payer, clauses) in code_clauses.items():
        if not clauses:
            continue
        who = f"{payer} ({pid})"
        listed = [c for c in codes if any(re.search(rf"(?<!\d){c}\b", text, re.I) for _, text in clauses)]
        holding = [cid for cid, text in clauses if any(re.search(rf"(?<!\d){c}\b", text, re.I) for c in codes)]
        if len(listed) == len(codes):
            text, kind, ids = f"Yes — {who} lists {', '.join(codes)} {cite_ids(holding)}.", "yes", holding
        else:
            ids = [cid for cid, _ in clauses]
            missing = [c for c in codes if c not in listed]
            text, kind = f"No — {who} code list does not include {', '.join(missing)} {cite_ids(ids)}.", "no"
        claims.append(VerdictClaim(text=text, clause_ids=ids))
        kinds.append(kind)
    if quantifier in ("any", "none") and len(claims) > 1:
        some = "yes" in kinds
        claim = "yes" if some == (quantifier == "any") else "no"
        lead = (f"{claim.capitalize()} — {'at least one payer lists' if some else 'no payer asked lists'} "
                f"{', '.join(codes)}; by payer:")
        return render(lead, claims, "criteria", claim)
    return per_payer(claims, kinds, "Whether each policy lists the code, by payer:")


# --- "is the code table the complete list?", "any code other than 76390?" ------------------------
_COMPLETE = re.compile(
    r"\b(?:complete|exhaustive|all[- ]inclusive|comprehensive|full|entire|every)\b[^?]{0,60}?\b(?:list|table|set|codes?)\b"
    r"|\b(?:list|table)\b[^?]{0,30}\b(?:complete|exhaustive|all[- ]inclusive)\b",
    re.I,
)
_INCOMPLETE = re.compile(
    r"\b(?:not\s+(?:an?\s+)?(?:list\s+of\s+all|all[- ]inclusive|exhaustive|complete)|"
    r"may\s+not\s+(?:represent|include|list|reflect|contain)\s+all|not\s+intended\s+to\s+be\s+(?:an?\s+)?(?:complete|exhaustive))\b",
    re.I,
)
_ABOUT = {"codes": re.compile(r"\bcodes?\b", re.I), "indications": re.compile(r"\bindications?\b", re.I)}
_OTHER = re.compile(
    r"\b(?:any|other|another|additional)\b[^?]{0,30}\bcodes?\b[^?]{0,20}?"
    r"\b(?:other\s+than|besides|apart\s+from|except|beyond|in\s+addition\s+to|alongside|beside)\s+\+?(\d{4}[0-9T])\b",
    re.I,
)


def completeness_asked(question: str) -> str | None:
    """'codes' or 'indications' when a yes/no question asks whether a policy's list is complete
    ("Is HealthHelp's procedure code table the complete list of billable codes?"); else None."""
    asks = [p for p in re.split(r"(?<=[.!?])\s+", question.strip()) if p.strip()][-1:]  # the sentence that asks
    if not asks or not YES_NO.search(asks[0]) or not _COMPLETE.search(question):
        return None
    for what in ("codes", "indications"):
        if _ABOUT[what].search(question):
            return what
    return None


def incompleteness_statements(clauses) -> list[tuple[str, str, str, str]]:
    """(policy id, clause id, about, statement) for every part of a clause that says a list of
    the policy's is not complete ("… Procedure Code Tables may not represent all codes …")."""
    out = []
    for clause in clauses:
        for sentence in re.split(r"(?<=[a-z)])\.\s+", clause.text):
            for part in re.split(r",\s+and\s+", sentence):
                if not _INCOMPLETE.search(part):
                    continue
                for about, rx in _ABOUT.items():
                    if rx.search(part):
                        out.append((clause.policy_id, clause.id, about, part.strip().rstrip(".")))
    return out


def from_completeness(about: str, statements: Sequence[tuple[str, str, str, str]], payers: Mapping[str, str]) -> Verdict | None:
    """No, per policy whose own text says its list of ``about`` is not complete; None when no
    policy asked says so (whether a list is complete is then not answered)."""
    claims = []
    for pid, payer in payers.items():
        said = [(cid, text) for p, cid, a, text in statements if p == pid and a == about]
        if said:
            cid, text = said[0]
            claims.append(VerdictClaim(text=f'No — {payer} ({pid}) writes that "{text}" [{cid}].', clause_ids=[cid]))
    if not claims:
        return None
    return render("" if len(claims) == 1 else "Whether the list is complete, by payer:", claims, "clause", "no")


_ONLY_CODE = re.compile(
    r"\+?(\d{4}[0-9T])\s+(?:is\s+)?the\s+only\s+(?:cpt\s+|hcpcs\s+|procedure\s+)?code\b"
    r"|\b(?:list|lists|include|includes|use|uses|carry|carries)\s+only\s+(?:code\s+)?\+?(\d{4}[0-9T])\b"
    r"|\bonly\s+(?:cpt\s+|hcpcs\s+|procedure\s+)?code\b[^?]{0,40}?\+?(\d{4}[0-9T])\b",
    re.I,
)


def other_codes_asked(question: str) -> tuple[str, bool] | None:
    """(the code a question sets aside, whether it asks that it is the *only* one) when it asks
    whether a policy lists any other code ("Does NIA list any code other than 76390?" → yes if
    so; "Is 76390 the only code NIA lists?" → yes if not); None otherwise."""
    if not YES_NO.search(question):
        return None
    only = _ONLY_CODE.search(question)
    if only:
        return next(g for g in only.groups() if g).upper(), True
    match = _OTHER.search(question)
    return (match.group(1).upper(), False) if match else None


def from_other_codes(code: str, code_clauses: Mapping[str, tuple[str, list[tuple[str, str]]]], *,
                     only: bool = False) -> Verdict | None:
    """Per policy with code clauses: yes when they list a code besides ``code`` (naming it), else
    no; ``only`` (is ``code`` the only one?) turns the answer round."""
    claims, kinds = [], []
    for pid, (payer, clauses) in code_clauses.items():
        if not clauses:
            continue
        who = f"{payer} ({pid})"
        others = {m.group(1).upper(): cid for cid, text in clauses for m in CODE.finditer(text) if m.group(1).upper() != code}
        if others:
            ids = list(dict.fromkeys(others.values()))
            text, kind = f"{'No' if only else 'Yes'} — {who} also lists {', '.join(others)} {cite_ids(ids)}.", "no" if only else "yes"
        else:
            ids = [cid for cid, _ in clauses]
            text, kind = f"{'Yes' if only else 'No'} — {who} lists no code besides {code} {cite_ids(ids)}.", "yes" if only else "no"
        claims.append(VerdictClaim(text=text, clause_ids=ids))
        kinds.append(kind)
    return per_payer(claims, kinds, f"Whether each policy lists a code besides {code}, by payer:")
