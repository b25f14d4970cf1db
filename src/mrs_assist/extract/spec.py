"""The detection data: each fact's ``detect:`` mapping (facts.yaml) and the extraction lexicon.

Both are parsed by pydantic with ``extra="forbid"``; every regex and quantity is checked
when it is loaded, so a typo in facts.yaml fails at start-up, never on a reviewer's case.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Value = Literal["true", "false", "unknown", "ignore"]
"""What a mention says about a fact: true, false, unknown (documented but hedged), or nothing."""

Reading = Literal["true", "false", "unknown", "ignore", "same"]
"""How a ConText category turns a mention into a value; ``same`` keeps the affirmed value."""

CATEGORIES = ("family", "negated", "hypothetical", "prior", "reported", "unanswered", "disfavored", "possible", "differential", "historical")
"""ConText categories that change a mention's reading, in precedence order. ``prior`` comes
from the note's layout (extract/layout.py: a past-history or copied-forward section, or a
statement dated well before the study), not from a ConText rule; a ``prior`` reading of
``same`` defers to the categories after it. ``reported`` is who asserts it: the patient,
a relative or an outside source ("mother states he had a brain tumor removed", "per
patient", "reportedly"), not the clinician's own finding: a diagnosis so reported is asked,
a symptom so reported is the patient's to report. ``unanswered`` is an open question nobody
answered ("the office could not say whether it is for X or Y"): whatever it names is asked."""

CATEGORY_OF_MODIFIER = {
    "FAMILY": "family",
    "NEGATED_EXISTENCE": "negated",
    "HYPOTHETICAL": "hypothetical",
    "POSSIBLE_EXISTENCE": "possible",
    "DISFAVORED": "disfavored",
    "DIFFERENTIAL": "differential",
    "HISTORICAL": "historical",
    "REPORTED": "reported",
    "UNANSWERED": "unanswered",
}
"""medspaCy ConText category → reading key."""

MAX_SCOPE = 64
"""The furthest a ConText modifier reaches, in tokens each way: a ceiling on every rule.

medspaCy lets a rule without ``max_scope`` reach to the ends of its sentence, and a note can
be one run-on "sentence" of 50,000 characters. With every reach bounded, a modifier can meet
only the targets and modifiers within MAX_SCOPE tokens of it, so ConText's work is
O(tokens x MAX_SCOPE) (context.BoundedContextGraph relies on this). TERMINATE and PSEUDO rules
modify nothing and keep their sentence-wide scope. The ceiling changes nothing in a sentence
of 65 tokens or fewer; clinical sentences run 5-45 (the gold and injection notes: at most 66).
"""


def _yaml_words(value: Any) -> Any:
    """YAML reads ``true``/``false`` as booleans: accept them as the words."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _compile(pattern: str, what: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"{what} {pattern!r} is not a valid regex: {exc}") from exc


class Readings(BaseModel):
    """Per-category readings; unset keys fall back to the fact's, then the role's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    affirmed: Value | None = Field(default=None, description="A plain mention.")
    negated: Reading | None = Field(default=None, description='"no pacemaker", "denies seizures".')
    possible: Reading | None = Field(default=None, description='"r/o tumor", "suspected", "?".')
    disfavored: Reading | None = Field(
        default=None, description='"less likely glioma", "doubt MS": argued against, neither asserted nor denied.'
    )
    unanswered: Reading | None = Field(
        default=None, description='"staff could not say whether it is for X or Y": an open question, nothing stated.'
    )
    differential: Reading | None = Field(default=None, description='"tumor vs abscess".')
    hypothetical: Reading | None = Field(default=None, description='"if", "candidate for".')
    historical: Reading | None = Field(default=None, description='"hx of", "s/p", "prior".')
    prior: Reading | None = Field(
        default=None, description="Past-history or copied-forward section, or dated well before the study."
    )
    family: Reading | None = Field(default=None, description='"mother has MS", "FHx".')
    reported: Reading | None = Field(
        default=None, description='"mother states he had a brain tumor", "per patient", "reportedly".'
    )

    @field_validator("*", mode="before")
    @classmethod
    def _words(cls, value: Any) -> Any:
        return _yaml_words(value)

    def over(self, base: Readings) -> Readings:
        """These readings with unset keys taken from ``base``."""
        mine = self.model_dump(exclude_none=True)
        return base.model_copy(update=mine)


class Near(BaseModel):
    """Two phrase lists within ``gap`` characters of one sentence (optionally joined by ``via``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    a: list[str] = Field(min_length=1, description="Regex fragments; one must appear.")
    b: list[str] = Field(min_length=1, description="Regex fragments; one must appear near an a.")
    via: list[str] = Field(
        default_factory=list, description="Connectors (vs, versus, or, from, ?) one of which must lie between."
    )
    gap: int = Field(default=60, ge=0, le=200, description="Most characters between a and b.")
    ordered: bool = Field(default=False, description="Only a before b (else either order).")

    def regex(self) -> str:
        """The one regex this rule stands for (stays inside a sentence)."""
        # one sentence; "vs." and "3.5" do not end it, nor does a line wrapped mid-sentence
        # (a line break before a lower-case word: "distinguish neoplasm from\ndysplasia")
        # a short parenthetical aside counts as one character: "MRI brain 09/2024 (ordered by
        # PCP): unremarkable" is as near as "MRI brain 09/2024: unremarkable"
        # (matched ignoring case, so a wrapped ALL-CAPS line continues too, but never into a
        # line that opens a new field: "MR SPECTROSCOPY - BRAIN" / "DX: ... CIRRHOSIS OF LIVER")
        gap = r"(?:\([^()\n]{1,40}\)|[^.\n]|(?<=\bvs)\.|\.(?=\w)|\n(?=[a-z])(?![\w /&().-]{1,30}:))"
        a = rf"(?<!\w)(?:{'|'.join(self.a)})(?!\w)"
        b = rf"(?<!\w)(?:{'|'.join(self.b)})(?!\w)"
        if self.via:
            # a connector joins its two sides within one clause: "neoplastic; no infectious or
            # inflammatory process" joins nothing to the neoplasm
            via, gap = "|".join(self.via), gap.replace("[^.\\n]", r"[^.;\n]|;(?!\s*(?:no|not|none|without|never)\b)")
            mid = rf"{gap}{{0,{self.gap}}}?(?:{via}){gap}{{0,{self.gap}}}?"
        else:
            mid = rf"{gap}{{0,{self.gap}}}?"
        # the later phrase denied right before it ("encephalopathy, MRS for diagnosis not
        # prognosis") is not joined to the first: a cue inside the match would modify nothing
        later = "".join(rf"(?<!\b{w}\s)" for w in ("not", "no", "never", "without", "not for", "rather than", "instead of"))
        forward = f"{a}{mid}{later}{b}"
        return forward if self.ordered else f"{forward}|{b}{mid}{later}{a}"


class Quantity(BaseModel):
    """A regex capturing a number (``n``) and maybe a ``unit``; the mention's value is a comparison."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    regex: str = Field(
        description="Must define the named group n (unit optional), or date: a date read against the "
        "notes' latest date (the request), e.g. 'MRI brain 01/30/2025' in a note dated 03/06/2025."
    )
    within_days: float | None = Field(
        default=None, description="True when n units ago (or the date) is at most this many days before."
    )
    below: float | None = Field(default=None, description="True when n is below this number.")
    default_unit: str = Field(default="day", description="Unit when the regex captures none.")

    @model_validator(mode="after")
    def _check(self) -> Quantity:
        if (self.within_days is None) == (self.below is None):
            raise ValueError("a quantity needs exactly one of within_days or below")
        compiled = _compile(self.regex, "quantity")
        if "n" not in compiled.groupindex and "date" not in compiled.groupindex:
            raise ValueError(f"quantity regex {self.regex!r} must define the named group (?P<n>...) or (?P<date>...)")
        if "date" in compiled.groupindex and self.within_days is None:
            raise ValueError(f"quantity regex {self.regex!r}: a date is compared with within_days")
        return self


class Group(BaseModel):
    """One set of matchers sharing readings: a mention's reading comes from its group."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    terms: list[str] = Field(default_factory=list, description="Phrases, matched token by token, any case.")
    abbreviations: dict[str, str] = Field(
        default_factory=dict, description="Abbreviation → expansion; matched as whole tokens, case-sensitive."
    )
    patterns: list[list[dict[str, Any]]] = Field(default_factory=list, description="spaCy token patterns.")
    regex: list[str] = Field(default_factory=list, description="Regexes, any case (no named groups).")
    near: list[Near] = Field(default_factory=list)
    quantities: list[Quantity] = Field(default_factory=list)
    requires: list[str] = Field(
        default_factory=list, description="Regexes; a mention counts only if one matches in requires_scope."
    )
    requires_scope: Literal["sentence", "notes"] = "sentence"
    denials_requires: Literal["sentence", "notes", "none"] | None = Field(
        default=None,
        description="Where a mention that fails `requires` still counts when it does not read true: a "
        "negated or hedged mention contradicts without asserting (\"no neoplasm identified\" outside a head "
        "context still contests a brain mass). None: it does not count; none: no requirement for it.",
    )
    readings: Readings = Field(default_factory=Readings)
    narrower: bool = Field(
        default=False,
        description="Its words name one kind of the fact (a tumor is one kind of lesion): denied or doubted, "
        "such a mention contests only its own kind, never the fact another group asserts.",
    )
    presumes: bool = Field(
        default=False,
        description="Its words take the fact as given without stating it (\"residual lymphoma vs treatment "
        "effect\" presumes a lymphoma): hedged or in a differential, such a mention is true only while no "
        "other mention leaves the fact in doubt (reported, suspected, unconfirmed).",
    )

    @field_validator("requires", mode="before")
    @classmethod
    def _shared_lists_flatten(cls, values: Any) -> Any:
        """A YAML alias of a shared list inside a list (``[*no_change, '...']``) adds its items."""
        if isinstance(values, list):
            return [v for item in values for v in (item if isinstance(item, list) else [item])]
        return values

    @field_validator("regex", "requires")
    @classmethod
    def _regexes_compile(cls, values: list[str]) -> list[str]:
        for value in values:
            if _compile(value, "regex").groupindex:
                raise ValueError(f"regex {value!r} must not define named groups (only quantities do)")
        return values

    @model_validator(mode="after")
    def _near_compiles(self) -> Group:
        for near in self.near:
            _compile(near.regex(), "near rule")
        return self

    @property
    def is_empty(self) -> bool:
        return not (self.terms or self.abbreviations or self.patterns or self.regex or self.near or self.quantities)


class AgeRule(BaseModel):
    """Ties a fact to the patient's age (from the request's age_years or the notes' wording)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at_most_days: float | None = Field(
        default=None, description="The fact IS this age bracket (neonate): true iff age <= this many days."
    )
    under_years: float | None = Field(
        default=None, description="The fact's mentions count only for a patient younger than this."
    )
    wording: list[str] = Field(
        default_factory=list, description="Regexes that say the patient is in the bracket without a number."
    )

    @model_validator(mode="after")
    def _one(self) -> AgeRule:
        if (self.at_most_days is None) == (self.under_years is None):
            raise ValueError("an age rule needs exactly one of at_most_days or under_years")
        for value in self.wording:
            _compile(value, "age wording")
        return self


class DetectSpec(Group):
    """A fact's ``detect:`` mapping: its base group, extra groups, and fact-level rules."""

    groups: list[Group] = Field(default_factory=list, description="Further matchers with their own readings.")
    negated_by: list[str] = Field(
        default_factory=list,
        description="Regexes; in the same sentence they make the nearest true mention false (MRI-conditional).",
    )
    qualified_reads: Literal["false", "unknown"] = Field(
        default="false",
        description="What a `negated_by` cue makes the mention: false (an MR-conditional pacemaker is no "
        "unsafe implant), or unknown where a policy names the thing itself whatever its qualifier.",
    )
    implied_by: list[str] = Field(
        default_factory=list, description="Facts whose truth makes this fact true (with their evidence)."
    )
    unless_facts: list[str] = Field(
        default_factory=list, description="Facts whose truth makes this fact false (with their evidence)."
    )
    undecided_while: list[str] = Field(
        default_factory=list,
        description="Regexes for a study still to come (scheduled, pending, report to follow): while the notes "
        "name one, a false reading is unknown (asked), never a denial on the study before it.",
    )
    not_done_while: list[str] = Field(
        default_factory=list,
        description="Regexes saying the study that decides the fact was never done (\"no CT or MRI performed "
        "yet\"): while the notes say so, any reading is unknown (asked): what they call indeterminate was "
        "another study.",
    )
    other_study: list[str] = Field(
        default_factory=list,
        description="Regexes naming another study (\"MR perfusion\", \"DTI\"): in notes that name one and "
        "never name MR spectroscopy, the fact is unknown (asked: which study is wanted?) unless read otherwise.",
    )
    withdrawn_while: list[str] = Field(
        default_factory=list,
        description="Regexes for a report that withdraws the question this purpose asks (\"represents a flow "
        "artifact\", \"the question is answered by pathology\"): while the notes say so, an asserted purpose "
        "is unknown (asked); a denied one stays denied.",
    )
    only_with: list[str] = Field(
        default_factory=list,
        description="Facts this one is about (a treated tumor is the known tumor's): it is reported only "
        "where one of them is true; its mentions still count as a purpose's premise.",
    )
    any_instance: bool = Field(
        default=False,
        description="Its mentions name separate instances (a resection, a radiation course): one asserted "
        "is enough, a denied other contests nothing (read so as a purpose's premise).",
    )
    presupposes: list[str] = Field(
        default_factory=list,
        description="Facts this purpose takes as given (recurrence presupposes a known tumor): when the notes "
        "leave one in doubt (reported, hedged, contested or denied) outside the purpose's own words, "
        "the purpose is unknown (asked), however plainly it is stated.",
    )
    age: AgeRule | None = None
    names_alternatives: bool = Field(
        default=False,
        description="Its matches name alternatives (\"abscess vs necrotic glioma or metastasis\"): a condition "
        "mentioned inside one is one side of the question, read as a differential, never a diagnosis.",
    )
    about_the_study: bool = Field(
        default=False,
        description="The fact says why the study is wanted (therapy planning, monitoring), as purposes "
        "do: in notes that never name the MRS, or that ask for it only conditionally, it is not asserted.",
    )
    hedge_yields_to_denial: bool = Field(
        default=False,
        description="When a current mention denies the fact outright (\"no known malignancy\"), hedged "
        "mentions (\"abscess vs tumor\") do not make it unknown: a suspected tumor does not contradict "
        "\"no tumor is known\".",
    )
    names: list[str] = Field(
        default_factory=list,
        description="Regexes for any naming of the fact (synonym, abbreviation, misspelling) that the "
        "matchers above do not read. A naming the matchers miss leaves the fact unknown (asked) "
        "instead of closed to false: a missed diagnosis must never deny (issue 18).",
    )
    icd10: list[str] = Field(
        default_factory=list,
        description="ICD-10-CM code prefixes (e.g. G40, P91.6) that name the fact, read like `names`.",
    )
    reason_only: bool = Field(
        default=False,
        description="Count only mentions where the reason for the study is stated (assessment/plan/reason "
        "sections, or a sentence about the MRS).",
    )

    @field_validator("negated_by", "names", "undecided_while", "not_done_while", "withdrawn_while", "other_study")
    @classmethod
    def _cues_compile(cls, values: list[str]) -> list[str]:
        for value in values:
            _compile(value, "negated_by / names")
        return values

    @field_validator("icd10")
    @classmethod
    def _codes(cls, values: list[str]) -> list[str]:
        for value in values:
            if not re.fullmatch(r"[A-Z]\d{2}(?:\.[0-9A-Z]{1,4})?", value):
                raise ValueError(f"not an ICD-10-CM code prefix: {value!r}")
        return values

    def naming_regex(self) -> str | None:
        """One regex for every naming of the fact (``names`` and ``icd10``), or None."""
        parts = [f"(?:{n})" for n in self.names]
        for code in self.icd10:
            # "G40" names G40, G40.9, G40.909 and G40909; "P91.6" names P91.6, P91.60-P91.63.
            head, _, tail = code.partition(".")
            rest = rf"\.?{re.escape(tail)}[0-9A-Z]{{0,3}}" if tail else r"(?:\.?[0-9A-Z]{1,4})?"
            parts.append(rf"(?-i:(?<![\w.]){re.escape(head)}{rest}(?!\w))")
        return "|".join(parts) or None

    def all_groups(self) -> list[Group]:
        """The base group (index 0) and the extra groups, in order."""
        return [self, *self.groups]


# --- the lexicon: ConText modifiers, role readings, untrusted-text guards, age wording ------
class ModifierRule(BaseModel):
    """One ConText modifier rule (medspaCy ConTextRule arguments)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    literal: str = Field(min_length=1)
    category: str = Field(min_length=1)
    direction: Literal["FORWARD", "BACKWARD", "BIDIRECTIONAL", "TERMINATE", "PSEUDO"] = "FORWARD"
    pattern: list[dict[str, Any]] | str | None = None
    max_scope: int | None = Field(default=None, ge=1, le=MAX_SCOPE)
    allowed_types: list[str] | None = None


class ContextEdits(BaseModel):
    """medspaCy's default ConText rules, minus ``drop`` (by literal), plus ``add``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    drop: list[str] = Field(default_factory=list)
    add: list[ModifierRule] = Field(default_factory=list)
    max_scope: dict[str, int] = Field(
        default_factory=dict, description="Category → scope limit (tokens) for every rule of it without one."
    )

    @field_validator("max_scope")
    @classmethod
    def _bounded(cls, value: dict[str, int]) -> dict[str, int]:
        for category, limit in value.items():
            if not 1 <= limit <= MAX_SCOPE:
                raise ValueError(f"max_scope of {category} must be between 1 and {MAX_SCOPE} tokens, not {limit}")
        return value
    terminated_by: dict[str, list[str]] = Field(
        default_factory=dict, description="Category → categories that end its scope."
    )


class AgePattern(BaseModel):
    """Wording that states the patient's age: a regex with group n and maybe unit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    regex: str
    default_unit: str = "year"

    @model_validator(mode="after")
    def _check(self) -> AgePattern:
        if "n" not in _compile(self.regex, "age pattern").groupindex:
            raise ValueError(f"age pattern {self.regex!r} must define the named group (?P<n>...)")
        return self


class Lexicon(BaseModel):
    """extract/lexicon.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    context: ContextEdits
    readings: dict[str, Readings] = Field(description="Role → complete readings.")
    sentence_abbreviations: list[str] = Field(description="Words whose trailing period does not end a sentence.")
    sections: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Section category → header regexes (matched at a line start by medspaCy's Sectionizer).",
    )
    device_kinds: dict[str, str] = Field(
        default_factory=dict,
        description="Device kind → regex matching every way a note names it (a mention of the kind, whole): "
        "a kind qualified MR-conditional once is qualified wherever named.",
    )
    section_readings: dict[str, str] = Field(
        default_factory=dict, description="Section category → the reading category it adds (family, prior, negated)."
    )
    reason_unstated: list[str] = Field(
        default_factory=list,
        description="Regexes for a statement that the request's clinical question is not known (its field "
        "blank, the office unable to say): a purpose inferred from elsewhere is then asked.",
    )
    age_patterns: list[AgePattern]
    age_not_followed_by: str = Field(description="Regex for the text after an age that makes it a relative's.")
    number_words: dict[str, int]

    @model_validator(mode="after")
    def _complete(self) -> Lexicon:
        for role, readings in self.readings.items():
            missing = [k for k, v in readings.model_dump().items() if v is None]
            if missing:
                raise ValueError(f"readings for role {role!r} must set {', '.join(missing)}")
        _compile(self.age_not_followed_by, "age_not_followed_by")
        for pattern in self.reason_unstated:
            _compile(pattern, "reason_unstated")
        for category, headers in self.sections.items():
            for header in headers:
                _compile(header, f"section header of {category}")
        for category, reading in self.section_readings.items():
            if reading not in CATEGORIES:
                raise ValueError(f"section_readings.{category} must be one of {', '.join(CATEGORIES)}")
        return self
