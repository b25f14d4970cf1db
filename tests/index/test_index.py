"""Chunking, token budgets, incremental and atomic builds, and the write lock."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import slow_build
from conftest import REAL_CORPUS
from filelock import FileLock

from mrs_assist.corpus import load_corpus
from mrs_assist.errors import IndexLockedError, ServiceUnavailableError
from mrs_assist.index import build_index, chunk_corpus, selfcheck, store
from mrs_assist.index.chunk import content_hash
from mrs_assist.index.fake import HashingEmbedder
from mrs_assist.retrieve import Retriever


def _collection_ids(settings, embedder) -> set[str]:
    retriever = Retriever.from_settings(settings, embedder=embedder)
    return set(retriever._state.ids)


# --- chunking --------------------------------------------------------------------------


def test_one_chunk_per_clause_with_context_and_verbatim_text(tiny_corpus_dir, fake_embedder):
    corpus = load_corpus(tiny_corpus_dir)
    chunks = chunk_corpus(corpus, fake_embedder, model_id="m", max_tokens=200)
    by_clause: dict[str, list] = {}
    for chunk in chunks:
        by_clause.setdefault(chunk.clause_id, []).append(chunk)

    assert "acme-mrs#indications.3" not in by_clause  # deleted clause: never indexed
    assert set(by_clause) == {c.id for c in corpus.clauses()}
    item = by_clause["acme-mrs#indications.1"]
    assert [c.id for c in item] == ["acme-mrs#indications.1::0"]
    chunk = item[0]
    assert chunk.text == chunk.clause_text == corpus.clause("acme-mrs#indications.1").text
    assert (chunk.policy_id, chunk.payer, chunk.kind) == ("acme-mrs", "Acme Health", "guideline")
    assert chunk.section == "Acme MR Spectroscopy > Indications"
    # headings and the lead-in the list item hangs from inform the embedded text
    assert chunk.embed_text.startswith("Acme Health — Acme MR Spectroscopy > Indications")
    assert "medically necessary when ANY" in chunk.context
    assert chunk.embed_text.endswith(": " + chunk.text)
    struck = by_clause["acme-mrs#exclusions.1"][0]
    assert "routine" not in struck.embed_text


def test_long_clause_is_split_within_budget(tiny_corpus_dir, fake_embedder):
    corpus = load_corpus(tiny_corpus_dir)
    chunks = [c for c in chunk_corpus(corpus, fake_embedder, model_id="m", max_tokens=120)
              if c.clause_id == "acme-mrs#background.long"]
    clause_text = corpus.clause("acme-mrs#background.long").text
    assert len(chunks) >= 3
    assert [c.id for c in chunks] == [f"acme-mrs#background.long::{n}" for n in range(len(chunks))]
    for chunk in chunks:
        assert fake_embedder.count_tokens(chunk.embed_text) <= 120
        assert chunk.text in clause_text  # pieces stay verbatim
        assert chunk.clause_text == clause_text
    assert chunks[0].text.startswith("Finding 0 ") and chunks[-1].text.endswith("region 23 rose.")


def test_content_hash_covers_text_and_model():
    assert content_hash("a", "m1") != content_hash("b", "m1")
    assert content_hash("a", "m1") != content_hash("a", "m2")
    assert content_hash("a", "m1") == content_hash("a", "m1")


def test_embed_module_imports_no_torch():
    code = ("import sys, mrs_assist.index, mrs_assist.retrieve; "
            "print(any(m in sys.modules for m in ('torch', 'sentence_transformers')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.integration
def test_real_corpus_chunks_fit_the_model(real_embedder, make_settings):
    settings = make_settings(corpus_dir=REAL_CORPUS)
    corpus = load_corpus(REAL_CORPUS)
    chunks = chunk_corpus(corpus, real_embedder, model_id=real_embedder.model_id,
                          max_tokens=settings.chunk_max_tokens)
    assert {c.clause_id for c in chunks} == {c.id for c in corpus.clauses()}
    limit = min(256, real_embedder.max_seq_length, settings.chunk_max_tokens)
    worst = max(chunks, key=lambda c: real_embedder.count_tokens(c.embed_text))
    assert real_embedder.count_tokens(worst.embed_text) <= limit, worst.id
    for chunk in chunks:
        assert chunk.text in chunk.clause_text


# --- incremental builds ----------------------------------------------------------------


def test_incremental_build(tiny_corpus_dir, make_settings, monkeypatch):
    settings = make_settings()
    embedder = HashingEmbedder()
    first = build_index(settings, embedder=embedder)
    total = len(chunk_corpus(load_corpus(tiny_corpus_dir), embedder, model_id=embedder.model_id,
                             max_tokens=settings.chunk_max_tokens))
    assert (first.embedded, first.reused, first.removed, first.total) == (total, 0, 0, total)
    assert first.changed

    # nothing changed: no embedding, and Chroma is not even opened
    embedder.calls.clear()
    monkeypatch.setattr(store, "open_client", lambda s: pytest.fail("opened Chroma"))
    second = build_index(settings, embedder=embedder)
    monkeypatch.undo()
    assert (second.embedded, second.reused, second.total) == (0, total, total)
    assert not second.changed and second.generation == first.generation
    assert second.seconds < 1.0 and embedder.calls == []

    # one leaf clause changes: exactly its chunk is embedded
    path = tiny_corpus_dir / "zenith-mrs.md"
    path.write_text(path.read_text().replace("and stroke.", "and acute stroke."))
    third = build_index(settings, embedder=embedder)
    assert (third.embedded, third.reused, third.removed, third.total) == (1, total - 1, 0, total)
    assert embedder.embedded_texts[0].endswith("multiple sclerosis and acute stroke.")
    retriever = Retriever.from_settings(settings, embedder=embedder)
    hit = retriever.search("acute stroke", policy_ids=["zenith-mrs"], top_k=1).hits[0]
    assert hit.text == "Spectroscopy is investigational for multiple sclerosis and acute stroke."

    # a document is removed: its chunks are gone, nothing is embedded
    (tiny_corpus_dir / "zenith-mrs.md").unlink()
    fourth = build_index(settings, embedder=embedder)
    assert (fourth.embedded, fourth.removed, fourth.total) == (0, 3, total - 3)
    assert not any(cid.startswith("zenith-mrs#") for cid in _collection_ids(settings, embedder))
    # only the current generation (and the pointer) remain in the store
    client = store.open_client(settings)
    assert list(store.list_generations(client, settings.collection)) == [fourth.generation]


def test_no_op_edit_keeps_generation_and_rebuild_reembeds(tiny_corpus_dir, make_settings):
    settings = make_settings()
    embedder = HashingEmbedder()
    first = build_index(settings, embedder=embedder)
    path = tiny_corpus_dir / "acme-mrs.md"
    path.write_text(path.read_text() + "\n<!-- a curator's note: not citable -->\n")
    embedder.calls.clear()
    edited = build_index(settings, embedder=embedder)
    assert (edited.embedded, edited.changed, edited.generation) == (0, False, first.generation)

    rebuilt = build_index(settings, embedder=embedder, rebuild=True, progress=True)
    assert rebuilt.embedded == rebuilt.total == first.total
    assert rebuilt.generation != first.generation


def test_model_change_reembeds_everything(tiny_corpus_dir, make_settings):
    settings = make_settings()
    build_index(settings, embedder=HashingEmbedder(model_id="a"))
    report = build_index(settings, embedder=HashingEmbedder(model_id="b"))
    assert report.embedded == report.total and report.reused == 0


# --- atomicity ---------------------------------------------------------------------------


class _FailingEmbedder(HashingEmbedder):
    """Raises on its second batch, as a crash midway through embedding would."""

    def embed(self, texts):
        if self.calls:
            raise RuntimeError("embedding crashed")
        return super().embed(texts)


def test_interrupted_build_keeps_previous_generation(tiny_corpus_dir, make_settings, monkeypatch):
    settings = make_settings()
    embedder = HashingEmbedder()
    first = build_index(settings, embedder=embedder)

    path = tiny_corpus_dir / "zenith-mrs.md"
    path.write_text(path.read_text().replace("\n## Contraindications", textwrap.dedent("""
        {#criteria.3} Spectroscopy is appropriate for suspected mitochondrial disease.

        ## Contraindications""")))
    monkeypatch.setattr("mrs_assist.index.build._EMBED_BATCH", 1)  # several batches
    (tiny_corpus_dir / "acme-mrs.md").write_text(
        (tiny_corpus_dir / "acme-mrs.md").read_text().replace("Epilepsy,", "Refractory epilepsy,"))
    with pytest.raises(RuntimeError, match="embedding crashed"):
        build_index(settings, embedder=_FailingEmbedder())

    retriever = Retriever.from_settings(settings, embedder=embedder)
    assert retriever.generation == first.generation
    assert len(retriever._state.ids) == first.total
    assert retriever.search("pacemaker", top_k=1).hits[0].clause_id == "zenith-mrs#contraindications.1"
    client = store.open_client(settings)
    assert list(store.list_generations(client, settings.collection)) == [first.generation]

    again = build_index(settings, embedder=embedder)
    assert again.total == first.total + 1 and again.embedded == 2 and again.changed
    assert retriever.search("mitochondrial", top_k=1).hits[0].clause_id == "zenith-mrs#criteria.3"


@pytest.mark.parametrize("trial", range(3))
def test_kill_9_mid_build_keeps_previous_generation(trial, tiny_corpus_dir, make_settings, tmp_path):
    # Each trial kills the rebuild at another random point of its embedding loop (seeded).
    # The long version — the real model and corpus, `mrs-assist index --rebuild` killed 5 times —
    # is `scripts/resilience.py` (index_kill_trials in tests/support/faults.py).
    settings = make_settings()
    embedder = HashingEmbedder()
    first = build_index(settings, embedder=embedder)
    marker = tmp_path / "embedding"
    proc = slow_build.start(settings, marker, 0.3)
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert proc.poll() is None, "the build finished before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(random.Random(trial).uniform(0.05, 2.0))
        assert proc.poll() is None, "the build finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=10)

    retriever = Retriever.from_settings(settings, embedder=embedder)
    assert (retriever.generation, len(retriever._state.ids)) == (first.generation, first.total)
    assert selfcheck.check_index(settings, embedder=embedder).ok  # the previous index is intact
    report = build_index(settings, embedder=embedder)  # lock released by the dead process
    assert report.total == first.total
    client = store.open_client(settings)
    assert list(store.list_generations(client, settings.collection)) == [report.generation]
    assert selfcheck.check_index(settings, embedder=embedder).ok


def test_second_writer_gets_index_locked(tiny_corpus_dir, make_settings):
    settings = make_settings()
    settings.index_dir.mkdir(parents=True)
    holder = FileLock(str(settings.index_dir / ".write.lock"))
    with holder:
        with pytest.raises(IndexLockedError, match="another process is building the index"):
            build_index(settings, embedder=HashingEmbedder())
    assert build_index(settings, embedder=HashingEmbedder()).changed


def test_unreachable_server_is_service_unavailable(tiny_corpus_dir, make_settings):
    settings = make_settings(chroma_url="http://127.0.0.1:9")
    with pytest.raises(ServiceUnavailableError):
        build_index(settings, embedder=HashingEmbedder())


def test_manifest_is_written_atomically(tiny_corpus_dir, make_settings):
    settings = make_settings()
    report = build_index(settings, embedder=HashingEmbedder())
    manifest = store.read_manifest(settings.index_dir)
    assert manifest["generation"] == report.generation and manifest["total"] == report.total
    assert not list(Path(settings.index_dir).glob(".manifest.*.tmp"))


def test_clients_open_safely_from_many_threads_at_once(make_settings, tmp_path):
    """The readiness self-check and the first requests open the store concurrently at start-up."""
    import threading

    from mrs_assist.index import store

    for round_ in range(5):
        settings = make_settings(data_dir=tmp_path / f"data-{round_}")
        barrier = threading.Barrier(8)
        errors: list[BaseException] = []

        def open_it():
            barrier.wait()
            try:
                store.open_client(settings)
            except BaseException as exc:  # noqa: BLE001 - any failure is the finding
                errors.append(exc)

        threads = [threading.Thread(target=open_it) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
