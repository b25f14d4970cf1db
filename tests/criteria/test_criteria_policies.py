"""The four policies' criteria files: they load, cite real clauses, and decide as written.

Structural tests read ``corpus/``; the criterion tables resolve a handful of provided facts
through ``resolve_facts`` (closed-world defaults, purpose closure) and evaluate them, one
row per criterion, with the clause that must decide it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mrs_assist.config import Settings
from mrs_assist.corpus import load_corpus
from mrs_assist.criteria import (
    CPT_FACT,
    REGION_COVERAGE_FACT,
    REGION_FACT,
    Catalogue,
    Policy,
    evaluate,
    load_catalogue,
    load_policies,
    load_policy,
    resolve_facts,
)
from mrs_assist.errors import CorpusError

CORPUS = Settings().corpus_dir
POLICY_IDS = ["cohere-mrs", "floridablue-mrs", "healthhelp-mrs", "nia-brain-mrs"]


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(CORPUS / "facts.yaml")


@pytest.fixture(scope="module")
def policies(catalogue: Catalogue) -> dict[str, Policy]:
    return load_policies(CORPUS, catalogue)


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(CORPUS)


# --- structure ------------------------------------------------------------------------------

def test_every_policy_file_loads(policies: dict[str, Policy]) -> None:
    assert sorted(policies) == POLICY_IDS
    for policy in policies.values():
        assert policy.interpretations, f"{policy.policy_id} documents no interpretation"


def test_policies_cover_every_corpus_guideline(policies, corpus) -> None:
    assert sorted(corpus.policy_ids) == sorted(policies)


@pytest.mark.parametrize("policy_id", POLICY_IDS)
def test_every_clause_exists_in_corpus(policies, corpus, policy_id: str) -> None:
    for clause_id in policies[policy_id].clause_ids():
        clause = corpus.clause(clause_id)
        assert clause is not None, f"{clause_id} is not a clause of the corpus"
        assert not clause.deleted, f"{clause_id} is deleted policy language"


@pytest.mark.parametrize("policy_id", POLICY_IDS)
def test_every_fact_is_catalogued(policies, catalogue, policy_id: str) -> None:
    assert [f for f in policies[policy_id].all_facts() if f not in catalogue] == []


@pytest.mark.parametrize("policy_id", POLICY_IDS)
def test_formula_is_read_once(policies, policy_id: str) -> None:
    names = policies[policy_id].formula_facts()
    assert len(names) == len(set(names)), "a fact appears twice in scope/indications/exclusions"


@pytest.mark.parametrize("policy_id", POLICY_IDS)
def test_version_scope_match_corpus(policies, corpus, policy_id: str) -> None:
    policy, meta = policies[policy_id], corpus.documents[policy_id].meta
    assert policy.version == meta.version
    assert policy.scope.cpt_codes == meta.cpt_codes
    assert policy.scope.body_region == meta.body_region


@pytest.mark.parametrize("policy_id", POLICY_IDS)
def test_list_roles_fit(policies, catalogue, policy_id: str) -> None:
    policy = policies[policy_id]
    for item in policy.exclusions:
        assert catalogue.spec(item.fact).world == "closed", item.fact
    for item in policy.investigational:
        assert catalogue.spec(item.fact).role == "purpose", item.fact


# --- invalid files: every error names the file and line -----------------------------------------

MINIMAL = """\
policy_id: sample
version: "1"
scope:
  cpt_codes: ["76390"]
  cpt_clause: codes.1
  body_region: brain
  region_clause: indications
indications:
  any:
    - fact: multiple_sclerosis
      clause: indications.1
"""


def _write(tmp_path: Path, text: str, name: str = "sample.criteria.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_minimal_policy_loads(tmp_path, catalogue) -> None:
    policy = load_policy(_write(tmp_path, MINIMAL), catalogue)
    assert policy.indications.children[0].clause == "sample#indications.1"
    assert policy.catalogue is catalogue


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        (MINIMAL + "surprise: 1\n", 12, "surprise"),
        (MINIMAL.replace("      clause: indications.1\n", ""), 10, "must name the clause"),
        (MINIMAL.replace("    - fact: multiple_sclerosis\n",
                         "    - fact: multiple_sclerosis\n      not: {fact: stroke, clause: x}\n"),
         10, "exactly one of all, any, not, fact"),
        (MINIMAL.replace("  any:\n", "  any: []\n  x:\n"), 9, "at least 1 item"),
        (MINIMAL.replace("fact: multiple_sclerosis", "fact: flying_carpet"), 10, "flying_carpet"),
        (MINIMAL.replace("clause: indications.1", "clause: other-policy#indications.1"), 11,
         "another policy"),
        (MINIMAL.replace("clause: indications.1", "clause: Indications 1"), 11, "not a valid"),
        (MINIMAL + "exclusions:\n  - fact: multiple_sclerosis\n    clause: x.1\n", 13,
         "read-once"),
        (MINIMAL + "investigational:\n  - fact: multiple_sclerosis\n    clause: x.1\n", 1,
         "also appear in the formula"),
        (MINIMAL.replace("indications:\n  any:", "indications:\n  any: [\n"), 11, "YAML"),
    ],
    ids=["extra-key", "leaf-without-clause", "two-kinds", "empty-any", "uncatalogued-fact", "foreign-clause",
         "bad-clause-id", "not-read-once", "investigational-in-formula", "bad-yaml"],
)
def test_invalid_policy_names_file_and_line(tmp_path, catalogue, text, line, needle) -> None:
    with pytest.raises(CorpusError) as err:
        load_policy(_write(tmp_path, text), catalogue)
    message = str(err.value)
    assert message.startswith(f"sample.criteria.yaml:{line}:"), message
    assert needle in message


def test_file_name_must_be_policy_id(tmp_path, catalogue) -> None:
    with pytest.raises(CorpusError, match="file name must be sample.criteria.yaml"):
        load_policy(_write(tmp_path, MINIMAL, "other.criteria.yaml"), catalogue)


def test_catalogue_rejects_extra_keys_and_bad_worlds(tmp_path) -> None:
    base = "facts:\n  a_fact:\n    label: A\n    question: A?\n    role: exclusion\n    world: closed\n"
    assert "a_fact" in load_catalogue(_write(tmp_path, base, "facts.yaml"))
    lenient = base + "    terms: [x]\n    patterns: {p: 'x+'}\n    detect: {negatable: true}\n"
    assert load_catalogue(_write(tmp_path, lenient, "facts.yaml")).spec("a_fact").terms == ["x"]
    with pytest.raises(CorpusError, match=r"facts.yaml:7: facts.a_fact.colour"):
        load_catalogue(_write(tmp_path, base + "    colour: red\n", "facts.yaml"))
    with pytest.raises(CorpusError, match="must be world: closed"):
        load_catalogue(_write(tmp_path, base.replace("world: closed", "world: open"), "facts.yaml"))


# --- criterion by criterion ---------------------------------------------------------------------

MEETS, FAILS, PENDS = "meets_criteria", "does_not_meet_criteria", "needs_more_information"
T, F, U = True, False, None


def _check(policies, catalogue, policy_id, provided, cpt, outcome, clause, missing) -> None:
    facts = resolve_facts({}, provided, catalogue)
    ev = evaluate(policies[policy_id], facts, cpt)
    assert ev.outcome == outcome, (ev.deciding_clauses, ev.missing_facts)
    assert ev.requires_physician_review == (outcome != MEETS)
    if clause is not None:
        assert f"{policy_id}#{clause}" in ev.deciding_clauses, ev.deciding_clauses
    if missing is not None:
        assert ev.missing_facts == missing
    if outcome != PENDS:
        assert ev.missing_facts == []


HH = [
    # criterion 1: a known brain tumor and ANY of a-d
    ("1.a", {"known_brain_tumor": T, "biopsy_guidance": T}, MEETS, "indications.1.a", None),
    ("1.b", {"known_brain_tumor": T, "tumor_recurrence_vs_treatment_effect": T}, MEETS,
     "indications.1.b", None),
    ("1.c.i", {"known_brain_tumor": T, "glioma": T, "tumor_vs_nontumor_lesion": T}, MEETS,
     "indications.1.c", None),
    ("1.c.iv", {"known_brain_tumor": T, "glioma": T, "glioma_grading": T}, MEETS,
     "indications.1.c.iv", None),
    ("1.c.v", {"known_brain_tumor": T, "glioma": T, "tumor_vs_other_neoplasm": T}, MEETS,
     "indications.1.c", None),
    ("1.c-glioma-unknown", {"known_brain_tumor": T, "glioma_grading": T}, PENDS,
     "indications.1.c", ["glioma"]),
    ("1.c-not-glioma", {"known_brain_tumor": T, "glioma": F, "glioma_grading": T}, FAILS,
     "indications.1", None),
    ("1.d", {"known_brain_tumor": T, "treatment_planning_or_response": T}, MEETS,
     "indications.1.d", None),
    ("1-suspected-tumor", {"known_brain_tumor": F, "biopsy_guidance": T}, FAILS,
     "indications.1", None),
    ("1-tumor-unknown", {"biopsy_guidance": T}, PENDS, "indications.1", ["known_brain_tumor"]),
    ("2", {"epilepsy_presurgical": T}, MEETS, "indications.2", None),
    ("3", {"encephalopathy_prognosis": T}, MEETS, "indications.3", None),
    ("4", {"leukodystrophy": T, "conventional_imaging_inconclusive": T,
           "therapy_planning_needed": T}, MEETS, "indications.4", None),
    ("4-conditions-unknown", {"leukodystrophy": T}, PENDS, "indications.4",
     ["conventional_imaging_inconclusive", "therapy_planning_needed"]),
    ("4-mri-diagnostic", {"leukodystrophy": T, "conventional_imaging_inconclusive": F}, FAILS,
     "indications.4", None),
    ("4.f-is-6", {"mitochondrial_disorder": T, "conventional_imaging_inconclusive": F}, MEETS,
     "indications.6", None),
    ("5", {"metabolic_disorder": T}, MEETS, "indications.5", None),
    ("6", {"mitochondrial_disorder": T}, MEETS, "indications.6", None),
    ("7", {"multiple_sclerosis": T}, MEETS, "indications.7", None),
    ("8", {"traumatic_brain_injury": T}, MEETS, "indications.8", None),
    ("ataxia-follows-list", {"ataxia_in_child": T}, FAILS, "indications", None),
    ("unlisted", {"psychiatric_disorder": T}, FAILS, "indications", None),
    ("no-purpose", {}, PENDS, None, None),
    ("contraindication-is-flag-only", {"multiple_sclerosis": T, "aneurysm_clip": T}, MEETS,
     "indications.7", None),
    ("spine", {"multiple_sclerosis": T, REGION_FACT: T}, FAILS, "indications", None),
]


@pytest.mark.parametrize(("provided", "outcome", "clause", "missing"),
                         [c[1:] for c in HH], ids=[c[0] for c in HH])
def test_healthhelp(policies, catalogue, provided, outcome, clause, missing) -> None:
    _check(policies, catalogue, "healthhelp-mrs", provided, ["76390"], outcome, clause, missing)


def test_healthhelp_safety_flags_and_notice(policies, catalogue) -> None:
    facts = resolve_facts({}, {"multiple_sclerosis": T, "mri_unsafe_implant": T,
                               "recent_intravascular_stent": T}, catalogue)
    ev = evaluate(policies["healthhelp-mrs"], facts, ["76390"])
    assert ev.outcome == MEETS
    assert [(f.fact, f.clause_id) for f in ev.safety_flags] == [
        ("recent_intravascular_stent", "healthhelp-mrs#contraindications.1"),
        ("mri_unsafe_implant", "healthhelp-mrs#contraindications.2"),
    ]
    assert [n.clause_id for n in ev.notices] == ["healthhelp-mrs#summary-of-changes.1.a"]


@pytest.mark.parametrize(
    ("cpt", "outcome", "clause", "missing"),
    [(["76390"], MEETS, "indications.7", None), (["+76390"], MEETS, "indications.7", None),
     (["70553"], FAILS, "procedure-codes.76390", None), ([], PENDS, "procedure-codes.76390",
                                                        [CPT_FACT])],
    ids=["in-scope", "plus-prefix", "other-code", "no-code"],
)
def test_healthhelp_cpt_scope(policies, catalogue, cpt, outcome, clause, missing) -> None:
    _check(policies, catalogue, "healthhelp-mrs", {"multiple_sclerosis": T}, cpt, outcome, clause,
           missing)


CII = {"conventional_imaging_inconclusive": T}
CO = [
    ("2.a.1", {**CII, "brain_mass_or_lesion": T, "glioma_grading": T}, MEETS,
     "indications.2.a.1", None),
    ("2.a.2-recurrence", {**CII, "known_brain_tumor": T, "tumor_recurrence_vs_treatment_effect": T},
     MEETS, "indications.2.a.2", None),
    ("2.a.2-nontumor", {**CII, "brain_mass_or_lesion": T, "tumor_vs_nontumor_lesion": T}, MEETS,
     "indications.2.a.2", None),
    ("2.a-mass-unknown", {**CII, "tumor_recurrence_vs_treatment_effect": T}, PENDS,
     "indications.2.a", ["brain_mass_or_lesion", "known_brain_tumor"]),
    ("1-not-inconclusive", {"conventional_imaging_inconclusive": F, "brain_mass_or_lesion": T,
                            "glioma_grading": T}, FAILS, "indications.1", None),
    ("1-unknown", {"brain_mass_or_lesion": T, "glioma_grading": T}, PENDS, "indications.1",
     ["conventional_imaging_inconclusive"]),
    ("2.b.1", {**CII, "neonate": T, "hypoxic_ischemic_encephalopathy": T}, MEETS,
     "indications.2.b.1", None),
    ("2.b.1-not-neonate", {**CII, "neonate": F, "hypoxic_ischemic_encephalopathy": T}, FAILS,
     "indications.2.b.1", None),
    ("2.b.1-age-unknown", {**CII, "hypoxic_ischemic_encephalopathy": T}, PENDS,
     "indications.2.b.1", ["neonate"]),
    ("2.c.1-metabolic", {**CII, "metabolic_disorder": T}, MEETS, "indications.2.c.1", None),
    ("2.c.1-mitochondrial", {**CII, "mitochondrial_disorder": T}, MEETS, "indications.2.c.1", None),
    ("2.c.2", {**CII, "leukodystrophy": T}, MEETS, "indications.2.c.2", None),
    ("2.d-repeat-unknown-reason", {**CII, "leukodystrophy": T, "repeat_study": T}, PENDS,
     "indications.2.d.1", ["new_or_worsening_symptoms", "clarify_prior_indeterminate_finding",
                         "monitoring_need_established"]),
    ("2.d.1", {**CII, "leukodystrophy": T, "repeat_study": T, "new_or_worsening_symptoms": T},
     MEETS, "indications.2.d.1", None),
    ("2.d.2", {**CII, "leukodystrophy": T, "repeat_study": T,
               "clarify_prior_indeterminate_finding": T}, MEETS, "indications.2.d.2", None),
    ("2.d.3", {**CII, "leukodystrophy": T, "repeat_study": T, "monitoring_need_established": T},
     MEETS, "indications.2.d.3", None),
    ("2.d-none", {**CII, "leukodystrophy": T, "repeat_study": T, "new_or_worsening_symptoms": F,
                  "clarify_prior_indeterminate_finding": F, "monitoring_need_established": F},
     FAILS, "indications.2.d", None),
    ("non-indication.1", {**CII, "leukodystrophy": T, "recent_advanced_imaging_without_change": T},
     FAILS, "non-indications.1", None),
    ("non-indication.2", {**CII, "leukodystrophy": T, "aneurysm_clip": T}, FAILS,
     "non-indications.2", None),
    ("non-indication.3/.4", {**CII, "leukodystrophy": T, "mri_unsafe_implant": T}, FAILS,
     "non-indications.3", None),
    ("non-indication.5", {**CII, "leukodystrophy": T, "metallic_foreign_body": T}, FAILS,
     "non-indications.5", None),
    ("exclusion-decides-unknown-indication", {"mri_unsafe_implant": T}, FAILS,
     "non-indications.3", None),
    ("implant-explicitly-unknown", {**CII, "leukodystrophy": T, "mri_unsafe_implant": U}, PENDS,
     "non-indications.3", ["mri_unsafe_implant"]),
    ("unlisted-ms", {**CII, "multiple_sclerosis": T}, FAILS, "indications.2", None),
    # Cohere names "the brain, muscles, and other organs" but lists criteria only for the brain:
    # a muscle MRS is the physician's to decide when the indications would hold (session 10),
    # and still a denial draft when they do not; any other region is outside
    ("muscle-indications-met", {**CII, "mitochondrial_disorder": T, REGION_FACT: T, "muscle_mrs_requested": T},
     PENDS, None, [REGION_COVERAGE_FACT]),
    ("muscle-indications-unmet", {**CII, "multiple_sclerosis": T, REGION_FACT: T, "muscle_mrs_requested": T},
     FAILS, "indications.2", None),
    ("spine", {**CII, "leukodystrophy": T, REGION_FACT: T}, FAILS, "indications", None),
]


@pytest.mark.parametrize(("provided", "outcome", "clause", "missing"),
                         [c[1:] for c in CO], ids=[c[0] for c in CO])
def test_cohere(policies, catalogue, provided, outcome, clause, missing) -> None:
    _check(policies, catalogue, "cohere-mrs", provided, ["76390"], outcome, clause, missing)


def test_cohere_safety_flags(policies, catalogue) -> None:
    facts = resolve_facts({}, {**CII, "leukodystrophy": T, "claustrophobia": T, "pregnancy": T,
                               "metallic_foreign_body": T}, catalogue)
    ev = evaluate(policies["cohere-mrs"], facts, ["76390"])
    assert ev.outcome == FAILS
    assert [f.clause_id for f in ev.safety_flags] == [
        "cohere-mrs#notes.1", "cohere-mrs#notes.2", "cohere-mrs#non-indications.5"]


NIA = [
    ("1", {"tumor_recurrence_vs_treatment_effect": T}, ["76390"], MEETS, "indications.1", None),
    ("2", {"tumor_vs_nontumor_lesion": T}, ["76390"], MEETS, "indications.2", None),
    ("0698T", {"tumor_vs_nontumor_lesion": T}, ["0698T"], MEETS, "indications.2", None),
    ("glioma-grading", {"glioma_grading": T}, ["76390"], FAILS, "background.glioma", None),
    ("epilepsy", {"epilepsy_presurgical": T}, ["76390"], FAILS, "background.other-diseases", None),
    ("neurodegenerative", {"neurodegenerative_disease": T}, ["76390"], FAILS,
     "background.other-diseases", None),
    ("stroke", {"stroke": T}, ["76390"], FAILS, "background.other-diseases", None),
    ("deleted-follow-up", {"treatment_planning_or_response": T}, ["76390"], FAILS,
     "indications.1", None),
    ("investigational-plus-covered", {"glioma_grading": T, "tumor_recurrence_vs_treatment_effect": T},
     ["76390"], MEETS, "indications.1", None),
    ("no-purpose", {}, ["76390"], PENDS, "indications.1",
     ["tumor_recurrence_vs_treatment_effect", "tumor_vs_nontumor_lesion"]),
    ("spine", {"tumor_vs_nontumor_lesion": T, REGION_FACT: T}, ["76390"], FAILS, "indications.1",
     None),
]


@pytest.mark.parametrize(("provided", "cpt", "outcome", "clause", "missing"),
                         [c[1:] for c in NIA], ids=[c[0] for c in NIA])
def test_nia(policies, catalogue, provided, cpt, outcome, clause, missing) -> None:
    _check(policies, catalogue, "nia-brain-mrs", provided, cpt, outcome, clause, missing)


def test_nia_investigational_is_reported(policies, catalogue) -> None:
    facts = resolve_facts({}, {"epilepsy_presurgical": T}, catalogue)
    ev = evaluate(policies["nia-brain-mrs"], facts, ["76390"])
    assert [(f.fact, f.clause_id) for f in ev.investigational] == [
        ("epilepsy_presurgical", "nia-brain-mrs#background.other-diseases")]


FB = [
    ("position.1", {"tumor_recurrence_vs_treatment_effect": T}, MEETS, "position.1", None),
    ("position.2", {"tumor_vs_nontumor_lesion": T}, MEETS, "position.2", None),
    ("unlisted-ms", {"multiple_sclerosis": T}, FAILS, "position", None),
    ("unlisted-grading", {"glioma_grading": T}, FAILS, "position", None),
    ("no-purpose", {}, PENDS, "position.1",
     ["tumor_recurrence_vs_treatment_effect", "tumor_vs_nontumor_lesion"]),
    ("prostate", {"tumor_vs_nontumor_lesion": T, REGION_FACT: T}, FAILS, "position", None),
]


@pytest.mark.parametrize(("provided", "outcome", "clause", "missing"),
                         [c[1:] for c in FB], ids=[c[0] for c in FB])
def test_floridablue(policies, catalogue, provided, outcome, clause, missing) -> None:
    _check(policies, catalogue, "floridablue-mrs", provided, ["76390"], outcome, clause, missing)


def test_floridablue_fep_notice(policies, catalogue) -> None:
    ev = evaluate(policies["floridablue-mrs"], resolve_facts({}, {}, catalogue), ["76390"])
    assert [(n.clause_id, n.kind) for n in ev.notices] == [
        ("floridablue-mrs#program-exceptions.fep", "scope")]
    assert "FEP" in ev.notices[0].message
