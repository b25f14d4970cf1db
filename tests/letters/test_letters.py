"""Template letters: every required element, for every outcome, in Markdown and HTML."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from jinja2.exceptions import UndefinedError
from letter_fixtures import SIGNATURE, all_cases, case, corpus  # noqa: F401

from mrs_assist.errors import ConfigError, InvalidRequestError
from mrs_assist.letters import Letter, check_templates, draft_letter, signed_letter
from mrs_assist.letters.context import build_context
from mrs_assist.letters.render import PAGE_TEMPLATE, environment, letter_html, md_unescape, render_pair
from mrs_assist.letters.settings import (
    TEMPLATES_DIR,
    acronyms_in,
    expand_acronyms,
    load_fact_wording,
    load_glossary,
    load_letter_settings,
    load_manifest,
)
from mrs_assist.schemas import DeterminationResponse, Party
from mrs_assist.criteria.trace import deciding_clause_ids, facts_valued, missing_fact_names
from mrs_assist.criteria.trace import section as section_of

CASES = list(all_cases())
FORMATS = ["markdown", "html"]
_LETTERS: dict[str, Letter] = {}


def letter_for(name: str) -> Letter:
    if name not in _LETTERS:
        c = case(name)
        _LETTERS[name] = draft_letter(c.determination, c.request, corpus=corpus())
    return _LETTERS[name]


def plain(letter: Letter, fmt: str) -> str:
    """The letter's visible text, whitespace collapsed."""
    if fmt == "markdown":
        text = re.sub(r"(?m)^(?:#+|[-*>]|\d+\.)\s*", "", letter.markdown).replace("**", "")
        text = md_unescape(text)
    else:
        body = re.sub(r"(?s)<(style|title)>.*?</\1>", " ", letter.html)
        text = html_lib.unescape(re.sub(r"<[^>]+>", " ", body))
    return re.sub(r"\s+", " ", text)


def section(text: str, heading: str) -> str:
    start = text.index(heading)
    nxt = re.search(r" (?:Decision timeframe|Guideline used|Peer-to-peer discussion|Your right to appeal|"
                    r"Terms used in this letter|Reviewer signature|Information we need|"
                    r"What information would change this decision|Reason for this decision) ",
                    text[start + len(heading):])
    return text[start: start + len(heading) + (nxt.start() if nxt else len(text))]


# --- each required element × each outcome × each format -----------------------------------------
def check_service(c, text):
    assert "CPT 76390 — magnetic resonance spectroscopy (MRS)" in text


def check_decision(c, text):
    expected = {
        "approval": "Approved.",
        "request_for_information": "Decision pending: more information needed.",
        "adverse_determination_draft": "Not approved (adverse determination — DRAFT).",
    }[c.kind]
    assert expected in section(text, "Decision ")


def check_reason_tied_to_condition(c, text):
    wording = load_fact_wording(corpus_dir() / "facts.yaml")
    reason = section(text, "Reason for this decision")
    trace = c.determination.trace
    value = None if c.kind == "request_for_information" else True
    deciding_facts = {f for key in ("indications", "exclusions", "scope") for f in facts_valued(section_of(trace, key), value)}
    deciding_facts |= {f.fact for f in trace.investigational} if value else set()
    labels = [expand_acronyms(wording[f].label, load_glossary().terms) for f in deciding_facts if f in wording]
    documented = [wording[f.name].label for f in c.determination.facts if f.value and f.name in wording]
    assert any(lbl in reason for lbl in labels) or any(lbl in reason for lbl in documented), reason


def check_acronyms_spelled_out(c, text):
    terms = section(text, "Terms used in this letter")
    for abbr in ("MRS", "CPT"):
        assert re.search(rf"{abbr}:? {re.escape(load_glossary().terms[abbr])}", terms), abbr
    assert "magnetic resonance spectroscopy (MRS)" in text
    for abbr, meaning in acronyms_in(text, load_glossary().terms):
        assert re.search(rf"{abbr}:? {re.escape(meaning)}", terms), abbr


def check_guideline_named_with_version(c, text):
    meta = corpus().documents[c.determination.policy_id].meta
    guideline = section(text, "Guideline used")
    assert meta.payer in guideline and meta.title in guideline
    assert f"version {c.determination.policy_version}" in guideline
    first_date = next(iter(meta.dates.values()))
    assert first_date.strftime("%B") in guideline and str(first_date.year) in guideline


def check_deciding_clauses_quoted(c, text):
    ids = deciding_clause_ids(c.determination)
    assert ids
    for clause_id in ids:
        clause = corpus().clause(clause_id)
        assert f"“{clause.text}”" in text, clause_id
        assert f"[{clause_id}]" in text


def check_what_would_change(c, text):
    if c.kind == "approval":
        assert "What information would change this decision" not in text
        return
    heading = "Information we need" if c.kind == "request_for_information" else "What information would change this decision"
    part = section(text, heading)
    if c.kind == "request_for_information":
        assert "[Response deadline]" in part
        assert "information that would change this decision" in part
    else:
        assert "The decision could also change" in part


def check_appeal_rights(c, text):
    if c.kind == "approval":  # issue 21 item 6: an approval has nothing to appeal
        assert "appeal" not in text.lower()
        return
    part = section(text, "Your right to appeal")
    assert "You may appeal within 180 days of the date of this notice." in part
    assert "expedited (fast) appeal" in part and "72 hours" in part


def check_peer_to_peer(c, text):
    if c.kind == "approval":
        assert "peer-to-peer" not in text.lower()
        return
    part = section(text, "Peer-to-peer discussion")
    assert "peer-to-peer discussion with the physician reviewer" in part
    assert "[Peer-to-peer scheduling phone number]" in part


def check_decision_timeframe(c, text):
    part = section(text, "Decision timeframe")
    if c.request.urgency == "expedited":
        assert "within 72 hours" in part and "7 calendar days" not in part
    else:
        assert "within 7 calendar days" in part and "72 hours" not in part


def check_signature_block(c, text):
    part = section(text, "Reviewer signature")
    assert re.search(r"Signature:? _{10,}", part)
    assert "[Signature date]" in part
    if c.kind == "adverse_determination_draft":
        assert "[Physician reviewer name]" in part and "must review and sign" in part
    else:
        assert "[Reviewer name]" in part


def check_identifiers_from_request_only(c, text):
    member, provider = c.request.member, c.request.provider
    expect = {
        "Member:?": (member.name if member and member.name else "[Member name]"),
        "Member ID:?": (member.id if member and member.id else "[Member ID]"),
        "Requesting provider:?": (provider.name if provider and provider.name else "[Requesting provider]"),
        "Provider NPI \\(National Provider Identifier\\):?": (provider.id if provider and provider.id else "[Provider NPI]"),
    }
    for label, value in expect.items():
        assert re.search(rf"{label} {re.escape(value)}", text), (label, value)


def check_draft_marking(c, text):
    if c.kind == "adverse_determination_draft":
        assert text.lstrip().startswith("DRAFT — NOT FOR RELEASE.")
        assert "requires physician review" in text
    else:
        assert "DRAFT" not in text


ELEMENTS = {
    "service": check_service,
    "decision": check_decision,
    "reason_tied_to_condition": check_reason_tied_to_condition,
    "acronyms_spelled_out": check_acronyms_spelled_out,
    "guideline_named_with_version": check_guideline_named_with_version,
    "deciding_clauses_quoted": check_deciding_clauses_quoted,
    "what_would_change": check_what_would_change,
    "appeal_rights": check_appeal_rights,
    "peer_to_peer": check_peer_to_peer,
    "decision_timeframe": check_decision_timeframe,
    "signature_block": check_signature_block,
    "identifiers_from_request_only": check_identifiers_from_request_only,
    "draft_marking": check_draft_marking,
}


def corpus_dir():
    from mrs_assist.config import Settings

    return Settings().corpus_dir


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("element", list(ELEMENTS))
@pytest.mark.parametrize("name", CASES)
def test_required_element_present(name, element, fmt):
    ELEMENTS[element](case(name), plain(letter_for(name), fmt))


def test_cases_cover_every_outcome_and_urgency():
    kinds = {case(n).kind for n in CASES}
    assert kinds == {"approval", "request_for_information", "adverse_determination_draft"}
    assert {case(n).request.urgency for n in CASES} == {"standard", "expedited"}


# --- outcome-specific behaviour ---------------------------------------------------------------
@pytest.mark.parametrize("name", [n for n in CASES if case(n).kind == "request_for_information"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_pend_lists_exactly_the_missing_facts_as_questions(name, fmt):
    c = case(name)
    letter = letter_for(name)
    wording = load_fact_wording(corpus_dir() / "facts.yaml")
    terms = load_glossary().terms
    if fmt == "markdown":
        part = letter.markdown[letter.markdown.index("## Information we need"):letter.markdown.index("## Guideline used")]
        asked = re.findall(r"^\d+\. (.+)$", part, re.M)
    else:
        asked = [html_lib.unescape(q) for q in re.findall(r"<li data-fact=\"[^\"]+\">(.*?)</li>", letter.html)]
        assert re.findall(r'data-fact="([^"]+)"', letter.html) == missing_fact_names(c.determination)
    expected = [expand_acronyms(wording[f].question, terms) for f in missing_fact_names(c.determination)]
    assert [md_unescape(a) for a in asked] == expected


@pytest.mark.parametrize("name", CASES)
def test_release_state_by_outcome(name):
    c, letter = case(name), letter_for(name)
    assert letter.status == "draft" and letter.mode == "template" and letter.problems == []
    if c.kind == "adverse_determination_draft":
        assert letter.releasable is False and letter.requires_physician_signature is True
        signed = signed_letter(letter, letter.markdown, SIGNATURE)
        assert signed.releasable is True and signed.status == "signed" and signed.signed_by == "A. Physician, MD"
        assert SIGNATURE.line() in signed.markdown
        assert letter.releasable is False  # the original is unchanged
    else:
        assert letter.releasable is True and letter.requires_physician_signature is False


@pytest.mark.parametrize("name", CASES)
def test_letter_records_versions_and_fits_the_response(name):
    c, letter = case(name), letter_for(name)
    dumped = letter.model_dump(mode="json")
    assert dumped["kind"] == c.kind
    assert dumped["template_id"] == c.kind
    assert dumped["template_version"] == load_manifest().templates[c.kind].version
    assert dumped["policy_id"] == c.determination.policy_id
    assert dumped["policy_version"] == c.determination.policy_version
    assert dumped["settings_version"] == load_letter_settings().version
    assert dumped["prompt_id"] is None and dumped["model_attempts"] == 0
    response = c.determination.model_copy(update={"letter": letter})
    assert DeterminationResponse.model_validate_json(response.model_dump_json()).letter.model_dump(mode="json") == dumped


# --- never invent identifiers; escape what is inserted ----------------------------------------
def test_member_name_is_never_invented():
    c = case("cohere_expedited_approval")  # the request names no member or provider
    assert c.request.member is None and c.request.provider is None
    letter = letter_for("cohere_expedited_approval")
    for fmt in FORMATS:
        text = plain(letter, fmt)
        assert re.search(r"Member:? \[Member name\] Member ID:? \[Member ID\]", text)
        assert "Dear [Member name] and [Requesting provider]:" in text
    # The only capitalised person-like words are the letter's own or the guideline's.
    assert "Dear [Member name]" in letter.markdown


def test_member_given_only_id_keeps_name_placeholder():
    letter = letter_for("cohere_pend")
    text = plain(letter, "markdown")
    assert "Member: [Member name] Member ID: W998877" in text


def test_html_escapes_inserted_text_and_markdown_escapes_it_too():
    c = case("cohere_implant_denial")
    hostile = c.request.model_copy(
        update={"member": Party(name='<script>alert("x")</script>', id='<img src=x onerror=alert(1)>'),
                "provider": Party(name="[click](http://evil.example)")}
    )
    letter = draft_letter(c.determination, hostile, corpus=corpus())
    assert "<script>" not in letter.html and "<img" not in letter.html
    assert "&lt;script&gt;" in letter.html
    assert "<script>" not in letter.markdown.replace("\\<script\\>", "")
    assert "\\[click\\](http://evil.example)" in letter.markdown
    assert '<script>alert("x")</script>' in md_unescape(letter.markdown)


def test_other_codes_on_the_request_are_listed():
    text = plain(letter_for("healthhelp_pend_two_facts"), "markdown")
    assert "other codes on the request: 0698T" in text


# --- templates and data files -----------------------------------------------------------------
def test_strict_undefined_raises_on_a_missing_variable():
    env = environment()
    with pytest.raises(UndefinedError):
        env.from_string("Dear {{ member_name }}").render()
    c = case("nia_recurrence_approval")
    ctx = build_context(c.determination, c.request, corpus=corpus(), settings=load_letter_settings(),
                        wording=load_fact_wording(corpus_dir() / "facts.yaml"))
    variables = ctx.model_dump()
    del variables["reasons"]
    with pytest.raises(UndefinedError):
        env.get_template("approval.md.j2").render(**variables, terms=[])


def test_html_is_the_markdown_rendered_and_escapes_what_the_markdown_holds():
    """One source per letter: the HTML page is the letter's Markdown rendered (no HTML template
    per kind), raw HTML in the Markdown is escaped, and the page frame autoescapes its title."""
    env = environment()
    assert env.from_string("{{ x }}").render(x="<b>") == "<b>"  # string templates: no autoescape
    assert sorted(p.name for p in TEMPLATES_DIR.glob("*.html.j2")) == [PAGE_TEMPLATE]
    page = letter_html("# A <b> title\n\nText with <script>x</script> in it.\n", "approval")
    assert "<title>A &lt;b&gt; title</title>" in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert "<script>" not in page and '<article class="letter letter-approval">' in page
    for c in all_cases().values():
        letter = draft_letter(c.determination, c.request, corpus=corpus())
        facts = re.findall(r'data-fact="([^"]+)"', letter.html)  # checked against the trace below
        assert letter.html == letter_html(letter.markdown, letter.kind, facts=facts)


def test_every_template_uses_only_context_variables():
    used = check_templates()
    manifest = load_manifest()
    for spec in manifest.templates.values():
        assert spec.markdown in used


def test_data_files_forbid_unknown_keys(tmp_path):
    settings_file = tmp_path / "letter_settings.yaml"
    from mrs_assist.letters.settings import SETTINGS_FILE

    original = SETTINGS_FILE.read_text()
    settings_file.write_text(original + "\nsurprise: 1\n")
    with pytest.raises(ConfigError, match=r"^letter_settings\.yaml:\d+: surprise: "):
        load_letter_settings(settings_file)


def test_letter_settings_drive_the_numbers(tmp_path):
    settings = load_letter_settings().model_copy(
        update={"appeal": load_letter_settings().appeal.model_copy(update={"days": 60})}
    )
    c = case("cohere_implant_denial")
    letter = draft_letter(c.determination, c.request, corpus=corpus(), settings=settings)
    assert "You may appeal within 60 days of the date of this notice." in plain(letter, "markdown")


def test_unknown_policy_is_an_invalid_request():
    c = case("cohere_pend")
    det = c.determination.model_copy(update={"policy_id": "nope-mrs"})
    with pytest.raises(InvalidRequestError):
        draft_letter(det, c.request, corpus=corpus())


def test_acronym_expansion():
    terms = load_glossary().terms
    assert expand_acronyms("MRI or CT is inconclusive", terms) == (
        "Magnetic resonance imaging (MRI) or computed tomography (CT) is inconclusive"
    )
    assert expand_acronyms("a magnetic resonance imaging (MRI) scan and an MRI", terms).count("(MRI)") == 1
    assert expand_acronyms("MRI-conditional devices", terms) == "MRI-conditional devices"


def test_render_pair_lists_terms_used():
    c = case("cohere_pend")
    ctx = build_context(c.determination, c.request, corpus=corpus(), settings=load_letter_settings(),
                        wording=load_fact_wording(corpus_dir() / "facts.yaml"))
    markdown, html = render_pair("request_for_information.md.j2", ctx)
    assert "- **CT:** computed tomography" in markdown
    assert "<li><strong>CT:</strong> computed tomography</li>" in html


def test_every_letter_data_file_loads_and_every_manifest_file_exists():
    from mrs_assist.letters.settings import TEMPLATES_DIR

    assert load_letter_settings().timeframes["standard"].limit == "7 calendar days"
    assert load_letter_settings().timeframes["expedited"].limit == "72 hours"
    assert load_letter_settings().appeal.days == 180
    assert {"MRS", "MRI", "CT", "CPT", "HIE"} <= set(load_glossary().terms)
    manifest = load_manifest()
    assert {"approval", "request_for_information", "adverse_determination_draft", "model_letter"} == set(manifest.templates)
    for spec in manifest.templates.values():
        assert (TEMPLATES_DIR / spec.markdown).is_file()
    wording = load_fact_wording(corpus_dir() / "facts.yaml")
    assert wording["conventional_imaging_inconclusive"].question.endswith("Please send the report.")


@pytest.mark.parametrize("name", CASES)
def test_letter_field_round_trips(name):
    letter = letter_for(name)
    assert Letter.model_validate(letter.model_dump(mode="json")) == letter


@pytest.mark.parametrize("name", CASES)
def test_no_internal_fact_name_in_a_letter(name):
    """Issue 21 item 6: a member-facing letter never prints a fact id, even for a fact the
    catalogue has no wording for."""
    import yaml

    facts = yaml.safe_load((corpus_dir() / "facts.yaml").read_text(encoding="utf-8"))["facts"]
    c = case(name)
    unworded = c.determination.model_copy(deep=True)
    unworded.trace.missing_facts = [*unworded.trace.missing_facts, "internal_only_fact"]
    for letter in (letter_for(name), draft_letter(unworded, c.request, corpus=corpus())):
        text = letter.markdown.replace("\\_", "_") + re.sub(r"<[^>]*>", " ", letter.html)  # visible text
        for fact in [f for f in [*facts, "internal_only_fact"] if "_" in f]:  # one-word ids are plain words
            assert not re.search(rf"\b{fact}\b", text), fact
