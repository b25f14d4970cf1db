"""Parse and validate curated Markdown into clauses (format: corpus/README.md).

A small line parser rather than a Markdown library: the format is line-oriented, and
every error must name the file and line, which Markdown ASTs do not keep reliably.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from pydantic import ValidationError

from mrs_assist.corpus.model import Clause, Corpus, Document, FrontMatter
from mrs_assist.data import YamlFile
from mrs_assist.errors import CorpusError

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
_ANCHOR = re.compile(r"^\s*(?:[-*]\s+)?\{#([^}\s]+)((?:\s+\.[a-z]+)*)\}\s*(.*)$")
_LOCAL_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*(?:\.[a-z0-9]+(?:-[a-z0-9]+)*)*$")
_STRUCK = re.compile(r"~~(.+?)~~")
_HEADING_ANCHOR = re.compile(r"\s*\{#[^}]*\}\s*$")
_MARKUP = re.compile(r"\*\*|__|\]\(|<[a-z/][^>]*>")


def _fail(path: Path, line: int, message: str) -> CorpusError:
    return CorpusError(f"{path.name}:{line}: {message}")


_NEWLINE = re.compile(r"\r\n|\r|\n")


def _split_front_matter(path: Path, text: str) -> tuple[dict, list[str], int]:
    # Lines as an editor counts them: str.splitlines() also breaks at U+2028, form feeds
    # and the like (pasted from PDFs), which would shift every line number after them.
    lines = _NEWLINE.split(text.removesuffix("\r\n").removesuffix("\n").removesuffix("\r"))
    if not lines or lines[0].strip() != "---":
        raise _fail(path, 1, "missing front matter (the file must start with a '---' line)")
    for end in range(1, len(lines)):
        if lines[end].strip() == "---":
            break
    else:
        raise _fail(path, 1, "front matter is not closed by a '---' line")
    # The front matter starts on file line 2: errors name the file's line, not the block's.
    data = YamlFile(path, text="\n".join(lines[1:end]), first_line=2).data
    return data, lines[end + 1 :], end + 2


def _without_comments(path: Path, body: list[str], first_line: int) -> list[str | None]:
    """Body lines with HTML comments removed; None for a line that held only comment."""
    out: list[str | None] = []
    opened: int | None = None  # line where the comment still open began
    for offset, line in enumerate(body):
        in_comment_before = opened is not None
        kept: list[str] = []
        rest = line
        while rest:
            if opened is None:
                head, sep, rest = rest.partition("<!--")
                kept.append(head)
                if sep:
                    opened = first_line + offset
            else:
                _, sep, rest = rest.partition("-->")
                if sep:
                    opened = None
        text = "".join(kept)
        hidden = in_comment_before or "<!--" in line
        out.append(None if hidden and not text.strip() else text)
    if opened is not None:
        raise _fail(path, opened, "HTML comment is not closed by '-->'")
    return out


def _clean(raw: str) -> tuple[str, tuple[str, ...]]:
    """Clause text with struck passages removed, and the struck passages."""
    struck = tuple(m.group(1).strip() for m in _STRUCK.finditer(raw))
    text = _STRUCK.sub(" ", raw)
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([,.;:])", r"\1", text) if struck else text
    return text, struck


def parse_document(path: Path) -> Document:
    """Parse one curated Markdown file; raises CorpusError naming file and line."""
    raw_bytes = path.read_bytes()
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _fail(path, 1, "file is not UTF-8") from exc
    data, body, first_line = _split_front_matter(path, text)
    try:
        meta = FrontMatter.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "front matter"
        raise _fail(path, 2, f"front matter {where}: {err['msg']}") from exc

    headings: list[tuple[int, str]] = []
    clauses: list[Clause] = []
    seen: dict[str, int] = {}
    current: dict | None = None

    def close() -> None:
        nonlocal current
        if current is None:
            return
        clause_text, struck = _clean(" ".join(current["lines"]))
        if current["deleted"] and not clause_text:
            clause_text = " ".join(struck)  # a wholly struck clause keeps its words, flagged
        if not clause_text and not current["deleted"]:
            raise _fail(path, current["line"], f"clause {current['id']!r} is empty")
        if _MARKUP.search(clause_text):
            raise _fail(path, current["line"], f"clause {current['id']!r} contains markup")
        clauses.append(
            Clause(
                id=f"{meta.id}#{current['id']}",
                local_id=current["id"],
                policy_id=meta.id,
                section_path=tuple(h for _, h in headings),
                text=clause_text,
                deleted_text=struck,
                deleted=current["deleted"],
                line=current["line"],
            )
        )
        current = None

    for offset, line in enumerate(_without_comments(path, body, first_line)):
        lineno = first_line + offset
        if line is None:  # a comment is invisible: it neither ends nor extends a clause
            continue
        if not line.strip():
            close()
            continue
        if m := _HEADING.match(line):
            close()
            level, title = len(m.group(1)), _HEADING_ANCHOR.sub("", m.group(2)).strip()
            headings[:] = [(lvl, t) for lvl, t in headings if lvl < level]
            headings.append((level, title))
            continue
        m = _ANCHOR.match(line)
        if "{#" in (m.group(3) if m else line):
            raise _fail(
                path, lineno, "malformed or misplaced anchor: write '{#local-id}' or "
                "'{#local-id .deleted}' at the start of the line (after an optional '- ' or '* ')"
            )
        if m:
            close()
            local_id, attrs, rest = m.group(1), m.group(2).split(), m.group(3)
            if not _LOCAL_ID.match(local_id):
                raise _fail(path, lineno, f"anchor {local_id!r} is not a valid clause id")
            if unknown := [a for a in attrs if a != ".deleted"]:
                raise _fail(path, lineno, f"unknown anchor attribute {unknown[0]!r}")
            if local_id in seen:
                raise _fail(
                    path, lineno, f"duplicate anchor {local_id!r} (first at line {seen[local_id]})"
                )
            seen[local_id] = lineno
            current = {"id": local_id, "line": lineno, "lines": [rest], "deleted": bool(attrs)}
            continue
        if current is not None:
            current["lines"].append(line.strip())
    close()
    if not clauses:
        raise _fail(path, first_line, "document has no anchored clauses")
    return Document(
        meta=meta,
        path=str(path),
        clauses=tuple(clauses),
        content_hash=hashlib.sha256(raw_bytes).hexdigest(),
    )


def load_corpus(corpus_dir: Path) -> Corpus:
    """Every curated document in the folder; raises CorpusError on the first invalid one."""
    if not corpus_dir.is_dir():
        raise CorpusError(f"corpus folder not found: {corpus_dir}")
    documents: dict[str, Document] = {}
    for path in sorted(corpus_dir.glob("*.md")):
        if path.name.upper() == "README.MD":
            continue
        doc = parse_document(path)
        if doc.id in documents:
            raise _fail(path, 2, f"policy id {doc.id!r} also used by {documents[doc.id].path}")
        if path.stem != doc.id:
            raise _fail(path, 2, f"file name must be the id: expected {doc.id}.md")
        documents[doc.id] = doc
    if not documents:
        raise CorpusError(f"no curated documents (*.md) in {corpus_dir}")
    return Corpus(documents=documents)
