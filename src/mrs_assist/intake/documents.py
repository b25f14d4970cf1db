"""PDF and image documents → the text of each page.

A PDF page's own text layer is read with pypdf; a page without one (a scanned or faxed page)
is read by OCR from the image it carries, as is an image file (PNG, JPEG, TIFF; each TIFF frame
a page). OCR is Tesseract, the Debian package ``tesseract-ocr`` (scripts/ensure-system-deps.sh),
run as a subprocess on one page at a time.

What cannot be read is refused whole (InvalidRequestError naming the file and page): a damaged
or encrypted PDF, a page with neither text nor an image, a scan in which OCR finds no words.
A case is never stored with part of a document silently missing.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from dataclasses import dataclass

from mrs_assist.errors import InvalidRequestError, ServiceUnavailableError

PDF = "application/pdf"
IMAGE_TYPES = ("image/png", "image/jpeg", "image/tiff")
MEDIA_TYPES = (PDF, *IMAGE_TYPES)
MAX_PAGES = 50
MIN_WORDS = 3
"""A page reads as text once it has this many words of two letters or more; fewer is noise."""
OCR_TIMEOUT_SECONDS = 120
_WORD = re.compile(r"[A-Za-z]{2,}")


@dataclass(frozen=True)
class Page:
    """One page's text and how it was read ('pdf_text' or 'ocr')."""

    number: int
    text: str
    method: str


def _readable(text: str) -> bool:
    return len(_WORD.findall(text)) >= MIN_WORDS


def read_document(name: str, media_type: str, data: bytes) -> list[Page]:
    """The pages of one document, each with its text; raises InvalidRequestError for what cannot
    be read, ServiceUnavailableError when OCR is needed and Tesseract is not installed."""
    if media_type == PDF:
        return _read_pdf(name, data)
    if media_type in IMAGE_TYPES:
        return _read_image(name, data)
    raise InvalidRequestError(f"{name}: {media_type!r} is not a document type read here ({', '.join(MEDIA_TYPES)})")


def _read_pdf(name: str, data: bytes) -> list[Page]:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise InvalidRequestError(f"{name} is encrypted: send it without a password", code="unreadable_document")
        pages = list(reader.pages)
    except InvalidRequestError:
        raise
    except Exception as exc:  # pypdf raises many types on damaged files (PdfReadError, KeyError, RecursionError, …)
        raise InvalidRequestError(f"{name} is not a readable PDF ({type(exc).__name__})", code="unreadable_document") from exc
    if not pages:
        raise InvalidRequestError(f"{name} has no pages", code="unreadable_document")
    if len(pages) > MAX_PAGES:
        raise InvalidRequestError(f"{name} has {len(pages)} pages; at most {MAX_PAGES} are read per request")
    out = []
    for number, page in enumerate(pages, start=1):
        try:
            text = page.extract_text() or ""
        except Exception as exc:  # pypdf raises many types on damaged content streams
            raise InvalidRequestError(f"page {number} of {name} cannot be read ({type(exc).__name__})", code="unreadable_document") from exc
        if _readable(text):
            out.append(Page(number, text, "pdf_text"))
            continue
        image = _largest_image(page)
        if image is None:
            raise InvalidRequestError(
                f"page {number} of {name} has no text and no scanned image to read", code="unreadable_document"
            )
        out.append(Page(number, _ocr_or_refuse(image, f"page {number} of {name}"), "ocr"))
    return out


def _largest_image(page):
    """The PIL image of the page's largest embedded image (a scanned page is one), or None."""
    try:
        images = list(page.images)
    except Exception:  # an unreadable image stream is the same as none
        return None
    best = None
    for item in images:
        try:
            image = item.image
        except Exception:
            continue
        if image is not None and (best is None or image.width * image.height > best.width * best.height):
            best = image
    return best


def _read_image(name: str, data: bytes) -> list[Page]:
    from PIL import Image, ImageSequence

    try:
        image = Image.open(io.BytesIO(data))
        frames = [frame.copy() for frame in ImageSequence.Iterator(image)]
    except Exception as exc:  # not an image, truncated, or a decompression bomb (DecompressionBombError)
        raise InvalidRequestError(f"{name} is not a readable image", code="unreadable_document") from exc
    if len(frames) > MAX_PAGES:
        raise InvalidRequestError(f"{name} has {len(frames)} pages; at most {MAX_PAGES} are read per request")
    where = (lambda n: name) if len(frames) == 1 else (lambda n: f"page {n} of {name}")
    return [Page(n, _ocr_or_refuse(frame, where(n)), "ocr") for n, frame in enumerate(frames, start=1)]


def _ocr_or_refuse(image, where: str) -> str:
    text = ocr_image(image)
    if not _readable(text):
        raise InvalidRequestError(
            f"{where}: OCR found no readable text; send a clearer scan (300 dpi, upright) or type the notes",
            code="unreadable_document",
        )
    return text


def ocr_image(image) -> str:
    """The text Tesseract reads in a PIL image (English); raises ServiceUnavailableError when
    Tesseract is missing or fails."""
    binary = shutil.which("tesseract")
    if binary is None:
        raise ServiceUnavailableError(
            "OCR is not installed on this server (Debian package tesseract-ocr; scripts/ensure-system-deps.sh ocr)",
            code="ocr_unavailable",
        )
    buffer = io.BytesIO()
    image.convert("L").save(buffer, format="PNG")
    try:
        done = subprocess.run(
            [binary, "stdin", "stdout", "-l", "eng", "--psm", "3"],
            input=buffer.getvalue(), capture_output=True, timeout=OCR_TIMEOUT_SECONDS, check=False,
            env={"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin"},
        )
    except subprocess.TimeoutExpired as exc:
        raise ServiceUnavailableError(f"OCR took longer than {OCR_TIMEOUT_SECONDS} s on one page", code="ocr_timeout") from exc
    if done.returncode != 0:
        raise ServiceUnavailableError(f"OCR failed (tesseract exit {done.returncode})", code="ocr_failed")
    return done.stdout.decode("utf-8", errors="replace")
