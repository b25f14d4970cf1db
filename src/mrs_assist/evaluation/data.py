"""The harness's inputs: eval/questions-{dev,test}.yaml and eval/cases.yaml, parsed strictly.

Formats are described in eval/QUESTIONS.md and eval/CASES.md; each file is parsed by a
pydantic model with ``extra="forbid"`` so a misspelt key fails loudly, naming the entry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mrs_assist.errors import ConfigError

Outcome = Literal["meets_criteria", "does_not_meet_criteria", "needs_more_information"]
OUTCOMES: tuple[str, ...] = ("meets_criteria", "does_not_meet_criteria", "needs_more_information")


Expected = Literal["yes", "no", "only_if", "depends", "not_addressed"]
MATCHES: dict[str, frozenset[str]] = {
    "yes": frozenset({"yes"}),
    "no": frozenset({"no"}),
    "only_if": frozenset({"only_if", "depends"}),
    "depends": frozenset({"depends", "only_if"}),
    "not_addressed": frozenset({"not_addressed"}),
}
"""Expected verdict → the verdict claims that answer it rightly ('only if X' is a verdict that
depends on X). A claim of 'quote' is no verdict: neither right nor wrong."""


class Question(BaseModel):
    """One reviewer question with its gold clauses and answer keywords."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    kind: Literal[
        "single-payer", "cross-payer", "dates-versions", "definitions", "codes", "not-addressed",
        "lists", "history", "documentation", "hypothetical",
        # independent question sets (issue 23; the writers' own kinds, eval/INDEPENDENT-QUESTIONS.md)
        "case-stated", "coverage", "requirement", "exclusion", "definition", "coding", "literature",
    ]
    question: str
    policy_ids: list[str] | None = None
    gold: list[str] = Field(description="Clause ids that answer it; [] = the guidelines are silent.")
    keywords: list[str] = Field(description="Phrases a correct extractive answer must contain.")
    verdict: list[str] = Field(
        default_factory=list, description="Phrases the answer's one-sentence verdict must contain."
    )
    expect: Expected | None = Field(
        default=None, description="The verdict a careful reviewer gives (AskResponse.verdict.claim must match); "
        "None when the question asks for text, not a verdict.",
    )
    writer: str | None = Field(default=None, description="Who wrote it (independent sets only).")
    split: Literal["dev", "test", "indep-dev", "indep-test"] = Field(
        default="dev", description="Set by the loader from the file: tune on dev, report test."
    )


class Expectation(BaseModel):
    """The expected determination of one case under one policy (outcome None = ambiguous)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    outcome: Outcome | None
    deciding: list[str] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    literal_outcome: Outcome | None = None
    why: str | None = None


class Case(BaseModel):
    """A gold prior-authorization case, run under every policy it lists."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str
    tags: list[str] = Field(default_factory=list)
    age_years: float | None = None
    cpt_codes: list[str]
    notes: str
    facts: dict[str, bool | None] | None = None
    expected_facts: dict[str, bool | None] = Field(
        default_factory=dict, description="What a careful reader takes from the notes (null: stated, qualifier missing)."
    )
    expected: dict[str, Expectation]


def _load_list(path: Path, model: type[BaseModel]) -> list:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"evaluation file not found: {path}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path.name} is not valid YAML: {exc}") from exc
    if not isinstance(raw, list):
        raise ConfigError(f"{path.name} must be a YAML list")
    items = []
    for n, entry in enumerate(raw, start=1):
        try:
            items.append(model.model_validate(entry))
        except ValidationError as exc:
            name = entry.get("id", f"entry {n}") if isinstance(entry, dict) else f"entry {n}"
            raise ConfigError(f"{path.name}: {name} is invalid: {exc}") from exc
    return items


SPLITS: tuple[str, ...] = ("dev", "test")
INDEPENDENT_SPLITS: tuple[str, ...] = ("indep-dev", "indep-test")
"""Question sets written by people who never saw the code or our questions (issue 23); each
is loaded when its file exists."""


def load_questions(eval_dir: Path, splits: tuple[str, ...] = SPLITS) -> list[Question]:
    """The questions of eval_dir/questions-<split>.yaml for each split, each tagged with its
    split (an independent split's file may be absent); raises ConfigError when a file is
    invalid or a split is unknown."""
    out: list[Question] = []
    for split in splits:
        if split not in SPLITS + INDEPENDENT_SPLITS:
            raise ConfigError(f"unknown question split {split!r}; known: {', '.join(SPLITS + INDEPENDENT_SPLITS)}")
        path = eval_dir / f"questions-{split}.yaml"
        if split in INDEPENDENT_SPLITS and not path.exists():
            continue
        items = _load_list(path, Question)
        out += [q.model_copy(update={"split": split}) for q in items]
    return out


def load_cases(eval_dir: Path, filename: str = "cases.yaml") -> list[Case]:
    """Every gold case of eval_dir/filename (cases.yaml by default); raises ConfigError when invalid."""
    return _load_list(eval_dir / filename, Case)
