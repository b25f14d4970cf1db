"""Outcome + trace → determination letter (Jinja templates as files; optional model)."""

from mrs_assist.letters.draft import draft_letter
from mrs_assist.letters.model import Letter, Signature, signed_letter
from mrs_assist.letters.pdf import render_pdf
from mrs_assist.letters.render import check_templates

__all__ = ["Letter", "Signature", "check_templates", "draft_letter", "render_pdf", "signed_letter"]
