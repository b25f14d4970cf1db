"""The shared facts catalogue (corpus/facts.yaml) and the value types of a case's facts.

The catalogue names every fact a policy's criteria use, with the label shown to reviewers,
the question to ask when the fact is missing, its role and whether it is open- or
closed-world. Detection data (terms, patterns, the ``detect`` mapping) belongs to the
extraction layer, which validates it; this module only carries it through.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mrs_assist.data import YamlFile
from mrs_assist.schemas import Evidence

Role = Literal["purpose", "condition", "exclusion", "safety", "scope", "demographic"]
World = Literal["open", "closed"]
Source = Literal["notes", "request", "default", "closure", "age", "mention"]

FACT_NAME = r"^[a-z][a-z0-9_]*$"
"""A fact name: lower-case words joined by underscores (``known_brain_tumor``)."""

# Roles whose world is fixed by the catalogue's interpretation notes (facts.yaml header).
_WORLD_OF_ROLE: dict[str, str] = {
    "purpose": "open",
    "condition": "open",
    "exclusion": "closed",
    "safety": "closed",
    "scope": "closed",
}

_StrListOrMap = list[str] | dict[str, str | list[str]]


class FactSpec(BaseModel):
    """One catalogue entry: what a fact means and how the checker treats its absence."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str = Field(min_length=1, description="Plain-language name shown to reviewers.")
    question: str = Field(min_length=1, description="What to ask when the fact is missing.")
    role: Role = Field(description="What the fact is for in a policy's criteria.")
    world: World = Field(description="open: undocumented is unknown; closed: undocumented is false.")
    detect: dict[str, Any] = Field(
        default_factory=dict, description="Detection settings, validated by mrs_assist.extract."
    )
    terms: _StrListOrMap = Field(default_factory=list, description="Detection terms (extract).")
    patterns: _StrListOrMap = Field(default_factory=list, description="Detection regexes (extract).")
    abbreviations: _StrListOrMap = Field(
        default_factory=list, description="Abbreviations and their expansions (extract)."
    )
    negated_by: _StrListOrMap = Field(
        default_factory=list, description="Wording that negates the fact (extract)."
    )
    qualifies: list[str] = Field(
        default_factory=list,
        description="Purpose rows this purpose may be the reason for (prognosis of an encephalopathy, of HIE): "
        "in the indications matrix, MRS for such a row leaves this purpose open instead of false.",
    )
    suspends_closure: bool = Field(
        default=False,
        description="Documented (true or unknown), the notes are not the whole record (pages missing): only a "
        "purpose they assert closes the others; one named without its qualifier may be settled on the missing part.",
    )

    @model_validator(mode="after")
    def _world_matches_role(self) -> FactSpec:
        expected = _WORLD_OF_ROLE.get(self.role)
        if expected is not None and self.world != expected:
            raise ValueError(f"a {self.role} fact must be world: {expected} (facts.yaml header)")
        return self


class Catalogue(BaseModel):
    """Every fact the policies may use, by name, in file order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    facts: dict[str, FactSpec] = Field(description="Fact name → its catalogue entry.")

    @model_validator(mode="after")
    def _names_are_valid(self) -> Catalogue:
        for name in self.facts:
            if not re.match(FACT_NAME, name):
                raise ValueError(f"fact name {name!r} must be lower_snake_case")
        return self

    def __contains__(self, name: object) -> bool:
        return name in self.facts

    def spec(self, name: str) -> FactSpec:
        """The entry for ``name``; raises KeyError naming the fact when it is not catalogued."""
        try:
            return self.facts[name]
        except KeyError:
            raise KeyError(f"fact {name!r} is not in the facts catalogue") from None

    def names(self, role: Role | None = None) -> list[str]:
        """Fact names in catalogue order, optionally only those with ``role``."""
        return [n for n, s in self.facts.items() if role is None or s.role == role]

    def fingerprint(self) -> str:
        """sha256 of the catalogue's content: equal catalogues share it (caches key on it).

        Computed on each call (about half a millisecond): a copy made with ``model_copy(update=…)``
        must not inherit its original's.
        """
        return hashlib.sha256(self.model_dump_json().encode("utf-8")).hexdigest()


class FactValue(BaseModel):
    """A case fact: true, false or unknown (None), where it came from, and its evidence."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=FACT_NAME, description="Catalogue fact name.")
    value: bool | None = Field(description="True, False, or None for unknown.")
    evidence: list[Evidence] = Field(default_factory=list, description="Supporting spans of the notes.")
    source: Source = Field(
        description="notes: extracted; request: sent by the caller; default: closed-world "
        "absence or open-world unknown; closure: purposes close once one is documented; "
        "age: derived from the patient's age; mention: the notes name the fact (a synonym, "
        "abbreviation or ICD-10 code) in words extraction does not read, so it is unknown "
        "and never closed."
    )
    contrary: list[Evidence] = Field(
        default_factory=list,
        description="Current mentions that read otherwise (negated, hedged) than the evidence: "
        "a fact the notes both assert and contradict is contested and left unknown.",
    )


def load_catalogue(path: Path) -> Catalogue:
    """The facts catalogue at ``path``, parsed once per version of the file (the model is frozen,
    so every reader shares it); raises CorpusError naming file and line."""
    try:
        stat = path.stat()
    except OSError:
        return YamlFile(path).validate(Catalogue)  # raises the file's error
    return _parse_catalogue(path.resolve(), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _parse_catalogue(path: Path, mtime_ns: int, size: int) -> Catalogue:
    return YamlFile(path).validate(Catalogue)
