"""Jinja rendering of letter templates (files in templates/): one Markdown template per letter
kind; the HTML is that Markdown rendered (CommonMark via markdown-it-py) inside one page frame.

StrictUndefined turns a missing variable into an error instead of an empty string. Markdown has
no escaping of its own, so values from the request or a model go through the ``md`` filter; the
HTML renderer escapes any raw HTML in the Markdown, and the page frame autoescapes its values.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

from jinja2 import Environment, FileSystemLoader, StrictUndefined, meta
from jinja2.exceptions import TemplateError

from mrs_assist.errors import ConfigError
from mrs_assist.letters.context import LetterContext
from mrs_assist.letters.structure import LetterTemplate, field_context
from mrs_assist.letters.settings import TEMPLATES_DIR, acronyms_in, expand_acronyms, load_glossary

EXTRA_VARIABLES = frozenset({"terms", "draft", "body"})
"""Variables templates receive besides LetterContext's fields (``body``: the page frame's)."""

PAGE_TEMPLATE = "_page.html.j2"
"""The HTML page around every letter's rendered Markdown: head, style, the article element."""

DRAFT_NOTICE = "DRAFT — NOT FOR RELEASE."
"""How an adverse draft's notice opens (``_header.md.j2``); in HTML it is the page's alert banner."""

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


def render_pair(markdown_template: str, context: LetterContext, **options: Any) -> tuple[str, str]:
    """The letter as (Markdown, HTML), fields at their defaults (options: see `render_template`)."""
    template, html = render_template(markdown_template, context, **options)
    return template.fill(), html


def render_template(
    markdown_template: str,
    context: LetterContext,
    *,
    draft: Any = None,
    templates_dir: Path = TEMPLATES_DIR,
) -> tuple[LetterTemplate, str]:
    """The letter as a `LetterTemplate` (locked Markdown regions and fields) and as HTML.

    The Markdown is rendered twice: the first pass finds which acronyms the letter uses (listed
    under "Terms used in this letter"), the second has a sentinel in every field and is split into
    locked segments. The HTML is the filled Markdown rendered (`letter_html`), so it says exactly
    what the Markdown says.
    """
    env = environment(templates_dir)
    extra = {"draft": draft} if draft is not None else {}
    md_t = env.get_template(markdown_template)
    first = md_t.render(**context.model_dump(), **extra, terms=[])
    terms = acronyms_in(md_unescape(first), load_glossary().terms)
    marked, defaults = field_context(context)
    template = LetterTemplate.from_marked(_tidy(md_t.render(**marked.model_dump(), **extra, terms=terms)), defaults)
    asked = draft.information_requested if draft is not None else context.questions
    return template, letter_html(template.fill(), context.kind, facts=[q.fact for q in asked], templates_dir=templates_dir)


def _tidy(markdown: str) -> str:
    return re.sub(r"\n{3,}", "\n\n", markdown).strip() + "\n"


@lru_cache(maxsize=1)
def _markdown_it() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False})


def markdown_html(markdown: str, *, facts: Sequence[str] = ()) -> str:
    """A letter's Markdown as HTML (CommonMark via markdown-it-py; raw HTML in the text is escaped,
    never passed through). The adverse draft's notice becomes an alert banner (class draft-banner),
    and the numbered list with one item per fact in ``facts`` — the letter's questions, in order —
    carries each item's fact name (data-fact)."""
    md = _markdown_it()
    tokens = md.parse(markdown)
    for i, token in enumerate(tokens):
        if token.type == "blockquote_open" and tokens[i + 2].content.startswith(f"**{DRAFT_NOTICE}**"):
            token.attrSet("class", "draft-banner")
            token.attrSet("role", "alert")
        elif token.type == "ordered_list_open" and facts:
            items = [t for t in tokens[i + 1 : _close_of(tokens, i)] if t.type == "list_item_open" and t.level == token.level + 1]
            if len(items) == len(facts):
                token.attrSet("class", "questions")
                for item, fact in zip(items, facts, strict=True):
                    item.attrSet("data-fact", fact)
                facts = ()
    return md.renderer.render(tokens, md.options, {})


def _close_of(tokens: list[Any], start: int) -> int:
    """Index of the token closing the one opened at ``start``."""
    return next(j for j in range(start + 1, len(tokens)) if tokens[j].level == tokens[start].level and tokens[j].nesting == -1)


def letter_html(markdown: str, kind: str, *, facts: Sequence[str] = (), templates_dir: Path = TEMPLATES_DIR) -> str:
    """The letter's HTML page: its Markdown rendered (`markdown_html`) inside the page frame, titled
    by the Markdown's first heading."""
    from markupsafe import Markup

    title = next((line[2:] for line in markdown.splitlines() if line.startswith("# ")), "")
    page = environment(templates_dir).get_template(PAGE_TEMPLATE)
    return page.render(kind=kind, title=md_unescape(title), body=Markup(markdown_html(markdown, facts=facts)))
