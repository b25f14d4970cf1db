"""The corpus loader: curated Markdown → clauses, and every way a file can be invalid.

Each test writes its own small documents to ``tmp_path``; only the last test reads the real
``corpus/`` folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mrs_assist.config import Settings
from mrs_assist.corpus import load_corpus, parse_document
from mrs_assist.errors import CorpusError

FRONT = """\
---
id: sample
payer: Example Health
payer_aliases: [Example]
title: Sample Policy
kind: guideline
version: "1"
dates:
  effective: 2024-10-30
cpt_codes: ["76390"]
body_region: brain
source_file: seed.txt
---
"""
B = FRONT.count("\n") + 1
"""File line of the first body line after FRONT (14)."""

VALID_BODY = """\
# Sample Policy

Lead-in text without an anchor is not citable.

## Medical Necessity Criteria

### Indications

{#indications} MRS is considered appropriate when ALL of the following are TRUE:

- {#indications.1} Conventional imaging by MRI or CT
  is inconclusive;   AND
- {#indications.2} ANY of the following is TRUE:
  - {#indications.2.a} Neoplastic conditions; OR
  - {#indications.2.b} Vascular conditions
    known or suspected.

## References

{#references.1} Chuang MT et al. PLoS One. 2016.
"""


def write(folder: Path, body: str, *, front: str = FRONT, name: str = "sample.md") -> Path:
    """Write one curated document and return its path."""
    path = folder / name
    path.write_text(front + body, encoding="utf-8")
    return path


# --- a valid document ------------------------------------------------------------------------


def test_valid_document_clause_ids_in_file_order(tmp_path: Path) -> None:
    doc = parse_document(write(tmp_path, VALID_BODY))

    assert doc.id == "sample"
    assert doc.meta.payer_aliases == ["Example"]
    assert str(doc.meta.dates["effective"]) == "2024-10-30"
    assert [c.id for c in doc.clauses] == [
        "sample#indications",
        "sample#indications.1",
        "sample#indications.2",
        "sample#indications.2.a",
        "sample#indications.2.b",
        "sample#references.1",
    ]
    assert all(c.policy_id == "sample" for c in doc.clauses)
    assert len(doc.content_hash) == 64


def test_section_paths_follow_heading_levels(tmp_path: Path) -> None:
    doc = parse_document(write(tmp_path, VALID_BODY))

    criteria = ("Sample Policy", "Medical Necessity Criteria", "Indications")
    assert doc.clause("indications.2.a").section_path == criteria
    assert doc.clause("indications").section == " > ".join(criteria)
    # A level-2 heading closes the level-3 one before it.
    assert doc.clause("references.1").section_path == ("Sample Policy", "References")


def test_multi_line_clause_joined_with_single_spaces(tmp_path: Path) -> None:
    doc = parse_document(write(tmp_path, VALID_BODY))

    joined = "Conventional imaging by MRI or CT is inconclusive; AND"
    assert doc.clause("indications.1").text == joined
    assert doc.clause("indications.2.b").text == "Vascular conditions known or suspected."


def test_nested_list_anchors_keep_label_in_id_and_know_their_parent(tmp_path: Path) -> None:
    doc = parse_document(write(tmp_path, VALID_BODY))

    nested = doc.clause("sample#indications.2.a")
    assert nested.text == "Neoplastic conditions; OR"  # no list marker, no anchor left in the text
    assert nested.parent_local_id == "indications.2"
    assert doc.clause("indications").parent_local_id is None
    assert nested.line == B + 13


def test_unanchored_text_is_not_a_clause(tmp_path: Path) -> None:
    doc = parse_document(write(tmp_path, VALID_BODY))

    assert not any("Lead-in" in c.text for c in doc.clauses)


def test_struck_text_removed_from_clause_and_kept_as_deleted_text(tmp_path: Path) -> None:
    body = "# B\n\n{#background.1} In terms ~~of imaging of~~ brain tumors, MRS ~~is new~~ helps.\n"
    clause = parse_document(write(tmp_path, body)).clause("background.1")

    assert clause.text == "In terms brain tumors, MRS helps."
    assert clause.deleted_text == ("of imaging of", "is new")
    assert clause.deleted is False


def test_deleted_clause_kept_but_left_out_of_corpus_clauses(tmp_path: Path) -> None:
    body = (
        "# B\n\n"
        "{#background.kept} MRS is experimental for glioma grading.\n\n"
        "{#background.cystic-lesions .deleted} ~~MRS may help with cystic lesions.~~\n\n"
        "{#background.old .deleted} Old wording without strike marks.\n"
    )
    write(tmp_path, body)
    corpus = load_corpus(tmp_path)

    struck = corpus.clause("sample#background.cystic-lesions")
    assert struck.deleted is True
    # A wholly struck clause keeps its words, flagged deleted.
    assert struck.text == "MRS may help with cystic lesions."
    assert corpus.clause("sample#background.old").deleted is True
    assert [c.local_id for c in corpus.clauses()] == ["background.kept"]
    assert len(corpus.clauses(include_deleted=True)) == 3


def test_html_comments_are_neither_text_nor_structure(tmp_path: Path) -> None:
    body = (
        "# B\n\n"
        "{#a} First line\n"
        "<!-- curator note: the source repeats this entry; duplicate removed -->\n"
        "second line. <!-- inline note -->\n\n"
        "<!--\n# not a heading\n{#not-a-clause} hidden\n-->\n"
        "{#b} Text.\n"
    )
    doc = parse_document(write(tmp_path, body))

    assert [(c.local_id, c.text) for c in doc.clauses] == [
        ("a", "First line second line."),
        ("b", "Text."),
    ]
    assert doc.clause("b").section_path == ("B",)


def test_load_corpus_skips_readme_and_indexes_by_id(tmp_path: Path) -> None:
    write(tmp_path, VALID_BODY)
    (tmp_path / "README.md").write_text("# corpus/\n\nNo front matter here.\n", encoding="utf-8")
    corpus = load_corpus(tmp_path)

    assert list(corpus.documents) == ["sample"]
    assert corpus.policy_ids == ["sample"]
    assert corpus.clause("sample#indications.2").text == "ANY of the following is TRUE:"
    assert corpus.clause("sample#nope") is None
    assert corpus.clause("other#indications") is None


# --- every way a file can be invalid -------------------------------------------------------

def failure(case: str, text: str, line: int, words: str, name: str = "sample.md"):
    """One row of the failure table: the file, the line its message must name, words in it."""
    return pytest.param(name, text, line, words, id=case)


FAILURES = [
    failure("missing front matter", "# Title\n\n{#a} Text.\n", 1, "missing front matter"),
    failure("unclosed front matter", FRONT.rstrip("-\n") + "\n\n{#a} Text.\n", 1, "not closed"),
    failure(
        "invalid YAML",
        FRONT.replace("title: Sample Policy", "title: Sample: Policy") + "{#a} Text.\n",
        5,
        "not valid YAML",
    ),
    failure("front matter not a mapping", "---\n- a\n- b\n---\n{#a} Text.\n", 2, "mapping"),
    failure(
        "missing required field",
        FRONT.replace("payer: Example Health\n", "") + "{#a} Text.\n",
        2,
        "payer",
    ),
    failure(
        "invalid field value",
        FRONT.replace("kind: guideline", "kind: policy") + "{#a} Text.\n",
        2,
        "kind",
    ),
    failure(
        "unknown front-matter field",
        FRONT.replace("body_region: brain", "body_region: brain\nregion: head") + "{#a} Text.\n",
        2,
        "region",
    ),
    failure(
        "duplicate anchor",
        FRONT + "# H\n\n{#a} One.\n\n{#b} Two.\n\n{#a} Three.\n",
        B + 6,
        f"first at line {B + 2}",
    ),
    failure("empty clause", FRONT + "# H\n\n{#a} Text.\n\n{#b}\n\n{#c} More.\n", B + 4, "empty"),
    failure("invalid anchor id", FRONT + "# H\n\n{#Indications.1} T.\n", B + 2, "valid clause id"),
    failure("invalid anchor id: dot at end", FRONT + "{#a.} Text.\n", B, "valid clause id"),
    failure("unknown anchor attribute", FRONT + "# H\n\n{#a .draft} Text.\n", B + 2, "'.draft'"),
    failure("malformed anchor", FRONT + "# H\n\n{#a} T.\n\n1. {#b} Lost.\n", B + 4, "anchor"),
    failure("second anchor on a line", FRONT + "{#a} One. {#b} Two.\n", B, "anchor"),
    failure("bold markup in a clause", FRONT + "# H\n\n{#a} MRS **meets** it.\n", B + 2, "markup"),
    failure("link markup in a clause", FRONT + "{#a} See [NCD](https://x.org).\n", B, "markup"),
    failure("unclosed HTML comment", FRONT + "{#a} T.\n\n<!-- note\n\n{#b} T.\n", B + 2, "comment"),
    failure("no anchored clauses", FRONT + "# H\n\nJust text.\n", B, "no anchored clauses"),
    failure("file name not matching id", FRONT + "{#a} T.\n", 2, "expected sample.md", "other.md"),
]


@pytest.mark.parametrize(("name", "text", "line", "words"), FAILURES)
def test_invalid_file_raises_corpus_error_naming_file_and_line(
    tmp_path: Path, name: str, text: str, line: int, words: str
) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")

    with pytest.raises(CorpusError) as info:
        load_corpus(tmp_path)

    message = str(info.value)
    assert message.startswith(f"{name}:{line}: "), message
    assert words in message
    assert info.value.code == "corpus_invalid"


def test_duplicate_anchor_message_names_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "{#a} One.\n\n{#a} Two.\n")

    with pytest.raises(CorpusError, match=rf"^sample\.md:{B + 2}: .*first at line {B}\)"):
        parse_document(path)


def test_same_policy_id_in_two_files(tmp_path: Path) -> None:
    write(tmp_path, "{#a} Text.\n", name="sample.md")
    write(tmp_path, "{#a} Text.\n", name="zz-copy.md")

    with pytest.raises(CorpusError, match=r"^zz-copy\.md:2: policy id 'sample' also used by"):
        load_corpus(tmp_path)


def test_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="no curated documents") as info:
        load_corpus(tmp_path)
    assert str(tmp_path) in str(info.value)


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="corpus folder not found"):
        load_corpus(tmp_path / "absent")


# --- the real corpus -----------------------------------------------------------------------

EXPECTED_POLICIES = {
    "healthhelp-mrs",
    "cohere-mrs",
    "nia-brain-mrs",
    "floridablue-mrs",
    "magellan-mrs-digest",
}


def test_real_corpus_parses_with_unique_ids_and_every_expected_document() -> None:
    corpus_dir = Settings().corpus_dir
    paths = sorted(p for p in corpus_dir.glob("*.md") if p.name.upper() != "README.MD")
    errors = []
    for path in paths:
        try:
            parse_document(path)
        except CorpusError as exc:
            errors.append(str(exc))
    assert not errors, "\n".join(errors)

    corpus = load_corpus(corpus_dir)
    ids = [c.id for c in corpus.clauses(include_deleted=True)]
    assert len(ids) == len(set(ids))
    missing = EXPECTED_POLICIES - set(corpus.documents)
    assert not missing, f"not curated yet: {sorted(missing)}"
