"""Sample documents made on the fly (for `mrs-assist bench`, the tests and the screenshots): a
text PDF, a scanned page (PNG, and as an image-only PDF), drawn with the Vera font that
reportlab ships (no system font needed). Never PHI: the callers pass invented lines."""

from __future__ import annotations

import io
from pathlib import Path

import reportlab

VERA = Path(reportlab.__file__).parent / "fonts" / "Vera.ttf"


def text_pdf(pages: list[list[str]]) -> bytes:
    """A PDF with a text layer: one page per list of lines."""
    from reportlab.lib.pagesizes import letter
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=letter)
    for lines in pages:
        y = 720
        for line in lines:
            pdf.drawString(72, y, line)
            y -= 18
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def scan_image(lines: list[str], *, size: int = 30):
    """A PIL image of a typed page as a scanner sees it: black text on white, 1700 px wide."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(VERA), size)
    image = Image.new("L", (1700, 120 + len(lines) * int(size * 1.6)), 255)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((80, 60 + i * int(size * 1.6)), line, fill=0, font=font)
    return image


def scan_png(lines: list[str]) -> bytes:
    """A scanned page as PNG bytes."""
    buffer = io.BytesIO()
    scan_image(lines).save(buffer, format="PNG")
    return buffer.getvalue()


def scan_pdf(pages: list[list[str]]) -> bytes:
    """An image-only PDF (no text layer), one scanned image per page, as a fax server makes."""
    images = [scan_image(lines).convert("RGB") for lines in pages]
    buffer = io.BytesIO()
    images[0].save(buffer, format="PDF", save_all=True, append_images=images[1:], resolution=200)
    return buffer.getvalue()
