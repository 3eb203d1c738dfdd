// The operator console: a call-taker's view (queue, current call with caller data and every
// piece of location evidence on a map, text chat, language desk, classification help,
// create/merge/unfounded) and a dispatcher's view (incidents of my agency, recommended
// units with travel times, dispatch, unit status). Keyboard first (press ? for the keys).
// Everything a caller wrote reaches the DOM through textContent only (see common.js).
/* global L */
import {
  api,
  ApiError,
  page,
  el,
  fill,
  wsUrl,
  authParams,
  PRIORITY_LABEL,
  symbolFor,
  timeOf,
  describeEvent,
} from "./common.js";

const $ = (id) => document.getElementById(id);
const config = await api("/api/v1/gamer/config");
const province = config.province;
const agency = config.agency;
const centre = province ? String(province).padStart(2, "0") : "central";
const operator = page.get("operator") || `op-${config.role}-${centre}`;
const skills = (page.get("skills") || "tr,text").split(",").filter(Boolean);
const isCallTaker = config.takes_calls;
const isDispatcher = config.role === "agency_dispatcher" || config.role === "administrator";

fill($("who"), `${config.role}${province ? ` · il ${centre}` : ""}${agency ? ` · ${agency}` : ""} · ${operator}`);
$("map-link").setAttribute("href", `/map?${authParams()}`);
$("calltaker-tools").hidden = !isCallTaker;
$("dispatcher-tools").hidden = !isDispatcher;
for (const id of ["btn-login", "btn-next", "btn-wrap", "operator-state", "language-pane"]) {
  $(id).hidden = !isCallTaker;
}
$("incidents-title").textContent = isDispatcher && agency ? `open incidents for ${agency}` : "open incidents";
fill($("types"), config.incident_types.map((t) => el("option", { value: t })));
fill(
  $("c-agencies"),
  ["health", "police", "gendarmerie", "fire", "forest", "coast_guard", "afad"].map((a) =>
    el("label", {}, el("input", { type: "checkbox", value: a, name: "agency" }), a),
  ),
);

function toast(message, error = false) {
  const node = $("toast");
  node.className = error ? "toast error" : "toast";
  fill(node, message);
  node.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (node.hidden = true), 3500);
}

async function attempt(label, work) {
  try {
    const result = await work();
    return result;
  } catch (error) {
    const reason = error instanceof ApiError ? `${error.code || error.status}: ${error.message}` : error.message;
    toast(`${label} failed (${reason})`, true);
    return undefined;
  }
}

// -- state -----------------------------------------------------------------------------------

const incidents = new Map();
const units = new Map();
let current = null; // the call the operator holds (call-taking's view of it)
let selected = null; // the incident on screen
let recommendations = [];
let chat = null;

function setOperatorState(state) {
  const node = $("operator-state");
  node.dataset.state = state;
  fill(node, state.replaceAll("_", " "));
}

// -- the evidence map ------------------------------------------------------------------------

const map = L.map("current-map", { zoomControl: true, attributionControl: false }).setView([39, 35], 5);
if (config.tile_url) L.tileLayer(config.tile_url).addTo(map);
const evidenceLayer = L.layerGroup().addTo(map);
fetch("/api/v1/boundaries/provinces")
  .then((r) => (r.ok ? r.json() : null))
  .then((data) => {
    if (data) {
      L.geoJSON(data, { style: { color: "#8a96a3", weight: 1, fillColor: "#f4f1ea", fillOpacity: 0.9 } })
        .addTo(map)
        .bringToBack();
    }
  });

function drawEvidence(call) {
  evidenceLayer.clearLayers();
  const evidence = (call && call.evidence) || [];
  const points = [];
  fill(
    $("evidence"),
    evidence.map((item, index) =>
      el(
        "li",
        { dataset: { source: item.source } },
        `${index + 1}. ${item.source}: ${item.lat.toFixed(5)}, ${item.lon.toFixed(5)}`,
        item.radius_m ? ` ± ${Math.round(item.radius_m)} m` : "",
        item.at ? ` at ${timeOf(item.at)}` : "",
      ),
    ),
  );
  for (const item of evidence) {
    points.push([item.lat, item.lon]);
    if (item.radius_m) {
      L.circle([item.lat, item.lon], { radius: item.radius_m, color: "#4f7cac", weight: 1 }).addTo(evidenceLayer);
    }
    L.circleMarker([item.lat, item.lon], { radius: 4, color: "#4f7cac" })
      .bindTooltip(el("span", {}, item.source))
      .addTo(evidenceLayer);
  }
  if (call && call.location) {
    points.push([call.location.lat, call.location.lon]);
    L.marker([call.location.lat, call.location.lon], { title: "best estimate" }).addTo(evidenceLayer);
  }
  if (points.length) map.fitBounds(L.latLngBounds(points).pad(0.5), { maxZoom: 12 });
}

// -- rendering -------------------------------------------------------------------------------

function visibleIncidents() {
  return [...incidents.values()]
    .filter((i) => !["closed", "cancelled", "merged", "unfounded"].includes(i.status))
    .filter((i) => !(isDispatcher && agency) || isCallTaker || i.agencies.includes(agency))
    .sort((a, b) => a.priority - b.priority || String(a.opened_at).localeCompare(String(b.opened_at)));
}

function renderIncidents() {
  const list = visibleIncidents();
  fill(
    $("incidents"),
    list.map((incident) =>
      el(
        "li",
        {
          dataset: { incidentId: incident.incident_id, status: incident.status },
          class: incident.incident_id === selected ? "selected" : null,
          tabindex: 0,
          onclick: () => selectIncident(incident.incident_id),
        },
        el("span", { class: `badge p${incident.priority}` }, `P${incident.priority}`),
        el(
          "span",
          {},
          `${symbolFor(incident.incident_type)} ${incident.incident_type || "unclassified"} · ${incident.status}`,
          el("br"),
          el(
            "small",
            { class: "help" },
            (incident.placement && [incident.placement.province, incident.placement.district].filter(Boolean).join(" / ")) ||
              "not placed",
            incident.agencies.length ? ` · ${incident.agencies.join(", ")}` : "",
          ),
        ),
      ),
    ),
  );
  const options = list
    .filter((i) => !current || i.incident_id !== current.incident_id)
    .map((incident) => {
      const here = current && current.location;
      const there = incident.location;
      const km =
        here && there ? ` · ${(L.latLng(here.lat, here.lon).distanceTo([there.lat, there.lon]) / 1000).toFixed(1)} km` : "";
      return { incident, km, distance: here && there ? L.latLng(here.lat, here.lon).distanceTo([there.lat, there.lon]) : Infinity };
    })
    .sort((a, b) => a.distance - b.distance)
    .map(({ incident, km }) =>
      el("option", { value: incident.incident_id }, `${incident.incident_type || "unclassified"}${km} · ${incident.incident_id.slice(-6)}`),
    );
  const chosen = $("merge-target").value;
  fill($("merge-target"), options);
  if (chosen) $("merge-target").value = chosen;
}

function renderUnits() {
  const list = [...units.values()]
    .filter((u) => !agency || u.agency === agency)
    .sort((a, b) => a.callsign.localeCompare(b.callsign));
  fill(
    $("units"),
    list.map((unit) =>
      el(
        "li",
        { dataset: { unitId: unit.unit_id, status: unit.status } },
        el("span", {}, `${unit.callsign} (${unit.kind})`),
        el("span", { class: `unit-status ${unit.status}` }, unit.status),
      ),
    ),
  );
}

function renderCurrent() {
  if (!current) {
    fill($("current-title"), "no call");
    fill($("current-facts"));
    fill($("caller-text"));
    drawEvidence(null);
    return;
  }
  fill($("current-title"), `${current.channel} call · ${current.call_id.slice(-8)}`);
  const caller = current.caller || {};
  const facts = [
    ["number", caller.number || "–"],
    ["name", caller.name || "–"],
    ["language", current.language || caller.language || "–"],
    ["dialled", current.dialled || "–"],
    ["channel", current.channel],
    ["waited", `${Math.round(current.waited_s || 0)} s`],
    ["where", current.placement ? [current.placement.province, current.placement.district].filter(Boolean).join(" / ") : "not placed"],
    ["incident", current.incident_id],
  ];
  for (const flag of current.flags || []) facts.push(["flag", `${flag.kind} ×${flag.count}`]);
  fill($("current-facts"), facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", { dataset: { fact: k } }, v)]));
  fill($("caller-text"), current.text || "");
  fill($("language-now"), `language: ${current.language || caller.language || "unknown"}`);
  drawEvidence(current);
}

async function selectIncident(id) {
  selected = id;
  renderIncidents();
  const body = await attempt("loading the incident", () => api(`/api/v1/incidents/${encodeURIComponent(id)}`));
  if (!body || selected !== id) return;
  incidents.set(id, body);
  fill(
    $("timeline"),
    (body.timeline || []).map((entry) =>
      el("li", { dataset: { eventType: entry.event_type } }, el("time", {}, timeOf(entry.occurred_at)), describeEvent(entry)),
    ),
  );
  if (!current || current.incident_id !== id) {
    fill($("current-title"), `${symbolFor(body.incident_type)} ${body.incident_type || "unclassified"} · ${PRIORITY_LABEL[body.priority]}`);
    const where = body.placement ? [body.placement.province, body.placement.district].filter(Boolean).join(" / ") : "not placed";
    const facts = [
      ["status", body.status],
      ["agencies", body.agencies.join(", ") || "–"],
      ["where", where],
      ["calls", body.calls.length],
      ["units", body.units.join(", ") || "–"],
      ["opened", timeOf(body.opened_at)],
    ];
    fill($("current-facts"), facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", { dataset: { fact: k } }, v)]));
    fill($("caller-text"), config.sees_caller_data ? "(select a call to see what the caller said)" : "");
    drawEvidence(body.location ? { evidence: [], location: body.location } : null);
  }
  if (isDispatcher) await loadRecommendations(body);
}

// -- call-taker actions ----------------------------------------------------------------------

async function loginReady() {
  const logged = await attempt("log in", async () => {
    try {
      await api(`/api/v1/operators/${operator}/login`, { method: "POST", body: { centre, skills } });
    } catch (error) {
      if (!(error instanceof ApiError && error.code === "operator_state")) throw error;
    }
    return api(`/api/v1/operators/${operator}/ready`, { method: "POST", body: {} });
  });
  if (logged) setOperatorState(logged.operator.state);
}

async function takeNext() {
  const offered = await attempt("next call", () => api(`/api/v1/operators/${operator}/next`, { method: "POST", body: {} }));
  if (!offered) return;
  if (!offered.call) {
    toast("no call waiting");
    return;
  }
  const answered = await attempt("answer", () => api(`/api/v1/operators/${operator}/answer`, { method: "POST", body: {} }));
  current = (answered && answered.call) || offered.call;
  setOperatorState("busy");
  renderCurrent();
  openChat();
  await suggest();
  await selectIncident(current.incident_id);
}

async function wrapUp() {
  const done = await attempt("wrap up", () => api(`/api/v1/operators/${operator}/wrap-up`, { method: "POST", body: {} }));
  if (!done) return;
  closeChat();
  current = null;
  setOperatorState(done.operator ? done.operator.state : "ready");
  renderCurrent();
  fill($("suggestion"), "–");
}

let suggestion = null;
async function suggest() {
  if (!current) return;
  suggestion = await attempt("classification help", () =>
    api("/api/v1/classify", {
      method: "POST",
      body: {
        text: current.text || null,
        channel: current.channel,
        dialled: current.dialled || null,
        language: current.language && current.language.length <= 3 ? current.language : null,
      },
    }),
  );
  if (!suggestion) return;
  fill(
    $("suggestion"),
    el("strong", { id: "suggested-type" }, `${symbolFor(suggestion.incident_type)} ${suggestion.incident_type}`),
    ` · ${PRIORITY_LABEL[suggestion.priority]} · ${Math.round(suggestion.confidence * 100)}%`,
    el("div", {}, `responders: ${suggestion.responders.join(", ")}`),
    el("ul", { class: "reasons" }, suggestion.reasons.slice(0, 6).map((r) => el("li", {}, r))),
    suggestion.questions.length ? el("div", { class: "reasons" }, `ask: ${suggestion.questions.map((q) => q.text_tr).join(" · ")}`) : null,
  );
}

function useSuggestion() {
  if (!suggestion) return;
  $("c-type").value = suggestion.incident_type;
  $("c-priority").value = String(suggestion.priority);
  const wanted = new Set(suggestion.agencies);
  const ground = current && current.placement && current.placement.ground;
  if (suggestion.responders.includes("security")) wanted.add(ground === "gendarmerie" ? "gendarmerie" : ground === "coast_guard" ? "coast_guard" : "police");
  for (const box of document.querySelectorAll("#c-agencies input")) box.checked = wanted.has(box.value);
}

function caseId() {
  return (current && current.incident_id) || selected;
}

async function classifyIncident(event) {
  if (event) event.preventDefault();
  const id = caseId();
  if (!id) return toast("no call or incident selected", true);
  const agencies = [...document.querySelectorAll("#c-agencies input:checked")].map((b) => b.value);
  const result = await attempt("create incident", () =>
    api(`/api/v1/incidents/${encodeURIComponent(id)}/actions`, {
      method: "POST",
      body: {
        action: "classify",
        incident_type: $("c-type").value.trim(),
        priority: Number($("c-priority").value),
        agencies,
        suggested_type: suggestion ? suggestion.incident_type : null,
      },
    }),
  );
  if (result) {
    incidents.set(id, result.incident);
    toast(`incident ${result.incident.status}`);
    renderIncidents();
    await selectIncident(id);
  }
}

async function mergeIncident() {
  const id = caseId();
  const into = $("merge-target").value;
  if (!id || !into) return toast("choose an incident to merge into", true);
  const result = await attempt("merge", () =>
    api(`/api/v1/incidents/${encodeURIComponent(id)}/actions`, { method: "POST", body: { action: "merge", into } }),
  );
  if (result) {
    toast("merged");
    await selectIncident(into);
  }
}

async function markUnfounded() {
  const reason = $("unfounded-reason").value;
  let result;
  if (current) {
    result = await attempt("unfounded", () =>
      api(`/api/v1/calls/${encodeURIComponent(current.call_id)}/unfounded`, { method: "POST", body: { reason } }),
    );
  } else if (selected) {
    result = await attempt("unfounded", () =>
      api(`/api/v1/incidents/${encodeURIComponent(selected)}/actions`, {
        method: "POST",
        body: { action: "unfounded", unfounded_reason: reason },
      }),
    );
  }
  if (result) toast("marked unfounded");
}

async function flagLanguage() {
  if (!current) return;
  const language = $("language-select").value;
  const result = await attempt("language flag", () =>
    api(`/api/v1/calls/${encodeURIComponent(current.call_id)}/language`, { method: "POST", body: { language, operator } }),
  );
  if (result) {
    current = { ...current, ...result.call };
    renderCurrent();
    toast(language === "foreign" ? "sent to the language desk" : `language ${language}`);
  }
}

// -- text chat -------------------------------------------------------------------------------

function chatLine(message) {
  const mine = message.from === "operator";
  return el(
    "div",
    { class: mine ? "from-operator" : "from-caller", dataset: { messageId: message.id || "" } },
    el("small", { class: "help" }, `${timeOf(message.at)} ${message.from} `),
    el("span", { class: "chat-text" }, message.text),
  );
}

function openChat() {
  closeChat();
  if (!current || (current.channel !== "text" && current.channel !== "sign_video")) {
    $("chat-pane").hidden = true;
    return;
  }
  $("chat-pane").hidden = false;
  fill($("chat"));
  const path = current.channel === "text" ? "/api/v1/text/ws" : "/api/v1/video/ws";
  const socket = new WebSocket(wsUrl(path, { session: current.call_id }));
  chat = { socket, sent: 0 };
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "joined") fill($("chat"), message.transcript.map(chatLine));
    else if (message.type === "message") {
      $("chat").append(chatLine(message));
      socket.send(JSON.stringify({ type: "receipt", id: message.id, status: "read" }));
    } else if (message.type === "closed") $("chat").append(el("div", { class: "help" }, `session closed by ${message.by}`));
    else if (message.type === "error") toast(`chat: ${message.code}`, true);
    $("chat").scrollTop = $("chat").scrollHeight;
  };
  socket.onclose = () => {
    if (chat && chat.socket === socket) $("chat").append(el("div", { class: "help" }, "chat disconnected"));
  };
}

function closeChat() {
  if (chat) {
    const { socket } = chat;
    chat = null;
    socket.close();
  }
}

$("chat-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("chat-input").value;
  if (!chat || !text.trim()) return;
  chat.sent += 1;
  const id = `op-${Date.now().toString(36)}-${chat.sent}`;
  chat.socket.send(JSON.stringify({ type: "message", id, text }));
  $("chat").append(chatLine({ from: "operator", id, text, at: new Date().toISOString() }));
  $("chat-input").value = "";
});

// -- dispatcher ------------------------------------------------------------------------------

async function loadRecommendations(incident) {
  const wanted = agency || incident.agencies[0];
  recommendations = [];
  if (!wanted) {
    fill($("recommendations"), el("li", { class: "help" }, "classify the incident first (no agency yet)"));
    return;
  }
  try {
    const body = await api(`/api/v1/incidents/${encodeURIComponent(incident.incident_id)}/recommendations`, {
      query: { agency: wanted, k: 9 },
    });
    recommendations = body.recommendations;
  } catch (error) {
    const missing = error instanceof ApiError && error.status === 404 && !error.code;
    fill($("recommendations"), el("li", { class: "help" }, missing ? "unit recommendations are not available here" : error.message));
    return;
  }
  fill(
    $("recommendations"),
    recommendations.length
      ? recommendations.map((r, index) =>
          el(
            "li",
            { dataset: { unitId: r.unit_id } },
            el("span", {}, `${index + 1}. ${r.callsign}`),
            el("span", { class: "help" }, `${Math.round(r.travel_time_s / 60)} min · ${(r.distance_m / 1000).toFixed(1)} km · ${r.method}`),
            el("button", { type: "button", onclick: () => dispatchUnit(index) }, "dispatch"),
          ),
        )
      : [el("li", { class: "help" }, `no available ${wanted} unit`)],
  );
}

async function dispatchUnit(index) {
  const recommendation = recommendations[index];
  if (!selected || !recommendation) return toast("no recommended unit there", true);
  const result = await attempt("dispatch", () =>
    api(`/api/v1/incidents/${encodeURIComponent(selected)}/dispatch`, {
      method: "POST",
      body: index === 0 ? { unit_id: recommendation.unit_id } : { unit_id: recommendation.unit_id, override_reason: "dispatcher's choice" },
    }),
  );
  if (result) {
    toast(`${recommendation.callsign} dispatched`);
    await selectIncident(selected);
  }
}

// -- the engine stream -----------------------------------------------------------------------

let seq = null;
let retry = 250;
const pendingIncidents = new Set();
let refreshTimer = null;

function refreshSoon(id) {
  pendingIncidents.add(id);
  if (refreshTimer) return;
  refreshTimer = setTimeout(async () => {
    refreshTimer = null;
    const ids = [...pendingIncidents];
    pendingIncidents.clear();
    for (const incidentId of ids) {
      try {
        incidents.set(incidentId, await api(`/api/v1/incidents/${encodeURIComponent(incidentId)}`));
      } catch {
        incidents.delete(incidentId);
      }
    }
    renderIncidents();
    if (selected && ids.includes(selected)) selectIncident(selected);
  }, 80);
}

function onEvent(message) {
  const data = message.data || {};
  if (data.incident_id) refreshSoon(data.incident_id);
  if (message.event_type === "unit_registered") {
    units.set(data.unit_id, { unit_id: data.unit_id, callsign: data.callsign, kind: data.kind, agency: data.agency, status: "available" });
  } else if (message.event_type === "unit_status_reported" && units.has(data.unit_id)) {
    units.get(data.unit_id).status = data.status;
  } else if (message.event_type === "unit_dispatched" && units.has(data.unit_id)) {
    units.get(data.unit_id).status = "dispatched";
  }
  if (message.event_type.startsWith("unit_")) renderUnits();
  if (current && data.call_id === current.call_id && message.event_type === "call_located") {
    api(`/api/v1/calls/${encodeURIComponent(current.call_id)}`).then((call) => {
      current = { ...current, evidence: call.evidence, location: call.location, placement: call.placement };
      renderCurrent();
    });
  }
  if (message.event_type === "call_received" || message.event_type.startsWith("operator_") || message.event_type.startsWith("call_")) {
    refreshQueueSoon();
  }
}

function connect() {
  const socket = new WebSocket(wsUrl("/api/v1/stream", seq === null ? {} : { since: seq }));
  socket.binaryType = "arraybuffer";
  socket.onopen = () => {
    retry = 250;
    $("status").dataset.status = "live";
    fill($("status"), "live");
  };
  socket.onmessage = (event) => {
    const text = typeof event.data === "string" ? event.data : new TextDecoder().decode(event.data);
    const message = JSON.parse(text);
    if (message.type === "snapshot") {
      incidents.clear();
      for (const incident of message.incidents) incidents.set(incident.incident_id, incident);
      units.clear();
      for (const unit of message.units) units.set(unit.unit_id, unit);
      renderIncidents();
      renderUnits();
    } else if (message.type === "event") onEvent(message);
    else if (message.type === "resync") refreshQueueSoon();
    seq = message.seq;
    document.body.dataset.seq = String(seq);
  };
  socket.onclose = () => {
    $("status").dataset.status = "reconnecting";
    fill($("status"), "reconnecting");
    setTimeout(connect, retry);
    retry = Math.min(retry * 2, 5000);
  };
}

// -- the queue -------------------------------------------------------------------------------

let queueTimer = null;
function refreshQueueSoon() {
  if (!isCallTaker || queueTimer) return;
  queueTimer = setTimeout(async () => {
    queueTimer = null;
    await refreshQueue();
  }, 150);
}

async function refreshQueue() {
  let body;
  try {
    body = await api("/api/v1/queues", { query: { centre, limit: 50 } });
  } catch {
    fill($("queue"), el("li", { class: "help" }, "queues are not available here"));
    return;
  }
  const queue = body.centres[0];
  if (!queue) return;
  fill($("queue-depth"), `queue ${queue.depth} · oldest ${Math.round(queue.oldest_wait_s || 0)} s`);
  fill(
    $("queue"),
    queue.waiting.map((entry) =>
      el(
        "li",
        { dataset: { callId: entry.call_id } },
        el("span", { class: "chip" }, entry.queue_class),
        el("span", {}, `${entry.channel} · ${entry.language || "tr"} · waited ${Math.round(entry.waited_s)} s`, entry.reason ? ` · ${entry.reason}` : ""),
      ),
    ),
  );
}

// -- keyboard --------------------------------------------------------------------------------

function move(step) {
  const list = visibleIncidents();
  if (!list.length) return;
  const index = list.findIndex((i) => i.incident_id === selected);
  const next = list[(index + step + list.length) % list.length];
  selectIncident(next.incident_id);
}

const KEYS = {
  l: () => isCallTaker && loginReady(),
  n: () => isCallTaker && takeNext(),
  w: () => isCallTaker && wrapUp(),
  s: () => useSuggestion(),
  c: () => isCallTaker && classifyIncident(),
  m: () => isCallTaker && mergeIncident(),
  u: () => isCallTaker && markUnfounded(),
  t: () => $("chat-input").focus(),
  d: () => isDispatcher && dispatchUnit(0),
  j: () => move(1),
  k: () => move(-1),
  "?": () => ($("help").open ? $("help").close() : $("help").showModal()),
};

document.addEventListener("keydown", (event) => {
  const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement.tagName);
  if (event.key === "Escape") {
    if (typing) document.activeElement.blur();
    return;
  }
  if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
  const key = event.key.toLowerCase();
  if (isDispatcher && /^[1-9]$/.test(key)) {
    event.preventDefault();
    dispatchUnit(Number(key) - 1);
    return;
  }
  const action = KEYS[key] || KEYS[event.key];
  if (action) {
    event.preventDefault();
    action();
  }
});

$("btn-login").addEventListener("click", loginReady);
$("btn-next").addEventListener("click", takeNext);
$("btn-wrap").addEventListener("click", wrapUp);
$("btn-suggest").addEventListener("click", useSuggestion);
$("classify-form").addEventListener("submit", classifyIncident);
$("btn-merge").addEventListener("click", mergeIncident);
$("btn-unfounded").addEventListener("click", markUnfounded);
$("btn-language").addEventListener("click", flagLanguage);
$("btn-dispatch").addEventListener("click", () => dispatchUnit(0));

connect();
refreshQueue();
renderCurrent();
document.body.dataset.ready = "true";
window.ng112Console = { incidents, units, selectIncident, get current() { return current; } };
