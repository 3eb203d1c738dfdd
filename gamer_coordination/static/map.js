// The GAMER live map: provinces (and districts when zoomed) as the base layer, incidents by
// type and priority (clustered), duplicate clusters and eCall tracks, units by status, a
// filtered list beside the map and each incident's timeline, all live over the scoped
// dashboard stream. Every value is put in the DOM as text (see common.js).
/* global L */
import {
  api,
  page,
  el,
  fill,
  GamerStream,
  PRIORITY_LABEL,
  family,
  symbolFor,
  timeOf,
  describeEvent,
  authParams,
} from "./common.js";

const config = await api("/api/v1/gamer/config");
const scope = page.get("province") ? Number(page.get("province")) : config.province;

const $ = (id) => document.getElementById(id);
fill($("scope"), config.sees_country && !scope ? "Türkiye" : `il ${String(scope).padStart(2, "0")}`);
$("console-link").setAttribute("href", `/console?${authParams()}`);

// -- the map and its base layers ---------------------------------------------------------------

const map = L.map("map", { minZoom: 4, maxZoom: 18, zoomSnap: 0.5 }).setView([39.0, 35.2], 6);
if (config.tile_url) {
  L.tileLayer(config.tile_url, { attribution: config.tile_attribution || "" }).addTo(map);
}
map.attributionControl.addAttribution("Boundaries: OCHA/HDX COD-AB Türkiye, © HGK");

const provinceSummaries = new Map();
const provinceLayers = new Map();

function provinceStyle(plate) {
  const summary = provinceSummaries.get(plate);
  const open = summary ? summary.open : 0;
  const spike = summary && summary.spike;
  const shade = Math.min(open, 40) / 40;
  return {
    color: spike ? "#b3261e" : "#7a8796",
    weight: spike ? 3 : 1,
    fillColor: open ? `rgb(${255}, ${Math.round(236 - 120 * shade)}, ${Math.round(200 - 160 * shade)})` : "#f4f1ea",
    fillOpacity: config.tile_url ? 0.25 : 0.9,
  };
}

const provinces = L.geoJSON(null, {
  style: (feature) => provinceStyle(feature.properties.plate),
  onEachFeature: (feature, layer) => {
    provinceLayers.set(feature.properties.plate, layer);
    layer.bindTooltip(el("span", {}, `${feature.properties.name} (${feature.properties.plate})`), {
      sticky: true,
    });
  },
}).addTo(map);

const districts = L.geoJSON(null, {
  style: () => ({ color: "#9aa5b1", weight: 0.6, fill: false, dashArray: "2 3" }),
  onEachFeature: (feature, layer) => {
    layer.bindTooltip(el("span", {}, feature.properties.name || ""), { sticky: true });
  },
});
const loadedDistricts = new Set();

async function loadProvinces() {
  const response = await fetch("/api/v1/boundaries/provinces");
  if (!response.ok) return;
  provinces.addData(await response.json());
  if (scope && provinceLayers.has(scope)) map.fitBounds(provinceLayers.get(scope).getBounds());
  else if (provinces.getLayers().length) map.fitBounds(provinces.getBounds());
}

async function loadDistrictsInView() {
  if (map.getZoom() < 8) {
    map.removeLayer(districts);
    return;
  }
  districts.addTo(map);
  const view = map.getBounds();
  for (const [plate, layer] of provinceLayers) {
    if (loadedDistricts.has(plate) || !view.intersects(layer.getBounds())) continue;
    loadedDistricts.add(plate);
    const response = await fetch(`/api/v1/boundaries/districts?province=${plate}`);
    if (response.ok) districts.addData(await response.json());
  }
}
map.on("zoomend moveend", loadDistrictsInView);
loadProvinces();

// -- incidents, units ------------------------------------------------------------------------

const clusters = L.markerClusterGroup({ maxClusterRadius: 45, chunkedLoading: true });
clusters.addTo(map);
const overlays = L.layerGroup().addTo(map);
const unitsLayer = L.layerGroup().addTo(map);
const incidents = new Map();
const markers = new Map();
const extras = new Map();
const units = new Map();
const unitMarkers = new Map();
let selected = null;

function matches(incident) {
  const status = $("f-status").value;
  const priority = $("f-priority").value;
  const agency = $("f-agency").value;
  const type = $("f-type").value.trim().toLowerCase();
  if (status === "open" && !incident.open) return false;
  if (priority && String(incident.priority) !== priority) return false;
  if (agency && !incident.agencies.includes(agency)) return false;
  if (type && !(incident.incident_type || "unclassified").toLowerCase().includes(type)) return false;
  return true;
}

function incidentIcon(incident) {
  const inner = el("span", { "data-incident-id": incident.incident_id }, symbolFor(incident.incident_type));
  const box = el("div", {}, inner);
  if (incident.calls > 1) box.append(el("b", { class: "calls" }, incident.calls));
  const classes = [`inc-icon`, `p${incident.priority}`, `f-${family(incident.incident_type)}`];
  if (!incident.open) classes.push("concluded");
  return L.divIcon({ className: classes.join(" "), html: box, iconSize: [26, 26] });
}

function drawExtras(incident) {
  const previous = extras.get(incident.incident_id);
  if (previous) overlays.removeLayer(previous);
  extras.delete(incident.incident_id);
  if (!matches(incident) || !incident.location) return;
  const group = L.layerGroup();
  const here = [incident.location.lat, incident.location.lon];
  for (const position of incident.call_positions || []) {
    L.polyline([here, position], { color: "#1d232b", weight: 1.5, dashArray: "4 4" }).addTo(group);
    L.circleMarker(position, { radius: 4, color: "#1d232b", weight: 1, fillOpacity: 0.6 }).addTo(group);
  }
  if ((incident.track || []).length > 1) {
    L.polyline(incident.track, { color: "#6a1b9a", weight: 3, className: "ecall-track" }).addTo(group);
    for (const point of incident.track) {
      L.circleMarker(point, { radius: 3, color: "#6a1b9a", weight: 1, fillOpacity: 1 }).addTo(group);
    }
  }
  if (group.getLayers().length) {
    group.addTo(overlays);
    extras.set(incident.incident_id, group);
  }
}

function upsertIncident(id, incident) {
  const marker = markers.get(id);
  if (marker) {
    clusters.removeLayer(marker);
    markers.delete(id);
  }
  if (incident === null) {
    incidents.delete(id);
    const previous = extras.get(id);
    if (previous) overlays.removeLayer(previous);
    extras.delete(id);
    return;
  }
  incidents.set(id, incident);
  if (incident.location && matches(incident)) {
    const created = L.marker([incident.location.lat, incident.location.lon], {
      icon: incidentIcon(incident),
      title: `${incident.incident_type || "unclassified"} · ${PRIORITY_LABEL[incident.priority]}`,
      keyboard: true,
    });
    created.on("click", () => select(id));
    clusters.addLayer(created);
    markers.set(id, created);
  }
  drawExtras(incident);
}

function upsertUnit(id, unit) {
  const marker = unitMarkers.get(id);
  if (marker) unitsLayer.removeLayer(marker);
  unitMarkers.delete(id);
  if (unit === null) {
    units.delete(id);
    return;
  }
  units.set(id, unit);
  if (unit.location) {
    const icon = L.divIcon({
      className: `unit-icon ${unit.status}`,
      html: el("span", { "data-unit-id": unit.unit_id }, unit.kind.slice(0, 1).toUpperCase()),
      iconSize: [16, 16],
    });
    const created = L.marker([unit.location.lat, unit.location.lon], { icon, title: unit.callsign });
    created.bindTooltip(el("span", {}, `${unit.callsign} · ${unit.status}`));
    created.addTo(unitsLayer);
    unitMarkers.set(id, created);
  }
}

// -- the list, the summary and the detail ----------------------------------------------------

function renderList() {
  const shown = [...incidents.values()].filter(matches);
  shown.sort(
    (a, b) =>
      Number(b.open) - Number(a.open) ||
      a.priority - b.priority ||
      String(b.opened_at).localeCompare(String(a.opened_at)),
  );
  fill($("count"), `${shown.length} incident(s)`);
  const rows = shown.slice(0, 500).map((incident) =>
    el(
      "li",
      {
        dataset: { incidentId: incident.incident_id },
        class: incident.incident_id === selected ? "selected" : null,
        tabindex: 0,
        onclick: () => select(incident.incident_id),
        onkeydown: (event) => event.key === "Enter" && select(incident.incident_id),
      },
      el("span", { class: `badge p${incident.priority}` }, `P${incident.priority}`),
      el("span", { class: "what" }, `${symbolFor(incident.incident_type || incident.suggested_type)} ${incident.incident_type || `unclassified${incident.suggested_type ? ` (${incident.suggested_type}?)` : ""}`}`),
      el("span", { class: "chip" }, incident.status),
      el(
        "span",
        { class: "where" },
        [incident.province, incident.district].filter(Boolean).join(" / ") || "not placed",
        incident.calls > 1 ? ` · ${incident.calls} calls` : "",
        incident.agencies.length ? ` · ${incident.agencies.join(", ")}` : "",
      ),
      el("span", { class: "when" }, `opened ${timeOf(incident.opened_at)}`),
    ),
  );
  fill($("incidents"), rows);
  const unitRows = [...units.values()]
    .sort((a, b) => a.callsign.localeCompare(b.callsign))
    .slice(0, 300)
    .map((unit) =>
      el(
        "li",
        { dataset: { unitId: unit.unit_id } },
        el("span", {}, `${unit.callsign} (${unit.agency})`),
        el("span", { class: `unit-status ${unit.status}` }, unit.status),
      ),
    );
  fill($("units"), unitRows);
}

function renderSummary(summary) {
  if (!summary) return;
  const p90 = summary.answer && summary.answer.p90_s;
  fill(
    $("summary"),
    `${summary.open} open · ${summary.calls} calls · answer p90 ${p90 === null ? "–" : `${p90} s`}`,
  );
  const spikes = summary.spikes || (summary.spike ? [summary.spike] : []);
  fill(
    $("spikes"),
    spikes.map((spike) =>
      el("span", { class: "spike", title: `baseline ${spike.baseline}/bucket` }, `spike il ${spike.plate}: ${spike.count} calls (×${spike.ratio})`),
    ),
  );
}

async function select(id) {
  selected = id;
  renderList();
  const marker = markers.get(id);
  if (marker) clusters.zoomToShowLayer(marker, () => {});
  await showDetail(id);
}

async function showDetail(id) {
  let body;
  try {
    body = await api(`/api/v1/incidents/${encodeURIComponent(id)}`);
  } catch (error) {
    fill($("detail-title"), `incident unavailable (${error.message})`);
    return;
  }
  if (selected !== id) return;
  if ($("detail").hidden) {
    $("detail").hidden = false;
    map.invalidateSize();
  }
  fill($("detail-title"), `${symbolFor(body.incident_type)} ${body.incident_type || "unclassified"}`);
  const facts = [
    ["id", body.incident_id],
    ["status", body.status],
    ["priority", PRIORITY_LABEL[body.priority]],
    ["agencies", body.agencies.join(", ") || "–"],
    ["where", body.placement ? [body.placement.province, body.placement.district].filter(Boolean).join(" / ") : "not placed"],
    ["calls", body.calls.length],
    ["units", body.units.join(", ") || "–"],
    ["opened", new Date(body.opened_at).toLocaleString("tr-TR")],
  ];
  fill($("detail-facts"), facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  fill(
    $("timeline"),
    (body.timeline || []).map((entry) =>
      el(
        "li",
        { dataset: { seq: entry.seq, eventType: entry.event_type } },
        el("time", { datetime: entry.occurred_at }, timeOf(entry.occurred_at)),
        describeEvent(entry),
      ),
    ),
  );
}

$("detail-close").addEventListener("click", () => {
  $("detail").hidden = true;
  map.invalidateSize();
  selected = null;
  renderList();
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") $("detail-close").click();
  if (event.key === "/" && document.activeElement.tagName !== "INPUT") {
    event.preventDefault();
    $("f-type").focus();
  }
});
$("filters").addEventListener("input", () => {
  for (const [id, incident] of incidents) upsertIncident(id, incident);
  renderList();
});

// -- live ------------------------------------------------------------------------------------

let scheduled = false;
function scheduleRender() {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    renderList();
  });
}

const stream = new GamerStream({
  province: scope || null,
  onStatus: (status) => {
    const node = $("status");
    node.dataset.status = status;
    fill(node, status);
  },
  onChange: (changed) => {
    for (const [key, value] of changed) {
      const [kind, name] = key.split("/");
      if (kind === "incident") {
        upsertIncident(name, value);
        if (name === selected && value) showDetail(name);
      } else if (kind === "unit") upsertUnit(name, value);
      else if (kind === "province") {
        const plate = Number(name);
        if (value) provinceSummaries.set(plate, value);
        else provinceSummaries.delete(plate);
        const layer = provinceLayers.get(plate);
        if (layer) layer.setStyle(provinceStyle(plate));
        if (plate === scope) renderSummary(value);
      } else if (kind === "national" && !scope) renderSummary(value);
    }
    scheduleRender();
    document.body.dataset.seq = String(stream.seq);
  },
});
stream.start();
window.ng112 = { map, stream, incidents, markers, select };
