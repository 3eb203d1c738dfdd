// Shared helpers of the ng112 pages: credentials, API calls, safe DOM building, the streams.
//
// Safety rule: nothing a caller (or any API value) wrote is ever parsed as HTML. Elements are
// built with el(), text goes through textContent, attributes through setAttribute.

const AUTH_KEYS = ["role", "province", "agency", "token"];

/** The page's own query: who we are (development principal or bearer token). */
export const page = new URLSearchParams(window.location.search);

/** Query parameters that carry the principal, appended to every API and stream URL. */
export function authParams(extra = {}) {
  const params = new URLSearchParams();
  for (const key of AUTH_KEYS) {
    const value = page.get(key);
    if (value) params.set(key, value);
  }
  for (const [key, value] of Object.entries(extra)) {
    if (value !== null && value !== undefined && value !== "") params.set(key, String(value));
  }
  return params;
}

function headers(json) {
  const result = {};
  if (json) result["Content-Type"] = "application/json";
  const token = page.get("token");
  if (token) result["Authorization"] = `Bearer ${token}`;
  return result;
}

/** An API error with the server's machine-readable code. */
export class ApiError extends Error {
  constructor(status, code, reason) {
    super(reason || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

/** GET or POST JSON against the API, with the page's principal. */
export async function api(path, { method = "GET", body, query = {} } = {}) {
  const url = `${path}?${authParams(query)}`;
  const response = await fetch(url, {
    method,
    headers: headers(body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = (data && data.error) || {};
    throw new ApiError(response.status, error.code, error.reason);
  }
  return data;
}

/** Does this path exist on the server (for endpoints that other engineers are adding)? */
export async function exists(path, method = "GET") {
  try {
    const response = await fetch(`${path}?${authParams()}`, { method, headers: headers(false) });
    return response.status !== 404 && response.status !== 405;
  } catch {
    return false;
  }
}

/** Build an element: el("td", {class: "x", dataset: {id}}, "text", child, ...). Text is text. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "dataset") {
      for (const [name, item] of Object.entries(value)) node.dataset[name] = String(item);
    } else if (key === "onclick" || key === "oninput" || key === "onchange" || key === "onkeydown") {
      node.addEventListener(key.slice(2), value);
    } else {
      node.setAttribute(key, value === true ? "" : String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Replace a node's children. */
export function fill(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
}

/** A websocket URL on this host with the page's principal. */
export function wsUrl(path, extra = {}) {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${window.location.host}${path}?${authParams(extra)}`;
}

/**
 * The GAMER dashboard stream: a keyed state kept in sync with the server.
 *
 * On a snapshot the state is replaced; on a delta each change is applied (value null removes
 * the key). After a disconnect it reconnects with ?since=<seq>&epoch=<epoch>, so it gets
 * exactly what it missed (or a fresh snapshot when the server restarted).
 */
export class GamerStream {
  constructor({ province, onChange, onStatus }) {
    this.province = province;
    this.onChange = onChange;
    this.onStatus = onStatus || (() => {});
    this.state = new Map();
    this.seq = null;
    this.epoch = null;
    this.retry = 250;
    this.closed = false;
  }

  start() {
    const query = { province: this.province };
    if (this.seq !== null) {
      query.since = this.seq;
      query.epoch = this.epoch;
    }
    const socket = new WebSocket(wsUrl("/api/v1/gamer/stream", query));
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    this.onStatus("connecting");
    socket.onopen = () => {
      this.retry = 250;
      this.onStatus("live");
    };
    socket.onmessage = (event) => {
      const text =
        typeof event.data === "string" ? event.data : new TextDecoder().decode(event.data);
      this.apply(JSON.parse(text));
    };
    socket.onclose = () => {
      if (this.closed) return;
      this.onStatus("reconnecting");
      setTimeout(() => this.start(), this.retry);
      this.retry = Math.min(this.retry * 2, 5000);
    };
  }

  apply(message) {
    const changed = new Map();
    if (message.type === "snapshot") {
      for (const key of this.state.keys()) changed.set(key, null);
      this.state.clear();
    }
    for (const change of message.changes) {
      if (change.value === null) this.state.delete(change.key);
      else this.state.set(change.key, change.value);
      changed.set(change.key, change.value);
    }
    this.seq = message.seq;
    this.epoch = message.epoch;
    this.onChange(changed, message);
  }

  /** Drop the connection (tests and the "reconnect" button use it). */
  drop() {
    if (this.socket) this.socket.close();
  }

  close() {
    this.closed = true;
    if (this.socket) this.socket.close();
  }
}

/** Human labels. */
export const PRIORITY_LABEL = { 1: "P1 immediate", 2: "P2 urgent", 3: "P3 prompt", 4: "P4 routine" };

export function family(incidentType) {
  if (!incidentType) return "unclassified";
  return String(incidentType).split(".")[0];
}

export const FAMILY_SYMBOL = {
  medical: "✚",
  traffic: "⛐",
  fire: "🔥",
  forest: "🌲",
  security: "⛨",
  water: "≋",
  disaster: "⚠",
  unclassified: "?",
};

export function symbolFor(incidentType) {
  return FAMILY_SYMBOL[family(incidentType)] || "•";
}

export function timeOf(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return date.toLocaleTimeString("tr-TR", { hour12: false });
}

/** One timeline entry as a line of text (never HTML). */
export function describeEvent(entry) {
  const d = entry.data || {};
  switch (entry.event_type) {
    case "call_received":
      return `call received (${d.channel}, dialled ${d.dialled})`;
    case "incident_opened":
      return `incident opened, priority ${d.priority}`;
    case "incident_classified":
      return `classified ${d.incident_type}, P${d.priority}, ${(d.agencies || []).join(", ")}`;
    case "incident_status_changed":
      return `${d.previous} → ${d.status}${d.reason ? `: ${d.reason}` : ""}`;
    case "call_status_changed":
      return `call ${d.status}${d.operator ? ` by ${d.operator}` : ""}`;
    case "call_located":
      return `location evidence (${d.evidence && d.evidence.source})`;
    case "call_attached":
      return `call ${d.call_id} attached`;
    case "incident_note_added":
      return `note: ${d.text}`;
    case "unit_dispatched":
      return `unit ${d.unit_id} dispatched`;
    case "unit_status_reported":
      return `unit ${d.unit_id} ${d.status}`;
    default:
      return entry.event_type.replaceAll("_", " ");
  }
}
