"""Typed corpus objects: documents and the clauses they are made of."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class FrontMatter(BaseModel):
    """The YAML header of a curated document."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", description="Policy or literature id.")
    payer: str = Field(min_length=1, description="Organisation that publishes the document.")
    payer_aliases: list[str] = Field(default_factory=list, description="Other names for the payer.")
    title: str = Field(min_length=1)
    kind: Literal["guideline", "literature"]
    version: str = Field(min_length=1, description="Version shown as policy_version.")
    dates: dict[str, dt.date] = Field(default_factory=dict, description="Named ISO dates.")
    cpt_codes: list[str] = Field(default_factory=list)
    body_region: str = Field(min_length=1)
    source_file: str = Field(min_length=1, description="Seed file this was curated from.")


class Clause(BaseModel):
    """One citable unit of guideline text, with its stable id."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="Citable id: '<policy id>#<local id>'.")
    local_id: str
    policy_id: str
    section_path: tuple[str, ...] = Field(description="Headings above the clause, outermost first.")
    text: str = Field(description="Verbatim clause text with deleted (struck) language removed.")
    deleted_text: tuple[str, ...] = Field(default=(), description="Struck-through passages.")
    deleted: bool = Field(default=False, description="The whole clause is deleted policy language.")
    line: int = Field(description="1-based line of the anchor in the source Markdown.")

    @property
    def section(self) -> str:
        """The section path as one readable string."""
        return " > ".join(self.section_path)

    @property
    def parent_local_id(self) -> str | None:
        """The local id one level up ('indications.1' for 'indications.1.a'), if any."""
        head, _, _ = self.local_id.rpartition(".")
        return head or None


class Document(BaseModel):
    """A curated guideline or literature document and its clauses, in file order."""

    meta: FrontMatter
    path: str
    clauses: tuple[Clause, ...]
    content_hash: str = Field(description="sha256 of the file bytes.")

    @property
    def id(self) -> str:
        return self.meta.id

    def clause(self, local_or_full_id: str) -> Clause | None:
        """The clause with this local or full id, or None."""
        for c in self.clauses:
            if local_or_full_id in (c.id, c.local_id):
                return c
        return None


class Corpus(BaseModel):
    """All curated documents, with a clause lookup by full id."""

    documents: dict[str, Document]

    def clause(self, clause_id: str) -> Clause | None:
        """The clause with this full id ('cohere-mrs#indications.1'), or None."""
        policy_id, _, _ = clause_id.partition("#")
        doc = self.documents.get(policy_id)
        return doc.clause(clause_id) if doc else None

    def clauses(self, *, include_deleted: bool = False) -> list[Clause]:
        """Every clause in document then file order."""
        return [
            c
            for d in self.documents.values()
            for c in d.clauses
            if include_deleted or not c.deleted
        ]

    @property
    def policy_ids(self) -> list[str]:
        """Ids of the documents that are coverage guidelines (not literature)."""
        return [d.id for d in self.documents.values() if d.meta.kind == "guideline"]
