"""The reviewer workbench (GET /) in a real browser against a real server.

Debian's Chromium (scripts/ensure-system-deps.sh browser) driven by the Python `playwright`
package — its own driver, never `playwright install`. The server is `uvicorn
mrs_assist.api.asgi:app` on a free loopback port over an index built into a temporary data
folder, with two API keys (a nurse reviewer and a physician). Every request the page makes
must go to that server: anything else is recorded and fails the test.

Every view is checked with axe-core (the copy the `axe-playwright-python` package ships):
no violation of WCAG 2 A/AA rules. Screenshots of each step go to $MRS_ASSIST_SCREENSHOTS, else
a temporary folder; the path is printed (run with -s to see it).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from support.packets import PACKET
from support.servers import free_port, running_server
import pytest

from mrs_assist.config import ROOT, Settings

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
NURSE_KEY, DOCTOR_KEY = "nurse-key", "doc-key"
VIEWPORT = {"width": 1366, "height": 768}

RECURRENCE_NOTES = (
    "58 y/o M with GBM s/p resection and XRT 2023. New enhancing lesion on MRI, equivocal for "
    "recurrence vs radiation necrosis. MRS requested to differentiate recurrence from radiation "
    "necrosis. No pacemaker."
)
EPILEPSY_NOTES = (
    "34 y/o F with intractable epilepsy, failed 3 AEDs. MRS requested for presurgical "
    "localization of the seizure focus before temporal lobectomy."
)
HOSTILE_NOTES = (
    "61 y/o M with known glioblastoma. <img src=x onerror=alert(1)> <script>alert(2)</script> "
    "MRS requested to differentiate recurrence vs radiation necrosis."
)


def _chromium() -> Path:
    if not CHROMIUM.exists() and os.geteuid() == 0:
        subprocess.run(["bash", str(ROOT / "scripts" / "ensure-system-deps.sh"), "browser"], check=False)
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: run `bash scripts/ensure-system-deps.sh browser` as root")
    return CHROMIUM


@pytest.fixture(scope="module")
def server(tmp_path_factory, real_embedder):
    """Base URL of the real app (index built into a temporary data folder), stopped at teardown."""
    from mrs_assist.index import build_index

    data = tmp_path_factory.mktemp("browser-data")
    build_index(Settings(data_dir=data), embedder=real_embedder, progress=False)
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("MRS_ASSIST_", "OPENAI_")) or k == "MRS_ASSIST_SCREENSHOTS"
    }
    env.update(
        MRS_ASSIST_DATA_DIR=str(data),
        MRS_ASSIST_API_KEYS=f"{NURSE_KEY}=nurse1:reviewer,{DOCTOR_KEY}=doc1:physician",
        HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", ANONYMIZED_TELEMETRY="False",
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "uvicorn", "mrs_assist.api.asgi:app", "--host", "127.0.0.1", "--port", str(port)]
    with running_server(argv, probe=f"{url}/healthz", log_path=data / "server.log", env=env, cwd=data):
        yield url


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, through Playwright's bundled driver."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the `playwright` package is missing: pip install -e '.[test]' (never `playwright install`)")
    executable = _chromium()
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    """Save a screenshot of the page under a numbered name; returns the function."""
    folder = Path(os.environ.get("MRS_ASSIST_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {folder}")
    counter = iter(range(1, 100))

    def shot(page, name: str, *, full_page: bool = False) -> Path:
        path = folder / f"{next(counter):02d}-{name}.png"
        if full_page:  # from the top, so the sticky tab bar is drawn where it belongs
            page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return shot


def assert_accessible(page, view: str) -> None:
    """axe-core on the page as it is now: no WCAG 2 A/AA violation (names the rules and nodes)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa"]}})
    violations = results.response["violations"]
    assert results.response["passes"], f"{view}: axe-core checked nothing"
    assert not violations, f"{view}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}" for v in violations
    )


class Watch:
    """What a page did that it must not: requests beyond the server, dialogs, script errors."""

    def __init__(self, page, base: str) -> None:
        self.foreign: list[str] = []
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        origin = urlsplit(base).netloc

        def route(request_route):
            url = request_route.request.url
            if urlsplit(url).scheme in ("data", "blob") or urlsplit(url).netloc == origin:
                request_route.continue_()
            else:
                self.foreign.append(url)
                request_route.abort()

        def dialog(d):
            self.dialogs.append(d.message)
            d.dismiss()

        page.route("**/*", route)
        page.on("dialog", dialog)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def check(self) -> None:
        assert not self.foreign, f"the page fetched from elsewhere: {self.foreign}"
        assert not self.dialogs, f"a dialog fired: {self.dialogs}"
        assert not self.errors, f"script errors: {self.errors}"


@pytest.fixture
def page(browser, server):
    """A fresh 1366×768 tab on the workbench, with its Watch as `page.watch`."""
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)  # the machine is shared: a busy moment is not a failure
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    tab.watch = Watch(tab, server)
    tab.goto(server + "/")
    tab.wait_for_selector("html[data-ready='true']")
    yield tab
    context.close()


def use_key(page, key: str) -> None:
    """Enter an API key in the header form (the page keeps it in sessionStorage)."""
    from playwright.sync_api import expect

    page.fill("#api-key", key)
    page.click("#key-form button[type=submit]")
    expect(page.locator("#key-status")).to_have_text("key in use (this tab only)")
    expect(page.locator("#case-policy option[value='nia-brain-mrs']")).to_have_count(1)


def check_case(page, notes: str, policy: str, age: str, *, member: tuple[str, str] | None = None) -> None:
    """Fill the Case form and submit it; returns once the determination is shown."""
    from playwright.sync_api import expect

    page.click("#tab-case")
    if not page.locator("#case-request").evaluate("d => d.open"):
        page.click("#case-request > summary")
    page.fill("#case-notes", notes)
    page.select_option("#case-policy", policy)
    page.fill("#case-age", age)
    if member:
        page.fill("#case-member-name", member[0])
        page.fill("#case-member-id", member[1])
    page.click("#case-submit")
    expect(page.locator("#case-status")).to_contain_text("Determination ready", timeout=30_000)
    expect(page.locator("#case-result")).to_be_visible()


def post_case(server: str, notes: str):
    """A cohere-mrs case (age 58, with its letter) created through the API as the nurse; the response."""
    created = httpx.post(
        server + "/v1/determinations", headers={"X-API-Key": NURSE_KEY}, timeout=60,
        json={"policy_id": "cohere-mrs", "cpt_codes": ["76390"], "clinical_notes": notes,
              "patient": {"age_years": 58}, "letter": True},
    )
    assert created.status_code == 201, created.text
    return created


def test_page_and_assets_are_served_with_a_strict_policy(server):
    home = httpx.get(server + "/")
    assert home.status_code == 200 and home.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in home.headers["content-security-policy"]
    assert httpx.get(server + "/static/app.js").headers["content-type"].startswith("text/javascript")
    assert httpx.get(server + "/static/app.css").headers["content-type"].startswith("text/css")
    missing = httpx.get(server + "/static/..%2Fapp.py")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_ask_shows_an_answer_and_opens_a_cited_clause(page, shots):
    from playwright.sync_api import expect

    expect(page.locator("#global-error")).to_contain_text("An API key is needed")
    expect(page.locator("#panel-list")).to_be_visible()  # the page opens on the case list
    shots(page, "no-key-asks-for-one")
    use_key(page, NURSE_KEY)
    page.click("#tab-ask")
    page.fill("#ask-question", "Is MRS covered to distinguish tumor recurrence from radiation necrosis?")
    page.click("#ask-submit")
    expect(page.locator("#ask-result")).to_be_visible(timeout=30_000)
    expect(page.locator("#ask-citations li").first).to_be_visible()
    shots(page, "ask-answer")
    assert_accessible(page, "ask")

    first = page.locator("#ask-citations .clause-ref").first
    clause_id = first.inner_text()
    first.click()
    dialog = page.locator("#clause-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#clause-id")).to_have_text(clause_id)
    assert page.locator("#clause-section").inner_text().strip()
    assert len(page.locator("#clause-text").inner_text()) > 20
    shots(page, "ask-clause-dialog")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.watch.check()


def test_case_meets_criteria_with_highlighted_evidence(page, shots):
    from playwright.sync_api import expect

    use_key(page, NURSE_KEY)
    check_case(page, RECURRENCE_NOTES, "nia-brain-mrs", "58", member=("Pat Doe", "M-0001"))
    expect(page.locator("#case-rec")).to_have_attribute("data-recommendation", "meets_criteria")
    expect(page.locator("#case-rec")).to_contain_text("Meets criteria")
    expect(page.locator("#case-draft-banner")).to_be_hidden()
    marks = page.locator("#case-documents .notes-view mark")
    assert marks.count() >= 2
    assert "GBM" in marks.all_inner_texts()
    # The highlighted view is the notes, verbatim.
    assert page.locator("#case-documents .notes-view").inner_text() == RECURRENCE_NOTES
    # Beside each highlight: the section and the modifiers that decided it (issue 12).
    why = page.locator("#case-evidence .ev-why").all_inner_texts()
    assert any("negated (No)" in t for t in why), why
    whys = [m.get_attribute("data-why") or "" for m in marks.all()]
    assert any("mri_unsafe_implant = " in t and "negated (No)" in t for t in whys), whys
    # The reason of a highlight is reachable by keyboard (focus) and touch (tap), not a hover tooltip.
    implant = next(m for m in marks.all() if "mri_unsafe_implant" in (m.get_attribute("data-why") or ""))
    implant.focus()
    expect(page.locator("#case-documents .mark-why")).to_contain_text("mri_unsafe_implant = false")
    met = page.locator("#case-tree li[data-value='true'] .st-yes").first
    expect(met).to_contain_text("met")
    # A node's clause opens with its verbatim text (carried by the record's citations).
    page.locator("#case-tree li[data-fact='tumor_recurrence_vs_treatment_effect'] .clause-ref").first.click()
    expect(page.locator("#clause-id")).to_have_text("nia-brain-mrs#indications.1")
    assert page.locator("#clause-text").inner_text().strip()
    page.click("#clause-close")
    expect(page.locator("#clause-dialog")).to_be_hidden()
    shots(page, "case-meets-criteria")
    shots(page, "case-meets-criteria-full", full_page=True)
    assert_accessible(page, "case (meets criteria)")
    page.watch.check()


def test_denial_override_letter_sign_and_pdf(page, shots, tmp_path):
    from playwright.sync_api import expect

    use_key(page, NURSE_KEY)
    check_case(page, EPILEPSY_NOTES, "nia-brain-mrs", "34")
    expect(page.locator("#case-rec")).to_have_attribute("data-recommendation", "does_not_meet_criteria")
    expect(page.locator("#case-draft-banner")).to_have_text("DRAFT — requires physician review")
    expect(page.locator("#case-why")).to_contain_text("Why:")
    expect(page.locator("#case-invest")).to_contain_text("nia-brain-mrs#")
    shots(page, "denial-draft", full_page=True)
    assert_accessible(page, "case (denial draft)")

    # Override: the order form also asks for spine MRS, outside this brain guideline's scope.
    target = page.locator("#case-tree li[data-fact='non_brain_mrs_requested']")
    scope = page.locator("#case-tree li[data-node='scope']")
    expect(target).to_have_attribute("data-value", "false")
    expect(scope).to_have_attribute("data-value", "true")
    page.select_option("#override-fact", "non_brain_mrs_requested")
    page.check("#override-form input[value='true']")
    page.click("#override-submit")  # no reason: the form refuses, nothing is sent
    assert page.locator("#override-reason").evaluate("e => e.validity.valueMissing")
    page.fill("#override-reason", "   ")
    page.click("#override-submit")
    expect(page.locator("#override-status")).to_have_text("A reason is required.")
    expect(page.locator("#case-overrides")).to_have_text("No override yet.")
    page.fill("#override-reason", "The order form also requests MRS of the cervical spine.")
    page.click("#override-submit")
    expect(page.locator("#override-status")).to_contain_text("Override applied")
    expect(target).to_have_attribute("data-value", "true")
    expect(target.locator(".st").first).to_contain_text("applies")
    expect(scope).to_have_attribute("data-value", "false")
    expect(page.locator("#case-overrides li")).to_have_count(1)
    expect(page.locator("#case-overrides")).to_contain_text("cervical spine")
    expect(page.locator("#case-rec")).to_have_attribute("data-recommendation", "does_not_meet_criteria")
    shots(page, "override-applied", full_page=True)

    # Edit the letter and save it.
    text = page.locator("#letter-text")
    from support.fhir import fill_placeholders  # a letter still showing a placeholder is not signed

    edited = fill_placeholders(text.input_value()) + "\n\nReviewer note: the order form was reviewed with the notes.\n"
    text.fill(edited)
    page.click("#letter-save")
    expect(page.locator("#letter-status")).to_contain_text("Letter saved")
    assert "order form was reviewed" in text.input_value()
    page.locator("#letter-title").scroll_into_view_if_needed()
    shots(page, "letter-saved")

    # A later override redrafts the letter, but never silently drops the saved edits (issue 21):
    # they stay in view beside the new draft and can be put back.
    expect(page.locator("#letter-kept")).to_be_hidden()
    page.select_option("#override-fact", "non_brain_mrs_requested")
    page.check("#override-form input[value='false']")
    page.fill("#override-reason", "Rechecked the order form: brain MRS only.")
    page.click("#override-submit")
    expect(page.locator("#override-status")).to_contain_text("your edited letter is kept")
    expect(page.locator("#letter-kept")).to_be_visible()
    expect(page.locator("#letter-kept-text")).to_contain_text("order form was reviewed")
    assert "order form was reviewed" not in text.input_value()  # the editor holds the new outcome's draft
    shots(page, "override-keeps-letter-edits")
    assert_accessible(page, "letter edits kept after an override")
    page.click("#letter-restore")
    assert "order form was reviewed" in text.input_value()
    page.click("#letter-save")
    expect(page.locator("#letter-status")).to_contain_text("Letter saved")

    # A nurse may not sign a denial: the page shows the server's 403 plainly.
    assert page.locator("#case-sign").is_disabled()  # not before the attestation
    page.check("#case-attest")
    page.click("#case-sign")
    error = page.locator("#sign-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("A physician must sign this.")
    expect(error).to_contain_text(re.compile("only a physician may sign", re.IGNORECASE))
    expect(page.locator("#case-meta")).to_contain_text("draft")
    shots(page, "sign-refused-for-nurse")

    use_key(page, DOCTOR_KEY)
    page.click("#case-sign")
    expect(page.locator("#sign-status")).to_have_text("Signed by doc1.")
    expect(page.locator("#case-history li[data-action='sign']")).to_contain_text("doc1 (physician)")
    expect(page.locator("#sign-error")).to_be_hidden()
    expect(page.locator("#case-draft-banner")).to_be_hidden()
    expect(page.locator("#case-meta")).to_contain_text("signed")
    assert page.locator("#case-sign").is_disabled() and page.locator("#override-submit").is_disabled()
    shots(page, "signed-by-physician")

    with page.expect_download() as info:
        page.click("#case-pdf")
    pdf = tmp_path / "letter.pdf"
    info.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    assert info.value.suggested_filename.endswith(".pdf")
    page.watch.check()


def test_case_list_opens_a_case_and_compare_shows_the_matrix(page, shots, server):
    from playwright.sync_api import expect

    use_key(page, NURSE_KEY)
    created = post_case(server, RECURRENCE_NOTES)
    page.click("#tab-list")
    unfiltered = re.compile(r"^\d+ cases?\.$")
    expect(page.locator("#list-status-msg")).to_have_text(unfiltered)
    page.select_option("#list-policy", "cohere-mrs")
    page.click("#list-refresh")
    expect(page.locator("#list-status-msg")).to_contain_text("(policy id cohere-mrs)")
    expect(page.locator(f"#list-body tr[data-id='{created.json()['id']}']")).to_be_visible()
    assert set(page.locator("#list-body tr[data-id] td:nth-child(3)").all_inner_texts()) == {"cohere-mrs"}
    # The decision clock: a new standard request has about 7 days left (CMS-0057-F).
    due = page.locator(f"#list-body tr[data-id='{created.json()['id']}'] td:nth-child(6)")
    expect(due).to_have_text(re.compile(r"^6 d 23 h left \(standard\)$"))
    page.select_option("#list-policy", "")
    page.click("#list-refresh")
    expect(page.locator("#list-status-msg")).to_have_text(unfiltered)
    shots(page, "case-list")

    page.locator(f"#list-body tr[data-id='{created.json()['id']}'] button").click()
    expect(page.locator("#panel-case")).to_be_visible()
    expect(page.locator("#case-meta")).to_contain_text(created.json()["id"])
    # A stored case comes with its documents (issue 21), highlighted as at intake.
    expect(page.locator("#case-documents .notes-view")).to_have_text(RECURRENCE_NOTES)
    expect(page.locator("#notes-missing")).to_be_hidden()
    shots(page, "case-opened-from-list")

    page.click("#tab-compare")
    expect(page.locator("#compare-body tr").first).to_be_visible()
    assert page.locator("#compare-head th").count() == 5  # indication + four policies
    expect(page.locator("#compare-body")).to_contain_text("covered if")
    expect(page.locator("#compare-incons li").first).to_be_visible()
    shots(page, "compare-matrix")
    assert_accessible(page, "compare")
    page.locator("#compare-incons").scroll_into_view_if_needed()
    shots(page, "compare-inconsistencies")

    # The tabs are reachable and switchable by keyboard.
    page.focus("#tab-compare")
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#tab-ask")).to_be_focused()
    expect(page.locator("#panel-ask")).to_be_visible()
    page.keyboard.press("Home")
    expect(page.locator("#panel-list")).to_be_visible()
    page.watch.check()


def test_untrusted_notes_are_shown_as_text(page, shots):
    from playwright.sync_api import expect

    use_key(page, NURSE_KEY)
    check_case(page, HOSTILE_NOTES, "nia-brain-mrs", "61")
    view = page.locator("#case-documents .notes-view")
    assert view.inner_text() == HOSTILE_NOTES
    expect(view).to_contain_text("<img src=x onerror=alert(1)>")
    assert page.locator("img").count() == 0
    assert page.locator("#case-documents .notes-view script, #case-documents .notes-view *:not(mark)").count() == 0
    page.wait_for_timeout(300)  # give an injected handler the chance to fire
    shots(page, "hostile-notes-as-text")
    page.watch.check()


PEND_NOTES = "45 y/o F with a brain lesion of unclear significance on MRI. MRS requested to characterize the lesion."
PDF_LINES = [
    "Referral: 58 y/o M with glioblastoma s/p resection and radiation 2023. No pacemaker.",
    "New enhancing lesion on MRI, equivocal for recurrence versus radiation necrosis.",
    "MRS requested to differentiate recurrence from radiation necrosis.",
]
SCAN_LINES = [
    "34 y/o F with intractable epilepsy, failed 3 AEDs.",
    "MRS requested for presurgical localization of the",
    "seizure focus before temporal lobectomy.",
]


def intake(page, *, notes: str = "", files: list[dict] | None = None, member: tuple[str, str], urgency: str = "standard",
           policy: str = "nia-brain-mrs") -> str:
    """Fill the Case form (notes and/or documents) and submit it; returns the new case's id."""
    from playwright.sync_api import expect

    page.click("#tab-case")
    if not page.locator("#case-request").evaluate("d => d.open"):
        page.click("#case-request > summary")
    page.fill("#case-notes", notes)
    page.set_input_files("#case-files", files or [])
    page.select_option("#case-policy", policy)
    page.select_option("#case-urgency", urgency)
    page.fill("#case-member-name", member[0])
    page.fill("#case-member-id", member[1])
    before = page.evaluate("location.hash")
    page.click("#case-submit")
    page.wait_for_function("h => location.hash !== h && location.hash.startsWith('#/case/')", arg=before, timeout=60_000)
    expect(page.locator("#case-status")).to_contain_text("Determination ready")
    return page.evaluate("location.hash").rsplit("/", 1)[1]


def _fill_letter(page) -> None:
    """Fill the letter's placeholders (plan, member, deadline …) and save, as a signer would."""
    from playwright.sync_api import expect
    from support.fhir import fill_placeholders

    text = page.locator("#letter-text")
    text.fill(fill_placeholders(text.input_value()))
    page.click("#letter-save")
    expect(page.locator("#letter-status")).to_contain_text("Letter saved")


def test_a_reviewers_day(page, shots, server):
    """Issue 21's day: intake of a text note, a text PDF and a scanned page; the queue; a pend
    signed by the nurse; a denial routed to and signed by a physician; the case reopened with its
    documents and history. axe-core on each view."""
    from playwright.sync_api import expect

    from mrs_assist.intake.samples import scan_png, text_pdf

    use_key(page, NURSE_KEY)
    # Intake checks run before anything is sent: nothing to read, a CPT the policy does not govern.
    page.click("#tab-case")
    page.fill("#case-notes", "")
    page.click("#case-submit")
    expect(page.locator("#case-error")).to_contain_text("nothing to review")
    page.fill("#case-notes", PEND_NOTES)
    page.fill("#case-cpt", "70551")
    page.click("#case-submit")
    expect(page.locator("#case-error")).to_contain_text("CPT 70551 is not a code")
    expect(page.locator("#case-status")).to_have_text("Nothing was sent: fix the request first.")
    shots(page, "intake-check-refuses")
    page.fill("#case-cpt", "76390")

    pend = intake(page, notes=PEND_NOTES, member=("Ana Lopez", "M-1001"), policy="cohere-mrs")
    expect(page.locator("#case-rec")).to_have_attribute("data-recommendation", "needs_more_information")
    expect(page.locator("#case-draft-banner")).to_be_hidden()  # a pend the nurse may sign
    # What is missing, as the letter asks it: the lesion's questions; the rest folded away (issue 21 item 6).
    expect(page.locator("#case-missing .ask-group strong")).to_have_text(re.compile("^About what the records describe: a brain mass"))
    expect(page.locator("#case-missing .ask-group li[data-fact='tumor_vs_nontumor_lesion']")).to_be_visible()
    expect(page.locator("#case-missing .ask-others li[data-fact='leukodystrophy']")).to_be_hidden()
    shots(page, "intake-text-note", full_page=True)

    pdf = {"name": "referral.pdf", "mimeType": "application/pdf", "buffer": text_pdf([PDF_LINES])}
    approved = intake(page, files=[pdf], member=("Bo Chen", "M-1002"))
    expect(page.locator("#case-rec")).to_have_attribute("data-recommendation", "meets_criteria")
    expect(page.locator("#case-documents h4")).to_have_text(["referral.pdf · page 1 · PDF text"])
    # The indication that decided it is met; its siblings under the ANY did not apply (issue 21).
    expect(page.locator("#case-tree li[data-fact='tumor_recurrence_vs_treatment_effect'] .st").first).to_contain_text("met")
    expect(page.locator("#case-tree li[data-fact='tumor_vs_nontumor_lesion'] .st").first).to_contain_text("not applicable")
    shots(page, "intake-text-pdf", full_page=True)

    scan = {"name": "fax-page.png", "mimeType": "image/png", "buffer": scan_png(SCAN_LINES)}
    denial = intake(page, files=[scan], member=("Cy Diaz", "M-1003"), urgency="expedited")
    expect(page.locator("#case-rec")).to_have_attribute("data-recommendation", "does_not_meet_criteria")
    expect(page.locator("#case-documents h4")).to_have_text(["fax-page.png · page 1 · read by OCR"])
    expect(page.locator("#case-documents .notes-view")).to_contain_text("temporal lobectomy")
    expect(page.locator("#case-evidence")).to_contain_text("(fax-page.png, page 1)")
    shots(page, "intake-scanned-page", full_page=True)
    assert_accessible(page, "case with a scanned document")

    # The queue: undecided first, soonest due first — the expedited denial on top.
    page.click("#tab-list")
    page.select_option("#list-sort", "due")
    page.fill("#list-q", "M-100")
    page.click("#list-refresh")
    expect(page.locator("#list-status-msg")).to_contain_text("3 cases")
    expect(page.locator("#list-body tr[data-id]")).to_have_count(3)
    assert page.locator("#list-body tr[data-id]").first.get_attribute("data-id") == denial
    expect(page.locator("#list-body tr[data-id]").first.locator("td").nth(4)).to_have_text("expedited")
    expect(page.locator("#list-page")).to_have_text("Cases 1–3 of 3")
    shots(page, "queue")
    assert_accessible(page, "queue")

    # A pend signed by the nurse, from the queue.
    page.locator(f"#list-body tr[data-id='{pend}'] button").click()
    expect(page).to_have_url(re.compile(f"#/case/{pend}$"))
    expect(page.locator("#case-status")).to_contain_text("Case opened")
    # The pend asks the likely indication's questions only (a lesion: the tumour ones, issue 21 item 6).
    expect(page.locator("#letter-preview")).to_contain_text("tumor versus a non-tumor process")
    expect(page.locator("#letter-preview")).not_to_contain_text("leukodystrophy")
    page.click("#case-assign-me")
    expect(page.locator("#work-status")).to_have_text("Assigned to nurse1.")
    _fill_letter(page)  # a letter still showing a placeholder is not signed (issue 19)
    page.check("#case-attest")
    page.click("#case-sign")
    expect(page.locator("#sign-status")).to_have_text("Signed by nurse1.")
    # The released letter shows its electronic-signature line (name, role, time) in the preview.
    expect(page.locator("#letter-preview")).to_contain_text(re.compile(r"Electronically signed by nurse1 \(reviewer\) on \d{4}-"))
    shots(page, "pend-signed-by-nurse", full_page=True)

    # The denial: the nurse routes it to the physician queue; the physician signs it there.
    page.goto(f"{server}/#/case/{denial}")
    expect(page.locator("#case-meta")).to_contain_text(denial)
    page.click("#case-route")
    expect(page.locator("#work-status")).to_have_text("Routed to the physician queue.")
    use_key(page, DOCTOR_KEY)
    page.click("#tab-list")
    page.fill("#list-q", "")
    page.select_option("#list-queue", "physician")
    page.click("#list-refresh")
    expect(page.locator("#list-body tr[data-id]")).to_have_count(1)
    shots(page, "physician-queue")
    page.locator(f"#list-body tr[data-id='{denial}'] button").click()
    expect(page.locator("#case-status")).to_contain_text("Case opened")
    expect(page.locator("#case-draft-banner")).to_have_text("DRAFT — requires physician review")
    _fill_letter(page)
    page.check("#case-attest")
    page.click("#case-sign")
    expect(page.locator("#sign-status")).to_have_text("Signed by doc1.")
    shots(page, "denial-signed-by-physician", full_page=True)

    # Reopened after a reload: the URL keeps the case; documents and history are there.
    page.reload()
    page.wait_for_selector("html[data-ready='true']")
    expect(page.locator("#case-meta")).to_contain_text(denial)
    expect(page.locator("#case-documents .notes-view")).to_contain_text("temporal lobectomy")
    history = page.locator("#case-history li")
    expect(history.first).to_contain_text("nurse1 (reviewer): Case created")
    expect(page.locator("#case-history li[data-action='assign']")).to_contain_text("routed to the physician queue")
    expect(page.locator("#case-history li[data-action='sign']")).to_contain_text("doc1 (physician): Signed")
    page.locator("#history-title").scroll_into_view_if_needed()
    shots(page, "reopened-with-documents-and-history", full_page=True)
    assert_accessible(page, "reopened case with history")
    assert approved
    page.watch.check()


def test_a_case_is_extended_and_voided_and_the_report_downloads(page, shots, server, tmp_path):
    """Issue 21 items 4, 8, 9 in the browser: filter by outcome, a tab's URL survives a reload, the
    clock extension and the void (kept, marked, out of the queue), the CMS-0057-F report button."""
    from playwright.sync_api import expect

    use_key(page, NURSE_KEY)
    created = httpx.post(
        server + "/v1/determinations", headers={"X-API-Key": NURSE_KEY}, timeout=60,
        json={"policy_id": "cohere-mrs", "cpt_codes": ["76390"], "clinical_notes": PEND_NOTES,
              "member": {"name": "Di Evans", "id": "M-2001"}, "letter": True},
    ).json()
    page.click("#tab-list")
    page.select_option("#list-outcome", "needs_more_information")
    page.fill("#list-q", "M-2001")
    page.click("#list-refresh")
    expect(page.locator("#list-body tr[data-id]")).to_have_count(1)
    page.reload()  # the list tab keeps its URL
    page.wait_for_selector("html[data-ready='true']")
    expect(page).to_have_url(re.compile(r"#/list$"))
    expect(page.locator("#panel-list")).to_be_visible()

    with page.expect_download() as info:
        page.click("#list-report")
    report = tmp_path / "report.html"
    info.value.save_as(report)
    assert "CMS-0057-F" in report.read_text(encoding="utf-8")
    expect(page.locator("#list-status-msg")).to_have_text("CMS-0057-F report downloaded.")

    page.goto(f"{server}/#/case/{created['id']}")
    expect(page.locator("#case-status")).to_contain_text("Case opened")
    page.fill("#extend-reason", "Waiting for the outside MRI report.")
    page.click("#extend-submit")
    expect(page.locator("#work-status")).to_have_text("Timeframe extended by 14 days.")
    page.fill("#void-reason", "Entered under the wrong member.")
    page.click("#void-submit")
    expect(page.locator("#case-void-banner")).to_contain_text("VOIDED by nurse1")
    expect(page.locator("#case-history li[data-action='void']")).to_be_visible()
    assert page.locator("#case-sign").is_disabled() and page.locator("#override-submit").is_disabled()
    shots(page, "voided-case")
    assert_accessible(page, "voided case")
    page.click("#tab-list")
    page.fill("#list-q", "M-2001")
    page.select_option("#list-outcome", "")
    page.click("#list-refresh")
    expect(page.locator("#list-body tr[data-id]")).to_have_count(0)  # out of the queue, still stored
    assert httpx.get(f"{server}/v1/determinations/{created['id']}", headers={"X-API-Key": NURSE_KEY}).json()["voided_at"]
    page.watch.check()



def test_a_packets_disagreements_are_shown_with_both_sides(page, shots, server):
    """Issue 18: a fact the notes contest is shown contested (both sides quoted, why it is unknown);
    a fact a later document corrects names the document that governs and the superseded words."""
    from playwright.sync_api import expect

    use_key(page, NURSE_KEY)
    created = post_case(server, PACKET)
    page.goto(f"{server}/#/case/{created.json()['id']}")
    expect(page.locator("#case-status")).to_contain_text("Case opened")
    box = page.locator("#case-contested-box")
    expect(box).to_be_visible()

    implant = page.locator("#case-contested li[data-fact='mri_unsafe_implant']")
    expect(implant).to_have_attribute("data-kind", "contested")
    expect(implant.locator(".pill-contested")).to_have_text("contested")
    expect(implant).to_contain_text("= unknown")
    expect(implant.locator(".contested-why")).to_contain_text("contested and left unknown")
    expect(implant.locator(".side-read q")).to_have_text(["pacemaker"])
    expect(implant.locator(".side-contrary")).to_contain_text("negated (No)")
    expect(implant.locator(".side-contrary .ev-doc")).to_have_text(" (DOCUMENT B - NEUROLOGY NOTE 02/20/2025, 2025-02-20)")

    tumor = page.locator("#case-contested li[data-fact='known_brain_tumor']")
    expect(tumor).to_have_attribute("data-kind", "superseded")
    expect(tumor.locator(".contested-why")).to_contain_text(
        "the most recent document governs: DOCUMENT B - NEUROLOGY NOTE 02/20/2025, 2025-02-20")
    expect(tumor.locator(".side-read")).to_contain_text("governs")
    expect(tumor.locator(".side-read q")).to_have_text(["brain tumor"])
    expect(tumor.locator(".side-superseded q").first).to_have_text("known brain tumor")
    expect(tumor.locator(".side-superseded .ev-doc").first).to_have_text(" (DOCUMENT A - ORDER FORM 01/10/2025, 2025-01-10)")

    # Both sides are marked in the notes too; a superseded span says so on focus.
    contra = page.locator("#case-documents mark.ev-contra[data-why*='known_brain_tumor read otherwise here']")
    assert "known brain tumor" in "".join(contra.all_inner_texts())
    contra.first.focus()
    expect(page.locator("#case-documents .mark-why")).to_contain_text(
        re.compile(r"known_brain_tumor read otherwise here \(.*superseded by a later document"))
    box.scroll_into_view_if_needed()
    shots(page, "packet-disagreements")
    assert_accessible(page, "case with contested facts")
    page.watch.check()
