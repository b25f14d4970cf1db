"""Settings have one spelling, flat (``settings.top_k``, ``settings.llm_model``), and every env var
keeps its name; the data folder defaults to the checkout's, else the user's data directory;
Services hands its own settings down (no process-wide settings below it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from mrs_assist import config
from mrs_assist.config import Settings
from mrs_assist.data import shipped

ENV = {
    "MRS_ASSIST_TOP_K": "7",
    "MRS_ASSIST_DENSE_WEIGHT": "0.25",
    "MRS_ASSIST_CHROMA_URL": "http://127.0.0.1:9",
    "MRS_ASSIST_LLM_BASE_URL": "http://127.0.0.1:8",
    "MRS_ASSIST_LLM_MODEL": "m1",
    "MRS_ASSIST_LLM_API_KEY": "k",
    "MRS_ASSIST_AUTH": "on",
    "MRS_ASSIST_RATE_LIMIT_PER_MINUTE": "5",
    "MRS_ASSIST_DATABASE_URL": "sqlite:///x.db",
    "MRS_ASSIST_RECORDS_AUTO_MIGRATE": "false",
    "MRS_ASSIST_BACKEND_TIMEOUT_SECONDS": "3",
    "MRS_ASSIST_PUBLIC_URL": "https://um.example.org/mrs/",
}


@pytest.fixture()
def env(monkeypatch):
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)


def test_every_env_name_fills_its_flat_field(env):
    s = Settings()
    assert (s.top_k, s.dense_weight, s.chroma_url) == (7, 0.25, "http://127.0.0.1:9")
    assert (s.llm_base_url, s.llm_model, s.llm_api_key.get_secret_value()) == ("http://127.0.0.1:8", "m1", "k")
    assert (s.auth, s.rate_limit_per_minute) == ("on", 5)
    assert (s.database_url, s.records_auto_migrate, s.backend_timeout_seconds) == ("sqlite:///x.db", False, 3)
    assert (s.public_url, s.fhir_base_url) == ("https://um.example.org/mrs", "https://um.example.org/mrs/fhir")


def test_one_spelling_only():
    """The nested groups and their flat aliases are gone: one name per setting."""
    fields = set(Settings.model_fields)
    assert not {"retrieval", "llm", "api", "records"} & fields
    assert {"top_k", "llm_model", "auth", "records_auto_migrate", "public_url", "fhir_notify_interval_seconds"} <= fields
    assert not hasattr(config, "FLAT_NAMES") and not hasattr(config, "GROUPS")


def test_keyword_overrides_one_field_and_the_rest_still_comes_from_env(env):
    s = Settings(top_k=3, llm_model="m2", records_auto_migrate=True)
    assert (s.top_k, s.dense_weight) == (3, 0.25)  # env kept beside the keyword
    assert (s.llm_model, s.llm_base_url) == ("m2", "http://127.0.0.1:8")
    assert s.records_auto_migrate is True and s.database_url == "sqlite:///x.db"
    with pytest.raises(ValidationError):
        Settings(top_k=0)
    copy = s.model_copy(update={"llm_model": "judge"})
    assert (copy.llm_model, copy.llm_base_url, s.llm_model) == ("judge", "http://127.0.0.1:8", "m2")


def test_the_fhir_base_url_defaults_to_loopback(monkeypatch):
    monkeypatch.delenv("MRS_ASSIST_PUBLIC_URL", raising=False)
    assert Settings().fhir_base_url == "http://127.0.0.1:8000/fhir"
    with pytest.raises(ValidationError):
        Settings(public_url="not a url")


def test_data_dir_defaults_to_the_checkout_inside_one(monkeypatch):
    monkeypatch.delenv("MRS_ASSIST_DATA_DIR", raising=False)
    monkeypatch.setattr(config, "IN_CHECKOUT", True)
    assert Settings().data_dir == config.ROOT / ".mrs-assist"
    assert Settings().index_dir == config.ROOT / ".mrs-assist" / "index"


def test_data_dir_defaults_to_the_user_data_directory_without_a_checkout(monkeypatch, tmp_path):
    import platformdirs

    monkeypatch.delenv("MRS_ASSIST_DATA_DIR", raising=False)
    monkeypatch.setattr(config, "IN_CHECKOUT", False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))  # platformdirs' Unix rule
    expected = Path(platformdirs.user_data_dir("mrs-assist", appauthor=False))
    assert Settings().data_dir == expected and expected.is_relative_to(tmp_path)
    assert Settings().index_dir == expected / "index"
    monkeypatch.setenv("MRS_ASSIST_DATA_DIR", str(tmp_path / "mine"))
    assert Settings().data_dir == tmp_path / "mine"


def test_defaults_ship_in_the_package(monkeypatch, tmp_path):
    s = Settings()
    assert s.corpus_dir == shipped("data/corpus") and (s.corpus_dir / "facts.yaml").is_file()
    assert (s.prompts_dir / "letter_draft.yaml").is_file()
    monkeypatch.setenv("MRS_ASSIST_CORPUS_DIR", str(tmp_path))
    assert Settings().corpus_dir == tmp_path


def test_services_words_letters_from_its_own_corpus(tmp_path, monkeypatch):
    """A Services built on another corpus takes the fact wording of its letters from that
    corpus's facts.yaml, not from the process-wide settings."""
    import shutil

    from mrs_assist.config import get_settings
    from mrs_assist.schemas import DeterminationRequest
    from mrs_assist.service import Services

    corpus = tmp_path / "corpus"
    shutil.copytree(shipped("data/corpus"), corpus)
    facts = corpus / "facts.yaml"
    old = "label: distinguish recurrent or residual brain tumor from treatment effects (e.g. radiation necrosis)"
    assert old in facts.read_text(encoding="utf-8")
    facts.write_text(facts.read_text(encoding="utf-8").replace(old, "label: distinguish Zyxwordia recurrence from treatment effects"),
                     encoding="utf-8")
    monkeypatch.delenv("MRS_ASSIST_CORPUS_DIR", raising=False)
    get_settings.cache_clear()
    notes = ("58 y/o M with GBM s/p resection and XRT 2023. New enhancing lesion on MRI, equivocal for recurrence vs "
             "radiation necrosis. MRS requested to differentiate recurrence from radiation necrosis.\n")
    request = DeterminationRequest(policy_id="cohere-mrs", cpt_codes=["76390"], clinical_notes=notes, letter=True)
    own = Services(Settings(corpus_dir=corpus, data_dir=tmp_path / "data")).determine(request)
    default = Services(Settings(data_dir=tmp_path / "data2")).determine(request)
    assert own.recommendation == default.recommendation == "meets_criteria"
    assert "Zyxwordia" in own.letter.markdown and "Zyxwordia" not in default.letter.markdown
    assert "zyxwordia" in Services(Settings(corpus_dir=corpus, data_dir=tmp_path / "d3")).fixed_vocabulary
