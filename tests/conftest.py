"""Shared fixtures: settings in a temporary folder, tiny corpora, fake and real embedders."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

import mrs_assist.llm

from mrs_assist.config import Settings
from mrs_assist.data import shipped

REAL_CORPUS = shipped("data/corpus")


def policy_markdown(policy_id: str, payer: str, body: str, *, aliases: tuple[str, ...] = (),
                    kind: str = "guideline") -> str:
    """A curated Markdown document with valid front matter around `body`."""
    front = textwrap.dedent(f"""\
        ---
        id: {policy_id}
        payer: {payer}
        payer_aliases: [{", ".join(aliases)}]
        title: {payer} MR Spectroscopy
        kind: {kind}
        version: "1"
        dates:
          effective: 2024-01-01
        cpt_codes: ["76390"]
        body_region: brain
        source_file: {policy_id}.txt
        ---
        """)
    return front + "\n" + textwrap.dedent(body).strip() + "\n"


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Build Settings rooted in tmp_path (corpus_dir=tmp_path/corpus unless overridden)."""

    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "corpus_dir": tmp_path / "corpus",
            "data_dir": tmp_path / "data",
            "eval_dir": tmp_path / "eval",
        }
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]

    return make


@pytest.fixture
def write_corpus(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    """Write {policy_id: markdown} into tmp_path/corpus and return the folder."""

    def write(documents: dict[str, str]) -> Path:
        folder = tmp_path / "corpus"
        folder.mkdir(exist_ok=True)
        for policy_id, text in documents.items():
            (folder / f"{policy_id}.md").write_text(text)
        return folder

    return write


@pytest.fixture
def fake_embedder():
    """A fresh deterministic HashingEmbedder (no model; records what it embedded)."""
    from mrs_assist.index.fake import HashingEmbedder

    return HashingEmbedder()


@pytest.fixture(scope="session")
def real_embedder():
    """The real all-MiniLM-L6-v2 embedder, loaded once per test session (~4 s).

    It remembers each text's vector for the session: five test files index the whole real
    corpus with it (~10 s of torch each), and a text's vector does not change, so only the
    first of them (per xdist worker) pays for it. Token counts and the model id are the real
    Embedder's own."""
    from mrs_assist.index.embed import Embedder

    class RememberingEmbedder(Embedder):
        def __init__(self, model_path: Path) -> None:
            super().__init__(model_path)
            self.vectors: dict[str, list[float]] = {}

        def embed(self, texts):
            missing = list(dict.fromkeys(t for t in texts if t not in self.vectors))
            if missing:
                self.vectors.update(zip(missing, super().embed(missing)))
            return [list(self.vectors[t]) for t in texts]

    embedder = RememberingEmbedder(Settings().model_path)
    embedder.embed(["warm up"])
    return embedder


def tiny_corpus_documents() -> dict[str, str]:
    """Three small valid documents: two guidelines and one literature digest."""
    long_text = " ".join(
        f"Finding {i} reports that the choline to creatine ratio in lesion region {i} rose."
        for i in range(24)
    )
    return {
        "acme-mrs": policy_markdown("acme-mrs", "Acme Health", f"""\
            # Acme MR Spectroscopy

            ## Indications

            {{#indications}} MR spectroscopy of the brain is medically necessary when ANY of the following apply:

            - {{#indications.1}} Known brain tumor, to distinguish recurrent tumor from radiation necrosis.
            - {{#indications.2}} Epilepsy, for pre-surgical localization of the seizure focus.
            - {{#indications.3 .deleted}} Dementia screening in adults.

            ## Exclusions

            {{#exclusions.1}} MR spectroscopy is not medically necessary for ~~routine~~ screening of headache.

            ## Background

            {{#background.long}} {long_text}
            """, aliases=("Acme",)),
        "zenith-mrs": policy_markdown("zenith-mrs", "Zenith Imaging", """\
            # Zenith MRS Guideline

            ## Criteria

            {#criteria.1} Spectroscopy is appropriate to differentiate brain abscess from necrotic tumor.

            {#criteria.2} Spectroscopy is investigational for multiple sclerosis and stroke.

            ## Contraindications

            {#contraindications.1} Implanted pacemaker not labelled MR-conditional.
            """, aliases=("ZIM",)),
        "lit-digest": policy_markdown("lit-digest", "Lit Review Group", """\
            # Digest

            {#summary.1} Studies report that spectroscopy accuracy for glioma grading varies widely.
            """, aliases=("LRG",), kind="literature"),
    }


@pytest.fixture
def tiny_corpus_dir(write_corpus) -> Path:
    """tmp_path/corpus holding tiny_corpus_documents()."""
    return write_corpus(tiny_corpus_documents())


@pytest.fixture(autouse=True)
def no_real_model(monkeypatch):
    # Every test: a real chat model call fails loudly (pydantic-ai's ALLOW_MODEL_REQUESTS idea).
    """No real model, no network: the switch is off and ChatOpenAI's transport raises."""
    monkeypatch.setattr(mrs_assist.llm, "ALLOW_MODEL_REQUESTS", False)
    for var in ("MRS_ASSIST_LLM_BASE_URL", "MRS_ASSIST_LLM_MODEL", "MRS_ASSIST_LLM_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    from langchain_openai.chat_models.base import BaseChatOpenAI

    def refuse(*args, **kwargs):
        raise AssertionError("a real chat model was called during a test")

    for name in ("_generate", "_agenerate", "_stream", "_astream"):
        monkeypatch.setattr(BaseChatOpenAI, name, refuse)




def pytest_collection_modifyitems(items):
    """Give every test its own node id. Schemathesis makes one test per API operation
    (test_fuzz_api.py) named `test_x[GET /path]`, but under pytest 9 all of them get the node id
    `test_x`; pytest-xdist (`make test` runs two workers) keys tests by node id, so it would run
    one operation and drop the other 32 without a word.

    Under xdist, the heavy files (tests/integration/ and files with an `integration` test: real
    servers, the real models) go first, each still whole and in its own order: the workers take
    files in this order, so the long ones start early instead of one of them running alone at
    the end while the other worker idles."""
    for item in items:
        head, sep, last = item.nodeid.rpartition("::")
        if sep and last != item.name and item.name.startswith(f"{last}["):
            item._id = type(item._id).parse(f"{head}::{item.name}")  # pytest 9's NodeId
    if os.environ.get("PYTEST_XDIST_WORKER"):
        heavy = {item.path for item in items
                 if "integration" in item.path.parts or item.get_closest_marker("integration")}
        items.sort(key=lambda item: item.path not in heavy)  # stable: files stay whole and in order
