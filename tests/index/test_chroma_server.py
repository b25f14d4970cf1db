"""The same index and retrieval through a real `chroma run` server on loopback (HttpClient)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from support.servers import free_port, running_server
from conftest import REAL_CORPUS
from test_retrieve import OFF_TOPIC, ON_TOPIC, assert_declined_or_flagged, check_retrieval_contract

from mrs_assist.index import build_index, store
from mrs_assist.index.fake import HashingEmbedder
from mrs_assist.retrieve import Retriever

pytestmark = pytest.mark.integration


def _chroma_cli() -> str:
    local = Path(sys.executable).with_name("chroma")
    return str(local) if local.exists() else (shutil.which("chroma") or "chroma")


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory):
    """URL of a `chroma run` server on 127.0.0.1, stopped at teardown."""
    folder = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    argv = [_chroma_cli(), "run", "--path", str(folder / "data"), "--host", "127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    with running_server(argv, probe=f"{url}/api/v2/heartbeat", log_path=folder / "server.log", env=env, timeout=30):
        yield url


def test_build_incrementally_and_retrieve_through_server(
    chroma_url, tiny_corpus_dir, make_settings, tmp_path
):
    settings = make_settings(chroma_url=chroma_url, collection="tiny_clauses")
    embedder = HashingEmbedder()
    first = build_index(settings, embedder=embedder)
    assert first.embedded == first.total > 0

    again = build_index(settings, embedder=embedder)
    assert (again.embedded, again.changed, again.generation) == (0, False, first.generation)

    retriever = Retriever.from_settings(settings, embedder=embedder)
    check_retrieval_contract(retriever)

    # a second machine (own data_dir, no manifest) sharing the server reuses the generation
    elsewhere = make_settings(chroma_url=chroma_url, collection="tiny_clauses",
                              data_dir=tmp_path / "other-machine")
    other = build_index(elsewhere, embedder=HashingEmbedder())
    assert (other.embedded, other.changed, other.generation) == (0, False, first.generation)

    path = tiny_corpus_dir / "zenith-mrs.md"
    path.write_text(path.read_text().replace("and stroke.", "and acute stroke."))
    changed = build_index(settings, embedder=embedder)
    assert (changed.embedded, changed.reused, changed.total) == (1, first.total - 1, first.total)
    hit = retriever.search("acute stroke", policy_ids=["zenith-mrs"], top_k=1).hits[0]
    assert hit.text.endswith("multiple sclerosis and acute stroke.")
    client = store.open_client(settings)
    assert list(store.list_generations(client, "tiny_clauses")) == [changed.generation]


def test_interrupted_build_through_server_keeps_previous(
    chroma_url, tiny_corpus_dir, make_settings, monkeypatch
):
    settings = make_settings(chroma_url=chroma_url, collection="crash_clauses")
    embedder = HashingEmbedder()
    first = build_index(settings, embedder=embedder)

    class Failing(HashingEmbedder):
        def embed(self, texts):
            raise RuntimeError("embedding crashed")

    path = tiny_corpus_dir / "acme-mrs.md"
    path.write_text(path.read_text().replace("Epilepsy,", "Refractory epilepsy,"))
    with pytest.raises(RuntimeError):
        build_index(settings, embedder=Failing())
    retriever = Retriever.from_settings(settings, embedder=embedder)
    assert retriever.generation == first.generation
    assert len(retriever._state.ids) == first.total
    assert build_index(settings, embedder=embedder).embedded == 1


def test_real_model_and_corpus_through_server(chroma_url, real_embedder, make_settings):
    settings = make_settings(chroma_url=chroma_url, corpus_dir=REAL_CORPUS, collection="real_clauses")
    report = build_index(settings, embedder=real_embedder)
    assert report.total > 0
    retriever = Retriever.from_settings(settings, embedder=real_embedder)
    for question in ON_TOPIC:
        assert retriever.search(question).addressed, question
    for question in OFF_TOPIC:
        assert_declined_or_flagged(retriever, question)
    compared = retriever.search("Which payers cover MRS for epilepsy?")
    guidelines = {p.policy_id for p in retriever.policies if p.kind == "guideline"}
    assert {h.policy_id for h in compared.hits} == guidelines
