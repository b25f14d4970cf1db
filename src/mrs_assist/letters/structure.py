"""A letter as a template: locked regions generated from the record, and named fields a reviewer fills.

The determination part of a letter (kind, decision sentence, reason, guideline quotes, rights
and appeal text) is rendered from the record and is locked. Between the locked regions sit the
named **fields** a reviewer may edit: the plan's and parties' names and numbers, deadlines and
contacts (placeholders to fill), a note to the provider and, in a request for information, the
documents requested. Who may sign follows from which regions an edited letter changed
(`compare_letter`), never from what its words say.

The template is found by rendering the letter once with a sentinel in place of every field
(`SENTINEL`) and splitting on the sentinels: what lies between is locked text, in order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mrs_assist.letters.context import LetterContext

SINGLE_LINE_FIELDS = (
    "plan_name",
    "member_name",
    "member_id",
    "provider_name",
    "provider_id",
    "response_deadline",
    "peer_to_peer_contact",
    "appeal_address",
)
"""Placeholder fields: one line each, and a letter is not signed while one still shows its placeholder."""

TEXT_FIELDS = ("provider_note", "requested_documents")
"""Free-text fields (paragraphs or list items, no headings or quotes); optional."""

FIELDS = SINGLE_LINE_FIELDS + TEXT_FIELDS

FILLED_AT_SIGNING = ("notice_date", "case_number", "reviewer_name", "reviewer_credentials",
                     "physician_name", "physician_credentials", "signature_date")
"""Placeholders the signed letter shows filled from the sign-off itself (date, record id, signer)."""

MAX_SINGLE_LINE = 200
MAX_TEXT = 4_000

_OPEN, _CLOSE = "\ue000", "\ue001"  # private-use code points: survive Markdown escaping and tidying
_SENTINEL = re.compile(f"{_OPEN}([0-9]+){_CLOSE}")
# A field value may not change the letter's structure: no line breaks or inline markup in a
# one-line field; no headings, quotes, rules, fences, tables or HTML in a text field.
_SINGLE_LINE_FORBIDDEN = re.compile(r"[\n\r*_`<>#|\[\]\\~]")
_TEXT_FORBIDDEN_LINE = re.compile(r"^\s{0,3}(?:#|>|<|`{3}|~{3}|\||[=\-*_](?:\s*[=\-*_]){2,}\s*$)")


def sentinel(name: str) -> str:
    """The marker rendered in place of field `name`."""
    return f"{_OPEN}{FIELDS.index(name)}{_CLOSE}"  # digits: nothing escapes or reflows them


def field_context(context: LetterContext) -> tuple[LetterContext, dict[str, str]]:
    """(the context with a sentinel in every field, each field's default value)."""
    from mrs_assist.letters.render import md_escape  # the templates insert the parties through |md

    ph = dict(context.placeholders)
    defaults = {name: ph[name] for name in SINGLE_LINE_FIELDS if name in ph}
    defaults |= {
        "member_name": md_escape(context.member.name),
        "member_id": md_escape(context.member.id),
        "provider_name": md_escape(context.provider.name),
        "provider_id": md_escape(context.provider.id),
        **context.fields,
    }
    marked = context.model_copy(
        update={
            "placeholders": ph | {name: sentinel(name) for name in SINGLE_LINE_FIELDS if name in ph},
            "member": context.member.model_copy(update={"name": sentinel("member_name"), "id": sentinel("member_id")}),
            "provider": context.provider.model_copy(
                update={"name": sentinel("provider_name"), "id": sentinel("provider_id")}
            ),
            "fields": {name: sentinel(name) for name in context.fields},
        }
    )
    return marked, defaults


@dataclass(frozen=True)
class LetterTemplate:
    """Locked text and field names in letter order: ``segments[0] fields[0] segments[1] …``."""

    segments: tuple[str, ...]
    fields: tuple[str, ...]
    defaults: dict[str, str]

    @classmethod
    def from_marked(cls, marked: str, defaults: dict[str, str]) -> LetterTemplate:
        """Split a sentinel rendering into locked segments and field names."""
        parts = _SENTINEL.split(normalize(marked))
        fields = tuple(FIELDS[int(i)] for i in parts[1::2])
        return cls(segments=tuple(parts[0::2]), fields=fields, defaults=dict(defaults))

    def fill(self, values: dict[str, str] | None = None) -> str:
        """The letter with each field's value (default: its default)."""
        values = self.defaults | dict(values or {})
        out = [self.segments[0]]
        for name, segment in zip(self.fields, self.segments[1:], strict=True):
            out += [values[name], segment]
        return "".join(out)


@dataclass(frozen=True)
class LetterEdit:
    """Which regions of a letter differ from its template."""

    locked_changed: bool
    """Text outside the named fields changed (or could not be matched to the template)."""
    where: str | None = None
    """The section (heading) where the letter first departs from the template, if it does."""
    fields_changed: tuple[str, ...] = ()
    """Fields whose value differs from the default."""
    bad_fields: tuple[str, ...] = ()
    """Fields whose value would change the letter's structure (markup, line breaks, too long)."""
    values: dict[str, str] = field(default_factory=dict)

    @property
    def reviewer_edit(self) -> bool:
        """Only named fields changed, each within its shape."""
        return not self.locked_changed and not self.bad_fields


def normalize(markdown: str) -> str:
    """Line endings and trailing blanks normalized (what a browser's textarea may change)."""
    lines = markdown.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip() + "\n"


def compare_letter(template: LetterTemplate, markdown: str) -> LetterEdit:
    """Match `markdown` to the template, leftmost locked segment first (linear time).

    A letter that cannot be split into the template's locked segments with field values in
    between has changed locked text. The leftmost match may miss an exotic split where a field
    value contains the next locked segment's text; that errs towards a physician, never away.
    """
    text = normalize(markdown)
    segments = template.segments
    if not text.startswith(segments[0]):
        return LetterEdit(locked_changed=True, where=_section(template, 0))
    pos = len(segments[0])
    values: dict[str, str] = {}
    occurrences: list[tuple[str, str]] = []
    for i, (name, segment) in enumerate(zip(template.fields, segments[1:], strict=True), start=1):
        if i == len(segments) - 1:  # the last locked segment closes the letter
            end = len(text) - len(segment)
            if end < pos or not text.endswith(segment):
                return LetterEdit(locked_changed=True, where=_section(template, i))
        else:
            end = text.find(segment, pos) if segment else pos
            if end < 0:
                return LetterEdit(locked_changed=True, where=_section(template, i))
        value = text[pos:end]
        occurrences.append((name, value))
        values.setdefault(name, value)
        pos = end + len(segment)
    if pos != len(text):
        return LetterEdit(locked_changed=True, where=_section(template, len(segments) - 1))
    changed = tuple(dict.fromkeys(n for n, v in occurrences if v != template.defaults.get(n)))
    bad = tuple(dict.fromkeys(n for n, v in occurrences if v != template.defaults.get(n) and not _fits(n, v)))
    return LetterEdit(locked_changed=False, fields_changed=changed, bad_fields=bad, values=values)


def _fits(name: str, value: str) -> bool:
    if name in TEXT_FIELDS:
        if len(value) > MAX_TEXT or not value.strip():
            return False
        return not any(_TEXT_FORBIDDEN_LINE.match(line) for line in value.split("\n"))
    if len(value) > MAX_SINGLE_LINE or not value.strip():
        return False
    return not _SINGLE_LINE_FORBIDDEN.search(value) or value == _placeholder_like(value)


def _placeholder_like(value: str) -> str | None:
    return value if re.fullmatch(r"\[[A-Za-z][A-Za-z ,'-]*\]", value) else None


def _section(template: LetterTemplate, index: int) -> str:
    """The heading of the template section that holds locked segment `index`."""
    before = "".join(template.segments[: index + 1])
    headings = re.findall(r"^#{1,6}\s+(.+)$", before, re.M)
    return headings[-1].strip() if headings else "the letter's opening"


def unfilled_placeholders(markdown: str, placeholders: dict[str, str]) -> list[str]:
    """Names of the placeholders (not filled at signing) whose text is still in the letter."""
    return [
        name for name, text in placeholders.items() if name not in FILLED_AT_SIGNING and text and text in markdown
    ]


__all__ = [
    "FIELDS",
    "FILLED_AT_SIGNING",
    "LetterEdit",
    "LetterTemplate",
    "TEXT_FIELDS",
    "compare_letter",
    "field_context",
    "normalize",
    "sentinel",
    "unfilled_placeholders",
]
