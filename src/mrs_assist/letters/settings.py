"""The letters' data files: plan settings, glossary, template manifest, fact wording.

Each file is parsed by a pydantic model that forbids unknown keys, so a typo in a data
file is an error at load time rather than a silently missing sentence in a letter.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mrs_assist.criteria.catalogue import load_catalogue
from mrs_assist.data import load_yaml, shipped
from mrs_assist.errors import ConfigError
from mrs_assist.schemas import LetterKind  # noqa: F401 (re-exported: letters/ imports it from here)

HERE = shipped("letters")
SETTINGS_FILE = HERE / "letter_settings.yaml"
GLOSSARY_FILE = HERE / "glossary.yaml"
TEMPLATES_DIR = HERE / "templates"
MANIFEST_FILE = TEMPLATES_DIR / "manifest.yaml"



class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Service(_Strict):
    """The service every letter names, in words and by code."""

    cpt_code: str
    name: str
    abbreviation: str


class Timeframe(_Strict):
    """A decision timeframe (chosen by the request's urgency)."""

    label: str
    limit: str = Field(description="e.g. '7 calendar days' or '72 hours'.")


class Appeal(_Strict):
    """Appeal rights: the window to appeal and the expedited appeal limit."""

    days: int = Field(ge=1)
    expedited_hours: int = Field(ge=1)
    external_review: bool


class Placeholders(_Strict):
    """Text shown where the request supplies no value (never replaced by invented data)."""

    plan_name: str
    notice_date: str
    case_number: str
    member_name: str
    member_id: str
    provider_name: str
    provider_id: str
    response_deadline: str
    peer_to_peer_contact: str
    appeal_address: str
    reviewer_name: str
    reviewer_credentials: str
    physician_name: str
    physician_credentials: str
    signature_date: str


class TextFields(_Strict):
    """Default text of the free-text fields a reviewer may edit (see letters.structure)."""

    provider_note: str = Field(min_length=1)
    requested_documents: str = Field(min_length=1)


class LetterSettings(_Strict):
    """letter_settings.yaml: the plan-specific numbers and placeholders."""

    version: str
    service: Service
    timeframes: dict[Literal["standard", "expedited"], Timeframe]
    appeal: Appeal
    placeholders: Placeholders
    fields: TextFields


class Glossary(_Strict):
    """glossary.yaml: acronym → plain-language meaning."""

    version: str
    terms: dict[str, str]


class TemplateSpec(_Strict):
    """One letter template: its version and its Markdown file (the HTML is rendered from it)."""

    version: str
    description: str
    markdown: str


class TemplateManifest(_Strict):
    """templates/manifest.yaml: every letter template and its version."""

    templates: dict[str, TemplateSpec]


class FactWording(_Strict):
    """How letters name a fact: its label, the question to ask, and its role."""

    label: str
    question: str
    role: str


@lru_cache(maxsize=8)
def load_letter_settings(path: Path = SETTINGS_FILE) -> LetterSettings:
    """The plan's letter settings; raises ConfigError when the file is invalid."""
    return load_yaml(path, LetterSettings, error=ConfigError)


@lru_cache(maxsize=8)
def load_glossary(path: Path = GLOSSARY_FILE) -> Glossary:
    """The acronym glossary; raises ConfigError when the file is invalid."""
    return load_yaml(path, Glossary, error=ConfigError)


@lru_cache(maxsize=8)
def load_manifest(path: Path = MANIFEST_FILE) -> TemplateManifest:
    """The letter template manifest; raises ConfigError when the file is invalid."""
    return load_yaml(path, TemplateManifest, error=ConfigError)


def load_fact_wording(facts_file: Path) -> dict[str, FactWording]:
    """Label, question and role of each fact in the catalogue (corpus/facts.yaml, parsed once by
    ``load_catalogue``); raises CorpusError naming file and line when the file is invalid."""
    facts = load_catalogue(facts_file).facts
    return {name: FactWording(label=spec.label, question=spec.question, role=spec.role) for name, spec in facts.items()}


def expand_acronyms(text: str, terms: dict[str, str]) -> str:
    """The text with each glossary acronym's first use spelled out ('MRI' → 'magnetic
    resonance imaging (MRI)'), unless the text already spells it out."""
    for abbr, meaning in terms.items():
        short = meaning.split(" (")[0]
        if short.lower() in text.lower():
            continue

        def spell(m: re.Match) -> str:
            opens = m.start() == 0 or bool(re.search(r"[.!?:]\s+$", text[: m.start()]))
            return f"{short[0].upper() + short[1:] if opens else short} ({abbr})"

        text = re.sub(rf"(?<![\w(-]){re.escape(abbr)}(?![\w)-])", spell, text, count=1)
    return text


def acronyms_in(text: str, terms: dict[str, str]) -> list[tuple[str, str]]:
    """Glossary acronyms that occur as whole words in the text, in glossary order."""
    return [(a, m) for a, m in terms.items() if re.search(rf"(?<![\w-]){re.escape(a)}(?![\w-])", text)]
