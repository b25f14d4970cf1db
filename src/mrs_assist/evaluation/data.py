"""The harness's inputs: eval/questions-{dev,test}.yaml and eval/cases.yaml, parsed strictly.

Formats are described in eval/QUESTIONS.md and eval/CASES.md; each file is parsed by a
pydantic model with ``extra="forbid"`` so a misspelt key fails loudly, naming the entry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mrs_assist.data import YamlFile
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
    split: Literal["dev", "test", "indep-dev", "indep-dev2", "indep-dev3", "indep-dev4", "indep-dev5", "indep-dev6", "indep-dev7", "indep-dev8", "indep-dev9", "indep-dev10", "indep-dev11", "indep-test"] = Field(
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
    confirm: list[str] = Field(
        default_factory=list, description="What the writer says a reviewer should confirm (pends)."
    )


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
    doc = YamlFile(path, error=ConfigError, root=list)
    items = []
    for n, entry in enumerate(doc.data):
        try:
            items.append(model.model_validate(entry))
        except ValidationError as exc:
            name = entry.get("id", f"entry {n + 1}") if isinstance(entry, dict) else f"entry {n + 1}"
            err = exc.errors()[0]
            raise doc.error([n, *err["loc"]], f"{name} is invalid: {err['msg']}") from exc
    return items


SPLITS: tuple[str, ...] = ("dev", "test")
INDEPENDENT_SPLITS: tuple[str, ...] = ("indep-dev", "indep-dev2", "indep-dev3", "indep-dev4", "indep-dev5", "indep-dev6", "indep-dev7", "indep-dev8", "indep-dev9", "indep-dev10", "indep-dev11", "indep-test")
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


class WriterExpectation(BaseModel):
    """An independent writer's decision for one policy (eval/independent/README.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    outcome: Outcome
    reasoning: str
    confirm: list[str] = Field(default_factory=list)
    revised_from: Outcome | None = Field(
        default=None, description="The writer's outcome, when an adjudicator applied the errata (README)."
    )
    revision: str | None = Field(default=None, description="The adjudicator's one-sentence reason.")


class WriterCase(BaseModel):
    """A case as an independent writer wrote it: the note, its styles, and an outcome per policy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    styles: list[str] = Field(min_length=1)
    age_years: float | None = None
    cpt_codes: list[str]
    notes: str
    expected: dict[str, WriterExpectation]

    def as_case(self) -> Case:
        """The same case in the gold-case shape the scorer runs (styles become tags)."""
        return Case(
            id=self.id, title=", ".join(self.styles), tags=list(self.styles), age_years=self.age_years,
            cpt_codes=[str(c) for c in self.cpt_codes], notes=self.notes,
            expected={
                pid: Expectation(outcome=e.outcome, why=e.reasoning, confirm=list(e.confirm))
                for pid, e in self.expected.items()
            },
        )


def load_writer_cases(folder: Path) -> list[Case]:
    """Every case in folder/*.yaml (writers' files, read in name order); raises ConfigError when a
    file is missing, invalid, or repeats an id."""
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise ConfigError(f"no case files in {folder}")
    cases: list[Case] = []
    for path in files:
        cases += [w.as_case() for w in _load_list(path, WriterCase)]
    ids = [c.id for c in cases]
    if dupes := sorted({i for i in ids if ids.count(i) > 1}):
        raise ConfigError(f"{folder.name}: repeated case ids {', '.join(dupes)}")
    return cases
