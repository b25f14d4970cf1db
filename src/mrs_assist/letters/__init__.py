"""Outcome + trace → determination letter (Jinja templates as files; optional model).

The names below are imported on first use (PEP 562): a determination without a letter reads
only ``letters.model``, and must not pay for the drafting (LangChain's types) or the PDF
renderer (reportlab) on a cold ``mrs-assist determine``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mrs_assist.letters.draft import draft_letter
    from mrs_assist.letters.model import Letter, Signature, signed_letter
    from mrs_assist.letters.pdf import render_pdf
    from mrs_assist.letters.render import check_templates

_SOURCES = {"draft_letter": "draft", "Letter": "model", "Signature": "model", "signed_letter": "model",
            "render_pdf": "pdf", "check_templates": "render"}

__all__ = ["Letter", "Signature", "check_templates", "draft_letter", "render_pdf", "signed_letter"]


def __getattr__(name: str):
    if name not in _SOURCES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_SOURCES[name]}"), name)
    globals()[name] = value
    return value
