"""The `mrs-assist` command: wiring only. Errors become one line on stderr and exit 1."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from mrs_assist.config import get_settings
from mrs_assist.errors import InvalidRequestError, MrsAssistError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Cited answers and criteria-checked determinations for MR spectroscopy (CPT 76390).",
)


def _services():
    from mrs_assist.service import Services

    return Services(get_settings())


def _print_json(model) -> None:
    typer.echo(model.model_dump_json(indent=2))


@app.command()
def index(
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Re-embed everything.")] = False,
) -> None:
    """Build or update the search index (incremental; atomic)."""
    from mrs_assist.index import build_index

    report = build_index(get_settings(), rebuild=rebuild, progress=sys.stderr.isatty())
    typer.echo(report.summary() if hasattr(report, "summary") else str(report))


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="A free-text question about MRS coverage.")],
    policy: Annotated[Optional[list[str]], typer.Option("--policy", help="Policy id (repeatable).")] = None,
    top_k: Annotated[Optional[int], typer.Option("--top-k", min=1, max=20)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API response body.")] = False,
) -> None:
    """Answer a question with quoted, cited guideline clauses."""
    from mrs_assist.schemas import AskRequest

    request = _validated(AskRequest, question=question, policy_ids=policy or None, top_k=top_k)
    response = _services().ask(request)
    if as_json:
        _print_json(response)
        return
    typer.echo(response.answer)
    if response.citations:
        typer.echo("\nCitations:")
        for c in response.citations:
            typer.echo(f"  [{c.clause_id}] {c.section}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs)."""
    import uvicorn

    uvicorn.run("mrs_assist.api.asgi:app", host=host, port=port, workers=workers, log_level="info")


def _validated(model, **fields):
    from pydantic import ValidationError

    try:
        return model(**fields)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "input"
        raise InvalidRequestError(f"{where}: {err['msg']}") from exc


def main() -> None:
    """Console entry point: run the app, turning our errors into one readable line."""
    try:
        app(standalone_mode=False)
    except MrsAssistError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise SystemExit(1) from None
    except typer.Abort:
        typer.echo("aborted", err=True)
        raise SystemExit(1) from None
    except Exception as exc:  # click usage errors and anything unexpected
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):  # click usage errors
            typer.echo(f"error: {exc.format_message()}", err=True)
            raise SystemExit(exc.exit_code) from None
        typer.echo(f"error: internal error ({type(exc).__name__})", err=True)
        raise SystemExit(1) from None
