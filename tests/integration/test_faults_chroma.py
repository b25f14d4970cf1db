"""The Chroma server (HttpClient mode) killed or frozen under a running API: 503 with a clear
message within the timeout, never a hang, and the next request after it returns succeeds
without restarting the API. A real `chroma run` on 127.0.0.1, a real uvicorn, the real model
on the tiny corpus."""

from __future__ import annotations

import os
import subprocess
import time

import pytest
from conftest import tiny_corpus_documents

from mrs_assist.errors import ServiceUnavailableError
from support.faults import backend_outage, cli
from support.servers import ApiServer, ChromaServer
from mrs_assist.index import build_index
from mrs_assist.index.fake import HashingEmbedder
from mrs_assist.retrieve import Retriever

pytestmark = pytest.mark.integration
TIMEOUT = 2.0
QUESTION = "What does MR spectroscopy measure in a brain tumor?"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(chroma server, API server) sharing an index built by `mrs-assist index` into the server."""
    root = tmp_path_factory.mktemp("chroma-faults")
    corpus = root / "corpus"
    corpus.mkdir()
    for policy_id, text in tiny_corpus_documents().items():
        (corpus / f"{policy_id}.md").write_text(text)
    chroma = ChromaServer(root / "chroma").start()
    env = {"MRS_ASSIST_CORPUS_DIR": str(corpus), "MRS_ASSIST_DATA_DIR": str(root / "data"),
           "MRS_ASSIST_CHROMA_URL": chroma.url, "MRS_ASSIST_BACKEND_TIMEOUT_SECONDS": str(TIMEOUT),
           "MRS_ASSIST_RATE_LIMIT_PER_MINUTE": "0"}
    api = None
    try:
        subprocess.run([*cli(), "index"], env={**os.environ, **env}, check=True, capture_output=True, timeout=300)
        api = ApiServer(env, workers=2, log=root / "api.log").start()
        yield chroma, api
    finally:
        if api is not None:
            api.stop()
        chroma.stop()


@pytest.mark.parametrize("mode", ["stop", "freeze"])
def test_chroma_down_is_503_within_the_timeout_and_recovers(mode, served):
    chroma, api = served
    figures = backend_outage(api.url, chroma, kind="chroma", mode=mode, down_requests=3, after_requests=6,
                             question=QUESTION)
    assert figures["status_before"] == 200
    assert figures["statuses_during"] == {"503": 3}
    assert figures["error_codes_during"] == ["service_unavailable"]
    assert f"the Chroma server at {chroma.url} is unavailable" in figures["message_during"]
    expected = "connection refused" if mode == "stop" else f"no answer within {TIMEOUT:g} s"
    assert expected in figures["message_during"]
    assert figures["slowest_answer_during_s"] < TIMEOUT + 3
    assert figures["readiness_during"] == 503 and "index:" in figures["readiness_message"]
    assert figures["first_request_after"] == 200  # no API restart
    assert figures["next_requests_ok"] == figures["next_requests"]


def test_build_into_a_frozen_server_fails_within_the_timeout(tiny_corpus_dir, make_settings, tmp_path):
    chroma = ChromaServer(tmp_path / "chroma").start()
    try:
        settings = make_settings(chroma_url=chroma.url, backend_timeout_seconds=TIMEOUT)
        first = build_index(settings, embedder=HashingEmbedder())
        retriever = Retriever.from_settings(settings, embedder=HashingEmbedder())
        chroma.freeze()
        started = time.perf_counter()
        with pytest.raises(ServiceUnavailableError, match="no answer within"):
            build_index(settings, embedder=HashingEmbedder(), rebuild=True)
        with pytest.raises(ServiceUnavailableError, match="no answer within"):
            retriever.search("radiation necrosis")
        assert time.perf_counter() - started < 3 * (TIMEOUT + 1)
        chroma.thaw()
        assert retriever.search("radiation necrosis").generation == first.generation
    finally:
        chroma.thaw()
        chroma.stop()
