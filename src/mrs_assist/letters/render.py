"""Jinja rendering of letter templates (files in templates/), Markdown and HTML.

StrictUndefined turns a missing variable into an error instead of an empty string, and
HTML templates autoescape every inserted value. Markdown has no escaping of its own, so
values from the request or a model go through the ``md`` filter.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, meta
from jinja2.exceptions import TemplateError

from mrs_assist.errors import ConfigError
from mrs_assist.letters.context import LetterContext
from mrs_assist.letters.structure import LetterTemplate, field_context
from mrs_assist.letters.settings import TEMPLATES_DIR, acronyms_in, expand_acronyms, load_glossary

EXTRA_VARIABLES = frozenset({"terms", "draft"})
"""Variables templates receive besides LetterContext's fields."""

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")
_MD_LINE_START = re.compile(r"^(?:([#>+\-])|(\d+)([.)]))")
_SEP = "\n\u241e\n"


_PLACEHOLDER = re.compile(r"^\[[A-Za-z][A-Za-z ,'-]*\]$")


def md_escape(value: Any) -> str:
    """Text safe to insert into Markdown: specials backslash-escaped, one line.

    A bare placeholder such as "[Member name]" is left as it is (it cannot form a link).
    """
    text = re.sub(r"\s+", " ", str(value)).strip()
    if _PLACEHOLDER.match(text):
        return text
    # A line opening like a heading, quote or list item must stay a paragraph.
    return _MD_LINE_START.sub(
        lambda m: "\\" + m.group(1) if m.group(1) else m.group(2) + "\\" + m.group(3),
        _MD_SPECIAL.sub(r"\\\1", text),
    )


def md_unescape(text: str) -> str:
    """Undo md_escape (for turning our own Markdown back into plain text)."""
    return re.sub(r"\\([\\`*_\[\]<>|#>+\-.)])", r"\1", text)


def _autoescape(name: str | None) -> bool:
    return bool(name) and name.endswith(".html.j2")


@lru_cache(maxsize=4)
def environment(templates_dir: Path = TEMPLATES_DIR) -> Environment:
    """The letters' Jinja environment: StrictUndefined, autoescape for *.html.j2."""
    terms = load_glossary().terms
    env = Environment(
        loader=FileSystemLoader(str(templates_dir)),
        undefined=StrictUndefined,
        autoescape=_autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = md_escape
    env.filters["plain"] = lambda text: expand_acronyms(str(text), terms)
    env.filters["plain_each"] = lambda items: expand_acronyms(_SEP.join(map(str, items)), terms).split(_SEP)
    return env


def check_templates(templates_dir: Path = TEMPLATES_DIR) -> dict[str, set[str]]:
    """The variables each template file uses; raises ConfigError for a syntax error or a
    variable no letter context provides."""
    env = environment(templates_dir)
    allowed = set(LetterContext.model_fields) | EXTRA_VARIABLES
    used: dict[str, set[str]] = {}
    for path in sorted(templates_dir.glob("*.j2")):
        try:
            names = meta.find_undeclared_variables(env.parse(path.read_text(encoding="utf-8")))
        except TemplateError as exc:
            raise ConfigError(f"letter template {path.name}: {exc}") from exc
        if unknown := names - allowed:
            raise ConfigError(f"letter template {path.name} uses unknown variables: {sorted(unknown)}")
        used[path.name] = names
    return used


def render_pair(markdown_template: str, html_template: str, context: LetterContext, **options: Any) -> tuple[str, str]:
    """The letter as (Markdown, HTML), fields at their defaults (options: see `render_template`)."""
    template, html = render_template(markdown_template, html_template, context, **options)
    return template.fill(), html


def render_template(
    markdown_template: str,
    html_template: str,
    context: LetterContext,
    *,
    draft: Any = None,
    templates_dir: Path = TEMPLATES_DIR,
) -> tuple[LetterTemplate, str]:
    """The letter as a `LetterTemplate` (locked Markdown regions and fields) and as HTML.

    Rendered three times: the first pass finds which acronyms the letter uses (listed under
    "Terms used in this letter"), the second writes the HTML, the third the Markdown with a
    sentinel in every field, split into locked segments.
    """
    env = environment(templates_dir)
    extra = {"draft": draft} if draft is not None else {}
    md_t, html_t = env.get_template(markdown_template), env.get_template(html_template)
    first = md_t.render(**context.model_dump(), **extra, terms=[])
    terms = acronyms_in(md_unescape(first), load_glossary().terms)
    html = html_t.render(**context.model_dump(), **extra, terms=terms)
    marked, defaults = field_context(context)
    template = LetterTemplate.from_marked(_tidy(md_t.render(**marked.model_dump(), **extra, terms=terms)), defaults)
    return template, html


def _tidy(markdown: str) -> str:
    return re.sub(r"\n{3,}", "\n\n", markdown).strip() + "\n"


def markdown_html(markdown: str) -> str:
    """A reviewer-edited letter's Markdown as HTML (CommonMark via markdown-it-py; raw HTML in the
    text is escaped, never passed through), so an edited letter's HTML says what its Markdown says."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).render(markdown)
