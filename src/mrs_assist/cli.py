"""The `mrs-assist` command: wiring only. Errors become one line on stderr and exit 1."""

from __future__ import annotations

import atexit
import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
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


def _services(*, one_question: bool = False):
    """The Services over the settings. ``one_question``: this process embeds one question and
    exits, so unless ``query_embedder`` was set it uses 'numpy', which starts ~0.4 s sooner
    than building the onnxruntime graph that saves ~8 ms a question (issue 22 item 8)."""
    from mrs_assist.service import Services

    settings = get_settings()
    if one_question and "query_embedder" not in settings.model_fields_set:
        settings = settings.model_copy(update={"query_embedder": "numpy"})
    return Services(settings)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a one-shot command loads and runs; then what it
    loaded is frozen (``gc.freeze``) and the collector is as it was.

    A cold `determine` imports ~1,400 modules and builds the medspaCy pipeline: meanwhile the
    collector ran ~450 times, three of them full passes over the growing heap, ~0.25 s of a
    1.8 s run that freed next to nothing (issue 22 item 8). Turned back on over that heap, its
    first pass would walk all of it again (~0.1 s); frozen, it never does. What is frozen is the
    loaded state, which lives as long as the process, and a few hundred objects of garbage a
    request. Not for `serve`, `--batch`, `eval` or `bench`: they run long enough to need it.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if paused:
            gc.enable()


def _at_exit() -> None:
    """Close the records database if a command opened it (SQLite folds its write-ahead log
    into the database file), then freeze the heap, so the interpreter's shutdown does not walk
    the ~150,000 objects of a loaded pipeline that the operating system frees anyway (~0.2 s
    of a cold `determine`, issue 22 item 8). Registered once, by ``main``."""
    db = sys.modules.get("mrs_assist.records.db")
    if db is not None:
        with suppress(Exception):  # best effort: the process is ending either way
            db.dispose_engine(db.database_url(get_settings()))
    gc.freeze()


def _print_json(model) -> None:
    typer.echo(model.model_dump_json(indent=2))


@app.command()
def index(
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Re-embed everything.")] = False,
) -> None:
    """Build or update the search index (incremental; atomic)."""
    from mrs_assist.index import build_index

    report = build_index(get_settings(), rebuild=rebuild, progress=sys.stderr.isatty())
    state = "built" if report.changed else "unchanged"
    typer.echo(
        f"index {state}: {report.total} chunks in {report.generation} "
        f"({report.embedded} embedded, {report.reused} reused, {report.removed} removed) in {report.seconds:.2f} s"
    )


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
    with _collector_paused():
        response = _services(one_question=True).ask(request)
    if as_json:
        _print_json(response)
        return
    typer.echo(response.answer)
    if response.citations:
        typer.echo("\nCitations:")
        for c in response.citations:
            typer.echo(f"  [{c.clause_id}] {c.section}")


@app.command()
def determine(
    policy: Annotated[Optional[str], typer.Option("--policy", help="Policy id, e.g. cohere-mrs.")] = None,
    notes_file: Annotated[
        Optional[Path],
        typer.Option("--notes-file", help="The clinical notes: a UTF-8 text file, or a PDF (text layer, else OCR) "
                     "or a scanned page (.png, .jpg, .tif; OCR), read as the API reads `documents`."),
    ] = None,
    age: Annotated[Optional[float], typer.Option("--age", help="Patient age in years.")] = None,
    cpt: Annotated[
        Optional[list[str]], typer.Option("--cpt", help="Requested CPT code (repeatable; default 76390).")
    ] = None,
    urgency: Annotated[str, typer.Option(help="standard (7 calendar days) or expedited (72 hours).")] = "standard",
    as_json: Annotated[bool, typer.Option("--json", help="Print the API response body.")] = False,
    letter: Annotated[bool, typer.Option("--letter", help="Also draft the determination letter.")] = False,
    fmt: Annotated[str, typer.Option("--format", help="Letter format: md, html or pdf.")] = "md",
    out: Annotated[
        Optional[Path], typer.Option("--out", help="Write the letter (with --batch: the JSONL results) to this file.")
    ] = None,
    batch: Annotated[
        Optional[Path],
        typer.Option("--batch", help="JSONL file, one POST /v1/determinations body a line; prints one API body a line."),
    ] = None,
    server: Annotated[
        Optional[str],
        typer.Option("--server", envvar="MRS_ASSIST_SERVER_URL",
                     help="Ask a running `mrs-assist serve` (e.g. http://127.0.0.1:8000) instead of loading the "
                     "pipeline here: a cold determine then costs an HTTP request. API key: MRS_ASSIST_API_KEY."),
    ] = None,
) -> None:
    """Check a request's notes against a policy's criteria (the outcome is never a model's)."""
    from mrs_assist.schemas import DeterminationRequest

    if batch is not None:
        if policy is not None or notes_file is not None or letter:
            raise InvalidRequestError("--batch takes its requests from the file: no --policy, --notes-file or --letter")
        _determine_batch(batch, out)
        return
    if policy is None or notes_file is None:
        raise InvalidRequestError("--policy and --notes-file are required (or --batch FILE)")
    if letter and fmt not in ("md", "html", "pdf"):
        raise InvalidRequestError(f"--format must be md, html or pdf, not {fmt!r}")
    if letter and fmt == "pdf" and out is None:
        raise InvalidRequestError("--format pdf needs --out FILE")
    notes, documents = _read_notes(notes_file)
    request = _validated(
        DeterminationRequest,
        policy_id=policy,
        cpt_codes=cpt or ["76390"],
        clinical_notes=notes,
        documents=documents,
        patient={"age_years": age},
        letter=letter,
        urgency=urgency,
    )
    if server:
        _determine_remote(server, request, as_json=as_json, letter=letter, fmt=fmt, out=out)
        return
    with _collector_paused():
        _determine_here(request, as_json=as_json, letter=letter, fmt=fmt, out=out)


def _determine_here(request, *, as_json: bool, letter: bool, fmt: str, out: Optional[Path]) -> None:
    """Decide the request in this process, store it as the API does and print the outcome."""
    from mrs_assist.intake import prepare_request

    request, index = prepare_request(request)  # the API's intake: documents read, empty requests refused
    services = _services()
    response = services.determine(request)
    record = _stored(services, request, response, documents=index)
    if as_json:
        _print_json(record)  # the letter is in the body: stdout stays one JSON document
        if letter and response.letter is not None and out is not None:
            _write_letter(services, response, fmt, out)
        return
    _print_determination(response)
    typer.echo(f"Stored as draft record {record.id}")
    if letter and response.letter is not None:
        _write_letter(services, response, fmt, out)


def _determine_remote(server: str, request, *, as_json: bool, letter: bool, fmt: str, out: Optional[Path]) -> None:
    """POST the request to a running API; print its body (``--json``) or the usual summary."""
    import json
    import os

    import httpx

    from mrs_assist.schemas import DeterminationResponse

    key = os.environ.get("MRS_ASSIST_API_KEY")
    try:
        reply = httpx.post(
            server.rstrip("/") + "/v1/determinations",
            json=request.model_dump(mode="json"),
            headers={"X-API-Key": key} if key else {},
            timeout=120,
        )
    except httpx.HTTPError as exc:
        raise MrsAssistError(f"server {server} did not answer: {type(exc).__name__}", code="service_unavailable") from None
    try:
        body = reply.json()
    except ValueError:
        body = None
    if reply.status_code >= 400 or not isinstance(body, dict):
        error = body.get("error", {}) if isinstance(body, dict) else {}
        raise MrsAssistError(error.get("message") or f"server answered HTTP {reply.status_code}",
                             code=error.get("code") or "error")
    if as_json:
        typer.echo(json.dumps(body, indent=2, ensure_ascii=False))
    else:
        _print_determination(DeterminationResponse.model_validate(body))
        typer.echo(f"Stored as draft record {body.get('id')}")
    if letter and body.get("letter") is not None and (out is not None or not as_json):
        _write_letter(None, DeterminationResponse.model_validate(body), fmt, out)


def _stored(services, request, response, documents=None):
    """Store a determination like the API does (as the documented local user), so the CLI's
    body is exactly the API's, `id` and `documents` included, and every determination stays traceable."""
    from mrs_assist.users import LOCAL_USER

    return services.record_body(services.records.create(request, response, user=LOCAL_USER, documents=documents), documents=True)


def _determine_batch(path: Path, out: Optional[Path]) -> None:
    """One pipeline for every line of ``path``; a line that fails gets an error body, the rest go on."""
    import json

    from pydantic import ValidationError
    from rich.progress import Progress

    from mrs_assist.intake import prepare_request
    from mrs_assist.schemas import DeterminationRequest

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidRequestError(f"cannot read batch file {path}: {type(exc).__name__}") from None
    items = [(n, line) for n, line in enumerate(lines, 1) if line.strip()]
    services = _services()
    failed = 0
    sink = out.open("w", encoding="utf-8") if out is not None else sys.stdout
    try:
        with Progress(disable=not sys.stderr.isatty(), transient=True) as progress:
            task = progress.add_task("determinations", total=len(items))
            for n, line in items:
                try:
                    try:
                        request = DeterminationRequest.model_validate_json(line)
                    except ValidationError as exc:
                        err = exc.errors()[0]
                        where = ".".join(str(p) for p in err["loc"]) or "input"
                        raise InvalidRequestError(f"line {n}: {where}: {err['msg']}") from None
                    request, index = prepare_request(request)
                    body = _stored(services, request, services.determine(request), documents=index).model_dump_json()
                except MrsAssistError as exc:
                    failed += 1
                    body = json.dumps({"error": {"code": exc.code, "message": exc.message}, "line": n})
                sink.write(body + "\n")
                progress.advance(task)
    finally:
        if out is not None:
            sink.close()
    if failed:
        typer.echo(f"error: {failed} of {len(items)} lines failed (their lines hold the error)", err=True)
        raise SystemExit(1)


@app.command()
def compare(
    as_json: Annotated[bool, typer.Option("--json", help="Print the API response body.")] = False,
) -> None:
    """Indications × policies: covered, covered-if, investigational or not covered, each cited."""
    response = _services().compare()
    if as_json:
        _print_json(response)
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="MRS indications by policy (cell: status, conditions, clauses)", show_lines=True)
    table.add_column("indication (fact)", overflow="fold")
    for pid in response.policy_ids:
        table.add_column(pid.removesuffix("-mrs"), overflow="fold")
    for row in response.rows:
        cells = []
        for pid in response.policy_ids:
            cell = row.cells[pid]
            text = cell.status.replace("_", " ")
            if cell.condition_facts:
                text += ": " + " + ".join(cell.condition_facts)
            if cell.clause_ids:
                text += "\n[" + ", ".join(c.split("#", 1)[1] for c in cell.clause_ids) + "]"
            cells.append(escape(text))
        table.add_row(row.fact, *cells)
    console = Console()
    console.print(table)
    for item in response.inconsistencies:
        console.print(escape(f"{item['kind']} ({item['policy_id']}): {item['message']}"))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs)."""
    import os

    import uvicorn

    from mrs_assist.auth import auth_required

    auth_required(get_settings(), host)  # refuses auth=off beyond loopback before binding
    os.environ["MRS_ASSIST_BIND_HOST"] = host
    uvicorn.run("mrs_assist.api.asgi:app", host=host, port=port, workers=workers, log_level="info")


@app.command("api-key")
def api_key(
    user: Annotated[str, typer.Argument(help="User name, as recorded in sign-offs and the audit trail.")],
    role: Annotated[str, typer.Argument(help="reviewer, physician, admin or provider.")],
    organization: Annotated[Optional[str], typer.Option(help="A provider's organization identifier (provider only).")] = None,
) -> None:
    """Issue a new API key: print the key (give it to the user; it is stored nowhere) and the
    line to append to the keys file (MRS_ASSIST_API_KEYS_FILE), which holds only its sha256."""
    from mrs_assist.auth import KeyHolder, generate_api_key

    holder = _validated(KeyHolder, user=user, role=role, organization=organization)
    key, digest = generate_api_key()
    entry = ", ".join(f"{name}: {value}" for name, value in holder.model_dump(mode="json", exclude_none=True).items())
    typer.echo(f"API key for {holder.user}: {key}")
    typer.echo(f"keys file line: {digest}: {{{entry}}}")


audit = typer.Typer(no_args_is_help=True, help="The tamper-evident audit trail of determination records.")
app.add_typer(audit, name="audit")


@audit.command("verify")
def audit_verify() -> None:
    """Walk the audit hash chain; name the first broken entry (exit 1 if any)."""
    from mrs_assist.records.audit import verify_summary

    ok, line = verify_summary(get_settings())
    typer.echo(line)
    if not ok:
        raise SystemExit(1)


report = typer.Typer(no_args_is_help=True, help="Reports computed from the stored records.")
app.add_typer(report, name="report")


@report.command("cms-0057f")
def report_cms_0057f(
    year: Annotated[int, typer.Option("--year", help="Calendar year of receipt.")],
    fmt: Annotated[str, typer.Option("--format", help="csv, html or json.")] = "csv",
    out: Annotated[Optional[Path], typer.Option("--out", help="Write to this file instead of stdout.")] = None,
) -> None:
    """The CMS-0057-F yearly prior-authorization metrics (standard and expedited)."""
    import json

    from mrs_assist.reports.cms0057f import report_for_store

    if fmt not in ("csv", "html", "json"):
        raise InvalidRequestError("--format must be csv, html or json")
    services = _services()
    result = report_for_store(services.records, year, policies=services.policies)
    text = {"csv": result.to_csv, "html": result.to_html,
            "json": lambda: json.dumps(result.as_dict(), indent=2) + "\n"}[fmt]()
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"report written to {out}", err=True)


fhir_cli = typer.Typer(no_args_is_help=True, help="FHIR PAS chores.")
app.add_typer(fhir_cli, name="fhir")


@fhir_cli.command("notify")
def fhir_notify(
    base_url: Annotated[str | None, typer.Option("--base-url", help="The server's public base URL, for focus "
                                                 "references (default: setting public_url).")] = None,
) -> None:
    """One sweep: push rest-hook notices for PAS requests changed since each subscription's last one."""
    from mrs_assist.service import Services

    settings = get_settings()
    if base_url:
        settings = settings.model_copy(update={"public_url": base_url.rstrip("/")})
    sent = Services(settings).fhir.subscriptions.dispatch()
    typer.echo(f"{sent} notification(s) sent")


_DOCUMENT_TYPES = {".pdf": "application/pdf", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
                   ".tif": "image/tiff", ".tiff": "image/tiff"}


def _read_notes(path: Path) -> tuple[str, list[dict] | None]:
    """The notes file as (typed notes, documents): a PDF or an image is one document of the
    request (read by `mrs_assist.intake`), anything else UTF-8 text."""
    import base64

    media_type = _DOCUMENT_TYPES.get(path.suffix.lower())
    try:
        if media_type is None:
            return path.read_text(encoding="utf-8"), None
        data = path.read_bytes()
    except FileNotFoundError:
        raise InvalidRequestError(f"notes file not found: {path}") from None
    except (UnicodeDecodeError, IsADirectoryError, PermissionError) as exc:
        raise InvalidRequestError(f"cannot read notes file {path}: {type(exc).__name__}") from None
    return "", [{"name": path.name, "media_type": media_type, "content_base64": base64.b64encode(data).decode()}]


def _print_determination(response) -> None:
    typer.echo(f"Recommendation: {response.recommendation}  (policy {response.policy_id}, version {response.policy_version})")
    if response.requires_physician_review:
        typer.echo("Requires physician review: a physician must decide any adverse determination.")
    decided = [f for f in response.facts if f.evidence or f.value is True]
    if decided:
        typer.echo("Facts:")
        for f in decided:
            spans = "; ".join(f'"{e.text}" @{e.start}-{e.end}' for e in f.evidence)
            typer.echo(f"  {f.name} = {str(f.value).lower()}" + (f"  ← {spans}" if spans else ""))
    if response.missing_information:
        typer.echo("Missing information:")
        for q in response.missing_information:
            typer.echo(f"  - {q}")
    for flag in response.safety_flags:
        typer.echo(f"Safety flag: {flag}")
    deciding = response.trace.deciding_clauses
    if deciding:
        typer.echo("Deciding clauses:")
        by_id = {c.clause_id: c for c in response.citations}
        for cid in deciding:
            text = by_id[cid].text if cid in by_id else ""
            typer.echo(f'  [{cid}] "{text}"')


def _write_letter(services, response, fmt: str, out: Optional[Path]) -> None:
    letter = response.letter
    if fmt == "pdf":
        if services is None:
            from mrs_assist.letters import render_pdf

            out.write_bytes(render_pdf(letter))
        else:
            out.write_bytes(services.render_letter_pdf(letter))
    else:
        text = letter.markdown if fmt == "md" else letter.html
        if out is None:
            typer.echo("\n" + text)
            return
        out.write_text(text, encoding="utf-8")
    typer.echo(f"letter written to {out}", err=True)


def _validated(model, **fields):
    from pydantic import ValidationError

    try:
        return model(**fields)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "input"
        raise InvalidRequestError(f"{where}: {err['msg']}") from exc


_exit_hooked = False


def main() -> None:
    """Console entry point: run the app, turning our errors into one readable line."""
    global _exit_hooked
    if not _exit_hooked:
        atexit.register(_at_exit)
        _exit_hooked = True
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


# --- evaluation and benchmarks (mrs_assist.evaluation) -----------------------------------------
@app.command("eval")
def eval_command(
    check: Annotated[bool, typer.Option("--check", help="Exit non-zero when a metric is below eval/thresholds.yaml.")] = False,
    out: Annotated[Path, typer.Option("--out", help="Folder for results.json, report.md/.html and plots.")] = Path("reports/eval"),
    seeds_dir: Annotated[Optional[Path], typer.Option("--seeds-dir", help="Raw seed texts for the LangChain baseline.")] = None,
    thresholds: Annotated[Optional[Path], typer.Option("--thresholds", help="Default: <eval dir>/thresholds.yaml.")] = None,
    baselines: Annotated[bool, typer.Option("--baselines/--no-baselines", help="Also run the baselines.")] = True,
    judge: Annotated[bool, typer.Option("--judge/--no-judge", help="LLM judge when a judge model is configured.")] = True,
) -> None:
    """Evaluate answers, retrieval and determinations against eval/ (with baselines); write a report."""
    from mrs_assist.evaluation import EvalOptions, run_eval_command

    options = EvalOptions(baselines=baselines, judge=judge)
    if seeds_dir is not None:
        options.seeds_dir = seeds_dir
    failures = run_eval_command(_services(), options, out=out, thresholds=thresholds, check=check)
    if check and failures:
        for line in failures:
            typer.echo(line, err=True)
        raise SystemExit(1)


@app.command()
def bench(
    out: Annotated[Path, typer.Option("--out", help="Folder for bench.json.")] = Path("reports/bench"),
    quick: Annotated[bool, typer.Option("--quick", help="Fewer requests and repetitions.")] = False,
    seeds_dir: Annotated[Optional[Path], typer.Option("--seeds-dir", help="Raw seed texts for the LangChain baseline.")] = None,
) -> None:
    """Benchmark latency, cold start, index builds, API throughput and memory beside the LangChain baseline."""
    from mrs_assist.evaluation import BenchOptions, run_bench_command

    options = BenchOptions(quick=quick)
    if seeds_dir is not None:
        options.seeds_dir = seeds_dir
    run_bench_command(get_settings(), options, out=out)
