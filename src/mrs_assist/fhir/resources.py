"""Parse and build FHIR resources with `fhir.resources` (R4B), and say what is wrong in FHIR's
own error shape, OperationOutcome.

An error never echoes the caller's values: an issue names the element (its FHIRPath-like
location) and pydantic's message about it, nothing else.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.operationoutcome import OperationOutcome
from pydantic import ValidationError

from mrs_assist.errors import MrsAssistError

MAX_ISSUES = 10


class FhirError(MrsAssistError):
    """A FHIR request that cannot be acted on; carries OperationOutcome issues."""

    code = "fhir_invalid"
    http_status = 422

    def __init__(
        self, message: str, *, issues: list[dict[str, Any]] | None = None, code: str | None = None,
        http_status: int | None = None, issue_code: str = "invalid",
    ) -> None:
        super().__init__(message, code=code)
        if http_status is not None:
            self.http_status = http_status
        self.issues = issues or [issue(message, code=issue_code)]


def issue(diagnostics: str, *, expression: str | None = None, code: str = "invalid",
          severity: str = "error") -> dict[str, Any]:
    """One OperationOutcome.issue as a dict."""
    out: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if expression:
        out["expression"] = [expression]
    return out


def operation_outcome(issues: list[dict[str, Any]]) -> dict[str, Any]:
    """An OperationOutcome (validated by fhir.resources) as JSON-ready data."""
    return dump(OperationOutcome(issue=issues[:MAX_ISSUES] or [issue("unspecified error", code="exception")]))


def _path(resource_type: str, loc: tuple) -> str:
    parts = [resource_type]
    for p in loc:
        if isinstance(p, int):
            parts[-1] += f"[{p}]"
        elif str(p).replace("_", "").isalnum():
            parts.append(str(p))
        else:
            parts.append("<key>")
    return ".".join(parts)


MAX_DEPTH = 64
"""Deepest JSON nesting a resource may have (a PAS bundle needs about 15; 120-deep extensions are refused)."""


def _known_type(name: Any) -> bool:
    if not isinstance(name, str) or not name.isalnum():
        return False
    try:
        get_fhir_model_class(name)
    except (KeyError, ValueError, AttributeError, ImportError):
        return False
    return True


def precheck(data: Any, resource_type: str) -> None:
    """Refuse, before any model sees it, JSON nested deeper than MAX_DEPTH and any contained
    resource whose resourceType FHIR R4 does not define (raises FhirError 422)."""
    stack: list[tuple[Any, int, str]] = [(data, 0, resource_type)]
    while stack:
        node, depth, where = stack.pop()
        if depth > MAX_DEPTH:
            raise FhirError("the resource is nested too deeply", issues=[issue(
                f"JSON nesting deeper than {MAX_DEPTH} levels is not accepted", code="too-costly")])
        if isinstance(node, dict):
            if "resourceType" in node and not _known_type(node["resourceType"]):
                raise FhirError("a contained resource has an unknown resourceType", issues=[issue(
                    "resourceType is not a FHIR R4 resource type", code="structure", expression=where)])
            stack.extend((v, depth + 1, where) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1, where) for v in node)


def parse(data: Any, resource_type: str):
    """`data` validated as the FHIR resource `resource_type` (raises FhirError with one issue per problem)."""
    if not isinstance(data, dict):
        raise FhirError(f"the body must be a FHIR {resource_type} resource (a JSON object)",
                        issue_code="structure", http_status=400)
    if data.get("resourceType") != resource_type:
        raise FhirError(f"resourceType must be {resource_type!r}", issue_code="structure",
                        issues=[issue(f"resourceType must be {resource_type!r}", expression="resourceType",
                                      code="structure")])
    precheck(data, resource_type)
    try:
        return get_fhir_model_class(resource_type).model_validate(data)
    except (KeyError, TypeError, RecursionError) as exc:  # what pydantic does not wrap
        raise FhirError(f"not a valid FHIR {resource_type}", issues=[issue(
            f"not a valid FHIR {resource_type} ({type(exc).__name__})", code="structure")]) from None
    except ValidationError as exc:
        issues = [
            issue(str(err.get("msg", "invalid")).removeprefix("Value error, "),
                  expression=_path(resource_type, tuple(err.get("loc", ()))))
            for err in exc.errors()[:MAX_ISSUES]
        ]
        raise FhirError(f"not a valid FHIR {resource_type}", issues=issues) from None


def dump(resource) -> dict[str, Any]:
    """A fhir.resources model as FHIR JSON data (no empty elements)."""
    return resource.model_dump(mode="json", by_alias=True, exclude_none=True)


def build(resource_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """`data` checked as `resource_type` by fhir.resources and returned as FHIR JSON (a
    programming error raises ValueError: what we send must always validate)."""
    data = {"resourceType": resource_type, **data}
    try:
        return dump(get_fhir_model_class(resource_type).model_validate(data))
    except ValidationError as exc:
        raise ValueError(f"built an invalid {resource_type}: {exc}") from exc
