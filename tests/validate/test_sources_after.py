"""Sources.after: an answer's sources read as the question's text in front of the corpus's
metadata, which is read once per corpus, equal the sources read whole (issue 22 item 8)."""

from __future__ import annotations

import json

import pytest

from conftest import REAL_CORPUS

from mrs_assist.corpus import load_corpus
from mrs_assist.validate.text import Sources

VOCABULARY = frozenset({"Cohere", "2025", "Letter"})
HEADS = [
    "", "\n", "!!", "x\n", "Σ", "Does NIA cover MRS for glioma grading?", "seen in March", "March 12", "12",
    "2024", "on 3/4", "ends with a dot.", "May 2024, 12 June 2023, 4/5/23, 2024-01-02 and 06/2021",
]
TAILS = ['{"effective": "March 12, 2024", "n": 3}', "{}", '{"a": "12/2023"}\n{"b": "June 3", "c": "2024-01-02"}']


@pytest.fixture(scope="module")
def metadata() -> str:
    return "\n".join(json.dumps(d.meta.model_dump(mode="json")) for d in load_corpus(REAL_CORPUS).documents.values())


def _read(sources: Sources) -> tuple:
    return (sources.text, sources.loose, sources.words, sources.numbers, sources.vocabulary,
            sorted(sources.dates, key=repr))


@pytest.mark.parametrize("tail", [None, *TAILS])
@pytest.mark.parametrize("head", HEADS)
def test_after_reads_as_the_whole_text(head, tail, metadata):
    tail = metadata if tail is None else tail
    whole = Sources(text=head + "\n" + tail, vocabulary=VOCABULARY)
    assert _read(Sources(text=tail, vocabulary=VOCABULARY).after(head)) == _read(whole)


@pytest.mark.parametrize("tail", ["", "12 March", "March 12", " {}", "/5"])
def test_after_refuses_sources_a_date_could_run_into(tail):
    with pytest.raises(ValueError):
        Sources(text=tail).after("seen on")
