"""Readiness (/readyz) versus liveness (/healthz), and the index self-check behind readiness:
damaged Chroma files are found at start-up, and `index --rebuild` brings readiness back."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import time

from collections.abc import Callable

import pytest
from conftest import REAL_CORPUS, policy_markdown, tiny_corpus_documents
from fastapi.testclient import TestClient

from mrs_assist.api import create_app
from mrs_assist.config import Settings
from support.faults import cli
from support.index_faults import CORRUPTIONS, corrupt, corrupt_and_recover
from mrs_assist.index import build_index, selfcheck, store
from mrs_assist.index.fake import HashingEmbedder
from mrs_assist.records import dispose_engine
from mrs_assist.records.db import database_url
from mrs_assist.service import Services

LOCAL = "http://127.0.0.1"  # without keys the app answers only a loopback Host (mrs_assist.api.loopback)

QUESTION = "What does MR spectroscopy measure in a brain tumor?"
SQLITE_DAMAGE = ["truncate-sqlite", "overwrite-sqlite-header", "overwrite-sqlite-pages", "empty-sqlite"]


@pytest.fixture
def fake_queries() -> HashingEmbedder:
    """The embedder questions go through: the HashingEmbedder the test indexes were built with (no
    model), handed to the app's Services and to the self-check (nothing patched)."""
    return HashingEmbedder()


@pytest.fixture
def real_corpus_settings(make_settings):
    settings = make_settings(corpus_dir=REAL_CORPUS, rate_limit_per_minute=0)
    yield settings
    dispose_engine(database_url(settings))
    store.reset_local_client(settings)


@pytest.fixture
def serve(fake_queries) -> Callable[[Settings], TestClient]:
    """settings → a client of an app whose one Services embeds questions with `fake_queries`
    (use it in a `with` block to run the lifespan: the self-check in the background)."""

    def make(settings: Settings) -> TestClient:
        services = Services(settings, embedder=fake_queries)
        return TestClient(create_app(services=services), base_url=LOCAL, raise_server_exceptions=False)

    return make


def test_ready_when_index_passes_and_database_answers(real_corpus_settings, serve):
    report = build_index(real_corpus_settings, embedder=HashingEmbedder())
    with serve(real_corpus_settings) as client:
        r = client.get("/readyz")
        assert r.status_code == 200, r.json()
        body = r.json()
        assert body["status"] == "ready" and "error" not in body
        assert body["checks"]["index"] | {"seconds": 0} == {
            "ok": True, "code": "ok", "generation": report.generation, "total": report.total, "seconds": 0,
            "message": f"index generation {report.generation} passed its self-check ({report.total} chunks, "
                       "4 golden queries)",
        }
        assert body["checks"]["database"]["ok"] is True
        assert client.get("/healthz").json()["status"] == "ok"


def test_no_index_is_not_ready_but_alive(real_corpus_settings, serve):
    with serve(real_corpus_settings) as client:
        assert client.get("/healthz").status_code == 200
        r = client.get("/readyz")
        assert r.status_code == 503
        body = r.json()
        assert body["error"]["code"] == "not_ready" and body["status"] == "not_ready"
        assert body["checks"]["index"]["code"] == "no_index"
        assert "run `mrs-assist index`" in body["error"]["message"]
        assert body["checks"]["database"]["ok"] is True


def test_build_records_the_self_check_in_pointer_and_manifest(real_corpus_settings):
    build_index(real_corpus_settings, embedder=HashingEmbedder())
    manifest = store.read_manifest(real_corpus_settings.index_dir)
    record = manifest["selfcheck"]
    assert record["total"] == manifest["total"] and len(record["golden"]) == 1 + selfcheck.SELF_QUERIES
    assert record["golden"][0]["question"] == selfcheck.GOLDEN_QUESTION
    client = store.open_client(real_corpus_settings)
    pointer = store.read_pointer(client, real_corpus_settings.collection, None)
    assert selfcheck.parse_record(pointer.selfcheck) == record


@pytest.mark.parametrize("mode", SQLITE_DAMAGE)
def test_damaged_sqlite_is_found_at_start_up_and_rebuild_recovers(mode, real_corpus_settings, serve):
    settings = real_corpus_settings
    first = build_index(settings, embedder=HashingEmbedder())
    corrupt(store.local_path(settings), mode)
    store.reset_local_client(settings)  # what a freshly started process sees
    with serve(settings) as client:  # the lifespan starts the self-check in the background
        r = client.get("/readyz")
        assert r.status_code == 503, r.json()
        body = r.json()
        assert body["checks"]["index"]["code"] == "index_damaged"
        assert "run `mrs-assist index --rebuild`" in body["error"]["message"]
        assert client.get("/healthz").status_code == 200  # alive: restarting would not help
        ask = client.post("/v1/ask", json={"question": QUESTION})
        assert ask.status_code == 503 and ask.json()["error"]["code"] in ("index_damaged", "index_not_ready")
        for response in (r, ask):  # what failed, never where the server keeps its files
            assert str(settings.data_dir) not in response.text and "chroma.sqlite3" not in response.text
        if mode == "truncate-sqlite":  # Chroma cannot open the file: the message says so, path redacted
            assert "the local index at <path> is damaged" in body["error"]["message"]

        rebuilt = build_index(settings, embedder=HashingEmbedder(), rebuild=True)
        assert rebuilt.total == first.total and rebuilt.generation != first.generation
        assert sorted(p.name for p in settings.index_dir.glob("chroma.damaged-*"))  # kept for inspection
        r = client.get("/readyz")
        assert r.status_code == 200, r.json()
        assert r.json()["checks"]["index"]["generation"] == rebuilt.generation
        assert client.post("/v1/ask", json={"question": QUESTION}).status_code == 200


def _large_corpus(folder, clauses: int = 1200) -> None:
    """One synthetic policy with enough chunks that Chroma writes its HNSW segment files (> 1000)."""
    rng = random.Random(1)
    words = [f"term{i}" for i in range(3000)]
    items = "\n\n".join(f"{{#items.{i}}} Item {i}: " + " ".join(rng.sample(words, 8)) + "." for i in range(clauses))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "big-mrs.md").write_text(policy_markdown("big-mrs", "Big Payer", f"# Big\n\n## Items\n\n{items}"))


@pytest.mark.parametrize("mode", ["truncate-segments", "delete-segments"])
def test_damaged_segment_files_of_a_large_index_are_found(mode, make_settings, tmp_path, fake_queries):
    _large_corpus(tmp_path / "big")
    settings = make_settings(corpus_dir=tmp_path / "big")
    first = build_index(settings, embedder=HashingEmbedder())
    assert any(p.is_dir() for p in store.local_path(settings).iterdir())  # segment files exist
    corrupt(store.local_path(settings), mode)
    store.reset_local_client(settings)
    result = selfcheck.check_index(settings, embedder=fake_queries)
    assert not result.ok and result.code == "index_damaged", result
    assert result.message.endswith("run `mrs-assist index --rebuild`")
    assert build_index(settings, embedder=HashingEmbedder(), rebuild=True).total == first.total
    assert selfcheck.check_index(settings, embedder=fake_queries).ok
    store.reset_local_client(settings)


def test_a_changed_record_fails_the_self_check(real_corpus_settings, fake_queries):
    """Damage Chroma still reads without error: a chunk's text changed behind the index's back."""
    settings = real_corpus_settings
    report = build_index(settings, embedder=HashingEmbedder())
    client = store.open_client(settings)
    collection = client.get_collection(report.generation)
    some = collection.get(limit=1, include=["documents", "metadatas", "embeddings"])
    collection.update(ids=some["ids"], documents=["tampered text"], embeddings=some["embeddings"],
                      metadatas=some["metadatas"])
    result = selfcheck.check_index(settings, embedder=fake_queries)
    assert result.code == "index_damaged" and "chunk texts or metadata differ" in result.message


@pytest.mark.integration
def test_api_process_on_damaged_files_recovers_after_cli_rebuild(tmp_path, write_corpus):
    """The real thing, small: the real model on the tiny corpus, uvicorn, the CLI, truncated chroma.sqlite3."""
    write_corpus(tiny_corpus_documents())
    env = {"MRS_ASSIST_CORPUS_DIR": str(tmp_path / "corpus"), "MRS_ASSIST_DATA_DIR": str(tmp_path / "data"),
           "MRS_ASSIST_RATE_LIMIT_PER_MINUTE": "0"}
    subprocess.run([*cli(), "index"], env={**os.environ, **env}, check=True, capture_output=True, timeout=300)
    shutil.copytree(tmp_path / "data" / "index", tmp_path / "pristine")
    [result] = corrupt_and_recover(env, tmp_path / "pristine", ["truncate-sqlite"], question=QUESTION,
                                   log=tmp_path / "api.log")
    assert result["liveness"] == 200
    assert result["readiness_at_start"] == 503 and result["readiness_code"] == "index_damaged"
    assert "mrs-assist index --rebuild" in result["readiness_message"]
    assert result["ask_while_damaged"] == 503
    assert result["rebuild_exit"] == 0
    assert result["readiness_after_rebuild"] == 200 and result["ask_after_rebuild"] == 200


def test_every_corruption_mode_applies(tmp_path):
    folder = tmp_path / "chroma"
    (folder / "seg").mkdir(parents=True)
    for mode in CORRUPTIONS:
        (folder / "chroma.sqlite3").write_bytes(os.urandom(200_000))
        (folder / "seg").mkdir(exist_ok=True)
        (folder / "seg" / "data_level0.bin").write_bytes(b"x" * 1000)
        before = (folder / "chroma.sqlite3").read_bytes()
        corrupt(folder, mode)
        changed = (folder / "chroma.sqlite3").exists() and (folder / "chroma.sqlite3").read_bytes() != before
        seg_changed = not (folder / "seg").exists() or (folder / "seg" / "data_level0.bin").stat().st_size != 1000
        assert changed or seg_changed, mode
    with pytest.raises(ValueError, match="unknown corruption"):
        corrupt(folder, "nope")


def test_readyz_is_not_behind_auth(make_settings, serve):
    settings = make_settings(auth="on", api_keys="k1=nurse:reviewer", rate_limit_per_minute=0)
    client = serve(settings)
    assert client.get("/readyz").status_code == 503  # not 401: probes carry no key
    assert client.get("/v1/policies").status_code == 401
    dispose_engine(database_url(settings))


def test_readiness_follows_a_chroma_server_that_goes_away(make_settings, serve, tmp_path):
    from support.servers import ChromaServer

    server = ChromaServer(tmp_path / "chroma").start()
    try:
        settings = make_settings(corpus_dir=REAL_CORPUS, chroma_url=server.url, backend_timeout_seconds=2,
                                 rate_limit_per_minute=0)
        build_index(settings, embedder=HashingEmbedder())
        # Chroma's HttpClient waits forever unless given a timeout: ours is set on its session
        assert store.open_client(settings)._server._session.timeout.read == 2
        client = serve(settings)
        assert client.get("/readyz").status_code == 200
        server.kill()
        started = time.perf_counter()
        r = client.get("/readyz")
        assert r.status_code == 503 and r.json()["checks"]["index"]["code"] == "service_unavailable"
        assert f"the Chroma server at {server.url} is unavailable" in r.json()["error"]["message"]
        assert time.perf_counter() - started < 5
        server.start()
        deadline = time.monotonic() + 10
        while (r := client.get("/readyz")).status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert r.status_code == 200, r.json()
    finally:
        server.stop()
        dispose_engine(database_url(settings))
