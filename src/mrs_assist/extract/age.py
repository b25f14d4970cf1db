"""Age: the patient's age from the request or the notes, and the facts that depend on it."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from mrs_assist.extract.pipeline import AGE_LABEL, CHILD_LABEL, Detector

if TYPE_CHECKING:
    from mrs_assist.extract.facts import Mention

DAYS_PER_YEAR = 365.25
UNIT_DAYS = {"d": 1.0, "w": 7.0, "m": 30.44, "y": DAYS_PER_YEAR}


def parse_number(detector: Detector, text: str | None) -> float | None:
    """A number in digits or words ("two"); 1 for an empty match ("last week"); None if unreadable."""
    if not text:
        return 1.0  # "last week", "last month"
    try:
        return float(text)
    except ValueError:
        return detector.lexicon.number_words.get(text.lower())


def patient_age(detector: Detector, mentions: list[Mention], notes: str) -> tuple[float, tuple[int, int]] | None:
    """The first age the notes state for the patient (a relative's age is skipped), in years."""
    ages = sorted((m for m in mentions if m.label == AGE_LABEL), key=lambda m: m.start)
    for m in ages:
        if m.categories & {"family", "negated", "hypothetical"}:
            continue
        pattern, default_unit = detector.age_patterns[int(m.tag)]
        match = pattern.search(notes, m.start, m.end)
        if match is None:
            continue
        n = parse_number(detector, match.group("n"))
        if n is None or detector.relative_after_age.match(notes, match.end(), match.end() + 60):
            continue
        unit = (match.groupdict().get("unit") or default_unit).lower()
        days = n * UNIT_DAYS.get(unit[:1], DAYS_PER_YEAR)
        return days / DAYS_PER_YEAR, (match.start(), match.end())
    return dob_age(notes)


_DOB = re.compile(r"\b(?:DOB|D\.O\.B\.?|date of birth|born(?: on)?)\s*[:#]?\s*(?P<date>\d{1,2}/\d{1,2}/(?:19|20)\d{2})\b", re.I)


def dob_age(notes: str) -> tuple[float, tuple[int, int]] | None:
    """The patient's age from a date of birth and the notes' latest date (the request or the
    visit): "DOB: 01/08/2025 … Note date: 01/10/2025" is 2 days old. None without both, or
    when the birth date is the latest date (nothing to measure against)."""
    from mrs_assist.extract.layout import NoteDates, parse_dates

    match = _DOB.search(notes)
    if match is None:
        return None
    born, current = parse_dates(match.group("date")), NoteDates(notes).current
    if not born or current is None or current <= born[0]:
        return None
    return (current - born[0]).days / DAYS_PER_YEAR, (match.start(), match.end())


def apply_age(
    detector: Detector,
    facts: dict[str, tuple[str, list[tuple[int, int]], str]],
    mentions: list[Mention],
    age_years: float | None,
    notes: str,
) -> None:
    """Age-dependent facts: the age bracket (neonate) and facts that count only under an age."""
    stated = None if age_years is not None else patient_age(detector, mentions, notes)
    for name, spec in detector.specs.items():
        rule = spec.age
        if rule is None:
            continue
        current = facts.get(name)
        if rule.at_most_days is not None:
            # The fact is the age bracket itself (neonate).
            if age_years is not None:
                facts[name] = ("true" if age_years * DAYS_PER_YEAR <= rule.at_most_days else "false", [], "age")
            elif stated is not None:
                years, span = stated
                value = "true" if years * DAYS_PER_YEAR <= rule.at_most_days else "false"
                extra = current[1] if current and current[0] == value else []
                facts[name] = (value, sorted({span, *extra}), "notes")
            continue
        # The fact's mentions count only for a patient under the age (ataxia in a child).
        if current is None or current[0] != "true":
            continue
        limit = rule.under_years or 0.0
        if age_years is not None:
            facts[name] = ("true" if age_years < limit else "false", current[1], "age")
        elif stated is not None:
            years, span = stated
            facts[name] = ("true" if years < limit else "false", sorted({span, *current[1]}), "notes")
        else:
            wording = [
                (m.start, m.end)
                for m in mentions
                if m.label == CHILD_LABEL
                and m.tag == name
                and not m.categories & {"family", "negated", "hypothetical"}
            ]
            if wording:
                facts[name] = ("true", sorted({*wording, *current[1]}), "notes")
            else:
                facts[name] = ("unknown", current[1], "notes")
