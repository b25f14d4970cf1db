"""Settings are a tree (retrieval, llm, api, records) while every env var keeps its name and
flat names still read and construct; Services hands its own settings down (no process-wide
settings below it)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

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
}


@pytest.fixture()
def env(monkeypatch):
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)


def test_existing_env_names_fill_the_groups(env):
    s = Settings()
    assert (s.retrieval.top_k, s.retrieval.dense_weight, s.retrieval.chroma_url) == (7, 0.25, "http://127.0.0.1:9")
    assert (s.llm.base_url, s.llm.model, s.llm.api_key.get_secret_value()) == ("http://127.0.0.1:8", "m1", "k")
    assert (s.api.auth, s.api.rate_limit_per_minute) == ("on", 5)
    assert (s.records.database_url, s.records.auto_migrate) == ("sqlite:///x.db", False)
    assert s.backend_timeout_seconds == 3
    # the flat names read the same values
    assert (s.top_k, s.llm_model, s.auth, s.database_url, s.records_auto_migrate) == (7, "m1", "on", "sqlite:///x.db", False)


def test_flat_keyword_goes_into_its_group_and_the_rest_still_comes_from_env(env):
    s = Settings(top_k=3, llm_model="m2", records_auto_migrate=True)
    assert s.retrieval.top_k == 3 and s.retrieval.dense_weight == 0.25  # env kept beside the keyword
    assert s.llm.model == "m2" and s.llm.base_url == "http://127.0.0.1:8"
    assert s.records.auto_migrate is True and s.records.database_url == "sqlite:///x.db"
    with pytest.raises(ValidationError):
        Settings(top_k=0)


def test_model_copy_takes_flat_and_group_names(env):
    s = Settings()
    copy = s.model_copy(update={"llm_model": "judge", "data_dir": "/tmp/elsewhere"})
    assert copy.llm.model == "judge" and copy.llm.base_url == "http://127.0.0.1:8" and str(copy.data_dir) == "/tmp/elsewhere"
    assert s.llm.model == "m1"  # the original is untouched


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
