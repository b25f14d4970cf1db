// mrs-assist reviewer workbench: plain ES module, no build step, nothing fetched but this server's /v1.
//
// Rule of the page: every string from the server or the user (clinical notes, letters, clause
// text, names) enters the DOM as a text node (textContent / append(string)), never as HTML.
// Notes are untrusted and may contain markup; the server's CSP backs this up.

const KEY_STORAGE = "mrs-assist.apiKey";

const state = {
  policies: [],
  record: null,
  shown: 0, // counts records shown: a case opening that answers after a newer record was shown is dropped
  letterEdited: false, // the current letter is a reviewer's edit (an override redrafts it: keep the edit in view)
  compareLoaded: false,
  list: { offset: 0, limit: 25, total: 0 },
};

const $ = (id) => document.getElementById(id);

/** A new element: attrs are set as attributes (or text/class/on*), children appended as nodes or text. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// --- API ---------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function apiKey() {
  try {
    return sessionStorage.getItem(KEY_STORAGE) || "";
  } catch {
    return "";
  }
}

/** The JSON body of a /v1 call (or the Response when raw); throws ApiError with the server's message. */
async function api(path, { method = "GET", body, raw = false } = {}) {
  const headers = { Accept: raw ? "application/pdf, application/json" : "application/json" };
  const key = apiKey();
  if (key) headers["X-API-Key"] = key;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
    });
  } catch {
    throw new ApiError(0, "network_error", "the server could not be reached");
  }
  if (!response.ok) {
    let code = "http_error";
    let message = `HTTP ${response.status}`;
    try {
      const data = await response.json();
      if (data && data.error) {
        code = data.error.code || code;
        message = data.error.message || message;
      }
    } catch {
      /* not JSON: keep the status line */
    }
    throw new ApiError(response.status, code, message);
  }
  return raw ? response : response.json();
}

const ERROR_TITLES = {
  0: "The server is not answering.",
  401: "An API key is needed.",
  403: "Not allowed for your role.",
  404: "Not found.",
  409: "Already settled.",
  422: "The request was not accepted.",
  503: "The service is not ready.",
};

function showError(box, err) {
  const status = err instanceof ApiError ? err.status : -1;
  let title = ERROR_TITLES[status] || "Something went wrong.";
  if (err instanceof ApiError && err.code === "physician_required") title = "A physician must sign this.";
  if (err instanceof ApiError && err.code === "record_changed") title = "The record changed while you reviewed it.";
  const local = err instanceof ApiError && err.code === "intake_check"; // found on the page: nothing was sent
  if (local) title = "Check the request first.";
  let message = String(err.message || err);
  if (!/[.!?]$/.test(message)) message += ".";
  const parts = [el("strong", {}, title), " ", el("span", { class: "error-message" }, message[0].toUpperCase() + message.slice(1))];
  if (status === 401) parts.push(" ", el("span", {}, "Enter your key in the API key field at the top of the page."));
  if (status === 403 && err.code !== "physician_required") parts.push(" ", el("span", {}, "Use a key whose role may do this."));
  if (status === 403 && err.code === "physician_required")
    parts.push(" ", el("span", {}, "Ask a physician reviewer to sign, or enter a physician's API key."));
  if (err instanceof ApiError && err.code === "record_changed")
    parts.push(" ", el("span", {}, "Open the case again to see the current version, review it, then sign."));
  if (err instanceof ApiError && err.code && !local) parts.push(" ", el("code", { class: "error-code" }, `${status} ${err.code}`));
  box.replaceChildren(...parts);
  box.hidden = false;
  box.scrollIntoView({ block: "nearest" });
}

function clearError(box) {
  box.hidden = true;
  box.replaceChildren();
}

function setStatus(id, text) {
  $(id).textContent = text;
}

/** Run `work` with `button` disabled and `region` marked busy; errors land in `errorBox`. */
async function busy(button, errorBox, work, region) {
  if (errorBox) clearError(errorBox);
  button.disabled = true;
  if (region) region.setAttribute("aria-busy", "true");
  try {
    return await work();
  } catch (err) {
    if (errorBox) showError(errorBox, err);
    else throw err;
    return undefined;
  } finally {
    button.disabled = false;
    if (region) region.removeAttribute("aria-busy");
  }
}

// --- small formatters --------------------------------------------------------------------

const REC = {
  meets_criteria: { icon: "✓", text: "Meets criteria", cls: "rec-meets" },
  does_not_meet_criteria: { icon: "✗", text: "Does not meet criteria", cls: "rec-denial" },
  needs_more_information: { icon: "?", text: "Needs more information", cls: "rec-pend" },
};

function recBadge(recommendation, extraClass = "") {
  const r = REC[recommendation] || { icon: "•", text: recommendation, cls: "" };
  return el(
    "span",
    { class: `badge ${r.cls} ${extraClass}`.trim(), "data-recommendation": recommendation },
    el("span", { "aria-hidden": "true" }, r.icon),
    " ",
    r.text,
  );
}

function valueWord(value) {
  return value === true ? "true" : value === false ? "false" : "unknown";
}

function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
}

// The decision clock (CMS-0057-F: 72 h expedited, 7 days standard): time left, or overdue.
function timeLeft(seconds) {
  const abs = Math.abs(seconds);
  const text = abs >= 86400 ? `${Math.floor(abs / 86400)} d ${Math.floor((abs % 86400) / 3600)} h` : `${Math.floor(abs / 3600)} h ${Math.floor((abs % 3600) / 60)} min`;
  return text;
}

function clockCell(clock) {
  if (!clock) return "—";
  if (clock.decided_at) {
    return el("span", { class: clock.overdue ? "clock clock-late" : "clock" }, clock.overdue ? "decided late" : "decided in time");
  }
  if (clock.overdue) return el("span", { class: "clock clock-overdue", title: `due ${when(clock.due_at)}` }, `OVERDUE by ${timeLeft(clock.seconds_left)}`);
  return el("span", { class: "clock", title: `due ${when(clock.due_at)}` }, `${timeLeft(clock.seconds_left)} left (${clock.urgency})`);
}

function policyName(policyId) {
  const p = state.policies.find((x) => x.policy_id === policyId);
  return p ? `${p.payer} (${p.policy_id})` : policyId;
}

function humanize(word) {
  return String(word || "").replaceAll("_", " ");
}

// --- clause dialog -----------------------------------------------------------------------

function openClause(citation) {
  $("clause-dialog-title").textContent = "Clause";
  $("clause-id").textContent = citation.clause_id;
  $("clause-policy").textContent = policyName(citation.policy_id);
  $("clause-section").textContent = citation.section || "";
  $("clause-text").textContent = citation.text;
  const dialog = $("clause-dialog");
  if (!dialog.open) dialog.showModal();
  $("clause-close").focus();
}

/** A button opening the clause when its text is at hand, else the id as code. */
function clauseRef(clauseId, citations, extraClass = "") {
  const citation = citations && citations.get(clauseId);
  if (!citation) return el("code", { class: `clause-id ${extraClass}`.trim() }, clauseId);
  return el(
    "button",
    {
      type: "button",
      class: `clause-ref ${extraClass}`.trim(),
      "aria-haspopup": "dialog",
      title: "Show the clause's verbatim text",
      onclick: () => openClause(citation),
    },
    clauseId,
  );
}

function citationMap(citations) {
  return new Map((citations || []).map((c) => [c.clause_id, c]));
}

// --- tabs --------------------------------------------------------------------------------

const TABS = ["list", "case", "ask", "compare"];

// Each tab and each case has a URL (#/list, #/case/ID, #/ask, #/compare) that survives a reload.
function setRoute(route) {
  if (location.hash !== route) history.pushState(null, "", route);
}

function routeFromHash() {
  const [, tab, id] = /^#\/(list|case|ask|compare)(?:\/([0-9a-fA-F-]{36}))?$/.exec(location.hash) || [];
  if (tab === "case" && id) openCase(id);
  else selectTab(tab || "list");
}

function selectTab(name, { focus = false } = {}) {
  if (name !== "case" || !state.record) setRoute(`#/${name}`);
  else setRoute(`#/case/${state.record.id}`);
  for (const tab of TABS) {
    const button = $(`tab-${tab}`);
    const selected = tab === name;
    button.setAttribute("aria-selected", String(selected));
    button.tabIndex = selected ? 0 : -1;
    $(`panel-${tab}`).hidden = !selected;
    if (selected && focus) button.focus();
  }
  if (name === "list") loadList();
  if (name === "compare" && !state.compareLoaded) loadCompare();
}

function setUpTabs() {
  for (const tab of TABS) {
    const button = $(`tab-${tab}`);
    button.addEventListener("click", () => selectTab(tab));
    button.addEventListener("keydown", (event) => {
      const i = TABS.indexOf(tab);
      let next = null;
      if (event.key === "ArrowRight") next = TABS[(i + 1) % TABS.length];
      else if (event.key === "ArrowLeft") next = TABS[(i - 1 + TABS.length) % TABS.length];
      else if (event.key === "Home") next = TABS[0];
      else if (event.key === "End") next = TABS[TABS.length - 1];
      if (next) {
        event.preventDefault();
        selectTab(next, { focus: true });
      }
    });
  }
}

// --- API key -----------------------------------------------------------------------------

function describeKey() {
  $("key-status").textContent = apiKey() ? "key in use (this tab only)" : "no key";
}

function setUpKey() {
  $("api-key").value = apiKey();
  describeKey();
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("api-key").value.trim();
    try {
      if (key) sessionStorage.setItem(KEY_STORAGE, key);
      else sessionStorage.removeItem(KEY_STORAGE);
    } catch {
      /* storage disabled: nothing to keep */
    }
    describeKey();
    afterKeyChange();
  });
  $("key-clear").addEventListener("click", () => {
    try {
      sessionStorage.removeItem(KEY_STORAGE);
    } catch {
      /* nothing stored */
    }
    $("api-key").value = "";
    describeKey();
    afterKeyChange();
  });
}

function afterKeyChange() {
  clearError($("global-error"));
  loadPolicies();
  state.compareLoaded = false;
  if (!$("panel-list").hidden) loadList();
  if (!$("panel-compare").hidden) loadCompare();
}

// --- policies ----------------------------------------------------------------------------

function fillSelect(select, options, { keepFirst = false } = {}) {
  const previous = select.value;
  const first = keepFirst ? select.options[0] : null;
  select.replaceChildren(...(first ? [first] : []), ...options.map(([value, label]) => el("option", { value }, label)));
  if ([...select.options].some((o) => o.value === previous)) select.value = previous;
}

async function loadPolicies() {
  try {
    state.policies = await api("v1/policies");
  } catch (err) {
    showError($("global-error"), err);
    return;
  }
  clearError($("global-error"));
  const guidelines = state.policies.filter((p) => p.kind === "guideline");
  const label = (p) => `${p.payer} — ${p.title} (${p.policy_id})`;
  fillSelect($("case-policy"), guidelines.map((p) => [p.policy_id, label(p)]));
  fillSelect($("list-policy"), guidelines.map((p) => [p.policy_id, `${p.payer} (${p.policy_id})`]), { keepFirst: true });
  fillSelect(
    $("ask-policy"),
    state.policies.map((p) => [p.policy_id, `${p.payer}${p.kind === "literature" ? " — literature" : ""} (${p.policy_id})`]),
    { keepFirst: true },
  );
}

// --- 1. Ask ------------------------------------------------------------------------------

const CLAUSE_MARK = /\[([A-Za-z0-9._-]+#[A-Za-z0-9._-]+)\]/g;

/** The answer text with each [clause-id] turned into a button that opens the clause. */
function answerNodes(text, citations) {
  const nodes = [];
  let last = 0;
  for (const match of text.matchAll(CLAUSE_MARK)) {
    nodes.push(text.slice(last, match.index));
    nodes.push("[", clauseRef(match[1], citations, "inline"), "]");
    last = match.index + match[0].length;
  }
  nodes.push(text.slice(last));
  return nodes;
}

function renderAnswer(result) {
  const citations = citationMap(result.citations);
  $("ask-mode").textContent = result.mode === "llm" ? "model-phrased" : "extractive quotes";
  $("ask-answer").replaceChildren(...answerNodes(result.answer || "", citations));
  $("ask-citations").replaceChildren(
    ...result.citations.map((c) =>
      el(
        "li",
        { class: "citation" },
        el("div", { class: "citation-head" }, clauseRef(c.clause_id, citations), " ", el("span", { class: "section" }, c.section)),
        el("p", { class: "excerpt" }, c.text),
      ),
    ),
  );
  if (!result.citations.length) $("ask-citations").append(el("li", { class: "none" }, "No clause cited."));
  $("ask-result").hidden = false;
}

function setUpAsk() {
  $("ask-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const question = $("ask-question").value.trim();
    if (!question) return;
    const body = { question };
    const policy = $("ask-policy").value;
    if (policy) body.policy_ids = [policy];
    const topK = Number.parseInt($("ask-topk").value, 10);
    if (Number.isInteger(topK)) body.top_k = topK;
    setStatus("ask-status", "Searching the guidelines…");
    const result = await busy($("ask-submit"), $("ask-error"), () => api("v1/ask", { method: "POST", body }), $("ask-result"));
    if (result) {
      renderAnswer(result);
      setStatus("ask-status", `Answer with ${result.citations.length} cited clause${result.citations.length === 1 ? "" : "s"}.`);
    } else setStatus("ask-status", "");
  });
}

// --- 2. Case -----------------------------------------------------------------------------

function party(nameId, idId) {
  const name = $(nameId).value.trim();
  const id = $(idId).value.trim();
  if (!name && !id) return undefined;
  return { name: name || null, id: id || null };
}

/** The attached files as the API's documents (base64). */
async function caseDocuments() {
  const files = [...$("case-files").files];
  return Promise.all(
    files.map(
      (file) =>
        new Promise((resolve, reject) => {
          const reader = new FileReader();
          reader.onload = () => resolve({ name: file.name, media_type: mediaType(file), content_base64: String(reader.result).split(",", 2)[1] || "" });
          reader.onerror = () => reject(new ApiError(422, "unreadable_document", `${file.name} could not be read by the browser`));
          reader.readAsDataURL(file);
        }),
    ),
  );
}

function mediaType(file) {
  if (file.type) return file.type;
  const ext = file.name.toLowerCase().split(".").pop();
  return { pdf: "application/pdf", png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", tif: "image/tiff", tiff: "image/tiff" }[ext] || "application/octet-stream";
}

/** Intake checks made before anything is sent or stored: something to read, a CPT code the policy governs. */
function intakeProblems(body, files) {
  const problems = [];
  if (!body.clinical_notes.trim() && !files.length) problems.push("Paste the clinical notes or attach the request's documents: there is nothing to review.");
  const policy = state.policies.find((p) => p.policy_id === body.policy_id);
  if (!body.cpt_codes.length) problems.push("Enter the requested CPT code.");
  else if (policy && policy.cpt_codes && !body.cpt_codes.some((c) => policy.cpt_codes.includes(c.trim().toUpperCase()))) {
    problems.push(`CPT ${body.cpt_codes.join(", ")} is not a code ${policy.payer}'s policy governs (${policy.cpt_codes.join(", ")}): check the code or the policy.`);
  }
  return problems;
}

function caseRequest() {
  const ageText = $("case-age").value.trim();
  const body = {
    policy_id: $("case-policy").value,
    cpt_codes: $("case-cpt").value.split(/[\s,;]+/).filter(Boolean),
    clinical_notes: $("case-notes").value,
    patient: { age_years: ageText === "" ? null : Number(ageText) },
    letter: true,
    urgency: $("case-urgency").value,
  };
  const member = party("case-member-name", "case-member-id");
  const provider = party("case-provider-name", "case-provider-id");
  if (member) body.member = member;
  if (provider) body.provider = provider;
  return body;
}

/** Each node's status word and class: under a NOT, a node "applies" (counts against) or not. */
function nodeStatus(node, negated) {
  const value = node.value;
  if (value === null || value === undefined) return { cls: "unk", icon: "?", word: "unknown" };
  const good = negated ? !value : value;
  const word = negated ? (value ? "applies" : "does not apply") : value ? "met" : "not met";
  return good ? { cls: "yes", icon: "✓", word } : { cls: "no", icon: "✗", word };
}

const LETTER_KIND = {
  approval: "approval letter",
  request_for_information: "request for information",
  adverse_determination_draft: "adverse determination",
};

const KIND_WORD = { all: "ALL", any: "ANY", not: "NOT", cpt: "CPT" };

function treeNode(node, negated, citations, siblingMet = false) {
  // Under an ANY that another branch satisfied, a branch that is false or unknown did not
  // apply to this case: "not applicable", not a red "not met".
  const st = siblingMet && node.value !== true && !negated ? { cls: "na", icon: "–", word: "not applicable" } : nodeStatus(node, negated);
  const line = el(
    "div",
    { class: "node-line" },
    el("span", { class: `st st-${st.cls}` }, el("span", { class: "icon", "aria-hidden": "true" }, st.icon), " ", st.word),
    KIND_WORD[node.kind] ? el("span", { class: "kind" }, KIND_WORD[node.kind]) : null,
    el("span", { class: "label" }, node.label),
    node.fact && node.kind === "fact" ? el("code", { class: "fact" }, node.fact) : null,
    node.kind === "fact" && node.evidence && node.evidence.length
      ? el("button", { type: "button", class: "link-button small", onclick: () => showFactInNotes(node.fact) }, "show in notes")
      : null,
    node.clause_id ? clauseRef(node.clause_id, citations, "small") : null,
    (node.see_also || []).map((id) => [" ", el("span", { class: "see-also" }, "see also "), clauseRef(id, citations, "small")]),
  );
  const item = el(
    "li",
    { class: `node node-${st.cls}`, "data-node": node.id, "data-fact": node.kind === "fact" ? node.fact : null, "data-value": valueWord(node.value) },
    line,
  );
  if (node.evidence && node.evidence.length) {
    item.append(el("ul", { class: "node-evidence" }, node.evidence.map((e) => el("li", {}, el("q", {}, e.text)))));
  }
  if (node.children && node.children.length) {
    const childNegated = node.kind === "not" ? !negated : negated;
    const anyMet = node.kind === "any" && node.value === true && !negated;
    item.append(el("ul", {}, node.children.map((c) => treeNode(c, childNegated, citations, anyMet))));
  }
  return item;
}

function walk(node, out = []) {
  if (!node) return out;
  out.push(node);
  for (const child of node.children || []) walk(child, out);
  return out;
}

/** Where an evidence span sits and what decided its reading: "plan section · negated (no)". */
function evidenceWhy(e) {
  const parts = [];
  if (e.section) parts.push(`${humanize(e.section)} section`);
  for (const m of e.modifiers || []) parts.push(m);
  return parts.join(" · ");
}

/** The document's text as text nodes, each evidence span inside it wrapped in a focusable <mark>
 * (offsets count code points, as Python does; `offset` is where the document starts in the notes). */
function highlightedNotes(notes, facts, offset = 0) {
  const chars = Array.from(notes);
  const spans = [];
  for (const fact of facts) {
    // A contested fact's contrary mentions are marked too: both sides of a disagreement show in the notes.
    const read = [...(fact.evidence || []).map((e) => [e, false]), ...(fact.contrary || []).map((e) => [e, true])];
    for (const [e, contrary] of read) {
      const [start, end] = [e.start - offset, e.end - offset];
      if (Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start < end && end <= chars.length) {
        spans.push({ start, end, fact: fact.name, value: fact.value, contrary, why: evidenceWhy(e) });
      }
    }
  }
  const cuts = [...new Set([0, chars.length, ...spans.flatMap((s) => [s.start, s.end])])].sort((a, b) => a - b);
  const nodes = [];
  for (let i = 0; i < cuts.length - 1; i += 1) {
    const [a, b] = [cuts[i], cuts[i + 1]];
    const text = chars.slice(a, b).join("");
    const covering = spans.filter((s) => s.start <= a && s.end >= b);
    if (!covering.length || !text.trim()) { // a blank stretch between two spans is no highlight (and has no name to give)
      nodes.push(document.createTextNode(text));
      continue;
    }
    const read = covering.filter((s) => !s.contrary);
    const cls = !read.length ? "ev-contra" : read.some((s) => s.value === true) ? "ev-true" : read.some((s) => s.value === false) ? "ev-false" : "ev-unk";
    const names = [...new Set(covering.map((s) => `${s.fact} ${s.contrary ? "read otherwise here" : `= ${valueWord(s.value)}`}${s.why ? ` (${s.why})` : ""}`))].join("; ");
    // The reason is shown on focus or tap (keyboard and touch alike), not in a hover-only tooltip.
    nodes.push(
      el(
        "mark",
        { class: cls, tabindex: "0", "data-why": names, "aria-label": `${text}: ${names}`, "data-facts": [...new Set(covering.map((s) => s.fact))].join(" "), onfocus: showWhy, onclick: showWhy },
        text,
      ),
    );
  }
  return nodes;
}

function showWhy(event) {
  const mark = event.currentTarget;
  const box = mark.closest(".document").querySelector(".mark-why");
  box.textContent = mark.dataset.why;
  box.hidden = false;
}

function documentLabel(d) {
  if (d.method === "typed") return d.name;
  return `${d.name} · page ${d.page} · ${d.method === "ocr" ? "read by OCR" : "PDF text"}`;
}

/** A packet document as the page names it: its header line and date ("DOCUMENT B - NOTE, 2025-02-20"). */
function packetLabel(d) {
  return d ? [d.header || `document ${d.index + 1}`, d.date].filter(Boolean).join(", ") : "";
}

/** One side of a disagreement: each span quoted, with what decided its reading and its document. */
function quotedSpans(spans) {
  return spans.map((e, i) => [
    i ? " · " : "",
    el("q", {}, e.text),
    evidenceWhy(e) ? el("span", { class: "ev-why" }, ` [${evidenceWhy(e)}]`) : "",
    e.document ? el("span", { class: "ev-doc" }, ` (${packetLabel(e.document)})`) : "",
  ]);
}

/** The facts the notes disagree about: both sides quoted, marked contested or superseded, and why. */
function contestedItems(record, labels) {
  return (record.facts || [])
    .filter((f) => f.contrary && f.contrary.length)
    .map((f) => {
      const governing = f.governing_document;
      const older = governing ? f.contrary.filter((e) => !e.document || e.document.index !== governing.index) : [];
      const current = f.contrary.filter((e) => !older.includes(e));
      const kinds = [...(current.length ? ["contested"] : []), ...(older.length ? ["superseded"] : [])];
      const why = [];
      if (current.length) {
        why.push(
          f.value === null
            ? "The notes both state this fact and read it otherwise, so it is contested and left unknown: confirm it with the provider (it neither approves nor denies)."
            : "Other mentions read this fact otherwise.",
        );
      }
      if (older.length) {
        why.push(`The documents disagree; the most recent document governs: ${packetLabel(governing)}. The older mentions are superseded.`);
      }
      const asRead = f.value === null ? "Stated" : `Read ${valueWord(f.value)}${governing ? " (governs)" : ""}`;
      return el(
        "li",
        { class: "contested-fact", "data-fact": f.name, "data-kind": kinds.join(" ") },
        el("code", {}, f.name),
        labels.has(f.name) ? ` (${labels.get(f.name)})` : "",
        " = ",
        el("strong", {}, valueWord(f.value)),
        " ",
        kinds.map((k) => el("span", { class: `pill pill-${k}` }, k)),
        el("p", { class: "contested-why" }, why.join(" ")),
        el(
          "ul",
          { class: "contested-sides" },
          f.evidence.length ? el("li", { class: "side-read" }, el("span", { class: "side-label" }, `${asRead}: `), quotedSpans(f.evidence)) : null,
          current.length ? el("li", { class: "side-contrary" }, el("span", { class: "side-label" }, "Read otherwise: "), quotedSpans(current)) : null,
          older.length ? el("li", { class: "side-superseded" }, el("span", { class: "side-label" }, "Superseded (older document): "), quotedSpans(older)) : null,
        ),
      );
    });
}

/** Which document (page) an evidence span sits in. */
function documentOf(record, e) {
  return (record.documents || []).find((d) => d.start <= e.start && e.end <= d.end);
}

function renderDocuments(record) {
  const box = $("case-documents");
  const docs = record.documents;
  $("notes-missing").hidden = Array.isArray(docs);
  box.replaceChildren(
    ...(docs || []).map((d, i) =>
      el(
        "section",
        { class: "document", "data-document": String(i), "aria-label": documentLabel(d) },
        el("h4", {}, documentLabel(d)),
        el("div", { class: "notes-view", tabindex: "0", "aria-label": `${documentLabel(d)}, evidence highlighted` }, highlightedNotes(d.text, record.facts || [], d.start)),
        el("p", { class: "mark-why", role: "status", hidden: true }),
      ),
    ),
  );
}

/** The first highlight of `fact` in the documents, focused (its reason shows beside it). */
function showFactInNotes(fact) {
  const mark = [...document.querySelectorAll("#case-documents mark")].find((m) => m.dataset.facts.split(" ").includes(fact));
  if (mark) {
    mark.scrollIntoView({ block: "center" });
    mark.focus();
  }
}

/** The deciding criteria in words: the clause-bearing nodes the outcome turned on. */
function whyWords(record) {
  const deciding = new Set((record.trace && record.trace.deciding_clauses) || []);
  if (record.recommendation === "meets_criteria" || !deciding.size) return "";
  const words = [];
  const visit = (node, negated) => {
    if (!node) return;
    if (node.clause_id && deciding.has(node.clause_id) && node.kind !== "all" && node.kind !== "any") {
      const st = nodeStatus(node, negated);
      if (st.cls !== "yes") words.push(`${node.label} — ${st.word}`);
    }
    for (const child of node.children || []) visit(child, node.kind === "not" ? !negated : negated);
  };
  visit(record.trace.root, false);
  // An indication the policy calls investigational decides a denial by itself: name it first.
  const invest = (record.trace.investigational || []).filter((f) => deciding.has(f.clause_id)).map((f) => `${f.label} — experimental/investigational under this policy`);
  return [...new Set([...invest, ...words])].slice(0, 3).join("; ");
}

/** A letter's Markdown as DOM nodes (headings, paragraphs, lists, bold), every string a text node. */
function markdownNodes(markdown) {
  // Backslash escapes (the letters escape Markdown specials in inserted values) read as the character.
  const plain = (text) => text.replace(/\\([\\`*_[\]<>|#+\-.()!])/g, "$1");
  const inline = (text) => text.split(/(\*\*[^*]+\*\*)/).map((part) => (/^\*\*[^*]+\*\*$/.test(part) ? el("strong", {}, plain(part.slice(2, -2))) : plain(part)));
  const nodes = [];
  let list = null;
  for (const block of markdown.split(/\n/)) {
    const line = block.trimEnd();
    const quote = /^>\s?(.*)$/.exec(line);
    if (quote) {
      list = null;
      nodes.push(el("blockquote", {}, inline(quote[1])));
      continue;
    }
    const heading = /^(#{1,4})\s+(.*)$/.exec(line);
    const item = /^\s*[-*]\s+(.*)$/.exec(line);
    if (item) {
      if (!list) nodes.push((list = el("ul")));
      list.append(el("li", {}, inline(item[1])));
      continue;
    }
    list = null;
    if (heading) nodes.push(el(`h${Math.min(6, heading[1].length + 3)}`, {}, inline(heading[2])));
    else if (line.trim()) nodes.push(el("p", {}, inline(line)));
  }
  return nodes;
}

async function loadHistory(id) {
  const list = $("case-history");
  try {
    const events = await api(`v1/determinations/${encodeURIComponent(id)}/history`);
    if (!state.record || state.record.id !== id) return;
    const letterEvents = events.filter((h) => ["create", "correct", "override_fact", "edit_letter"].includes(h.action));
    state.letterEdited = letterEvents.length > 0 && letterEvents[letterEvents.length - 1].action === "edit_letter";
    listOrNone(
      list,
      events.map((h) =>
        el(
          "li",
          { "data-action": h.action },
          el("span", { class: "when" }, when(h.at)),
          " ",
          el("strong", {}, h.actor),
          ` (${h.role}): `,
          h.summary,
          h.letter_diff ? el("details", {}, el("summary", {}, "Letter changes"), el("pre", { class: "diff" }, h.letter_diff)) : null,
        ),
      ),
      "No history.",
    );
  } catch (err) {
    list.replaceChildren(el("li", { class: "none" }, `History unavailable: ${err.message}`));
  }
}

/** The missing information as the pend letter asks it: the likely indication's questions in their
 * groups (trace.asked), then the other open questions, folded, that nothing in the records points at. */
function missingItems(record) {
  const questions = record.missing_information || [];
  const facts = (record.trace && record.trace.missing_facts) || [];
  const groups = (record.trace && record.trace.asked) || [];
  if (!groups.length || facts.length !== questions.length) return questions.map((q) => el("li", {}, q));
  const question = new Map(facts.map((f, i) => [f, questions[i]]));
  const asked = new Set(groups.flatMap((g) => g.facts));
  const items = groups.map((g) =>
    el("li", { class: "ask-group", "data-indication": g.indication || "" }, el("strong", {}, g.heading),
      el("ul", {}, ...g.facts.map((f) => el("li", { "data-fact": f }, question.get(f) || f)))),
  );
  const others = facts.filter((f) => !asked.has(f));
  if (others.length)
    items.push(el("li", { class: "ask-others" }, el("details", {},
      el("summary", {}, `${others.length} other open question${others.length === 1 ? "" : "s"}, not asked: nothing in the records points there`),
      el("ul", {}, ...others.map((f) => el("li", { "data-fact": f }, question.get(f) || f))))));
  return items;
}

function listOrNone(ul, items, none) {
  ul.replaceChildren(...(items.length ? items : [el("li", { class: "none" }, none)]));
}

function renderRecord(record) {
  state.record = record;
  state.shown += 1;
  const citations = citationMap(record.citations);
  const signed = record.status === "signed";
  const trace = record.trace || {};

  // heading and meta
  const badge = recBadge(record.recommendation);
  badge.id = "case-rec";
  $("case-rec").replaceWith(badge);
  $("case-draft-banner").hidden = !(record.recommendation === "does_not_meet_criteria" && !signed);
  const why = whyWords(record);
  $("case-why").hidden = !why;
  $("case-why").textContent = why ? `Why: ${why}.` : "";
  const voided = Boolean(record.voided_at);
  $("case-void-banner").hidden = !voided;
  $("case-void-banner").textContent = voided ? `VOIDED by ${record.voided_by}, ${when(record.voided_at)}: ${record.void_reason}` : "";
  $("case-signed-banner").hidden = !signed;
  $("case-signed-banner").textContent = signed ? `Signed by ${record.signed_by}, ${when(record.signed_at)}` : "";
  const deciding = trace.deciding_clauses || [];
  $("case-deciding").hidden = !deciding.length;
  $("case-deciding-list").replaceChildren(...deciding.map((id) => el("li", {}, clauseRef(id, citations))));
  const member = record.member && (record.member.name || record.member.id);
  const meta = [
    ["Case", el("code", {}, record.id)],
    ...(member ? [["Member", [record.member.name, record.member.id].filter(Boolean).join(" · ")]] : []),
    ...(record.provider && record.provider.name ? [["Provider", record.provider.name]] : []),
    ["Assignee", `${record.assignee || "unassigned"}${record.physician_queue ? " · physician queue" : ""}`],
    ["Policy", `${policyName(record.policy_id)} · version ${record.policy_version}`],
    ["Status", el("span", { class: `status-word status-${record.status}` }, signed ? "signed" : "draft")],
    ["Created", `${when(record.created_at)} by ${record.created_by}`],
  ];
  if (signed) meta.push(["Signed", `${when(record.signed_at)} by ${record.signed_by}`]);
  if (record.clock) {
    meta.push(["Urgency", record.clock.urgency]);
    meta.push(["Decision due", el("span", {}, `${when(record.clock.due_at)} · `, clockCell(record.clock))]);
    if (record.clock.extension_days) meta.push(["Extension", `${record.clock.extension_days} days: ${record.clock.extension_reason}`]);
  } else if (record.letter && record.letter.urgency) meta.push(["Urgency", record.letter.urgency]);
  $("case-meta").replaceChildren(...meta.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));

  // criteria tree
  $("case-tree").replaceChildren(trace.root ? treeNode(trace.root, false, citations) : el("li", { class: "none" }, "No trace."));

  // findings
  listOrNone($("case-missing"), missingItems(record), "Nothing missing.");
  const warn = () => el("span", { "aria-hidden": "true" }, "⚠ ");
  const safety = Array.isArray(trace.safety)
    ? trace.safety.map((f) => el("li", { class: "flag" }, warn(), f.label, " ", clauseRef(f.clause_id, citations, "small")))
    : (record.safety_flags || []).map((text) => el("li", { class: "flag" }, warn(), text));
  listOrNone($("case-safety"), safety, "No safety flag.");
  listOrNone(
    $("case-invest"),
    (trace.investigational || []).map((f) => el("li", {}, f.label, " ", clauseRef(f.clause_id, citations, "small"))),
    "None.",
  );
  listOrNone(
    $("case-notices"),
    (trace.notices || []).map((n) => el("li", {}, el("span", { class: "pill" }, humanize(n.kind)), " ", n.message, " ", clauseRef(n.clause_id, citations, "small"))),
    "None.",
  );

  // facts the notes disagree about (issue 18): both sides, and why the fact is unknown or which document governs
  const factLabels = new Map();
  for (const node of walk(trace.root)) if (node.kind === "fact" && node.fact && !factLabels.has(node.fact)) factLabels.set(node.fact, node.label);
  const contested = contestedItems(record, factLabels);
  $("case-contested-box").hidden = !contested.length;
  $("case-contested").replaceChildren(...contested);

  // documents with evidence
  renderDocuments(record);
  const withEvidence = (record.facts || []).filter((f) => f.evidence && f.evidence.length);
  listOrNone(
    $("case-evidence"),
    withEvidence.map((f) =>
      el(
        "li",
        { class: `ev-item ev-${f.value === true ? "true" : f.value === false ? "false" : "unk"}` },
        el("code", {}, f.name),
        " = ",
        el("strong", {}, valueWord(f.value)),
        ": ",
        f.evidence.map((e, i) => {
          const doc = documentOf(record, e);
          return [
            i ? " · " : "",
            el("q", {}, e.text),
            evidenceWhy(e) ? el("span", { class: "ev-why" }, ` [${evidenceWhy(e)}]`) : "",
            e.document ? el("span", { class: "ev-doc" }, ` (${packetLabel(e.document)})`) : "",
            doc && doc.method !== "typed" ? el("span", { class: "ev-page" }, ` (${doc.name}, page ${doc.page})`) : "",
          ];
        }),
        record.documents ? [" ", el("button", { type: "button", class: "link-button small", onclick: () => showFactInNotes(f.name) }, "show")] : null,
      ),
    ),
    "No evidence found in the notes.",
  );

  // override form: every fact the record or its tree names
  const labels = new Map();
  for (const node of walk(trace.root)) if (node.kind === "fact" && node.fact && !labels.has(node.fact)) labels.set(node.fact, node.label);
  const values = new Map((record.facts || []).map((f) => [f.name, f.value]));
  for (const f of record.facts || []) if (!labels.has(f.name)) labels.set(f.name, humanize(f.name));
  for (const node of walk(trace.root)) if (node.kind === "fact" && node.fact && !values.has(node.fact)) values.set(node.fact, node.value);
  const factSelect = $("override-fact");
  const previous = factSelect.value;
  factSelect.replaceChildren(
    ...[...labels.entries()]
      .sort((a, b) => a[0].localeCompare(b[0]))
      .map(([name, label]) => el("option", { value: name }, `${name} — now ${valueWord(values.get(name) ?? null)} (${label})`)),
  );
  if ([...factSelect.options].some((o) => o.value === previous)) factSelect.value = previous;
  listOrNone(
    $("case-overrides"),
    (record.overrides || []).map((o) =>
      el(
        "li",
        {},
        el("code", {}, o.name),
        `: ${valueWord(o.previous_value)} → ${valueWord(o.value)} by ${o.user} (${o.role}), ${when(o.at)}. `,
        "Reason: ",
        el("q", {}, o.reason),
        ` Recommendation ${humanize(o.recommendation_before)} → ${humanize(o.recommendation_after)}.`,
      ),
    ),
    "No override yet.",
  );

  // letter, sign, PDF
  const letter = record.letter;
  const hasLetter = typeof record.letter_markdown === "string";
  $("letter-kind").textContent = letter ? `${LETTER_KIND[letter.kind] || humanize(letter.kind)} · ${signed ? "signed" : letter.status}` : "no letter";
  $("letter-text").value = hasLetter ? record.letter_markdown : "";
  // Once signed, the preview is the released letter: the text with its electronic-signature line.
  const released = signed && letter && typeof letter.markdown === "string" ? letter.markdown : record.letter_markdown;
  $("letter-preview").replaceChildren(...(hasLetter ? markdownNodes(released) : [el("p", { class: "none" }, "No letter.")]));
  const pdf = $("case-pdf");
  if (hasLetter) {
    pdf.href = `v1/determinations/${encodeURIComponent(record.id)}/letter.pdf`;
    pdf.hidden = false;
  } else {
    pdf.removeAttribute("href");
    pdf.hidden = true;
  }
  // A signed record is immutable (the server answers 409): nothing left to change here.
  const settled = signed || voided;
  for (const form of ["override-form", "extend-form", "void-form"]) for (const control of $(form).elements) control.disabled = settled;
  for (const id of ["letter-save", "case-assign-me", "case-route"]) $(id).disabled = settled || (id === "letter-save" && !hasLetter);
  $("case-attest").checked = false;
  $("case-attest").disabled = settled;
  $("case-sign").disabled = true; // until the signer attests
  $("letter-text").readOnly = settled || !hasLetter;
  $("case-sign").textContent = signed ? `Signed by ${record.signed_by}` : "Sign";
  $("case-link").href = `#/case/${record.id}`;
  setRoute(`#/case/${record.id}`);
  loadHistory(record.id);

  $("case-empty").hidden = true;
  $("case-result").hidden = false;
}

async function openCase(id) {
  selectTab("case");
  setRoute(`#/case/${id}`);
  setStatus("case-status", "Opening the case…");
  const shown = state.shown;
  const record = await busy($("case-submit"), $("case-error"), () => api(`v1/determinations/${encodeURIComponent(id)}`));
  // A write (letter saved, override, assignment) or another case shown meanwhile is newer than this reading.
  if (state.shown !== shown) return;
  if (record) {
    clearCaseMessages();
    renderRecord(record);
    $("case-request").open = false;
    setStatus("case-status", `Case opened: ${humanize(record.recommendation)}.`);
    $("case-title").scrollIntoView({ block: "start" });
  } else setStatus("case-status", "");
}

function clearCaseMessages() {
  for (const id of ["override-status", "letter-status", "sign-status"]) setStatus(id, "");
  $("letter-kept").hidden = true;
  clearError($("sign-error"));
  clearError($("override-error"));
}

/** Fetch `path` with the key and save it through a blob URL under the server's file name (else `fallback`). */
async function saveDownload(path, fallback) {
  const response = await api(path, { raw: true });
  const blob = await response.blob();
  const match = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: match ? match[1] : fallback, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** With a key, the PDF is fetched with the X-API-Key header and saved through a blob URL. */
async function downloadPdf(event) {
  const record = state.record;
  if (!record || !apiKey()) return; // no key: the plain link works
  event.preventDefault();
  clearError($("sign-error"));
  setStatus("sign-status", "Preparing the letter PDF…");
  try {
    await saveDownload(`v1/determinations/${encodeURIComponent(record.id)}/letter.pdf`, `determination-${record.id}.pdf`);
    setStatus("sign-status", "Letter PDF downloaded.");
  } catch (err) {
    showError($("sign-error"), err);
    setStatus("sign-status", "");
  }
}

function setUpCase() {
  $("case-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = caseRequest();
    if (!body.policy_id) {
      showError($("case-error"), new ApiError(422, "invalid_request", "choose a policy (policies load once the server accepts your key)"));
      return;
    }
    const files = [...$("case-files").files];
    const problems = intakeProblems(body, files);
    if (problems.length) {
      showError($("case-error"), new ApiError(422, "intake_check", problems.join(" ")));
      setStatus("case-status", "Nothing was sent: fix the request first.");
      return;
    }
    if (files.length) {
      try {
        body.documents = await caseDocuments();
      } catch (err) {
        showError($("case-error"), err);
        return;
      }
    }
    setStatus("case-status", files.length ? "Reading the documents (OCR for scanned pages) and checking the request…" : "Checking the request against the policy…");
    const record = await busy(
      $("case-submit"),
      $("case-error"),
      () => api("v1/determinations", { method: "POST", body }),
      $("case-result"),
    );
    if (!record) {
      setStatus("case-status", "");
      return;
    }
    clearCaseMessages();
    renderRecord(record);
    $("case-request").open = false;
    setStatus("case-status", `Determination ready: ${humanize(record.recommendation)}.`);
    $("case-title").scrollIntoView({ block: "start" });
  });

  $("override-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const record = state.record;
    if (!record) return;
    const reason = $("override-reason").value.trim();
    if (!reason) {
      setStatus("override-status", "A reason is required.");
      $("override-reason").focus();
      return;
    }
    // A fact override redrafts the letter: the reviewer's edits (saved or still in the editor) are kept in view.
    const editedText = $("letter-text").value;
    const edited = state.letterEdited || editedText !== (record.letter_markdown || "");
    const raw = new FormData($("override-form")).get("value");
    const body = { name: $("override-fact").value, value: raw === "true" ? true : raw === "false" ? false : null, reason };
    const updated = await busy(
      $("override-submit"),
      $("override-error"),
      () => api(`v1/determinations/${encodeURIComponent(record.id)}/facts`, { method: "POST", body }),
      $("case-result"),
    );
    if (!updated) {
      setStatus("override-status", "The override was not applied.");
      return;
    }
    renderRecord(updated);
    $("override-reason").value = "";
    const last = updated.overrides[updated.overrides.length - 1];
    const kept = edited && editedText.trim() && updated.letter_markdown !== editedText;
    if (kept) {
      $("letter-kept-text").textContent = editedText;
      $("letter-kept").hidden = false;
      $("letter-kept").open = true;
      state.letterEdited = false;
    }
    setStatus(
      "override-status",
      (last
        ? `Override applied: ${last.name} = ${valueWord(last.value)}; recommendation ${humanize(last.recommendation_before)} → ${humanize(last.recommendation_after)}.`
        : "Override applied.") + (kept ? " The letter was redrafted for it; your edited letter is kept below the editor and in the history." : ""),
    );
  });

  $("letter-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const record = state.record;
    if (!record) return;
    const markdown = $("letter-text").value;
    if (!markdown.trim()) {
      setStatus("letter-status", "The letter cannot be empty.");
      return;
    }
    const updated = await busy($("letter-save"), $("sign-error"), () =>
      api(`v1/determinations/${encodeURIComponent(record.id)}/letter`, { method: "PUT", body: { markdown } }),
    );
    if (updated) {
      renderRecord(updated);
      state.letterEdited = true;
      setStatus("letter-status", `Letter saved ${new Date().toLocaleTimeString()}.`);
    }
  });

  $("letter-restore").addEventListener("click", () => {
    $("letter-text").value = $("letter-kept-text").textContent;
    $("letter-text").focus();
    setStatus("letter-status", "Your edited letter is back in the editor: save it to keep it.");
  });

  $("case-attest").addEventListener("change", () => {
    const record = state.record;
    $("case-sign").disabled = !record || record.status === "signed" || Boolean(record.voided_at) || !$("case-attest").checked;
  });

  $("case-files").addEventListener("change", () => {
    $("case-files-list").replaceChildren(...[...$("case-files").files].map((f) => el("li", {}, `${f.name} (${Math.max(1, Math.round(f.size / 1024))} KB)`)));
  });

  const work = (button, path, body, message, method = "POST") =>
    busy(button, $("work-error"), () => api(`v1/determinations/${encodeURIComponent(state.record.id)}/${path}`, { method, body })).then((updated) => {
      if (updated) {
        renderRecord(updated);
        setStatus("work-status", message(updated));
      }
      return updated;
    });
  $("case-assign-me").addEventListener("click", () =>
    work($("case-assign-me"), "assignment", { assignee: "me", routed_to: state.record.routed_to }, (r) => `Assigned to ${r.assignee}.`, "PUT"),
  );
  $("case-route").addEventListener("click", () =>
    work($("case-route"), "assignment", { assignee: state.record.assignee, routed_to: "physician" }, () => "Routed to the physician queue.", "PUT"),
  );
  $("extend-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const body = { days: Number($("extend-days").value), reason: $("extend-reason").value.trim() };
    work($("extend-submit"), "extension", body, (r) => `Timeframe extended by ${r.clock.extension_days} days.`);
  });
  $("void-form").addEventListener("submit", (event) => {
    event.preventDefault();
    work($("void-submit"), "void", { reason: $("void-reason").value.trim() }, () => "Case voided: kept in the record, left out of the queue and reports.");
  });

  $("case-sign").addEventListener("click", async () => {
    const record = state.record;
    if (!record) return;
    if (!$("case-attest").checked) {
      setStatus("sign-status", "Tick the attestation first.");
      return;
    }
    setStatus("sign-status", "Signing…");
    const updated = await busy($("case-sign"), $("sign-error"), () =>
      // The hash of the version on screen: if anyone changed the record since, the server
      // answers 409 naming what changed instead of signing text the signer never saw.
      api(`v1/determinations/${encodeURIComponent(record.id)}/sign`, {
        method: "POST",
        body: { review_hash: record.review_hash, attest: true },
      }),
    );
    if (updated) {
      renderRecord(updated);
      setStatus("sign-status", `Signed by ${updated.signed_by}.`);
    } else setStatus("sign-status", "Not signed.");
  });

  $("case-pdf").addEventListener("click", downloadPdf);
}

// --- 3. Case list ------------------------------------------------------------------------

function listParams() {
  const params = new URLSearchParams({ sort: $("list-sort").value, limit: String(state.list.limit), offset: String(state.list.offset) });
  for (const [id, name] of [["list-status", "status"], ["list-policy", "policy_id"], ["list-outcome", "outcome"], ["list-urgency", "urgency"], ["list-overdue", "overdue"]]) {
    if ($(id).value) params.set(name, $(id).value);
  }
  const q = $("list-q").value.trim();
  if (q) params.set("q", q);
  const queue = $("list-queue").value;
  if (queue === "mine") params.set("assignee", "me");
  if (queue === "unassigned") params.set("assignee", "");
  if (queue === "physician") params.set("physician_queue", "true");
  return params;
}

async function loadList() {
  const params = listParams();
  setStatus("list-status-msg", "Loading cases…");
  let total = 0;
  const rows = await busy(
    $("list-refresh"),
    $("list-error"),
    async () => {
      const response = await api(`v1/determinations?${params}`, { raw: true });
      total = Number(response.headers.get("X-Total-Count") || 0);
      return response.json();
    },
    $("list-table"),
  );
  if (!rows) {
    setStatus("list-status-msg", "");
    return;
  }
  state.list.total = total;
  const body = $("list-body");
  body.replaceChildren(
    ...rows.map((r) => {
      const who = r.member_name || r.member_id || "—";
      return el(
        "tr",
        { "data-id": r.id, class: r.clock && r.clock.overdue && r.status === "draft" ? "row-overdue" : null },
        el("td", {}, el("button", { type: "button", class: "link-button", "aria-label": `Open case ${r.id}${r.member_name ? ` for ${r.member_name}` : ""}`, onclick: () => openCase(r.id) }, who)),
        el("td", {}, el("code", { class: "case-id" }, r.id)),
        el("td", {}, r.policy_id),
        el("td", {}, recBadge(r.recommendation, "small")),
        el("td", {}, r.clock ? el("span", { class: `urgency urgency-${r.clock.urgency}` }, r.clock.urgency) : "—"),
        el("td", {}, clockCell(r.clock)),
        el("td", {}, r.assignee || "—", r.physician_queue ? el("span", { class: "pill" }, " physician") : null),
        el("td", {}, el("span", { class: `status-word status-${r.status}` }, r.voided ? "voided" : r.status)),
      );
    }),
  );
  if (!rows.length) body.append(el("tr", {}, el("td", { colspan: "8", class: "none" }, "No case matches.")));
  const first = rows.length ? state.list.offset + 1 : 0;
  const last = state.list.offset + rows.length;
  $("list-page").textContent = `Cases ${first}–${last} of ${total}`;
  $("list-prev").disabled = state.list.offset === 0;
  $("list-next").disabled = last >= total;
  const filters = [...params.entries()].filter(([k]) => !["sort", "limit", "offset"].includes(k)).map(([k, v]) => `${humanize(k)} ${v || "none"}`);
  setStatus("list-status-msg", `${total} case${total === 1 ? "" : "s"}${filters.length ? ` (${filters.join(", ")})` : ""}.`);
}

async function openReport(event) {
  event.preventDefault();
  clearError($("list-error"));
  try {
    const year = new Date().getFullYear();
    await saveDownload(`v1/metrics/cms-0057f?year=${year}&format=html`, `cms-0057f-${year}.html`);
    setStatus("list-status-msg", "CMS-0057-F report downloaded.");
  } catch (err) {
    showError($("list-error"), err);
  }
}

// --- 4. Compare --------------------------------------------------------------------------

const CELL = {
  covered: { icon: "✓", text: "covered" },
  covered_if: { icon: "◐", text: "covered if" },
  investigational: { icon: "⚠", text: "investigational" },
  not_covered: { icon: "✗", text: "not covered" },
};

async function loadCompare() {
  setStatus("compare-status", "Loading the matrix…");
  let data;
  try {
    clearError($("compare-error"));
    data = await api("v1/compare");
  } catch (err) {
    showError($("compare-error"), err);
    setStatus("compare-status", "");
    return;
  }
  state.compareLoaded = true;
  $("compare-head").replaceChildren(
    el(
      "tr",
      {},
      el("th", { scope: "col" }, "Indication"),
      data.policy_ids.map((pid) => {
        const p = state.policies.find((x) => x.policy_id === pid);
        return el("th", { scope: "col" }, p ? p.payer : pid, el("br"), el("code", {}, pid));
      }),
    ),
  );
  $("compare-body").replaceChildren(
    ...data.rows.map((row) =>
      el(
        "tr",
        {},
        el("th", { scope: "row" }, el("span", { class: "row-label" }, row.label), el("code", { class: "fact" }, row.fact)),
        data.policy_ids.map((pid) => {
          const cell = row.cells[pid];
          if (!cell) return el("td", { class: "none" }, "—");
          const c = CELL[cell.status] || { icon: "•", text: humanize(cell.status) };
          return el(
            "td",
            { class: `cell cs-${cell.status}` },
            el("span", { class: `cs cs-${cell.status}` }, el("span", { "aria-hidden": "true" }, c.icon), " ", c.text),
            cell.conditions && cell.conditions.length ? el("ul", { class: "conditions" }, cell.conditions.map((t) => el("li", {}, t))) : null,
            el("div", { class: "clause-ids" }, cell.clause_ids.map((id) => el("code", { class: "clause-id" }, id))),
          );
        }),
      ),
    ),
  );
  listOrNone(
    $("compare-incons"),
    data.inconsistencies.map((i) =>
      el(
        "li",
        {},
        el("span", { class: "pill" }, humanize(i.kind)),
        " ",
        el("strong", {}, policyName(i.policy_id)),
        ": ",
        i.message,
        " ",
        (i.clause_ids || []).map((id) => el("code", { class: "clause-id" }, id)),
        (i.facts || []).length ? [" facts: ", i.facts.map((f) => el("code", { class: "fact" }, f))] : null,
      ),
    ),
    "None found.",
  );
  setStatus("compare-status", `${data.rows.length} indications × ${data.policy_ids.length} policies.`);
}

// --- start -------------------------------------------------------------------------------

function setUpDialog() {
  const dialog = $("clause-dialog");
  $("clause-close").addEventListener("click", () => dialog.close());
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close(); // a click on the backdrop
  });
}

function start() {
  setUpTabs();
  setUpKey();
  setUpDialog();
  setUpAsk();
  setUpCase();
  $("list-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.list.offset = 0;
    loadList();
  });
  $("list-prev").addEventListener("click", () => {
    state.list.offset = Math.max(0, state.list.offset - state.list.limit);
    loadList();
  });
  $("list-next").addEventListener("click", () => {
    state.list.offset += state.list.limit;
    loadList();
  });
  $("list-report").addEventListener("click", openReport);
  window.addEventListener("popstate", routeFromHash);
  loadPolicies();
  routeFromHash();
  document.documentElement.dataset.ready = "true";
}

start();
