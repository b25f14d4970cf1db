"""Letter → PDF with ReportLab (pure Python; no system libraries).

The PDF is laid out from the letter's own Markdown, which our templates write in a small,
known subset (headings, list items, numbered items, block quotes, paragraphs, **bold**),
so a line parser suffices and the PDF always says what the Markdown says.
"""

from __future__ import annotations

import io
import re
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

from mrs_assist.letters.model import Letter
from mrs_assist.letters.render import md_unescape


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=base["BodyText"], fontName="Helvetica", fontSize=10, leading=13.5)
    return {
        "h1": ParagraphStyle("h1", parent=base["Heading1"], fontName="Helvetica-Bold", fontSize=16),
        "h2": ParagraphStyle("h2", parent=base["Heading2"], fontName="Helvetica-Bold", fontSize=12, spaceBefore=8),
        "body": body,
        "item": ParagraphStyle("item", parent=body, leftIndent=14, bulletIndent=4),
        "quote": ParagraphStyle(
            "quote", parent=body, leftIndent=18, rightIndent=12, textColor=colors.HexColor("#333333"),
            fontName="Helvetica-Oblique",
        ),
        "banner": ParagraphStyle(
            "banner", parent=body, textColor=colors.HexColor("#aa0000"), fontName="Helvetica-Bold",
            borderColor=colors.HexColor("#aa0000"), borderWidth=1.5, borderPadding=6, spaceAfter=10,
        ),
    }


def _inline(text: str) -> str:
    """Markdown inline text → ReportLab paragraph markup (escaped; **bold** kept)."""
    parts = re.split(r"(?<!\\)\*\*", text)
    out = []
    for i, part in enumerate(parts):
        piece = escape(md_unescape(part))
        out.append(f"<b>{piece}</b>" if i % 2 and i < len(parts) - 1 else piece)
    return "".join(out)


def _flowables(markdown: str, styles: dict[str, ParagraphStyle], *, draft: bool) -> list:
    story: list = []
    paragraph: list[str] = []
    quote: list[str] = []

    def flush() -> None:
        if paragraph:
            story.append(Paragraph(_inline(" ".join(paragraph)), styles["body"]))
            paragraph.clear()
        if quote:
            text = " ".join(q for q in quote if q)
            style = styles["banner"] if draft and text.startswith("**DRAFT") else styles["quote"]
            story.append(Paragraph(_inline(text), style))
            quote.clear()

    for raw in markdown.splitlines():
        line = raw.rstrip()
        if not line.strip():
            flush()
            continue
        if line.startswith(">"):
            if paragraph:
                flush()
            body = line[1:].strip()
            if not body:  # a blank quote line separates the quote from its attribution
                if quote:
                    story.append(Paragraph(_inline(" ".join(quote)), styles["quote"]))
                    quote.clear()
                continue
            quote.append(body)
            continue
        flush()
        if m := re.match(r"^(#{1,6})\s+(.*)$", line):
            story.append(Paragraph(_inline(m.group(2)), styles["h1" if len(m.group(1)) == 1 else "h2"]))
        elif m := re.match(r"^[-*]\s+(.*)$", line):
            story.append(Paragraph(_inline(m.group(1)), styles["item"], bulletText="•"))
        elif m := re.match(r"^(\d+)\.\s+(.*)$", line):
            story.append(Paragraph(_inline(m.group(2)), styles["item"], bulletText=f"{m.group(1)}."))
        else:
            paragraph.append(line.strip())
    flush()
    return story


def render_pdf(letter: Letter) -> bytes:
    """The letter as a PDF document; an adverse draft carries a DRAFT watermark on every page."""
    buffer = io.BytesIO()
    draft = letter.kind == "adverse_determination_draft" and letter.status != "signed"
    title = {
        "approval": "Notice of approval",
        "request_for_information": "Request for additional information",
        "adverse_determination_draft": "Adverse determination (DRAFT)",
    }[letter.kind]

    def decorate(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.setFillColor(colors.grey)
        footer = (
            f"{letter.policy_id} version {letter.policy_version} · template {letter.template_id} "
            f"{letter.template_version} · page {doc.page}"
        )
        canvas.drawString(0.75 * inch, 0.5 * inch, footer)
        if draft:
            canvas.setFont("Helvetica-Bold", 72)
            canvas.setFillColor(colors.Color(0.8, 0, 0, alpha=0.12))
            canvas.translate(LETTER[0] / 2, LETTER[1] / 2)
            canvas.rotate(45)
            canvas.drawCentredString(0, 0, "DRAFT")
        canvas.restoreState()

    doc = SimpleDocTemplate(
        buffer,
        pagesize=LETTER,
        leftMargin=0.75 * inch,
        rightMargin=0.75 * inch,
        topMargin=0.75 * inch,
        bottomMargin=0.75 * inch,
        title=title,
        author="mrs-assist",
        subject=f"Determination letter ({letter.outcome})",
    )
    story = _flowables(letter.markdown, _styles(), draft=draft)
    story.append(Spacer(1, 6))
    doc.build(story, onFirstPage=decorate, onLaterPages=decorate)
    return buffer.getvalue()
