"""Hybrid retrieval: fusion, policy filters, payer detection, relevance, reloads."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from conftest import REAL_CORPUS
from threadpoolctl import threadpool_info

from mrs_assist.corpus import load_corpus
from mrs_assist.errors import IndexNotReadyError, InvalidRequestError, UnknownPolicyError
from mrs_assist.index import build_index
from mrs_assist.index.fake import HashingEmbedder
from mrs_assist.index.store import PolicyName
from mrs_assist.retrieve import (
    Retriever,
    detect_policies,
    is_comparison,
    reciprocal_rank_fusion,
)
from mrs_assist.retrieve.retriever import _Search

# --- fusion --------------------------------------------------------------------------------


def test_rrf_orders_by_summed_reciprocal_ranks():
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["c", "a", "d"]], k=60)
    assert [item for item, _ in fused] == ["a", "c", "b", "d"]
    scores = dict(fused)
    assert scores["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert scores["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert scores["d"] == pytest.approx(1 / 63)


def test_rrf_agreement_beats_a_single_first_place():
    fused = reciprocal_rank_fusion([["x", "both"], ["y", "both"]], k=1)
    assert fused[0][0] == "both"  # 1/3 + 1/3 beats 1/2
    tie = reciprocal_rank_fusion([["p", "q"], ["q", "p"]], k=60)
    assert [item for item, _ in tie] == ["p", "q"]  # equal sums: earlier ranking wins


# --- payer detection -------------------------------------------------------------------

DIRECTORY = (
    PolicyName("cohere-mrs", "Cohere Health", ("Cohere",)),
    PolicyName("healthhelp-mrs", "HealthHelp", ("HealthHelp", "WNS")),
    PolicyName("nia-brain-mrs", "National Imaging Associates (Magellan Healthcare)",
               ("NIA", "National Imaging Associates", "Magellan")),
    PolicyName("floridablue-mrs", "Florida Blue", ("Florida Blue", "BCBSF")),
    PolicyName("magellan-mrs-digest", "Magellan Healthcare", ("Magellan",), kind="literature"),
)
GUIDELINES = ["cohere-mrs", "healthhelp-mrs", "nia-brain-mrs", "floridablue-mrs"]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Does NIA cover MRS for glioma grading?", ["nia-brain-mrs"]),
        ("What are Cohere's non-indications?", ["cohere-mrs"]),
        ("is mrs covered by cohere health?", ["cohere-mrs"]),
        ("HealthHelp criteria for tumors", ["healthhelp-mrs"]),
        ("Does WNS require a known tumor?", ["healthhelp-mrs"]),
        ("florida blue position on MRS", ["floridablue-mrs"]),
        ("BCBSF and MRS", ["floridablue-mrs"]),
        ("What does the magellan-mrs-digest say?", ["magellan-mrs-digest"]),
        ("What does Magellan say about MRS?", ["nia-brain-mrs", "magellan-mrs-digest"]),
        ("MRS for pneumonia or anemia?", []),  # 'nia' only on word boundaries
        ("Is MRS covered for epilepsy?", []),
        ("Which payers cover MRS for epilepsy?", GUIDELINES),
        ("What does each payer say about Canavan disease?", GUIDELINES),
        ("Compare the criteria for tumor recurrence", GUIDELINES),
        ("How does Cohere compare with the other payers?", GUIDELINES),
        ("Cohere vs NIA on radiation necrosis", ["cohere-mrs", "nia-brain-mrs"]),
        ("Does Cohere cover tumor vs radiation necrosis?", ["cohere-mrs"]),  # a differential
        ("Can MRS differentiate between abscess and tumor?", []),
        ("Do HealthHelp and Florida Blue both cover epilepsy?", ["healthhelp-mrs", "floridablue-mrs"]),
    ],
)
def test_detect_policies(question, expected):
    assert detect_policies(question, DIRECTORY) == expected


def test_is_comparison():
    assert is_comparison("Which payer covers it?")
    assert is_comparison("side-by-side view of the guidelines")
    assert not is_comparison("What does the policy say about stroke?")
    assert not is_comparison("Is MRS covered for epilepsy?")


def test_detect_policies_on_the_real_corpus_front_matter():
    corpus = load_corpus(REAL_CORPUS)
    aliases = {
        "NIA": "nia-brain-mrs", "Cohere": "cohere-mrs", "HealthHelp": "healthhelp-mrs",
        "WNS": "healthhelp-mrs", "Florida Blue": "floridablue-mrs", "BCBSF": "floridablue-mrs",
        "Magellan": "magellan-mrs-digest",
    }
    for name, policy_id in aliases.items():
        if policy_id not in corpus.documents:
            continue  # still being curated
        assert policy_id in detect_policies(f"What does {name} require for MRS?", corpus), name
    found = detect_policies("Which payers cover MRS for epilepsy?", corpus)
    assert found == corpus.policy_ids


# --- retrieval on a tiny corpus (fake embedder) ---------------------------------------


@pytest.fixture
def tiny_retriever(tiny_corpus_dir, make_settings) -> Retriever:
    settings = make_settings()
    embedder = HashingEmbedder()
    build_index(settings, embedder=embedder)
    return Retriever.from_settings(settings, embedder=embedder)


def check_retrieval_contract(retriever: Retriever) -> None:
    """Assertions any backend must pass over the tiny corpus (shared with the server test)."""
    corpus_text = {
        "zenith-mrs#criteria.1":
            "Spectroscopy is appropriate to differentiate brain abscess from necrotic tumor.",
    }
    res = retriever.search("brain abscess versus necrotic tumor", policy_ids=["zenith-mrs"], top_k=3)
    assert res.hits and {h.policy_id for h in res.hits} == {"zenith-mrs"}
    top = res.hits[0]
    assert top.clause_id == "zenith-mrs#criteria.1" and top.text == corpus_text[top.clause_id]
    assert (top.payer, top.section) == ("Zenith Imaging", "Zenith MRS Guideline > Criteria")
    assert [h.rank for h in res.hits] == list(range(1, len(res.hits) + 1))
    assert [h.score for h in res.hits] == sorted((h.score for h in res.hits), reverse=True)
    assert top.bm25_score > 0 and top.dense_similarity is not None

    # a payer named in the question narrows the search
    named = retriever.search("What does ZIM say about pacemakers?", top_k=5)
    assert named.policy_ids == ["zenith-mrs"] and {h.policy_id for h in named.hits} == {"zenith-mrs"}
    assert named.hits[0].clause_id == "zenith-mrs#contraindications.1"
    # ... unless detection is off
    everything = retriever.search("What does ZIM say about pacemakers?", top_k=10, detect=False)
    assert everything.policy_ids == [] and len({h.policy_id for h in everything.hits}) > 1

    # comparison: every guideline appears, even when top_k is smaller than the payer count
    compared = retriever.search("Which payers cover epilepsy?", top_k=1)
    assert compared.per_policy and compared.policy_ids == ["acme-mrs", "zenith-mrs"]
    assert {h.policy_id for h in compared.hits} == {"acme-mrs", "zenith-mrs"}
    assert compared.hits[0].clause_id == "acme-mrs#indications.2"

    # a split clause comes back once, as its whole verbatim text
    long = retriever.search("choline creatine ratio lesion region", policy_ids=["acme-mrs"], top_k=5)
    ids = [h.clause_id for h in long.hits]
    assert ids.count("acme-mrs#background.long") == 1 and len(ids) == len(set(ids))
    assert long.hits[0].text.startswith("Finding 0 ") and long.hits[0].text.endswith("23 rose.")

    # deleted language is never retrieved
    dementia = retriever.search("dementia screening in adults", top_k=10, detect=False)
    assert all("Dementia" not in h.text for h in dementia.hits)

    with pytest.raises(UnknownPolicyError, match="known policy ids: acme-mrs, lit-digest"):
        retriever.search("epilepsy", policy_ids=["nope-mrs"])
    with pytest.raises(InvalidRequestError):
        retriever.search("   ")
    with pytest.raises(InvalidRequestError):
        retriever.search("epilepsy", top_k=0)


def test_retrieval_contract_local(tiny_retriever):
    check_retrieval_contract(tiny_retriever)


@pytest.mark.parametrize("policy_ids", [[], ["acme-mrs"], ["acme-mrs", "zenith-mrs"]])
@pytest.mark.parametrize("question", ["brain abscess versus necrotic tumor", "pacemakers", "epilepsy surgery"])
def test_dense_ranking_is_chromas_cosine_query_without_querying_chroma(tiny_retriever, monkeypatch, question, policy_ids):
    state = tiny_retriever._state
    query = tiny_retriever.embedder.embed([question])[0]
    where = {"policy_id": {"$in": policy_ids}} if policy_ids else None
    n = len(state.ids)
    res = state.collection.query(query_embeddings=[query], n_results=n, where=where, include=["distances"])
    chroma = dict(zip(res["ids"][0], (1.0 - d for d in res["distances"][0])))

    def no_query(*args, **kwargs):
        raise AssertionError("a search queried Chroma")

    monkeypatch.setattr(type(state.collection), "query", no_query)
    result = tiny_retriever.search(question, policy_ids=policy_ids, top_k=5, detect=False)
    assert result.hits
    ours = _Search(tiny_retriever, question, "dense", frozenset())._dense(state, policy_ids, n)
    assert list(ours) == sorted(ours, key=lambda cid: -ours[cid])
    assert ours.keys() == chroma.keys()
    assert ours == pytest.approx(chroma, abs=1e-6)


class _Recording(np.ndarray):
    """Stored vectors that note numpy's BLAS threads whenever a question is multiplied into them."""

    seen: list[int] = []

    def __matmul__(self, other):
        _Recording.seen.append(next((i["num_threads"] for i in threadpool_info() if i["prefix"] == "libopenblas"), 1))
        return np.asarray(self) @ other


def test_the_dense_product_runs_on_one_blas_thread_and_leaves_it_as_it_was(tiny_retriever):
    """Split in two, the product is no faster and OpenBLAS's second thread spins on ~0.1 s after it."""
    before = threadpool_info()
    state = tiny_retriever._state
    tiny_retriever._state = replace(state, vectors=state.vectors.view(_Recording))
    _Recording.seen.clear()
    assert tiny_retriever.search("pacemakers", detect=False).hits
    assert _Recording.seen and set(_Recording.seen) == {1}
    assert threadpool_info() == before


def test_vectors_that_differ_from_the_build_are_not_searched(tiny_corpus_dir, make_settings):
    settings = make_settings()
    embedder = HashingEmbedder()
    build_index(settings, embedder=embedder)
    state = Retriever.from_settings(settings, embedder=embedder)._state
    first = state.ids[0]
    state.collection.update(ids=[first], embeddings=[embedder.embed(["something else entirely"])[0]])
    with pytest.raises(IndexNotReadyError, match="no longer holds the chunks") as raised:
        Retriever.from_settings(settings, embedder=embedder)
    assert raised.value.code == "index_damaged"


def _settle(settings, seconds_ago: float = 10.0) -> None:
    """Date Chroma's database files back, as if last written `seconds_ago`."""
    import os
    import time

    from mrs_assist.index import store

    for path in store.local_path(settings).glob("chroma.sqlite3*"):
        then = time.time() - seconds_ago
        os.utime(path, (then, then))


def test_the_pointer_is_read_again_only_after_a_write(tiny_retriever, monkeypatch):
    from mrs_assist.index import store

    reads = []
    real = store.read_pointer
    monkeypatch.setattr(store, "read_pointer", lambda *a, **k: reads.append(1) or real(*a, **k))
    settings = tiny_retriever.settings
    tiny_retriever.search("epilepsy")
    assert len(reads) == 1  # just written by the build: not settled, so read every time
    tiny_retriever.search("epilepsy")
    assert len(reads) == 2
    _settle(settings)
    tiny_retriever.search("epilepsy")  # reads it once more, noting the settled stamp
    tiny_retriever.search("pacemakers")
    tiny_retriever.search("abscess")
    assert len(reads) == 3
    _settle(settings, seconds_ago=5.0)  # any change to the file: read again
    tiny_retriever.search("epilepsy")
    assert len(reads) == 4


def test_a_rebuild_after_a_quiet_spell_is_followed(tiny_corpus_dir, make_settings):
    settings = make_settings()
    embedder = HashingEmbedder()
    build_index(settings, embedder=embedder)
    retriever = Retriever.from_settings(settings, embedder=embedder)
    _settle(settings, seconds_ago=60.0)
    retriever.search("pacemaker")
    path = tiny_corpus_dir / "zenith-mrs.md"
    path.write_text(path.read_text().replace("pacemaker", "cardiac pacemaker"))
    second = build_index(settings, embedder=embedder)
    res = retriever.search("cardiac pacemaker", policy_ids=["zenith-mrs"], top_k=1)
    assert res.generation == second.generation


def test_no_index_is_not_ready(make_settings):
    with pytest.raises(IndexNotReadyError, match="mrs-assist index"):
        Retriever.from_settings(make_settings(), embedder=HashingEmbedder())


def test_index_from_another_model_is_not_ready(tiny_corpus_dir, make_settings):
    settings = make_settings()
    build_index(settings, embedder=HashingEmbedder(model_id="old"))
    with pytest.raises(IndexNotReadyError, match="embedding model"):
        Retriever.from_settings(settings, embedder=HashingEmbedder(model_id="new"))


def test_retriever_follows_a_rebuild(tiny_corpus_dir, make_settings):
    settings = make_settings()
    embedder = HashingEmbedder()
    first = build_index(settings, embedder=embedder)
    retriever = Retriever.from_settings(settings, embedder=embedder)
    path = tiny_corpus_dir / "zenith-mrs.md"
    path.write_text(path.read_text().replace("pacemaker", "cardiac pacemaker"))
    second = build_index(settings, embedder=embedder)  # drops the generation we loaded
    assert second.generation != first.generation
    res = retriever.search("cardiac pacemaker", policy_ids=["zenith-mrs"], top_k=1)
    assert res.generation == second.generation
    assert res.hits[0].text == "Implanted cardiac pacemaker not labelled MR-conditional."


# --- the real model on the real corpus -------------------------------------------------


@pytest.fixture(scope="session")
def real_retriever(real_embedder, tmp_path_factory):
    from mrs_assist.config import Settings

    settings = Settings(corpus_dir=REAL_CORPUS, data_dir=tmp_path_factory.mktemp("real-index"))
    build_index(settings, embedder=real_embedder)
    return Retriever.from_settings(settings, embedder=real_embedder)


ON_TOPIC = [
    "Is MRS covered for epilepsy?",
    "Can MR spectroscopy distinguish tumor recurrence from radiation necrosis?",
    "Is magnetic resonance spectroscopy medically necessary for metabolic disorders?",
    "Is MRS indicated to differentiate a brain abscess from a tumor?",
]
OFF_TOPIC = [
    "What is the copay for a knee MRI?",
    "How do I appeal a denied claim?",
    "What is the weather in Paris?",
    "Is physical therapy covered after knee surgery?",
]


@pytest.mark.integration
@pytest.mark.parametrize("question", ON_TOPIC)
def test_real_on_topic_questions_are_addressed(real_retriever, question):
    res = real_retriever.search(question)
    assert res.addressed, (question, res.best_dense_similarity)
    assert res.hits and all(h.text for h in res.hits)


@pytest.mark.integration
@pytest.mark.parametrize("question", OFF_TOPIC)
def test_real_off_topic_questions_are_not_addressed(real_retriever, question):
    assert_declined_or_flagged(real_retriever, question)


def assert_declined_or_flagged(retriever, question: str) -> None:
    """The answer says the guidelines do not address it (plainly first, issue 23), or names the
    words no guideline uses."""
    from mrs_assist.answer import NOT_ADDRESSED
    from mrs_assist.config import Settings
    from mrs_assist.schemas import AskRequest
    from mrs_assist.service import Services

    answer = Services(Settings(), retriever=retriever).ask(AskRequest(question=question)).answer
    plainly = answer.startswith("Not addressed — ")
    assert plainly or answer == NOT_ADDRESSED or answer.startswith("Note: no guideline uses the words"), (question, answer[:120])


@pytest.mark.integration
def test_real_payer_filter_and_comparison(real_retriever):
    known = {p.policy_id for p in real_retriever.policies}
    if "cohere-mrs" in known:
        res = real_retriever.search("Does Cohere cover MRS for tumor recurrence vs radiation necrosis?")
        assert res.policy_ids == ["cohere-mrs"] and {h.policy_id for h in res.hits} == {"cohere-mrs"}
        assert res.addressed
    compared = real_retriever.search("Which payers cover MRS for epilepsy?", top_k=5)
    guidelines = {p.policy_id for p in real_retriever.policies if p.kind == "guideline"}
    assert {h.policy_id for h in compared.hits} == guidelines


def test_weighted_fusion_lets_the_heavier_ranking_break_the_tie():
    from mrs_assist.retrieve.fusion import reciprocal_rank_fusion

    dense, lexical = ["a", "b"], ["b", "a"]
    assert [i for i, _ in reciprocal_rank_fusion([dense, lexical], k=60)] == ["a", "b"]  # tie: earlier list
    weighted = reciprocal_rank_fusion([dense, lexical], k=60, weights=(0.5, 1.0))
    assert [i for i, _ in weighted] == ["b", "a"]
    assert weighted[0][1] == pytest.approx(0.5 / 62 + 1.0 / 61)
    with pytest.raises(ValueError):
        reciprocal_rank_fusion([dense, lexical], weights=(1.0,))


# --- one public rank(mode=…), structure-aware hybrid (issue 13) ------------------------------------
def test_rank_modes_share_detection_and_quotas(real_retriever):
    from mrs_assist.errors import InvalidRequestError

    question = "Compare Cohere and Florida Blue on recurrent tumor vs radiation necrosis."
    for mode in ("hybrid", "fused", "dense", "bm25"):
        result = real_retriever.rank(question, top_k=4, mode=mode)
        assert result.mode == mode and result.policy_ids == ["cohere-mrs", "floridablue-mrs"]
        assert {h.policy_id for h in result.hits} == {"cohere-mrs", "floridablue-mrs"}
    bm25 = real_retriever.rank(question, top_k=4, mode="bm25").hits
    assert all(h.dense_similarity is None for h in bm25)
    assert [h.score for h in bm25] == sorted((h.score for h in bm25), reverse=True) or len({h.policy_id for h in bm25}) > 1
    with pytest.raises(InvalidRequestError):
        real_retriever.rank(question, mode="cross-encoder")


def test_a_list_question_gets_the_parent_and_every_item(real_retriever):
    hits = real_retriever.search("which conditions does cohere list as non-indications", top_k=6).hits
    assert [h.clause_id for h in hits] == ["cohere-mrs#non-indications"] + [f"cohere-mrs#non-indications.{i}" for i in range(1, 6)]


@pytest.mark.parametrize(
    ("question", "clause_id"),
    [
        ("NIA_CG_003 - when was it last revised and when was it implemented?", "nia-brain-mrs#guideline-info.last-revised"),
        ("When did Florida Blue start calling MRS investigational for MS, epilepsy, Alzheimer's etc.?", "floridablue-mrs#history.2006-07-15"),
    ],
)
def test_metadata_questions_reach_their_clause(real_retriever, question, clause_id):
    hits = real_retriever.search(question, top_k=3).hits
    assert clause_id in [h.clause_id for h in hits]
    assert "date" in next(h for h in hits if h.clause_id == clause_id).kinds
