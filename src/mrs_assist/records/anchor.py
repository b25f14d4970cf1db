"""The audit chain's key and its checkpoints: what someone who can write to the database cannot forge.

Every audit entry's hash is an HMAC-SHA256 under a key that never enters the database: the
``records.audit_key`` setting (env ``MRS_ASSIST_AUDIT_KEY``), a key file
(``MRS_ASSIST_AUDIT_KEY_FILE``), or — when neither is configured — a per-install key file
``audit.key`` generated once (mode 0600) in the data directory. Without the key, a re-hashed
chain does not verify.

After each committed change the store appends a **checkpoint** of the chain's head (seq, entry
hash, time, HMAC of the three) to a file outside the database (``audit-checkpoints-<db>.jsonl``
beside the key, or ``MRS_ASSIST_AUDIT_CHECKPOINT_FILE``). `audit verify` checks every checkpoint
against the chain: a truncated tail, a deleted entry or a rewritten history no longer matches
the heads recorded outside the database.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from mrs_assist.errors import ConfigError

log = logging.getLogger("mrs_assist.records.anchor")

KEY_FILE = "audit.key"


@dataclass(frozen=True)
class Checkpoint:
    """One head of the chain recorded outside the database."""

    seq: int
    entry_hash: str
    at: str


@dataclass(frozen=True)
class AuditAnchor:
    """The chain's HMAC key and where its checkpoints are written."""

    key: bytes
    checkpoint_file: Path | None

    def mac(self, text: str) -> str:
        """Hex HMAC-SHA256 of `text` under the key."""
        return hmac.new(self.key, text.encode("utf-8"), hashlib.sha256).hexdigest()

    def write_checkpoint(self, seq: int, entry_hash: str) -> None:
        """Append a signed checkpoint of the head (one line, one write: safe across workers).
        A failure is logged, never raised: the change it follows is already committed."""
        if self.checkpoint_file is None:
            return
        at = datetime.now(UTC).isoformat(timespec="microseconds")
        line = {"seq": seq, "entry_hash": entry_hash, "at": at, "mac": self.mac(_signed_text(seq, entry_hash, at))}
        data = (json.dumps(line, sort_keys=True) + "\n").encode("utf-8")
        try:
            self.checkpoint_file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.checkpoint_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
        except OSError as exc:
            log.warning("could not write the audit checkpoint (%s): audit verify will lack this head", type(exc).__name__)

    def checkpoints(self) -> tuple[list[Checkpoint], list[str]]:
        """(the checkpoints whose signature verifies, a problem per line that does not)."""
        if self.checkpoint_file is None or not self.checkpoint_file.exists():
            return [], []
        good: list[Checkpoint] = []
        bad: list[str] = []
        for number, raw in enumerate(self.checkpoint_file.read_text(encoding="utf-8").splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                item = json.loads(raw)
                cp = Checkpoint(seq=int(item["seq"]), entry_hash=str(item["entry_hash"]), at=str(item["at"]))
                valid = hmac.compare_digest(str(item["mac"]), self.mac(_signed_text(cp.seq, cp.entry_hash, cp.at)))
            except (ValueError, KeyError, TypeError):
                bad.append(f"checkpoint line {number} is unreadable")
                continue
            if valid:
                good.append(cp)
            else:
                bad.append(f"checkpoint line {number} has a bad signature")
        return good, bad


def _signed_text(seq: int, entry_hash: str, at: str) -> str:
    return f"mrs-assist audit checkpoint|{seq}|{entry_hash}|{at}"


def anchor_for(url: str, settings=None) -> AuditAnchor:
    """The anchor of the database at `url`: key from settings, a key file, or a generated per-install
    key file; checkpoints beside it (raises ConfigError for an unreadable or too short key)."""
    folder = _default_folder(url, settings)
    configured = getattr(settings, "audit_key", None)
    key_file = getattr(settings, "audit_key_file", None)
    if configured is not None:
        key = configured.get_secret_value().encode("utf-8")
    else:
        key = _read_or_create_key(Path(key_file) if key_file else folder / KEY_FILE, create=key_file is None)
    if len(key) < 16:
        raise ConfigError("the audit key must be at least 16 bytes")
    checkpoint = getattr(settings, "audit_checkpoint_file", None)
    return AuditAnchor(key=key, checkpoint_file=Path(checkpoint) if checkpoint else folder / f"audit-checkpoints-{_fingerprint(url)}.jsonl")


def _default_folder(url: str, settings) -> Path:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        # The SQLite file's own folder (data_dir for the default file): the same whether the store
        # was opened from settings or by URL.
        return Path(parsed.database).resolve().parent
    if settings is None:
        from mrs_assist.config import get_settings

        settings = get_settings()
    return Path(settings.data_dir)


def _fingerprint(url: str) -> str:
    """A short, stable name for the database (no password): one checkpoint file per database."""
    safe = make_url(url).render_as_string(hide_password=True)
    return hashlib.sha256(safe.encode("utf-8")).hexdigest()[:12]


def _read_or_create_key(path: Path, *, create: bool) -> bytes:
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        if not create:
            raise ConfigError(f"audit key file not found: {path}") from None
    except OSError as exc:
        raise ConfigError(f"audit key file unreadable: {path}: {type(exc).__name__}") from exc
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, secrets.token_hex(32).encode("ascii") + b"\n")
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # atomic: the first worker's complete key wins
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_bytes().strip()


__all__ = ["AuditAnchor", "Checkpoint", "anchor_for"]
