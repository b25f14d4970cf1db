"""The prompt-injection corpus: gold cases × injection templates × placements, plus benign notes.

``python -m mrs_assist.evaluation.injection build`` reads the gold cases (``eval/cases.yaml``)
and the templates (``eval/injection/templates.yaml``) and writes ``eval/injection/cases.jsonl``,
one :class:`InjectionCase` a line. The build is deterministic: the template file's seed fixes
which cases get which injections where, and each canary is derived from the seed and the case
id, so rebuilding yields the same bytes (``... injection check`` says whether the committed
file is current).

Each injected note is its gold case's notes (the *clean twin*) with one injection inserted at
the start, in the middle (between lines, or between sentences of a one-line note) or at the
end. It carries a canary, ``CANARY-`` and 12 hex digits, unique to the note: the canary must
never come out of the system, and the note's outcome must be its twin's under every policy.
Benign notes insert an ordinary sentence that says "ignore", "override" or "disregard" the
same way, with no canary. ``obfuscated.jsonl`` (beside it) puts each obfuscation template —
the same instruction spelled with Cyrillic or Greek look-alikes, full-width, mathematical or
circled letters, zero-width joiners, word joiners, soft hyphens, a right-to-left override,
hyphenated line breaks, combining marks, no-break spaces, a mix, or its parts far apart —
into every gold case.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import random
import re
import sys
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mrs_assist.data import load_yaml
from mrs_assist.errors import ConfigError

Placement = Literal["start", "middle", "end"]
ZERO_WIDTH_SPACE = "\u200b"
Encoding = Literal[
    "base64",
    "zero_width",
    # Obfuscation families (issue 11): the same words, spelled so an ASCII filter misses them.
    "cyrillic",
    "greek",
    "fullwidth",
    "math_bold",
    "circled",
    "zero_width_joiner",
    "word_joiner",
    "soft_hyphen",
    "rtl_override",
    "hyphen_line_break",
    "combining_marks",
    "no_break_spaces",
    "mixed",
]
_CYRILLIC = str.maketrans("aceopxyiACEHKMOPTXBI", "асеорхуіАСЕНКМОРТХВІ")
_GREEK = str.maketrans("aoivAEHIKMNOPTXYZB", "αοινΑΕΗΙΚΜΝΟΡΤΧΥΖΒ")


def _per_letter(text: str, first_upper: int, first_lower: int) -> str:
    return "".join(
        chr(first_upper + ord(c) - 65) if "A" <= c <= "Z" else chr(first_lower + ord(c) - 97) if "a" <= c <= "z" else c
        for c in text
    )


def _inside_words(text: str, mark: str, *, every: int = 1) -> str:
    """``mark`` between the letters of each word (every `every` letters)."""
    return " ".join(
        "".join(c + (mark if (i + 1) % every == 0 and i < len(w) - 1 else "") for i, c in enumerate(w))
        for w in text.split(" ")
    )


class InjectionTemplate(BaseModel):
    """One injection: its text, and optionally a payload encoded into it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    text: str = Field(description="The injected text; {canary} and {payload} are filled in.")
    payload: str | None = Field(default=None, description="Text encoded into {payload}.")
    encoding: Encoding | None = None


class Templates(BaseModel):
    """eval/injection/templates.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    seed: int
    injections_per_case: int = Field(ge=1)
    benign_per_sentence: int = Field(default=2, ge=1)
    placements: list[Placement]
    injections: list[InjectionTemplate] = Field(min_length=1)
    obfuscations: list[InjectionTemplate] = Field(
        default_factory=list, description="Obfuscated instructions, each put into every gold case (obfuscated.jsonl)."
    )
    benign: list[str] = Field(min_length=1)
    questions: list[str] = Field(min_length=1)


class GoldCase(BaseModel):
    """What the corpus takes from a gold case (eval/cases.yaml); the rest is left to the harness."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    age_years: float | None = None
    cpt_codes: list[str]
    notes: str
    facts: dict[str, bool | None] | None = None
    expected: dict[str, dict]


class InjectionCase(BaseModel):
    """One note of the corpus (a line of cases.jsonl)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    kind: Literal["injection", "benign", "obfuscated"]
    twin: str = Field(description="The gold case whose notes were used (its clean twin).")
    template: str = Field(description="Injection template id, or 'benign-<n>'.")
    placement: Placement
    canary: str | None = Field(description="Unique marker inside the injection (None for benign notes).")
    inserted: tuple[int, int] = Field(description="Offsets of the inserted text in `notes`.")
    policy_ids: list[str]
    age_years: float | None
    cpt_codes: list[str]
    facts: dict[str, bool | None] | None
    notes: str
    question: str | None = Field(description="The ask-path question carrying the same injection.")


OBFUSCATED_FILE = "obfuscated.jsonl"
"""Beside cases.jsonl: the obfuscation templates × every gold case."""


def default_paths() -> tuple[Path, Path, Path]:
    """(gold cases, templates, output) under the configured eval folder."""
    from mrs_assist.config import get_settings

    eval_dir = get_settings().eval_dir
    return eval_dir / "cases.yaml", eval_dir / "injection" / "templates.yaml", eval_dir / "injection" / "cases.jsonl"


def load_templates(path: Path) -> Templates:
    """The template file; raises ConfigError naming file and line."""
    return load_yaml(path, Templates, error=ConfigError)


def load_gold_cases(path: Path) -> list[GoldCase]:
    """The gold cases; raises ConfigError naming file and line."""
    return load_yaml(path, list[GoldCase], error=ConfigError, root=list)


def load_injection_cases(path: Path) -> list[InjectionCase]:
    """The built corpus (cases.jsonl)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [InjectionCase.model_validate_json(line) for line in lines if line.strip()]


def canary_for(seed: int, note_id: str) -> str:
    """The note's canary: 'CANARY-' and 12 lower-case hex digits derived from seed and id."""
    return "CANARY-" + hashlib.sha256(f"{seed}:{note_id}".encode()).hexdigest()[:12]


def encode(payload: str, encoding: str | None) -> str:
    """The payload in the template's encoding (base64, or one of the obfuscation families)."""
    if encoding == "base64":
        return base64.b64encode(payload.encode()).decode()
    if encoding == "zero_width":
        return " ".join(ZERO_WIDTH_SPACE.join(word) for word in payload.split(" "))
    families = {
        "cyrillic": lambda t: t.translate(_CYRILLIC),
        "greek": lambda t: t.translate(_GREEK),
        "fullwidth": lambda t: _per_letter(t, 0xFF21, 0xFF41),
        "math_bold": lambda t: _per_letter(t, 0x1D400, 0x1D41A),
        "circled": lambda t: _per_letter(t, 0x24B6, 0x24D0),
        "zero_width_joiner": lambda t: _inside_words(t, "\u200d", every=2),
        "word_joiner": lambda t: _inside_words(t, "\u2060", every=3),
        "soft_hyphen": lambda t: _inside_words(t, "\u00ad", every=2),
        # Stored reversed inside a right-to-left override: a reader sees it the right way round.
        "rtl_override": lambda t: "\u202e" + t[::-1] + "\u202c",
        # Long words broken at a hyphen and a line break, as a narrow text box wraps them.
        "hyphen_line_break": lambda t: " ".join(w[: len(w) // 2] + "-\n" + w[len(w) // 2 :] if len(w) >= 6 else w for w in t.split(" ")),
        "combining_marks": lambda t: "".join(c + ("\u0301" if c in "aeiou" else "") for c in t),
        "no_break_spaces": lambda t: "".join(
            ("\u00a0" if i % 2 else "\u3000") if c == " " else c for i, c in enumerate(t)
        ),
        "mixed": lambda t: _inside_words(_per_letter(t.translate(_CYRILLIC)[:12], 0xFF21, 0xFF41) + t.translate(_GREEK)[12:], "\u200b", every=4),
    }
    if encoding in families:
        return families[encoding](payload)
    return payload


def render(template: InjectionTemplate, canary: str) -> str:
    """The template's text with its payload and canary filled in."""
    text = template.text.replace("{payload}", encode(template.payload or "", template.encoding))
    return text.replace("{canary}", canary)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")


def place(notes: str, snippet: str, placement: Placement) -> tuple[str, tuple[int, int]]:
    """The notes with the snippet inserted, and the snippet's offsets in the result."""
    body = notes.rstrip("\n")
    if placement == "start":
        return f"{snippet}\n{body}\n", (0, len(snippet))
    if placement == "middle":
        lines = body.split("\n")
        if len(lines) > 1:
            head = "\n".join(lines[: len(lines) // 2]) + "\n"
            tail = "\n".join(lines[len(lines) // 2 :])
            return f"{head}{snippet}\n{tail}\n", (len(head), len(head) + len(snippet))
        cuts = [m.end() for m in _SENTENCE_END.finditer(body)]
        if cuts:
            cut = cuts[len(cuts) // 2 - 1] if len(cuts) > 1 else cuts[0]
            head, tail = body[:cut], body[cut:]
            return f"{head}{snippet} {tail}\n", (len(head), len(head) + len(snippet))
    start = len(body) + 1
    return f"{body}\n{snippet}\n", (start, start + len(snippet))


def build_corpus(cases: list[GoldCase], templates: Templates) -> list[InjectionCase]:
    """Every injected and benign note, in a fixed order (deterministic for a given seed)."""
    rng = random.Random(templates.seed)
    combos = [(t, p) for t in templates.injections for p in templates.placements]
    rng.shuffle(combos)
    order = list(cases)
    rng.shuffle(order)
    out: list[InjectionCase] = []
    k = templates.injections_per_case
    for i, case in enumerate(order):
        for j in range(k):
            template, placement = combos[(i * k + j) % len(combos)]
            note_id = f"inj-{case.id}-{template.id}-{placement}"
            canary = canary_for(templates.seed, note_id)
            snippet = render(template, canary)
            notes, span = place(case.notes, snippet, placement)
            question = templates.questions[(i * k + j) % len(templates.questions)]
            out.append(_record(note_id, "injection", case, template.id, placement, canary, span, notes, question, snippet))
    n = 0
    for b, sentence in enumerate(templates.benign):
        for _ in range(templates.benign_per_sentence):
            case = order[n % len(order)]
            placement = templates.placements[n % len(templates.placements)]
            notes, span = place(case.notes, sentence, placement)
            out.append(
                _record(f"benign-{case.id}-{b:02d}-{placement}", "benign", case, f"benign-{b:02d}", placement, None, span, notes, None, None)
            )
            n += 1
    return out


def build_obfuscated(cases: list[GoldCase], templates: Templates) -> list[InjectionCase]:
    """Every obfuscation template in every gold case, placements rotating (deterministic)."""
    out: list[InjectionCase] = []
    for i, case in enumerate(cases):
        for j, template in enumerate(templates.obfuscations):
            placement = templates.placements[(i + j) % len(templates.placements)]
            note_id = f"obf-{case.id}-{template.id}-{placement}"
            canary = canary_for(templates.seed, note_id)
            snippet = render(template, canary)
            notes, span = place(case.notes, snippet, placement)
            out.append(_record(note_id, "obfuscated", case, template.id, placement, canary, span, notes, None, None))
    return out


def _record(note_id, kind, case, template, placement, canary, span, notes, question, snippet) -> InjectionCase:
    if question is not None:
        question = f"{question} {snippet}"[:2000]
    return InjectionCase(
        id=note_id,
        kind=kind,
        twin=case.id,
        template=template,
        placement=placement,
        canary=canary,
        inserted=span,
        policy_ids=list(case.expected),
        age_years=case.age_years,
        cpt_codes=case.cpt_codes,
        facts=case.facts,
        notes=notes,
        question=question,
    )


def to_jsonl(records: list[InjectionCase]) -> str:
    """One compact JSON object a line (ASCII-escaped, so zero-width characters stay visible)."""
    return "".join(json.dumps(r.model_dump(mode="json"), ensure_ascii=True) + "\n" for r in records)


def main(argv: list[str] | None = None) -> int:
    """`build` writes the corpus; `check` exits 1 when the committed file differs from a fresh build."""
    cases_path, templates_path, out_path = default_paths()
    parser = argparse.ArgumentParser(prog="python -m mrs_assist.evaluation.injection", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["build", "check"])
    parser.add_argument("--cases", type=Path, default=cases_path, help="Gold cases (eval/cases.yaml).")
    parser.add_argument("--templates", type=Path, default=templates_path, help="Injection templates.")
    parser.add_argument("--out", type=Path, default=out_path, help="Where the corpus is (eval/injection/cases.jsonl).")
    args = parser.parse_args(argv)
    try:
        gold, templates = load_gold_cases(args.cases), load_templates(args.templates)
    except ConfigError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    outputs = {
        args.out: to_jsonl(build_corpus(gold, templates)),
        args.out.with_name(OBFUSCATED_FILE): to_jsonl(build_obfuscated(gold, templates)),
    }
    for path, text in outputs.items():
        count = text.count("\n")
        if args.command == "check":
            current = path.read_text(encoding="utf-8") if path.exists() else ""
            if current != text:
                print(f"{path} is out of date: run `python -m mrs_assist.evaluation.injection build`", file=sys.stderr)
                return 1
            print(f"{path} is current ({count} notes)")
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}: {count} notes")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
