"""A pend letter's questions and reason, from the trace's question groups (``criteria.asking``).

The letter asks only the facts of the case's likely indication(s) and those every indication
needs, in group order, each worded by the facts catalogue's plain question; the reason names the
groups so the provider sees why each question is asked.
"""

from __future__ import annotations

from collections.abc import Callable

from mrs_assist.criteria.asking import GENERAL, QuestionGroup


def pend_reason(groups: list[QuestionGroup], label_of: Callable[[list[str]], list[str]]) -> list[str]:
    """The reason paragraphs of a pend: what the guideline still needs, group by group.
    ``label_of(names)`` gives the catalogue labels of fact names (never a fact name itself)."""
    if len(groups) <= 1 and (not groups or groups[0].heading == GENERAL):
        labels = label_of(groups[0].facts if groups else [])
        return [
            "We cannot decide yet. The records sent do not say enough about the following, which "
            f"the guideline needs to decide (quoted below): {'; '.join(labels)}."
        ]
    out = ["We cannot decide yet. The records sent do not say enough about what the guideline needs to decide "
           "(quoted below). Our questions follow these groups:"]
    for group in groups:
        labels = "; ".join(label_of(group.facts))
        if group.heading == GENERAL:
            out.append(f"Whatever the reason for the MRS, the guideline needs the following: {labels}.")
        else:
            out.append(f"{group.heading}. The guideline needs the following: {labels}.")
    return out
