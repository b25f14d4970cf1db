"""The yearly public prior-authorization metrics of CMS-0057-F (42 CFR 422.122(c) and its
parallels), computed from the stored records.

Who counts: every original request received in the year (a correction is the same request,
decided again — an appeal). A request is *approved* by its signed approval or by an A1
(certified) answer already returned to the provider through FHIR PAS (approval needs no
signature); *denied* only by its signed denial; a pend is not a decision. The report also
lists the items and services (CPT codes) that require prior authorization, with the policies
that require it. *Approved after appeal*: denied, then a
correction of it was signed as an approval. *Approved after extension*: approved after its
decision timeframe was extended. Decision time runs from receipt to the signature, in hours.
Each figure is given for standard and expedited requests separately, and for all.
"""

from __future__ import annotations

import csv
import io
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from mrs_assist.data import shipped
from mrs_assist.errors import InvalidRequestError
from mrs_assist.records.models import RecordSummary

GROUPS = ("standard", "expedited", "all")
TEMPLATE = shipped("reports/cms0057f.html.j2")


@dataclass
class GroupCounts:
    """Hand-countable tallies for one group of requests."""

    requests: int = 0
    approved: int = 0
    denied: int = 0
    undecided: int = 0
    approved_after_appeal: int = 0
    approved_after_extension: int = 0
    hours: list[float] = field(default_factory=list)

    def pct(self, n: int) -> float | None:
        return round(100.0 * n / self.requests, 1) if self.requests else None


@dataclass
class Report:
    """The report: year, when it was made, and the counts per group."""

    year: int
    generated_at: datetime
    groups: dict[str, GroupCounts]
    items: list[dict[str, object]] = field(default_factory=list)
    """The items and services that require prior authorization: [{"code", "system", "policies"}]."""

    def rows(self) -> list[tuple[str, list[str]]]:
        """(metric, [standard, expedited, all]) in the order CMS lists them."""

        def per(fn) -> list[str]:
            return [_fmt(fn(self.groups[g])) for g in GROUPS]

        return [
            ("items and services under prior authorization (requests received)", per(lambda g: g.requests)),
            ("% approved", per(lambda g: g.pct(g.approved))),
            ("% denied", per(lambda g: g.pct(g.denied))),
            ("% approved after appeal", per(lambda g: g.pct(g.approved_after_appeal))),
            ("% approved after a timeframe extension", per(lambda g: g.pct(g.approved_after_extension))),
            ("% not yet decided", per(lambda g: g.pct(g.undecided))),
            ("average decision time (hours)", per(lambda g: round(statistics.fmean(g.hours), 1) if g.hours else None)),
            ("median decision time (hours)", per(lambda g: round(statistics.median(g.hours), 1) if g.hours else None)),
        ]

    def as_dict(self) -> dict:
        """JSON body of GET /v1/metrics/cms-0057f."""
        return {
            "year": self.year,
            "generated_at": self.generated_at.isoformat(timespec="seconds"),
            "groups": list(GROUPS),
            "rows": [{"metric": m, "values": dict(zip(GROUPS, v, strict=True))} for m, v in self.rows()],
            "counts": {g: {k: v for k, v in vars(c).items() if k != "hours"} | {"decided": len(c.hours)}
                       for g, c in self.groups.items()},
            "items_requiring_prior_authorization": self.items,
        }

    def to_csv(self) -> str:
        """The report as CSV: metric, standard, expedited, all."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["metric", *GROUPS])
        for metric, values in self.rows():
            writer.writerow([metric, *values])
        for item in self.items:
            writer.writerow([f"requires prior authorization: CPT {item['code']}", "", "", " ".join(item["policies"])])
        return out.getvalue()

    def to_html(self) -> str:
        """The report as a standalone HTML page (Jinja, autoescaped)."""
        env = Environment(loader=FileSystemLoader(TEMPLATE.parent), undefined=StrictUndefined,
                          autoescape=select_autoescape(["html", "j2"]))
        return env.get_template(TEMPLATE.name).render(report=self, groups=GROUPS, rows=self.rows())


def _fmt(value) -> str:
    return "" if value is None else str(value)


def _year_bounds(year: int) -> tuple[datetime, datetime]:
    if not 2000 <= year <= 2100:
        raise InvalidRequestError("year must be between 2000 and 2100")
    return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)


CPT = "http://www.ama-assn.org/go/cpt"


def items_requiring_pa(policies: dict | None) -> list[dict[str, object]]:
    """Each CPT code some policy puts under prior authorization, with those policies' ids."""
    by_code: dict[str, list[str]] = {}
    for policy_id, policy in sorted((policies or {}).items()):
        for code in policy.scope.cpt_codes:
            by_code.setdefault(str(code), []).append(policy_id)
    return [{"code": code, "system": CPT, "policies": ids} for code, ids in sorted(by_code.items())]


def build_report(summaries: list[RecordSummary], year: int, *, now: datetime | None = None,
                 policies: dict | None = None) -> Report:
    """The report for `year` from every record summary (originals and corrections); raises
    InvalidRequestError for a year outside 2000-2100."""
    start, end = _year_bounds(year)
    by_id = {s.id: s for s in summaries}
    corrections: dict[str, list[RecordSummary]] = {}
    for s in summaries:
        if s.corrects_id:
            corrections.setdefault(s.corrects_id, []).append(s)
    groups = {g: GroupCounts() for g in GROUPS}
    for s in summaries:
        if s.corrects_id or s.clock is None or not start <= s.clock.received_at < end:
            continue
        approved = s.recommendation == "meets_criteria" and s.clock.decided_at is not None
        denied = s.status == "signed" and s.recommendation == "does_not_meet_criteria"
        appeal_won = denied and any(
            c.status == "signed" and c.recommendation == "meets_criteria" for c in _chain(s.id, corrections, by_id)
        )
        for g in (s.clock.urgency, "all"):
            counts = groups[g]
            counts.requests += 1
            counts.approved += approved
            counts.denied += denied
            counts.undecided += not (approved or denied)
            counts.approved_after_appeal += appeal_won
            counts.approved_after_extension += approved and s.clock.extension_days > 0
            if (approved or denied) and s.clock.decided_at:
                counts.hours.append((s.clock.decided_at - s.clock.received_at).total_seconds() / 3600)
    return Report(year=year, generated_at=now or datetime.now(UTC), groups=groups, items=items_requiring_pa(policies))


def _chain(record_id: str, corrections: dict[str, list[RecordSummary]], by_id) -> list[RecordSummary]:
    """Every later correction of a record (corrections of corrections too)."""
    out, todo = [], list(corrections.get(record_id, []))
    while todo:
        c = todo.pop()
        out.append(c)
        todo.extend(corrections.get(c.id, []))
    return out


def report_for_store(store, year: int, policies: dict | None = None) -> Report:
    """The report for `year` from a RecordStore (appeals decided the next year still count)."""
    start, _ = _year_bounds(year)
    return build_report(store.summaries(since=start), year, policies=policies)
