"""Shipped data files are found one way (mrs_assist.data.shipped): corpus/ and prompts/ at the
repository root, every other data file inside the package."""

from __future__ import annotations

from pathlib import Path

import pytest

import mrs_assist
from mrs_assist.config import Settings
from mrs_assist.data import YamlFile, shipped
from mrs_assist.errors import MrsAssistError

PACKAGE = Path(mrs_assist.__file__).parent
CHECKOUT = PACKAGE.parents[1]


@pytest.mark.parametrize(("name", "where"), [
    ("data/corpus", CHECKOUT / "corpus"),
    ("data/corpus/facts.yaml", CHECKOUT / "corpus" / "facts.yaml"),
    ("data/prompts/letter_draft.yaml", CHECKOUT / "prompts" / "letter_draft.yaml"),
    ("fhir/payers.yaml", PACKAGE / "fhir" / "payers.yaml"),
    ("letters/templates", PACKAGE / "letters" / "templates"),
])
def test_shipped_names_a_file_by_its_place_in_the_wheel(name, where):
    assert shipped(name) == where and where.exists()


def test_settings_default_to_the_root_folders():
    settings = Settings()
    assert settings.corpus_dir == CHECKOUT / "corpus" and settings.prompts_dir == CHECKOUT / "prompts"


def test_no_module_finds_data_beside_its_own_file():
    """Path(__file__) breaks when the data moves (as corpus/ did); shipped() is the one way.
    (config.ROOT is the checkout itself, for eval/ and local state, which no wheel ships.)"""
    offenders = [f"{path.relative_to(PACKAGE)}:{n}" for path in PACKAGE.rglob("*.py")
                 if path.parent.name != "data" and path.name != "config.py"
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if "Path(__file__)" in line or "files(\"mrs_assist" in line]
    assert offenders == []


def _loaders():
    from mrs_assist.criteria.catalogue import load_catalogue
    from mrs_assist.evaluation.gate import load_thresholds
    from mrs_assist.evaluation.injection import load_templates
    from mrs_assist.extract.pipeline import load_lexicon
    from mrs_assist.fhir.payers import load_payer_map
    from mrs_assist.criteria.reasons import load_reasons
    from mrs_assist.letters.settings import load_glossary, load_letter_settings, load_manifest
    from mrs_assist.llm import load_prompt
    from mrs_assist.quarantine import quarantine_patterns

    eval_dir = CHECKOUT / "eval"
    return [
        (shipped("data/corpus/facts.yaml"), load_catalogue),
        (shipped("data/prompts/retry.yaml"), lambda p: load_prompt(p.stem, p.parent)),
        (shipped("fhir/payers.yaml"), load_payer_map),
        (shipped("letters/letter_settings.yaml"), load_letter_settings),
        (shipped("letters/glossary.yaml"), load_glossary),
        (shipped("letters/templates/manifest.yaml"), load_manifest),
        (shipped("criteria/denial_reasons.yaml"), load_reasons),
        (shipped("quarantine.yaml"), quarantine_patterns),
        (shipped("extract/lexicon.yaml"), load_lexicon),
        (eval_dir / "thresholds.yaml", load_thresholds),
        (eval_dir / "injection" / "templates.yaml", load_templates),
    ]


@pytest.mark.parametrize("index", range(11))
def test_every_yaml_file_is_read_one_way_and_errors_name_file_and_line(tmp_path, index):
    """A stray key at the end of any YAML data file is reported as <file>:<its line>."""
    source, load = _loaders()[index]
    text = source.read_text(encoding="utf-8").rstrip("\n") + "\n"
    copy = tmp_path / source.name
    copy.write_text(text + "surprise_key: 1\n", encoding="utf-8")
    line = text.count("\n") + 1
    with pytest.raises(MrsAssistError, match=rf"^{source.name}:{line}: "):
        load(copy)
    copy.write_text(text + "broken: [\n", encoding="utf-8")
    with pytest.raises(MrsAssistError, match=rf"^{source.name}:\d+: not valid YAML"):
        load(copy)


def test_the_facts_catalogue_is_parsed_once(monkeypatch):
    """Services' catalogue, the letters' fact wording and extraction's default catalogue share one parse."""
    from mrs_assist.criteria import catalogue
    from mrs_assist.extract import default_catalogue
    from mrs_assist.letters.settings import load_fact_wording
    from mrs_assist.service import Services

    parsed: list[Path] = []
    original = YamlFile.__init__

    def counting(self, path, **kwargs):
        parsed.append(path)
        original(self, path, **kwargs)

    catalogue._parse_catalogue.cache_clear()
    monkeypatch.setattr(YamlFile, "__init__", counting)
    facts = shipped("data/corpus/facts.yaml")
    services = Services(Settings())
    assert services.catalogue is default_catalogue() is catalogue.load_catalogue(facts)
    wording = load_fact_wording(facts)
    assert wording["conventional_imaging_inconclusive"].label == services.catalogue.spec("conventional_imaging_inconclusive").label
    assert [p.name for p in parsed].count("facts.yaml") == 1


@pytest.mark.parametrize("index", range(11))
def test_a_yaml_file_is_parsed_once_into_the_tree_and_the_data(monkeypatch, index):
    """One libyaml pass gives both the node tree (for error lines) and the data (a cold
    `determine` reads facts.yaml and lexicon.yaml: composing and loading each was twice the work)."""
    import yaml

    from mrs_assist.data import yamlfile

    source, _ = _loaders()[index]
    made: list[object] = []

    class Counting(yamlfile.LOADER):
        def __init__(self, stream):
            made.append(stream)
            super().__init__(stream)

    monkeypatch.setattr(yamlfile, "LOADER", Counting)
    monkeypatch.setattr(yaml, "CSafeLoader", Counting, raising=False)
    monkeypatch.setattr(yaml, "SafeLoader", Counting)
    parsed = YamlFile(source, root=object)
    assert len(made) == 1
    text = source.read_text(encoding="utf-8")
    assert parsed.data == yaml.load(text, Loader=yamlfile.LOADER) and len(made) == 2  # noqa: S506 (a safe loader)
    assert yaml.serialize(parsed.root) == yaml.serialize(yaml.compose(text, Loader=yamlfile.LOADER))
