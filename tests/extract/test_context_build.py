"""ConText's rules are filed as medspaCy files them, for less (extract.context.add_context_rules)."""

from __future__ import annotations

import re

import pytest
import yaml

import mrs_assist.extract.context as context_module
from mrs_assist.config import ROOT, Settings
from mrs_assist.criteria import load_catalogue
from mrs_assist.extract import extract_facts
from mrs_assist.extract.pipeline import build_detector
from mrs_assist.extract.recache import code_cache


def _matcher(detector):
    return detector.nlp.get_pipe(context_module.CONTEXT)._ConText__matcher


def _filed(detector) -> tuple[dict, dict]:
    """The phrase matcher's entries (rule id -> token hash tuples) and each rule id's rule."""
    inner = _matcher(detector)
    entries = inner._MedspacyMatcher__phrase_matcher.__reduce__()[1][1]  # (vocab, docs, callbacks, attr)
    rules = {
        rule_id: (r.literal, r.category, r.direction, r.max_scope, sorted(r.allowed_types or ()),
                  sorted(r.terminated_by or ()))
        for rule_id, r in inner.rule_map.items()
    }
    return {k: sorted(v) for k, v in entries.items()}, rules


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """medspaCy's own ``add``; ours filling a cache folder; ours reading it."""
    catalogue = load_catalogue(Settings().corpus_dir / "facts.yaml")
    ours = context_module.add_context_rules
    context_module.add_context_rules = lambda context, rules: context.add(rules)
    try:
        medspacy_way = build_detector(catalogue)
    finally:
        context_module.add_context_rules = ours
    folder = tmp_path_factory.mktemp("context-cache")
    re.purge()
    with code_cache(folder):
        filling = build_detector(catalogue)
    with code_cache(folder) as cache:
        cached = build_detector(catalogue)
    assert cache is not None and cache.missed == 0  # phrases and regular expressions all from the file
    return medspacy_way, filling, cached


def test_context_rules_are_filed_as_medspacy_files_them(builds):
    medspacy_way, filling, cached = builds
    entries, rules = _filed(medspacy_way)
    assert len(entries) > 4000 and len(rules) >= len(entries)
    assert _filed(filling) == (entries, rules)
    assert _filed(cached) == (entries, rules)


def test_rule_ids_are_strings_of_the_pipeline_not_lexemes(builds):
    medspacy_way, _, cached = builds
    rule_ids = list(_matcher(cached).rule_map)
    strings = cached.nlp.vocab.strings
    assert all(rule_id in strings for rule_id in rule_ids)  # where the components look them up
    assert sum(strings[rule_id] in cached.nlp.vocab for rule_id in rule_ids) == 0
    assert sum(medspacy_way.nlp.vocab.strings[r] in medspacy_way.nlp.vocab for r in rule_ids) > 4000
    assert len(cached.nlp.vocab) < len(medspacy_way.nlp.vocab) - 4000


def test_the_pipelines_read_notes_alike(builds):
    medspacy_way, _, cached = builds
    cases = yaml.safe_load((ROOT / "eval" / "cases.yaml").read_text(encoding="utf-8"))

    def read(detector, notes):
        facts = extract_facts(notes, detector=detector, mrs_requested=True)
        return {k: (v.value, [(e.start, e.end, e.modifiers) for e in v.evidence]) for k, v in facts.items()}

    read_ours = [read(cached, case["notes"]) for case in cases[::8]]
    assert read_ours == [read(medspacy_way, case["notes"]) for case in cases[::8]]
    assert any(e[2] for facts in read_ours for _, evidence in facts.values() for e in evidence)  # modifiers read
