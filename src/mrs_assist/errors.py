"""The error tree: one base, a subclass per failure a caller handles differently.

Each error carries a stable ``code`` (what a client switches on) and the HTTP status the
API answers with. The API turns any of them into ``{"error": {"code", "message"}}``; the
CLI prints the message on one line and exits non-zero.
"""

from __future__ import annotations


class MrsAssistError(Exception):
    """Base of every error this package raises on purpose."""

    code: str = "error"
    """Stable machine-readable code."""
    http_status: int = 500
    """Status the API answers with."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


# --- caused by the operator's data or set-up -------------------------------------------
class CorpusError(MrsAssistError):
    """A corpus, criteria or catalogue file is invalid; the message names file and line."""

    code = "corpus_invalid"
    http_status = 500


class ConfigError(MrsAssistError):
    """A setting is invalid or points at something that is not there."""

    code = "config_invalid"
    http_status = 500


# --- caused by the caller -----------------------------------------------------------------
class InvalidRequestError(MrsAssistError):
    """The request is well-formed JSON but its content cannot be acted on."""

    code = "invalid_request"
    http_status = 422


class NotFoundError(MrsAssistError):
    """A named thing (policy, determination, clause) does not exist."""

    code = "not_found"
    http_status = 404


class UnknownPolicyError(NotFoundError):
    """The policy id is not one of the known policies; the message lists them."""

    code = "unknown_policy"

    def __init__(self, policy_id: str, known: list[str]) -> None:
        super().__init__(
            f"unknown policy id; known policy ids: {', '.join(sorted(known))}"
        )
        self.policy_id = policy_id
        self.known = sorted(known)


# --- caused by the state of the service ---------------------------------------------------
class IndexNotReadyError(MrsAssistError):
    """No usable index exists yet (run `mrs-assist index`), or it failed its self-check."""

    code = "index_not_ready"
    http_status = 503


class IndexLockedError(MrsAssistError):
    """Another process holds the index write lock."""

    code = "index_locked"
    http_status = 409


class ServiceUnavailableError(MrsAssistError):
    """A backing service (Chroma server, database) is down or timed out."""

    code = "service_unavailable"
    http_status = 503


# --- access and record state (records, auth) ----------------------------------------------
class UnauthorizedError(MrsAssistError):
    """No credentials, or credentials that match no user (send `X-API-Key` or a Bearer token)."""

    code = "unauthorized"
    http_status = 401


class ForbiddenError(MrsAssistError):
    """The caller is known but their role may not take this action (e.g. a nurse signing a denial)."""

    code = "forbidden"
    http_status = 403


class ConflictError(MrsAssistError):
    """The action contradicts the record's state (e.g. editing a signed determination)."""

    code = "conflict"
    http_status = 409


class PreconditionRequiredError(MrsAssistError):
    """A change that must name the version it applies to did not (a sign-off without the
    ``review_hash`` of the record the signer reviewed)."""

    code = "precondition_required"
    http_status = 428
