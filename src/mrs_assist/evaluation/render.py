"""A tiny document model rendered to both Markdown and self-contained HTML.

Reports are built once as sections of paragraphs, tables and images, so the Markdown
and the HTML can never disagree.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Table:
    headers: list[str]
    rows: list[list[object]]


@dataclass
class Image:
    path: Path
    alt: str


@dataclass
class Section:
    title: str
    blocks: list[str | Table | Image] = field(default_factory=list)

    def add(self, *blocks: str | Table | Image) -> Section:
        self.blocks.extend(blocks)
        return self


def fmt(value: object, digits: int = 3) -> str:
    """Numbers rounded for reading; None as 'n/a'."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _md_cell(value: object) -> str:
    return fmt(value).replace("|", "\\|").replace("\n", " ")


def to_markdown(title: str, sections: list[Section]) -> str:
    """The report as GitHub-flavoured Markdown (images by relative path)."""
    out = [f"# {title}", ""]
    for s in sections:
        out += [f"## {s.title}", ""]
        for b in s.blocks:
            if isinstance(b, Table):
                out.append("| " + " | ".join(b.headers) + " |")
                out.append("| " + " | ".join("---" for _ in b.headers) + " |")
                out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in b.rows]
            elif isinstance(b, Image):
                out.append(f"![{b.alt}]({b.path.name})")
            else:
                out.append(b)
            out.append("")
    return "\n".join(out)


_CSS = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3}img{max-width:100%}code{background:#f6f6f6}"""


def to_html(title: str, sections: list[Section]) -> str:
    """The report as one HTML file (images embedded as data URIs)."""
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
           f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"]
    for s in sections:
        out.append(f"<h2>{html.escape(s.title)}</h2>")
        for b in s.blocks:
            if isinstance(b, Table):
                out.append("<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in b.headers) + "</tr>")
                out += ["<tr>" + "".join(f"<td>{html.escape(fmt(c))}</td>" for c in row) + "</tr>" for row in b.rows]
                out.append("</table>")
            elif isinstance(b, Image):
                data = base64.b64encode(b.path.read_bytes()).decode() if b.path.exists() else ""
                out.append(f"<p><img alt='{html.escape(b.alt)}' src='data:image/png;base64,{data}'></p>")
            else:
                out.append(f"<p>{html.escape(b)}</p>")
    out.append("</body></html>")
    return "\n".join(out)
