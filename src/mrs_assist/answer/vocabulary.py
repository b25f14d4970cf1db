"""Which of a question's topic words the guidelines never use.

"The guidelines do not mention *copay*" is a checkable statement: no clause contains a
word starting like it. Question verbs and filler ("did", "handle", "approve") are not
topic words and are ignored.
"""

from __future__ import annotations

import re

from mrs_assist.corpus import Corpus

_WORD = re.compile(r"[a-z][a-z0-9]*|\d+")
_PREFIX = 6
_FILLER = frozenset(
    """
    about after against ago also any anything apart approvable approve approved approving
    ask asked asking aren't before being both can can't cite compare count counts could
    covered covering deny denied describe did does doesn't doing done each else etc ever
    every for from getting give handle handled has have having help here how into isn't
    just know like list listed lists looked looking make many may might more most much must
    need needed needs okay only other over payer payers per place please plan plans
    policy policies really require required requires rule said same say says should since
    some something still such sure tell than that the their them then there these they
    think this those treat very want wants was way were what when where whether which
    while who whom whose why will with within without work would yes you your
    """.split()
)


class Vocabulary:
    """The set of word prefixes used anywhere in the corpus (clause text, sections, payers)."""

    def __init__(self, corpus: Corpus) -> None:
        words: set[str] = set()
        for clause in corpus.clauses(include_deleted=True):
            words.update(_WORD.findall(clause.text.lower()))
            words.update(_WORD.findall(clause.section.lower()))
        for doc in corpus.documents.values():
            for name in (doc.id, doc.meta.payer, doc.meta.title, *doc.meta.payer_aliases):
                words.update(_WORD.findall(name.lower()))
        self._prefixes = {w[:n] for w in words for n in range(4, _PREFIX + 1)} | words

    def unmentioned(self, question: str) -> list[str]:
        """Topic words of the question (4+ letters, or codes) that no clause uses, in order."""
        out: list[str] = []
        for word in _WORD.findall(question.lower()):
            if word in _FILLER or (len(word) < 4 and not word.isdigit()):
                continue
            if word[:_PREFIX] not in self._prefixes and word not in out:
                out.append(word)
        return out
