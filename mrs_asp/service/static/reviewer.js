// The reviewer's page: open a case, show its answer, what-if an alternative.
// Plain JavaScript; it calls the service's JSON endpoints as any program would:
//   POST /v1/decisions, GET /v1/decisions/{id}, POST /v1/what-if,
//   GET /v1/library/{name}, GET /v1/questionnaire?decision=ID.
"use strict";

const $ = (sel) => document.querySelector(sel);
const el = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const k of kids) if (k != null) e.append(k);
  return e;
};

// What is on screen: the recorded decision and, during a what-if, its patched copy.
const state = {
  items: [],        // [{decision, answer}] of the input last decided
  record: null,     // GET /v1/decisions/{id} of the item shown
  input: null,      // what was given (a case or a FHIR input)
  isFhir: false,
  whatIf: null,     // {index, case, answer} while an alternative is ticked
};

// ---------------------------------------------------------------- errors, fetch

function showError(message) {
  const p = $("#error");
  p.textContent = message;
  p.hidden = !message;
}

let lastLocation = null;  // the Location of the last answer (a recorded decision)

async function call(method, url, body) {
  const init = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(url, init);
  lastLocation = response.headers.get("Location");
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
  if (!response.ok) {
    const detail = data && (data.detail || data.title);
    throw new Error(detail ? `${response.status}: ${detail}` : `${response.status} ${response.statusText}`);
  }
  return data;
}

// ---------------------------------------------------------------- opening

function looksFhir(doc) {
  return doc && typeof doc === "object" && !Array.isArray(doc) &&
    ("resourceType" in doc || "hookInstance" in doc);
}

async function decideText(text, source) {
  showError("");
  try { JSON.parse(text); } catch (e) {
    showError(`${source}: not JSON: ${e.message}`);
    return;
  }
  try {
    const answered = await call("POST", "/v1/decisions", text);
    // One case: its answer (201). A FHIR input: one item per requested service.
    const items = Array.isArray(answered) ? answered : null;
    if (items) {
      const good = items.filter((i) => i.decision);
      if (!good.length) {
        const p = items.find((i) => i.problem);
        throw new Error(p ? p.problem.detail : "the FHIR input requested no service");
      }
      await showItems(good, 0);
    } else {
      if (!lastLocation) throw new Error("the service did not say where the decision is recorded");
      await showItems([{ decision: lastLocation.split("/").pop(), answer: answered }], 0);
    }
  } catch (e) {
    showError(`${source}: ${e.message}`);
  }
}

async function showItems(items, index) {
  state.items = items;
  const select = $("#item");
  select.replaceChildren(...items.map((it, i) =>
    el("option", { value: String(i), text: `${it.answer.id}: ${words(it.answer.determination)}` })));
  select.value = String(index);
  $("#items").hidden = items.length < 2;
  await showDecision(items[index].decision);
}

async function showDecision(id) {
  const record = await call("GET", `/v1/decisions/${encodeURIComponent(id)}`);
  state.record = record;
  state.input = record.input;
  state.isFhir = record.input_type !== "case" && looksFhir(record.input);
  state.whatIf = null;
  history.replaceState(null, "", `/?decision=${encodeURIComponent(id)}`);
  render();
}

// ---------------------------------------------------------------- rendering

const DETERMINATION = { approved: "Approved", denied: "Denied", not_applicable: "Not applicable" };
const words = (d) => DETERMINATION[d] || d;

function render() {
  const record = state.record;
  const answer = state.whatIf ? state.whatIf.answer : record.answer;
  $("#result").hidden = false;

  const det = $("#determination");
  det.textContent = (answer.determination === "approved" ? "✓ " :
                     answer.determination === "denied" ? "✗ " : "– ") + words(answer.determination);
  $("#verdict").dataset.determination = answer.determination;
  const title = (state.whatIf ? state.whatIf.case : record.case).title;
  $("#case-title").textContent = `${answer.id}${title ? " — " + title : ""}`;

  const rec = $("#record");
  const permalink = `${location.origin}/?decision=${encodeURIComponent(record.id)}`;
  rec.replaceChildren(
    el("dt", { text: "Recorded decision" }), el("dd", {}, el("code", { text: record.id })),
    el("dt", { text: "Recorded at" }), el("dd", { text: record.recorded_at }),
    el("dt", { text: "Knowledge base" }),
    el("dd", {}, el("code", { title: record.kb_fingerprint, text: record.kb_fingerprint.slice(0, 16) }),
       ` (guideline version ${record.guideline_version})`),
    el("dt", { text: "Permalink" }), el("dd", {}, el("a", { href: permalink, id: "permalink", text: permalink })),
  );

  $("#whatif").hidden = !state.whatIf;
  if (state.whatIf) $("#whatif-text").textContent =
    `way ${state.whatIf.index + 1} of what is missing is documented: ${words(answer.determination).toLowerCase()}`;

  renderAdvisories(answer);
  renderTree(answer);
  renderMissing(record.answer);
  renderView();
}

function renderAdvisories(answer) {
  const box = $("#advisories");
  box.hidden = !answer.advisories.length;
  box.replaceChildren(el("strong", { text: "Advisories (the guideline's notes): " }),
    ...answer.advisories.map((a) => {
      const words = document.querySelector(`.node[data-id="${a}"] .words`);
      return el("span", { class: "advisory" }, el("code", { text: a }), " ",
                words ? words.textContent : "");
    }));
}

// Each node's state, in words: explanation status where the explanation has
// the node, else whether it holds.
const STATUS_WORDS = {
  met: "met", not_met: "not met", not_documented: "not documented",
  holds: "holds — denies", blocked: "blocked", not_triggered: "not triggered",
  advisory: "applies", no_advisory: "does not apply", not_reasoned: "not reasoned",
};

function explained(answer) {
  const map = new Map();
  (function walk(n) { map.set(n.criterion, n); n.children.forEach(walk); })(answer.explanation);
  return map;
}

function renderTree(answer) {
  const shown = explained(answer);
  const holding = new Set([...answer.criteria, ...answer.non_indications, ...answer.advisories]);
  const applies = answer.determination !== "not_applicable";
  const nodes = [...document.querySelectorAll(".node")].reverse();  // children before parents
  const met = new Map();
  for (const li of nodes) {
    const id = li.dataset.id, kind = li.dataset.kind;
    const node = shown.get(id);
    let status;
    if (kind === "non_indication") {
      status = !applies ? "not_reasoned" : holding.has(id) ? "holds" : node ? "blocked" : "not_triggered";
    } else if (kind === "advisory") {
      status = holding.has(id) ? "advisory" : "no_advisory";
    } else if (node) {
      status = node.status || (node.holds ? "met" : "not_met");
    } else if (li.dataset.unnamed) {  // an inner node without an id: from its parts
      const parts = [...li.querySelectorAll(":scope > .children > .node")].map((c) => met.get(c.dataset.id));
      status = (li.dataset.combinator === "any" ? parts.some(Boolean) : parts.every(Boolean)) ? "met" : "not_met";
    } else if (id !== "applies" && !applies) {
      status = "not_reasoned";
    } else {
      status = holding.has(id) ? "met" : "not_met";
    }
    met.set(id, status === "met");
    li.dataset.status = status;
    li.classList.toggle("explains", !!node);
    const badge = li.querySelector(":scope > .node-head > .status");
    badge.textContent = STATUS_WORDS[status] + (node ? "" : "");
    badge.dataset.status = status;
    let tag = li.querySelector(":scope > .node-head > .tag");
    if (node && !tag) {
      tag = el("span", { class: "tag in", text: "explains" });
      li.querySelector(":scope > .node-head").append(tag);
    } else if (!node && tag) tag.remove();
    const ev = li.querySelector(":scope > .evidence");
    const pointers = node ? node.evidence : [];
    ev.replaceChildren(...pointers.map((p) => el("li", {}, el("code", { text: p }), " ", describePointer(p))));
    if (node && !pointers.length && node.status === "not_documented") {
      ev.append(el("li", { class: "note", text: "not documented in the case" }));
    }
    ev.hidden = !ev.children.length;
    li.classList.remove("selected");
  }
}

function describePointer(pointer) {
  const value = resolve(viewDocument(), pointer);
  if (value === undefined) return "";
  const text = value && value.resourceType ? `${value.resourceType}/${value.id || ""}` : JSON.stringify(value);
  return el("span", { class: "ev-value", text: text.length > 90 ? text.slice(0, 87) + "…" : text });
}

// ---------------------------------------------------------------- what is missing

const CONTAINER = (op) => op.op === "add" &&
  ((op.path === "/findings" && JSON.stringify(op.value) === "{}") ||
   (op.path === "/imaging" && JSON.stringify(op.value) === "[]"));

function describeOp(op) {
  if (op.path === "/imaging/-" && op.value && typeof op.value === "object") {
    const v = op.value;
    return `an ${v.result || ""} ${v.modality} of the ${v.body_region} dated ${v.date} (appended to imaging)`;
  }
  const field = op.path.replace(/^\//, "").split("/").map((p) => /^\d+$/.test(p) ? `[${p}]` : p)
    .join(".").replace(/\.\[/g, "[");
  return `${field} = ${JSON.stringify(op.value)}`;
}

const sameOp = (a, b) => a.op === b.op && a.path === b.path && JSON.stringify(a.value) === JSON.stringify(b.value);

function renderMissing(answer) {
  const box = $("#missing");
  const body = $("#missing-body");
  box.hidden = answer.determination !== "denied";
  if (box.hidden) return;
  body.replaceChildren();
  if (!answer.missing.length) {
    body.append(el("p", { text: "No documentation can make this request meet the guideline:" }),
      el("ul", {}, ...(answer.why_nothing_missing || []).map((w) =>
        el("li", {}, w.text, " ", ...w.evidence.map((p) => el("code", { text: p }))))));
    renderQuestionnaire(answer);
    return;
  }
  const required = answer.required.filter((op) => !CONTAINER(op));
  if (required.length) {
    body.append(el("h3", { text: "Required in every way" }),
      el("ul", { class: "checklist required" }, ...required.map((op) =>
        el("li", {}, el("span", { class: "box", "aria-hidden": "true", text: "☐" }), " ", describeOp(op)))));
  }
  body.append(el("h3", { text: required.length ? "and one of" : "One of" }));
  const fieldset = el("fieldset", { class: "checklist choices" },
    el("legend", { class: "sr", text: "Tick one way to see its determination (a what-if)" }));
  const choice = (value, label, detail) => {
    const id = `alt-${value}`;
    const input = el("input", { type: "radio", name: "alternative", id, value });
    if ((state.whatIf ? String(state.whatIf.index) : "none") === value) input.checked = true;
    return el("div", { class: "choice" }, input,
      el("label", { for: id }, el("span", { class: "choice-label", text: label }),
         detail ? el("span", { class: "choice-detail", text: detail }) : null));
  };
  answer.missing.forEach((alt, i) => {
    const own = alt.patch.filter((op) => !CONTAINER(op) && !required.some((r) => sameOp(r, op)));
    const label = own.length ? own.map(describeOp).join("; and ") : "the above alone";
    fieldset.append(choice(String(i), `${i + 1}. ${label}`, alt.text));
  });
  fieldset.append(choice("none", "as documented (no what-if)", ""));
  fieldset.addEventListener("change", (e) => tick(e.target.value));
  body.append(fieldset,
    el("p", { class: "note", text: "Ticking a way applies its JSON Patch to a copy of the case and decides it again at once; nothing is recorded." }));
  renderQuestionnaire(answer);
}

function renderQuestionnaire(answer) {
  const p = $("#questionnaire");
  p.replaceChildren();
  if (!answer.missing.length) return;
  if (p.dataset.available === "yes") {
    const url = `/v1/questionnaire?decision=${encodeURIComponent(state.record.id)}`;
    p.append(el("a", { href: url, download: `questionnaire-${state.record.id}.json`, class: "button",
                       id: "questionnaire-link", text: "Download the questionnaire of what is missing (FHIR)" }));
  } else {
    p.append("This service does not serve the questionnaire of what is missing yet; ",
             "the checklist above is what is left to document.");
  }
}

async function tick(value) {
  showError("");
  if (value === "none") { state.whatIf = null; render(); return; }
  const index = Number(value);
  const alt = state.record.answer.missing[index];
  try {
    const result = await call("POST", "/v1/what-if", { decision: state.record.id, patch: alt.patch });
    state.whatIf = { index, case: result.case, answer: result.answer, patch: alt.patch };
    render();
    $("#determination").focus({ preventScroll: true });
  } catch (e) {
    showError(`what-if: ${e.message}`);
  }
}

// ---------------------------------------------------------------- the case view

function viewDocument() {
  if (state.whatIf) return state.whatIf.case;
  return state.isFhir ? state.input : state.record.case;
}

function resolve(doc, pointer) {
  if (pointer === "") return doc;
  let here = doc;
  for (const raw of pointer.split("/").slice(1)) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (here == null || typeof here !== "object" || !(key in here)) return undefined;
    here = here[key];
  }
  return here;
}

const esc = (k) => String(k).replace(/~/g, "~0").replace(/\//g, "~1");

// The JSON, pretty-printed, each member and entry a span carrying its pointer.
function jsonNodes(value, pointer, indent) {
  const pad = "  ".repeat(indent);
  if (value === null || typeof value !== "object") {
    return [el("span", { class: `v ${value === null ? "null" : typeof value}`, text: JSON.stringify(value) })];
  }
  const isArray = Array.isArray(value);
  const keys = isArray ? value.map((_, i) => i) : Object.keys(value);
  if (!keys.length) return [document.createTextNode(isArray ? "[]" : "{}")];
  const out = [document.createTextNode(isArray ? "[\n" : "{\n")];
  keys.forEach((k, i) => {
    const ptr = `${pointer}/${esc(k)}`;
    const member = el("span", { class: "m", "data-ptr": ptr });
    member.append(pad + "  ");
    if (!isArray) member.append(el("span", { class: "k", text: JSON.stringify(k) }), ": ");
    member.append(...jsonNodes(value[k], ptr, indent + 1));
    out.push(member, document.createTextNode((i < keys.length - 1 ? "," : "") + "\n"));
  });
  out.push(document.createTextNode(pad + (isArray ? "]" : "}")));
  return out;
}

function renderView() {
  const doc = viewDocument();
  $("#view-h").textContent = state.whatIf ? "The case, with the what-if applied" :
    state.isFhir ? "The FHIR input, as given" : "The case, as documented";
  $("#view-note").textContent = state.whatIf ?
    "Entries the what-if adds are marked “added”." :
    state.isFhir ? "Evidence points into the FHIR input (JSON Pointers)." :
    "Absent fields are not documented.";
  $("#view").replaceChildren(...jsonNodes(doc, "", 0));
  if (state.whatIf) {
    for (const op of state.whatIf.patch) {
      if (CONTAINER(op)) continue;
      let path = op.path;
      if (path.endsWith("/-")) {
        const list = resolve(doc, path.slice(0, -2));
        path = `${path.slice(0, -2)}/${(list || []).length - 1}`;
      }
      const span = document.querySelector(`#view [data-ptr="${CSS.escape(path)}"]`);
      if (span) span.classList.add("added");
    }
  }
}

function select(li) {
  document.querySelectorAll(".node.selected").forEach((n) => n.classList.remove("selected"));
  document.querySelectorAll("#view .hl").forEach((n) => n.classList.remove("hl"));
  li.classList.add("selected");
  const answer = state.whatIf ? state.whatIf.answer : state.record.answer;
  const node = explained(answer).get(li.dataset.id);
  const pointers = node ? node.evidence : [];
  let first = null;
  for (const p of pointers) {
    const span = document.querySelector(`#view [data-ptr="${CSS.escape(p)}"]`);
    if (span) { span.classList.add("hl"); first = first || span; }
  }
  const note = $("#view-note");
  note.textContent = pointers.length ?
    `Evidence of ${li.dataset.id}: ${pointers.join(", ")} (highlighted).` :
    `${li.dataset.id} cites no evidence in this answer.`;
  if (first) {  // scroll the case view, not the page
    const view = $("#view");
    const top = first.offsetTop;
    if (top < view.scrollTop || top > view.scrollTop + view.clientHeight - 40) view.scrollTop = Math.max(0, top - 40);
  }
}

// ---------------------------------------------------------------- wiring

document.addEventListener("click", (e) => {
  const head = e.target.closest(".node-head");
  if (head && state.record) select(head.closest(".node"));
});

$("#library-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const name = $("#library").value;
  if (name) await openLibrary(name);
});

async function openLibrary(name) {
  showError("");
  try {
    const response = await fetch(`/v1/library/${name.split("/").map(encodeURIComponent).join("/")}`);
    if (!response.ok) throw new Error(`${response.status}: no library case ${name}`);
    await decideText(await response.text(), name);
  } catch (e) { showError(e.message); }
}

$("#paste-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  await decideText($("#paste").value, "pasted JSON");
});

$("#upload").addEventListener("change", async (e) => {
  const file = e.target.files[0];
  if (file) await decideText(await file.text(), file.name);
});

$("#item").addEventListener("change", async (e) => {
  const item = state.items[Number(e.target.value)];
  await showDecision(item.decision);
});

$("#whatif-reset").addEventListener("click", () => { state.whatIf = null; render(); });

// The page's address says what to open: a recorded decision (the permalink),
// a library case, or a case carried in the fragment (a witness of /author).
(async function start() {
  const params = new URLSearchParams(location.search);
  const hash = location.hash.startsWith("#case=") ? decodeURIComponent(location.hash.slice(6)) : null;
  try {
    if (params.get("decision")) {
      await showDecision(params.get("decision"));
    } else if (params.get("library")) {
      $("#library").value = params.get("library");
      await openLibrary(params.get("library"));
    } else if (hash) {
      $("#paste").value = hash;
      await decideText(hash, "the linked case");
    }
  } catch (e) { showError(e.message); }
})();
