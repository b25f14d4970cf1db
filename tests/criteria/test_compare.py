"""The policy comparison matrix, derived from the criteria trees by evaluation."""

from __future__ import annotations

import shutil

import pytest

from mrs_assist.config import Settings
from mrs_assist.corpus import load_corpus
from mrs_assist.criteria import (
    REGION_FACT,
    compare_policies,
    load_catalogue,
    load_policies,
    policy_inconsistencies,
)

CORPUS = Settings().corpus_dir


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue(CORPUS / "facts.yaml")


@pytest.fixture(scope="module")
def policies(catalogue):
    return load_policies(CORPUS, catalogue)


@pytest.fixture(scope="module")
def matrix(policies, catalogue):
    return compare_policies(policies, catalogue)


def _cell(matrix, fact, policy_id):
    return next(r for r in matrix.rows if r.fact == fact).cells[policy_id]


def test_shape(matrix, catalogue, policies) -> None:
    assert matrix.policy_ids == sorted(policies)
    assert [r.fact for r in matrix.rows] == [*catalogue.names("purpose"), REGION_FACT]
    assert all(set(r.cells) == set(policies) for r in matrix.rows)


@pytest.mark.parametrize(
    ("fact", "policy_id", "status", "clause", "condition_facts"),
    [
        ("multiple_sclerosis", "healthhelp-mrs", "covered", "indications.7", []),
        ("multiple_sclerosis", "floridablue-mrs", "not_covered", "position", []),
        ("multiple_sclerosis", "cohere-mrs", "not_covered", "indications", []),
        ("glioma_grading", "nia-brain-mrs", "investigational", "background.glioma", []),
        ("epilepsy_presurgical", "nia-brain-mrs", "investigational", "background.other-diseases", []),
        ("epilepsy_presurgical", "healthhelp-mrs", "covered", "indications.2", []),
        ("tumor_recurrence_vs_treatment_effect", "nia-brain-mrs", "covered", "indications.1", []),
        ("tumor_vs_nontumor_lesion", "floridablue-mrs", "covered", "position.2", []),
        ("tumor_recurrence_vs_treatment_effect", "healthhelp-mrs", "covered_if", "indications.1.b",
         ["known_brain_tumor"]),
        ("glioma_grading", "healthhelp-mrs", "covered_if", "indications.1.c.iv",
         ["known_brain_tumor", "glioma"]),
        ("glioma_grading", "cohere-mrs", "covered_if", "indications.2.a.1",
         ["conventional_imaging_inconclusive", "brain_mass_or_lesion", "known_brain_tumor"]),
        ("leukodystrophy", "cohere-mrs", "covered_if", "indications.1",
         ["conventional_imaging_inconclusive"]),
        ("leukodystrophy", "healthhelp-mrs", "covered_if", "indications.4",
         ["conventional_imaging_inconclusive", "therapy_planning_needed"]),
        ("hypoxic_ischemic_encephalopathy", "cohere-mrs", "covered_if", "indications.2.b.1",
         ["conventional_imaging_inconclusive", "neonate"]),
        # HealthHelp names HIE among the encephalopathies whose prognosis it covers: covered if for prognosis
        ("hypoxic_ischemic_encephalopathy", "healthhelp-mrs", "covered_if", "indications.3", ["encephalopathy_prognosis"]),
        ("ataxia_in_child", "healthhelp-mrs", "not_covered", "indications", []),
        (REGION_FACT, "nia-brain-mrs", "not_covered", "indications.1", []),
        (REGION_FACT, "floridablue-mrs", "not_covered", "position", []),
    ],
)
def test_cells(matrix, fact, policy_id, status, clause, condition_facts) -> None:
    cell = _cell(matrix, fact, policy_id)
    assert cell.status == status
    assert f"{policy_id}#{clause}" in cell.clause_ids
    assert cell.condition_facts == condition_facts
    assert bool(cell.conditions) == (status == "covered_if")


def test_covered_if_conditions_are_readable(matrix, catalogue) -> None:
    cell = _cell(matrix, "glioma_grading", "cohere-mrs")
    assert cell.conditions == [
        catalogue.spec("conventional_imaging_inconclusive").label,
        f"{catalogue.spec('brain_mass_or_lesion').label} OR {catalogue.spec('known_brain_tumor').label}",
    ]


def test_every_cited_clause_exists(matrix) -> None:
    corpus = load_corpus(CORPUS)
    for row in matrix.rows:
        for cell in row.cells.values():
            assert cell.clause_ids, (row.fact, cell)
            for clause_id in cell.clause_ids:
                assert corpus.clause(clause_id) is not None, clause_id


def test_ataxia_discrepancy_is_noted_and_listed(matrix, policies) -> None:
    assert "summary-of-changes.1.a" in _cell(matrix, "ataxia_in_child", "healthhelp-mrs").notes[0]
    found = {(i.policy_id, i.kind, i.clause_ids[0]) for i in policy_inconsistencies(policies)}
    assert ("healthhelp-mrs", "inconsistency", "healthhelp-mrs#summary-of-changes.1.a") in found
    assert ("floridablue-mrs", "scope", "floridablue-mrs#program-exceptions.fep") in found


def test_disagreements(matrix) -> None:
    rows = {r.fact for r in matrix.disagreements()}
    assert {"glioma_grading", "epilepsy_presurgical", "multiple_sclerosis"} <= rows
    assert REGION_FACT not in rows and "psychiatric_disorder" not in rows


def test_matrix_follows_the_data(tmp_path, catalogue) -> None:
    # Edit a criteria file: the matrix changes with it, nothing is hand-written.
    for name in ("facts.yaml", "floridablue-mrs.criteria.yaml"):
        shutil.copy(CORPUS / name, tmp_path / name)
    path = tmp_path / "floridablue-mrs.criteria.yaml"
    path.write_text(path.read_text().replace(
        "    - fact: tumor_vs_nontumor_lesion\n      clause: position.2\n",
        "    - fact: tumor_vs_nontumor_lesion\n      clause: position.2\n"
        "    - fact: multiple_sclerosis\n      clause: position.2\n"))
    edited = compare_policies(load_policies(tmp_path, catalogue), catalogue)
    assert _cell(edited, "multiple_sclerosis", "floridablue-mrs").status == "covered"


def test_matrix_is_json_serialisable(matrix) -> None:
    data = matrix.model_dump(mode="json")
    assert data["rows"][0]["cells"]["cohere-mrs"]["status"] in {
        "covered", "covered_if", "investigational", "not_covered"}
