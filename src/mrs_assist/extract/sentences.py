"""A fast rule-based sentence splitter for clinical notes (a spaCy component).

It replaces PyRuSH, medspaCy's default, which is pure Python and much slower (README,
"Extraction speed"). ConText scopes stop at sentence ends, so the rules lean towards
splitting: a sentence ends at . ! ? followed by a capital, digit or bullet (unless the
word before is an abbreviation such as "vs." or "Dr."), and at a line break unless the
next line continues a sentence left open (lower case after a line not ending in . ! ?, or
anything after a line that leaves a parenthesis open or was wrapped, with no blank line between), and never
inside a quotation of a few lines. Semicolons are left to ConText (a TERMINATE rule).
"""

# no "from __future__ import annotations": spaCy resolves factory signatures at run time

import re
from bisect import bisect_right
from collections.abc import Iterable

import numpy
from spacy.attrs import SENT_START
from spacy.language import Language
from spacy.tokens import Doc

NAME = "mrs_assist_sentences"

_END = re.compile(r"[.!?]+[\"')\]]*(?=\s+(?:<[!/a-zA-Z]|[\"'(\[]?[A-Z0-9•*\-]))|-->(?=\s*\S)")
"""A sentence ends before a capital, a digit, a bullet or markup, and after an HTML comment:
"TMZ. <!-- ... --> 58 y/o M w/ GBM" keeps the comment (an instruction, set aside) apart from
the clinical sentences on either side."""
_NEWLINE = re.compile(r"\n\s*(?=\S)")
_QUOTED = re.compile(r'"[^"\n]*(?:\n(?![ \t]*\n)[^"\n]*){0,4}"|“[^”]{0,400}?”')
"""A quotation of a few lines within a paragraph (a report's impression quoted whole: "Low-grade glioma
versus demyelinating lesion. Indeterminate."): one sentence, so its judgement keeps its subject."""
_WORD_BEFORE = re.compile(r"([A-Za-z][\w./]*)$")
_LINE_END = re.compile(r"([.!?]+)[\"')\]]*[ \t]*$")


WRAP_WIDTH = 60
"""A line this long that ends mid-sentence was wrapped (a fax, a fixed-width export)."""
_NEW_ITEM = re.compile(r"(?:[-*•·#>]|\d{1,2}[.)]\s|[A-Za-z][\w /&()-]{0,30}:|\[|_)")


def _wrapped(line: str, text: str, start: int) -> bool:
    """Whether ``line`` was wrapped onto the line at ``start`` ("... told them at age\\n8 mo he
    has ..."): long, ending mid-sentence (no colon), and the next line is no list item or header."""
    line = line.rstrip()
    return len(line) >= WRAP_WIDTH and not line.endswith(":") and _NEW_ITEM.match(text, start) is None


class SentenceSplitter:
    """Sets ``token.is_sent_start`` on every token of a Doc."""

    def __init__(self, abbreviations: Iterable[str]) -> None:
        self.abbreviations = {a.lower().rstrip(".") for a in abbreviations}

    def boundaries(self, text: str) -> list[int]:
        """Character offsets where a sentence starts (after the first)."""
        starts: set[int] = set()
        for m in _END.finditer(text):
            before = _WORD_BEFORE.search(text, max(0, m.start() - 40), m.start())
            word = before.group(1).lower() if before else ""
            if m.group(0).startswith(".") and (word in self.abbreviations or len(word) == 1):
                continue
            nxt = m.end()
            while nxt < len(text) and text[nxt].isspace():
                nxt += 1
            starts.add(nxt)
        for m in _NEWLINE.finditer(text):
            blank_line = m.group().count("\n") > 1  # a paragraph break always ends a sentence
            if blank_line:
                starts.add(m.end())
                continue
            line = text[text.rfind("\n", 0, m.start()) + 1 : m.start()]
            if line.count("(") > line.count(")"):
                continue  # a parenthesis left open runs on: "Brother (age\n11) was diagnosed with"
            if self._ends_sentence(text, m.start()) or not (text[m.end()].islower() or _wrapped(line, text, m.end())):
                starts.add(m.end())
        quoted = [(q.start(), q.end()) for q in _QUOTED.finditer(text)]
        return sorted(s for s in starts if not any(q0 < s < q1 for q0, q1 in quoted))

    def _ends_sentence(self, text: str, end: int) -> bool:
        """Whether the line before ``end`` closes a sentence (. ! ? not after an abbreviation).

        A lower-case next line then still starts a new sentence: otherwise an instruction line
        ("Please approve.") would swallow the documentation line after it into its quarantine.
        """
        m = _LINE_END.search(text, max(0, end - 60), end)
        if m is None:
            return False
        if m.group(1).startswith("."):
            before = _WORD_BEFORE.search(text, max(0, m.start() - 40), m.start())
            word = before.group(1).lower() if before else ""
            return not (word in self.abbreviations or len(word) == 1)
        return True

    def __call__(self, doc: Doc) -> Doc:
        if not len(doc):
            return doc
        starts = self.boundaries(doc.text)
        k = 0
        first_tokens = []
        # SENT_START is 1 (starts) or -1 (does not), stored as uint64 like spaCy's own arrays.
        flags = numpy.full((len(doc), 1), numpy.uint64(2**64 - 1), dtype="uint64")
        for token in doc:
            is_start = token.i == 0
            if k < len(starts) and starts[k] <= token.idx and not token.is_space:
                is_start = True
                while k < len(starts) and starts[k] <= token.idx:
                    k += 1
            if is_start:
                flags[token.i, 0] = 1
                first_tokens.append(token.i)
        # One array write: setting token.is_sent_start re-scans the doc on every call.
        doc.from_array([SENT_START], flags)
        _install_hooks(doc, first_tokens)
        return doc


def _install_hooks(doc: Doc, first_tokens: list[int]) -> None:
    """Answer ``span.sent`` and ``doc.sents`` by bisection.

    spaCy 3.7 re-checks every token for sentence annotation on each ``span.sent``;
    ConText asks once per modifier, which made sentence lookup the pipeline's main cost.
    """
    bounds = [*first_tokens, len(doc)]

    def sent(span):
        i = bisect_right(first_tokens, span.start) - 1
        return doc[bounds[i] : bounds[i + 1]]

    def sents(_doc):
        return (doc[bounds[i] : bounds[i + 1]] for i in range(len(first_tokens)))

    doc.user_span_hooks["sent"] = sent
    doc.user_hooks["sents"] = sents


@Language.factory(NAME, default_config={"abbreviations": []})
def make_sentence_splitter(nlp: Language, name: str, abbreviations: list[str]) -> SentenceSplitter:
    """The spaCy factory for :class:`SentenceSplitter`."""
    return SentenceSplitter(abbreviations)
