"""Intake: what a request's documents say, and the checks made before anything is stored.

    pages = read_document("referral.pdf", "application/pdf", data)   # text layer, else OCR
    request, documents = prepare_request(request)                     # notes + each page's place in them
"""

from mrs_assist.intake.documents import Page, ocr_image, read_document
from mrs_assist.intake.prepare import prepare_request

__all__ = ["Page", "ocr_image", "prepare_request", "read_document"]
