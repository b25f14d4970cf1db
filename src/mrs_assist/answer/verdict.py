"""The verdict: one plain sentence that answers the question, every claim cited.

Built without a model, from the strongest source that decides the question:

1. ``from_checker`` — the case the question states, run through the criteria checker
   (yes / no / only if …, naming the deciding criterion);
2. ``from_matrix`` — the indications × policies matrix (a row per payer when several);
3. ``from_list`` — a list clause and every item of it;
4. ``from_clause`` — the best metadata clause (date, version, code, definition, history)
   or the best clause. History, summary-of-changes and reference clauses are labelled, and
   a current clause of the same policy is preferred when the question does not ask for
   history.

``check_verdict`` is the guard: every claim cites clauses that are among the citations,
and the whole verdict passes the same answer validator a model's draft must pass.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mrs_assist.schemas import Citation, Verdict, VerdictClaim

HISTORY_KINDS = frozenset({"history", "reference"})
NEVER_DECIDE = frozenset({"reference", "notice", "committee"})
"""Reference lists, notices and committee/sign-off lines: quoted when asked for, never the verdict's basis
when any other clause ranks."""
_PAST = frozenset({"history", "date", "version"})
_ITEM_CHARS = 110


@dataclass(frozen=True)
class PolicyCase:
    """One policy's evaluation of the stated case (what ``from_checker`` needs)."""

    policy_id: str
    payer: str
    outcome: str
    deciding: list[tuple[str, str]]
    """(criterion label, clause id) that decided the outcome."""
    missing: list[str]
    """Labels of the unknown facts that could change it."""
    flags: list[tuple[str, str]] = ()
    """(safety flag label, clause id) the stated facts raise: the reviewer must see them."""


@dataclass(frozen=True)
class MatrixCell:
    """One policy's matrix cell for one indication (what ``from_matrix`` needs)."""

    policy_id: str
    payer: str
    indication: str
    status: str
    conditions: list[str]
    clause_ids: list[str]
    condition_facts: tuple[str, ...] = ()
    """The facts a covered_if cell requires (the matrix's own names)."""
    role: str = "indication"
    """The row's fact role: a ``scope`` or ``exclusion`` row that says no decides for its payer
    whatever other indication the question names (MRS of the calf for a mitochondrial disorder)."""


_DECIDES = frozenset({"scope", "exclusion"})
DECIDES = _DECIDES
"""Fact roles whose 'no' bars a request whatever the indication (not an indication row)."""


def _payer_claims(cells: Sequence[MatrixCell]) -> dict[str, str]:
    """Each payer's claim over the cells of the indications asked: 'no' when a scope or
    exclusion row says no, else its cells' claims combined."""
    out = {}
    for payer in dict.fromkeys(c.payer for c in cells):
        own = [c for c in cells if c.payer == payer]
        barred = any(c.role in _DECIDES and _STATUS_CLAIM[c.status] == "no" for c in own)
        out[payer] = "no" if barred else overall([_STATUS_CLAIM[c.status] for c in own])
    return out


def cite_ids(ids: Sequence[str]) -> str:
    """"[id, id]": the ids as a verdict shows them, each once."""
    return "[" + ", ".join(dict.fromkeys(ids)) + "]"


def _short(text: str, limit: int = _ITEM_CHARS) -> str:
    """The text cut at a word boundary (with '…') when longer than ``limit``; a verbatim prefix."""
    text = text.strip().rstrip(";,")
    if text.endswith(("; OR", "; AND")):
        text = text.rsplit(";", 1)[0]
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + " …"


def render(lead: str, claims: list[VerdictClaim], basis: str, claim: str = "quote") -> Verdict:
    """One sentence when there is one claim; else the lead line and one row per claim."""
    if len(claims) == 1 and not lead:
        text = claims[0].text
    else:
        text = "\n".join([lead, *(f"- {c.text}" for c in claims)]).strip()
    return Verdict(text=text, basis=basis, claims=claims, checked=False, claim=claim)


def per_payer(claims: list[VerdictClaim], kinds: Sequence[str], lead: str, basis: str = "criteria") -> Verdict | None:
    """One verdict from per-payer claims: their claim when they agree, else 'depends'; the lead
    line only when there are several; None when there is no claim."""
    if not claims:
        return None
    return render("" if len(claims) == 1 else lead, claims, basis, overall(kinds))


def overall(kinds: Sequence[str]) -> str:
    """One claim for several payers' claims: theirs when they agree, else 'depends' (on the payer)."""
    distinct = set(kinds)
    if len(distinct) == 1:
        return distinct.pop()
    return "depends" if distinct else "quote"


FLAG_LEAD = "Safety flag under"
"""How a checker verdict's safety-flag row opens: a note beside the answer, not an answer."""
_OUTCOME_CLAIM = {"meets_criteria": "yes", "does_not_meet_criteria": "no", "needs_more_information": "depends"}
_STATUS_CLAIM = {"covered": "yes", "covered_if": "only_if", "investigational": "no", "not_covered": "no", "purpose_denied": "no"}


def from_checker(cases: Sequence[PolicyCase], *, every: bool = False,
                 quantified: tuple[str, str | None, str] | None = None) -> Verdict:
    """Yes / no / only if … for the case the question states, per policy, naming what decides.
    ``every``: the question asks whether each payer covers it ("under both HealthHelp and NIA?"):
    no when one payer's criteria say no, yes only when each says yes. ``quantified``: (kind,
    subject policy id, predicate) of a question that combines the payers' answers ("MS patient:
    do HealthHelp and Florida Blue give the same answer?"): the payers' outcomes combined so."""
    claims = []
    for case in cases:
        ids = [cid for _, cid in case.deciding]
        what = "; ".join(dict.fromkeys(label for label, _ in case.deciding))
        who = f"{case.payer} ({case.policy_id})"
        if case.outcome == "meets_criteria":
            text = f"Yes — as the question states the case, it meets the criteria of {who}: {what} {cite_ids(ids)}."
        elif case.outcome == "does_not_meet_criteria":
            text = f"No — as the question states the case, it does not meet the criteria of {who}; deciding criterion: {what} {cite_ids(ids)}."
        else:
            need = "; ".join(case.missing) or what
            text = f"It depends — what the question states does not settle {who} criteria; it turns on: {need} {cite_ids(ids)}."
        claim = VerdictClaim(text=text, clause_ids=list(dict.fromkeys(ids)))
        flagged = [
            VerdictClaim(text=f"{FLAG_LEAD} {who}: {label} [{cid}].", clause_ids=[cid])
            for label, cid in case.flags
        ]
        # Undecided coverage with a stated safety item: the flag is what the question is about.
        claims += [*flagged, claim] if case.outcome == "needs_more_information" else [claim, *flagged]
    lead = "" if len(claims) == 1 else "For the case as the question states it:"
    outcomes = [_OUTCOME_CLAIM[c.outcome] for c in cases]
    if quantified is not None and len({c.payer for c in cases}) > 1 and quantified[2] != "investigational" \
            and (quantified[0] != "only" or any(c.policy_id == quantified[1] for c in cases)):
        return _quantified_cases(cases, claims, *quantified)
    if every and len(cases) > 1 and "no" in outcomes:
        refused = [c.payer for c in cases if c.outcome == "does_not_meet_criteria"]
        lead = f"No — not under every payer asked: the case as stated does not meet {' or '.join(refused)} criteria; by payer:"
        return render(lead, claims, "checker", "no")
    return render(lead, claims, "checker", overall(outcomes))


def _quantified_cases(cases: Sequence[PolicyCase], claims: list[VerdictClaim], kind: str, subject: str | None,
                      predicate: str) -> Verdict:
    """The stated case's per-payer rows under one lead that answers the quantifier asked; a
    payer whose criteria the case does not settle leaves a same / differ question open."""
    from mrs_assist.answer.quantifier import combine, covering, names

    holds = {c.payer: _OUTCOME_CLAIM[c.outcome] for c in cases}
    if predicate == "not_covered":
        holds = {p: {"no": "yes", "yes": "no"}.get(v, "depends") for p, v in holds.items()}
    who = next((c.payer for c in cases if c.policy_id == subject), None)
    does = "does not cover the case as stated" if predicate == "not_covered" else "covers the case as stated"
    if kind in ("same", "differ") and "depends" in holds.values():
        return render("It depends — the case as stated does not settle every payer's criteria; by payer:", claims,
                      "checker", "depends")
    if kind == "but_not":
        who, holds = _contrast_sides(holds, [c.payer for c in cases if c.policy_id in (subject or "").split("+")])
    claim = combine(kind, holds, subject=who)
    sayers = covering(holds)
    if kind in ("same", "differ"):
        same = len(set(holds.values())) == 1
        lead = (f"{claim.capitalize()} — the {len(holds)} payers {'give the same answer' if same else 'differ'} "
                "on the case as stated; by payer:")
    elif kind == "only":
        lead = {"yes": f"Yes — of the {len(holds)} payers only {who} {does}; by payer:",
                "no": f"No — not only {who} {does}; by payer:"}.get(claim, f"It depends — whether only {who} {does} "
                                                                    "turns on what the case leaves open; by payer:")
    elif kind == "none":
        lead = {"yes": f"Yes — none of the {len(holds)} payers asked {does}; by payer:",
                "no": f"No — {names(sayers)} {'does' if len(sayers) == 1 else 'do'}; by payer:"}.get(
            claim, "It depends — on what the case leaves open; by payer:")
    elif kind == "but_not":
        lead = _contrast_lead(claim, who, does, holds)
    elif kind == "any":
        lead = {"yes": f"Yes — {names(sayers)} {'does' if len(sayers) == 1 else 'do'}; by payer:",
                "no": f"No — none of the {len(holds)} payers asked {does}; by payer:"}.get(
            claim, "It depends — on what the case leaves open; by payer:")
    else:
        lead = "For the case as the question states it:"
        claim = overall(list(holds.values()))
    return render(lead, claims, "checker", claim)


_STATUS = {
    "covered": "Yes — {who} covers MRS for {ind}",
    "covered_if": "Only if {cond} — {who} covers MRS for {ind}",
    "investigational": "No — {who} calls MRS for {ind} experimental/investigational",
    "not_covered": "No — {ind} is not among {who} listed indications",
    # "MRS for hepatic encephalopathy diagnosis, not prognosis": the purpose the policy limits it to is denied
    "purpose_denied": "No — {who} covers MRS for {ind} only when {cond}, and the question says it is not",
}


_PURPOSE = re.compile(r"^(?P<purpose>prognosis evaluation|pre-surgical evaluation) of\b", re.I)
_PURPOSE_ASKED = re.compile(r"prognos|pre-?\s?surg|surgical|pre-?op"
                            # "an epilepsy surgery workup", "before seizure surgery": the pre-surgical purpose in other words
                            r"|\bsurgery\s+(?:work-?\s?up|evaluation|planning|candidacy)|\b(?:before|prior\s+to)\s+(?:epilepsy\s+|seizure\s+)?surgery\b"
                            r"|\b(?:epilepsy|seizure)\s+surgery\b", re.I)
_NEGATED_BEFORE = re.compile(r"\b(?:without|no|not|never|rather than|other than|instead of)\s+(?:[\w-]+\s+){0,2}$", re.I)
"""A purpose the question denies ("without any prognosis question") is not the purpose asked."""
NEGATED_BEFORE = _NEGATED_BEFORE
"""The same words before a condition the question states ("the MRI is not indeterminate")."""
_REQUIRED_BEFORE = re.compile(
    r"\b(?:(?:have|has|had|need|needs|needed|got)\s+to\s+be|must\s+be|required\s+to\s+be|only|just|solely|exclusively|"
    r"restricted\s+to|limited\s+to)\s+(?:(?:for|be|an?|the)\s+){0,2}$"
    # "must MRS for hepatic encephalopathy be for prognosis?": the verb's own clause
    r"|\b(?:must|have\s+to|has\s+to|need\s+to|needs\s+to)\b[^,;?]{0,60}\bbe\s+(?:(?:for|an?|the)\s+){0,2}$", re.I)
"""A purpose the question asks to be required ("does it have to be pre-surgical?", "or only for
prognosis?") is what it asks, not a purpose it states for the study."""


def limit_purpose(cell: MatrixCell, question: str) -> MatrixCell:
    """A covered indication the policy limits to a purpose ("Encephalopathy … for prognosis
    evaluation") is covered only for that purpose when the question does not say it (denied or
    asked as the requirement is not said)."""
    match = _PURPOSE.search(cell.indication)
    mentions = list(_PURPOSE_ASKED.finditer(question))
    asked = any(not _NEGATED_BEFORE.search(question[:m.start()]) and not _REQUIRED_BEFORE.search(question[:m.start()])
                for m in mentions)
    if cell.status != "covered" or match is None or asked:
        return cell
    # every mention denied ("for diagnosis, not prognosis"): the one purpose it is covered for is ruled out
    denied = bool(mentions) and all(_NEGATED_BEFORE.search(question[:m.start()]) for m in mentions)
    return MatrixCell(cell.policy_id, cell.payer, cell.indication, "purpose_denied" if denied else "covered_if",
                      [f"the MRS is for {match.group('purpose')}"], cell.clause_ids, cell.condition_facts)


def from_matrix(cells: Sequence[MatrixCell], *, every: bool = False, quantified: tuple[str, str | None, str] | None = None,
                ranked: bool = False) -> Verdict:
    """The matrix's answer: one sentence for one payer, a row per payer for several.
    ``every``: the question asks whether all the payers cover it (yes only when each does);
    ``quantified``: (kind, subject policy id, predicate) of a question quantified over the payers
    ("is HealthHelp the only payer …", "does any payer …", "are NIA and FB the same on …");
    ``ranked``: the question ranks the payers by strictness ("is NIA stricter than FB on …?"): with
    several payers, a yes or no of the rows answers no ranking, so it depends on the payer, row by row."""
    claims = []
    for cell in cells:
        who = f"{cell.payer} ({cell.policy_id})"
        if cell.status == "not_covered":
            who = f"{cell.payer}'s ({cell.policy_id})"
        cond = "; ".join(cell.conditions) or "its conditions are met"
        text = _STATUS[cell.status].format(who=who, ind=cell.indication, cond=cond)
        claims.append(VerdictClaim(text=f"{text} {cite_ids(cell.clause_ids)}.", clause_ids=list(cell.clause_ids)))
    payers = list(dict.fromkeys(c.payer for c in cells))
    indications = list(dict.fromkeys(c.indication for c in cells))
    by_payer = _payer_claims(cells)
    claim = overall(list(by_payer.values()))
    if len(claims) == 1:
        return render("", claims, "criteria", claim)
    if quantified is not None and len(payers) > 1:
        return _quantified(cells, claims, by_payer, *quantified)
    barred = [c for c in cells if c.role in _DECIDES and _STATUS_CLAIM[c.status] == "no"]
    if barred and not every and {c.payer for c in barred} == set(payers):
        who = payers[0] if len(payers) == 1 else f"any of the {len(payers)} payers"
        lead = f"No — {barred[0].indication}: not covered by {who}, whichever indication it is for; by {'indication' if len(payers) == 1 else 'payer'}:"
        return render(lead, claims, "criteria", "no")
    covered = [c.payer for c in cells if c.status == "covered"]
    lead = (
        f"{len(set(covered))} of {len(payers)} payers cover MRS for {' / '.join(indications)} without further conditions; by payer:"
    )
    if ranked and not every and len(payers) > 1:
        return render(f"It depends on the payer — compare the rows: {lead}", claims, "criteria", "depends")
    if every:
        some = {c.payer for c in cells if c.status in ("covered", "covered_if")}
        claim = "yes" if len(some) == len(payers) else "no"
        lead = (f"Yes — each of the {len(payers)} payers covers it, some only under conditions; by payer:" if claim == "yes"
                else f"No — not every payer: {len(some)} of {len(payers)} cover it; by payer:")
    return render(lead, claims, "criteria", claim)


def _quantified(cells: Sequence[MatrixCell], claims: list[VerdictClaim], by_payer: dict[str, str],
                kind: str, subject: str | None, predicate: str = "covered") -> Verdict:
    """The matrix rows under one lead that answers the quantifier the question asks, over the
    predicate it asks about (covers / calls investigational / does not cover)."""
    from mrs_assist.answer.quantifier import combine, covering, names

    who = next((c.payer for c in cells if c.policy_id == subject), None)
    if predicate == "investigational":
        holds = {p: "yes" if any(c.status == "investigational" for c in cells if c.payer == p) else "no" for p in by_payer}
    elif predicate == "not_covered":
        holds = {p: {"no": "yes", "yes": "no"}.get(v, "depends") for p, v in by_payer.items()}
    else:
        holds = by_payer
    what = " / ".join(dict.fromkeys(c.indication for c in cells))
    does = {"investigational": f"calls MRS for {what} investigational", "not_covered": f"does not cover MRS for {what}"}.get(
        predicate, f"covers MRS for {what}")
    if kind == "but_not":
        who, holds = _contrast_sides(holds, [c.payer for c in cells if c.policy_id in (subject or "").split("+")])
    claim = combine(kind, holds, subject=who)
    sayers = covering(holds)
    if kind == "only":
        others = [p for p in sayers if p != who]
        lead = {
            "yes": f"Yes — of the {len(holds)} payers only {who} {does}; by payer:",
            "no": (f"No — {who} itself does not: it is not the case that {who} {does}; by payer:" if holds.get(who) == "no"
                   else f"No — {names(others)} also {'does' if len(others) == 1 else 'do'}: not only {who} {does}; by payer:"),
        }.get(claim, f"It depends — whether only {who} {does} turns on conditions; by payer:")
    elif kind == "none":
        lead = {
            "yes": f"Yes — none of the {len(holds)} payers asked {does}; by payer:",
            "no": f"No — {names(sayers)} {'does' if len(sayers) == 1 else 'do'}: it is not the case that no payer {does}; by payer:",
        }.get(claim, f"It depends — whether any payer asked {does} turns on conditions; by payer:")
    elif kind == "every":
        refusing = [p for p, v in holds.items() if v == "no"]
        lead = {
            "yes": f"Yes — each of the {len(holds)} payers asked {does}; by payer:",
            "no": f"No — it is not the case that each of the {len(holds)} payers asked {does} (not so for {names(refusing)}); by payer:",
        }.get(claim, f"It depends — whether each payer asked {does} turns on conditions; by payer:")
    elif kind == "but_not":
        lead = _contrast_lead(claim, who, does, holds)
    elif kind == "any":
        lead = (f"No — none of the {len(holds)} payers asked {does}; by payer:" if claim == "no"
                else f"{'Yes' if claim == 'yes' else 'Only under conditions'} — {names(sayers)}{'' if len(sayers) == 1 else ' each'} {does}; by payer:"
                if sayers else "It depends — no payer asked says so outright; by payer:")
    else:
        same = (claim == "yes") == (kind == "same")
        lead = (f"{claim.capitalize()} — the {len(holds)} payers say the same on {what}; by payer:" if same
                else f"{claim.capitalize()} — the {len(holds)} payers differ on {what}; by payer:")
    return render(lead, claims, "criteria", claim)


def _contrast_sides(holds: Mapping[str, str], firsts: Sequence[str]) -> tuple[str | None, dict[str, str]]:
    """(the side named before "but not", the claims with that side as one): several payers named
    first ("HealthHelp and Cohere but not NIA") hold together only when each holds."""
    from mrs_assist.answer.quantifier import names

    firsts = [p for p in dict.fromkeys(firsts) if p in holds]
    if len(firsts) < 2:
        return (firsts[0] if firsts else None), dict(holds)
    values = {holds[p] for p in firsts}
    together = ("no" if "no" in values else "yes" if values == {"yes"}
                else "only_if" if values <= {"yes", "only_if"} else "depends")
    who = f"each of {names(firsts)}"
    return who, {who: together, **{p: v for p, v in holds.items() if p not in firsts}}


def _contrast_lead(claim: str, who: str | None, does: str, holds: Mapping[str, str]) -> str:
    """The lead of an "A but not B?" answer: whether A does and the others do not."""
    from mrs_assist.answer.quantifier import covering, names

    others = [p for p in holds if p != who]
    also = [p for p in covering(holds) if p != who]
    if claim == "yes":
        return f"Yes — {who} {does}, and {names(others)} {'does' if len(others) == 1 else 'do'} not; by payer:"
    if claim == "only_if":
        return f"Only under conditions — {who} {does} under its conditions, and {names(others)} not at all; by payer:"
    if claim == "no":
        if holds.get(who) == "no":
            return f"No — it is not the case that {who} {does}; by payer:"
        return f"No — {names(also)}, named as not covering it, also {'does' if len(also) == 1 else 'do'}; by payer:"
    return f"It depends — whether {who} does and the others do not turns on conditions; by payer:"


def same_lists(cells: Sequence[MatrixCell], kind: str) -> Verdict | None:
    """Whether the payers' indication lists agree (``kind`` 'same' or 'differ'): each row's
    claim compared across them; one claim per payer naming what it covers, cited."""
    payers = list(dict.fromkeys(c.payer for c in cells))
    if len(payers) < 2:
        return None
    by_row: dict[str, dict[str, str]] = {}
    for c in cells:
        by_row.setdefault(c.indication, {})[c.payer] = _STATUS_CLAIM[c.status]
    differ = [row for row, claims in by_row.items() if len(set(claims.values())) > 1]
    claims = []
    for payer in payers:
        covered = [c for c in cells if c.payer == payer and c.status in ("covered", "covered_if")]
        if not covered:
            return None  # nothing covered to cite: no verdict
        ids = list(dict.fromkeys(i for c in covered for i in c.clause_ids))
        what = "; ".join(f"{c.indication}{' (under conditions)' if c.status == 'covered_if' else ''}" for c in covered)
        claims.append(VerdictClaim(text=f"{payer} ({covered[0].policy_id}) covers MRS for: {what} {cite_ids(ids)}.",
                                   clause_ids=ids))
    same = not differ
    claim = ("yes" if same else "no") if kind == "same" else ("no" if same else "yes")
    lead = (f"{claim.capitalize()} — {' and '.join(payers)} list the same indications; by payer:" if same
            else f"{claim.capitalize()} — {' and '.join(payers)} differ on: {'; '.join(differ)}; by payer:")
    return render(lead, claims, "criteria", claim)


def from_list(payer: str, policy_id: str, parent: Citation, items: Sequence[Citation]) -> Verdict:
    """The whole list: the parent clause and every item, each cited."""
    claims = [VerdictClaim(text=f"{_short(i.text)} [{i.clause_id}]", clause_ids=[i.clause_id]) for i in items]
    lead = f"{payer} ({policy_id}) lists {len(items)}: {_short(parent.text, 160)} [{parent.clause_id}]"
    verdict = render(lead, claims, "list")
    claims = [VerdictClaim(text=lead, clause_ids=[parent.clause_id]), *claims]
    return verdict.model_copy(update={"claims": claims})


def label_of(kinds: frozenset[str]) -> str:
    """'(history — not the current position) ' for history and reference clauses, else ''."""
    if "history" in kinds:
        return "(history — not the current position) "
    if "reference" in kinds:
        return "(reference list — not a criterion) "
    return ""


def from_clause(payer: str, citation: Citation, kinds: frozenset[str], quote: str, *, metadata: bool) -> Verdict:
    """The best clause's answer, labelled when it is history or a reference."""
    text = citation.text if metadata and len(citation.text) <= 260 else quote
    claim = f'{label_of(kinds)}{payer} ({citation.policy_id}): "{text}" [{citation.clause_id}]'
    return render("", [VerdictClaim(text=claim, clause_ids=[citation.clause_id])], "metadata" if metadata else "clause")


def from_inclusion(payer: str, citation: Citation, term: str, kind: str) -> Verdict:
    """Yes: the clause names the term among what counts as the kind asked about."""
    text = f'Yes — {payer} ({citation.policy_id}) names {term} with {kind}: "{_short(citation.text, 200)}" [{citation.clause_id}].'
    claim = VerdictClaim(text=text, clause_ids=[citation.clause_id])
    return render("", [claim], "clause", "yes")


def not_addressed(text: str = "The guidelines in this corpus do not address this question.") -> Verdict:
    """The verdict when no guideline addresses the question (nothing to cite)."""
    return Verdict(text=text, basis="not_addressed", claims=[], checked=True, claim="not_addressed")


def prefer_current(hits: Sequence, intents: frozenset[str]):
    """The hit the verdict should rest on: the best one, unless it is a reference, notice or
    committee line (any other hit is preferred), or history when the question does not ask
    about the past and a current clause of the same policy ranks."""
    if not hits:
        return None

    def kinds(hit) -> frozenset[str]:
        return getattr(hit, "kinds", frozenset())

    substantive = [h for h in hits if not kinds(h) & NEVER_DECIDE] or list(hits)
    best = substantive[0]
    if intents & _PAST or not (kinds(best) & HISTORY_KINDS):
        return best
    current = [h for h in substantive if h.policy_id == best.policy_id and not (kinds(h) & HISTORY_KINDS)]
    return current[0] if current else best


_ID = re.compile(r"\[([^\]]+)\]")


def check_verdict(verdict: Verdict, citations: Sequence[Citation], problems_of) -> list[str]:
    """Problems with a verdict: a claim without a citation, a cited clause that is not among
    the citations, or what ``problems_of(text, ids)`` (the answer validator) finds."""
    cited = {c.clause_id for c in citations}
    problems = []
    for claim in verdict.claims:
        shown = {i.strip() for group in _ID.findall(claim.text) for i in group.split(",")}
        if not claim.clause_ids:
            problems.append(f"claim without a citation: {claim.text[:60]!r}")
        for cid in claim.clause_ids:
            if cid not in cited:
                problems.append(f"claim cites {cid!r}, which is not among the citations")
            if cid not in shown:
                problems.append(f"claim rests on {cid!r} but does not show it")
    if verdict.claims:
        ids = list(dict.fromkeys(i for c in verdict.claims for i in c.clause_ids))
        problems += problems_of(verdict.text, ids)
    return problems
