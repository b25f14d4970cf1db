"""Where the index lives: the Chroma client, generations, the pointer and the manifest.

- Each build writes a *generation*: a Chroma collection ``<collection>_g<NNNNNN>``.
- The **pointer** — which generation answers, built with which model, and the payer
  directory used to detect policies in questions — is the metadata of one small Chroma
  collection, ``<collection>_pointer``. It is the single source of truth for readers, in
  local and server mode alike (one code path; API workers on other machines sharing a
  Chroma server find the current generation there). Switching it is one metadata update,
  atomic in Chroma's SQLite catalogue.
- The **manifest** (``index_dir/manifest.json``, written to a temporary file and moved
  into place with ``os.replace``) is the builder's local cache: a fingerprint of corpus,
  model and chunking settings, so a rerun with nothing changed returns without opening
  Chroma or loading the model. Its fingerprint is cleared before a build writes anything,
  so a build killed midway never leaves a manifest vouching for the wrong generation, and
  the next build takes the full path (which drops the orphan).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from mrs_assist.errors import ConfigError, ServiceUnavailableError

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

    from mrs_assist.config import Settings
    from mrs_assist.corpus.model import Corpus

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1


@dataclass(frozen=True)
class PolicyName:
    """How questions may name one indexed document's payer."""

    policy_id: str
    payer: str
    aliases: tuple[str, ...] = ()
    kind: str = "guideline"
    title: str = ""
    version: str = ""


@dataclass(frozen=True)
class Pointer:
    """The current generation and what a reader needs to trust it."""

    generation: str
    model_id: str
    total: int
    chunks_digest: str
    policies: tuple[PolicyName, ...] = field(default_factory=tuple)
    built_at: str = ""

    def to_metadata(self) -> dict[str, Any]:
        """Chroma collection metadata (scalars only: the directory travels as JSON)."""
        data = asdict(self)
        data["policies"] = json.dumps(data["policies"], sort_keys=True)
        return data

    @classmethod
    def from_metadata(cls, meta: dict[str, Any] | None) -> Pointer | None:
        """The pointer stored in metadata, or None when absent or unreadable."""
        if not meta or not meta.get("generation"):
            return None
        try:
            policies = tuple(
                PolicyName(**{**p, "aliases": tuple(p.get("aliases", ()))})
                for p in json.loads(meta.get("policies") or "[]")
            )
            return cls(
                generation=str(meta["generation"]),
                model_id=str(meta["model_id"]),
                total=int(meta["total"]),
                chunks_digest=str(meta["chunks_digest"]),
                policies=policies,
                built_at=str(meta.get("built_at", "")),
            )
        except (KeyError, TypeError, ValueError):
            return None


def policy_directory(corpus: Corpus) -> tuple[PolicyName, ...]:
    """Every document's payer, aliases and kind, in corpus order."""
    return tuple(
        PolicyName(
            policy_id=d.id,
            payer=d.meta.payer,
            aliases=tuple(d.meta.payer_aliases),
            kind=d.meta.kind,
            title=d.meta.title,
            version=d.meta.version,
        )
        for d in corpus.documents.values()
    )


def chroma_target(settings: Settings) -> str:
    """'local:<folder>' or the server URL: identifies which store an index lives in."""
    return settings.chroma_url or f"local:{settings.index_dir / 'chroma'}"


def local_store_exists(settings: Settings) -> bool:
    """True if the local Chroma folder has a catalogue (always True in server mode)."""
    return bool(settings.chroma_url) or (settings.index_dir / "chroma" / "chroma.sqlite3").is_file()


def open_client(settings: Settings) -> ClientAPI:
    """A Chroma client: HttpClient when chroma_url is set, else a local PersistentClient.

    Raises ConfigError for a malformed URL, ServiceUnavailableError when the server is down.
    """
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if not settings.chroma_url:
        path = settings.index_dir / "chroma"
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    url = urlparse(settings.chroma_url)
    if url.scheme not in {"http", "https"} or not url.hostname:
        raise ConfigError(f"chroma_url must be http(s)://host[:port], got {settings.chroma_url!r}")
    ssl = url.scheme == "https"
    port = url.port or (443 if ssl else 8000)
    try:
        return chromadb.HttpClient(host=url.hostname, port=port, ssl=ssl, settings=chroma_settings)
    except Exception as exc:  # noqa: BLE001 - connection failures come in many types
        raise ServiceUnavailableError(
            f"cannot reach the Chroma server at {settings.chroma_url}: {exc}"
        ) from exc


def pointer_name(collection: str) -> str:
    """Name of the collection whose metadata is the pointer."""
    return f"{collection}_pointer"


def generation_name(collection: str, number: int) -> str:
    """Name of generation `number` of the collection."""
    return f"{collection}_g{number:06d}"


def list_generations(client: ClientAPI, collection: str) -> dict[str, int]:
    """Every generation collection of this index (finished or not), name → number."""
    pattern = re.compile(rf"^{re.escape(collection)}_g(\d+)$")
    found: dict[str, int] = {}
    for col in client.list_collections():
        name = col if isinstance(col, str) else col.name
        if m := pattern.match(name):
            found[name] = int(m.group(1))
    return found


def read_pointer(client: ClientAPI, collection: str, ef: Any) -> Pointer | None:
    """The current pointer, or None when no build has finished yet."""
    from chromadb.errors import NotFoundError

    try:
        col = client.get_collection(pointer_name(collection), embedding_function=ef)
    except NotFoundError:
        return None
    return Pointer.from_metadata(col.metadata)


def write_pointer(client: ClientAPI, collection: str, pointer: Pointer, ef: Any) -> None:
    """Switch readers to pointer.generation (one atomic metadata update)."""
    col = client.get_or_create_collection(pointer_name(collection), embedding_function=ef)
    col.modify(metadata=pointer.to_metadata())


def read_manifest(index_dir: Path) -> dict[str, Any] | None:
    """The builder's manifest, or None when missing, unreadable or of another format."""
    try:
        data = json.loads((index_dir / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        return None
    return data


def write_manifest(index_dir: Path, data: dict[str, Any]) -> None:
    """Write the manifest atomically (temporary file, fsync, os.replace)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=index_dir, prefix=".manifest.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump({"format": MANIFEST_FORMAT, **data}, fh, indent=2, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, index_dir / MANIFEST)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
