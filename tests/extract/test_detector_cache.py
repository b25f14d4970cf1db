"""The extraction pipeline is cached by the catalogue's content, not by the object's id()."""

from __future__ import annotations

from mrs_assist.config import Settings
from mrs_assist.criteria import load_catalogue
from mrs_assist.extract.pipeline import get_detector


def test_equal_catalogues_share_one_detector_and_a_changed_one_gets_its_own():
    path = Settings().corpus_dir / "facts.yaml"
    first = load_catalogue(path)
    second = first.model_copy(deep=True)  # an equal catalogue that is another object
    assert first is not second and first.fingerprint() == second.fingerprint()
    assert get_detector(first) is get_detector(second)

    facts = dict(first.facts)
    name, spec = next(iter(facts.items()))
    facts[name] = spec.model_copy(update={"label": spec.label + " (changed)"})
    changed = first.model_copy(update={"facts": facts})
    assert changed.fingerprint() != first.fingerprint()
    assert get_detector(changed) is not get_detector(first)
    assert get_detector(changed).catalogue.spec(name).label.endswith("(changed)")


def test_services_extract_with_the_detector_they_hold():
    from mrs_assist.schemas import DeterminationRequest
    from mrs_assist.service import Services

    services = Services(Settings())
    request = DeterminationRequest(policy_id="cohere-mrs", cpt_codes=["76390"],
                                   clinical_notes="Known glioblastoma. MRI inconclusive for recurrence versus radiation necrosis.")
    services.determine(request)
    assert services.__dict__["detector"] is get_detector(services.catalogue)
