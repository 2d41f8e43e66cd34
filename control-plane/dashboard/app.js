// Stream Manager dashboard: signs in with a tenant token, then steers one stream at a time
// through the REST API and follows its live events over a WebSocket.

import { createApi } from "./api.js";
import { EventSocket } from "./events.js";
import { Chart } from "./charts.js";
import { Schematic, cssColor } from "./schematic.js";

const TOKEN_KEY = "sm.token";
const STREAM_KEY = "sm.stream";
const PREVIEW_EVERY_MS = 1000;
const PREVIEW_IDLE_EVERY_MS = 5000;
const MAX_LOG = 100;

const $ = (id) => document.getElementById(id);

const state = {
  token: null,
  streams: [],
  streamId: null,
  stream: null,
  status: null,
  config: null,
  layers: [],
  scenes: [],
  activeSceneId: null,
  sceneId: null,
  keys: [],
  selectedLayerId: null,
  eventCount: 0,
};

const api = createApi({
  token: () => state.token,
  onUnauthorized: (err) => {
    if (state.token) signOut(`Signed out: ${err.message}`);
  },
});

const socket = new EventSocket({
  url: (id) => {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    return `${proto}//${location.host}/streams/${encodeURIComponent(id)}/events?token=${encodeURIComponent(state.token || "")}`;
  },
  onEvent: handleEvent,
  onOpen: (reconnected) => {
    logLine("socket", reconnected ? "reconnected: re-syncing state" : "connected");
    resync();
  },
  onState: showConnection,
});

const charts = {
  fps: new Chart($("chart-fps"), { color: "#4f8cff", minMax: 30 }),
  bitrate: new Chart($("chart-bitrate"), { color: "#30a46c", minMax: 1000, format: kbps }),
  dropped: new Chart($("chart-dropped"), { color: "#f5a524", minMax: 10 }),
  cpu: new Chart($("chart-cpu"), { color: "#e5484d", minMax: 100, format: (v) => `${Math.round(v)}%` }),
};

const schematic = new Schematic($("schematic"), {
  onMove: (layer, position) => patchLayer(layer.id, { position }),
  onResize: (layer, size) => patchLayer(layer.id, { size }),
  onSelect: (id) => {
    state.selectedLayerId = id;
    highlightLayerRow();
  },
});

// ---------------------------------------------------------------- small helpers

/** Builds an element: `h("button", {class: "x", onclick: f}, "text")`. Text is never parsed as HTML. */
function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "value" || k === "checked" || k === "disabled") el[k] = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

function notify(message, kind = "error") {
  const toast = h("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" }, message);
  const close = h("button", { type: "button", class: "ghost small", "aria-label": "Dismiss", onclick: () => toast.remove() }, "×");
  toast.append(close);
  $("toasts").append(toast);
  setTimeout(() => toast.remove(), kind === "error" ? 8000 : 4000);
}

/** Runs `fn` with `button` disabled; API errors become readable messages. */
async function act(button, fn) {
  if (button) button.disabled = true;
  try {
    return await fn();
  } catch (err) {
    notify(err && err.message ? err.message : String(err));
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

function kbps(v) {
  return v >= 1000 ? `${(v / 1000).toFixed(v >= 10000 ? 0 : 1)}M` : `${Math.round(v)}k`;
}

function streamPath(suffix = "") {
  return `/streams/${encodeURIComponent(state.streamId)}${suffix}`;
}

function resolution() {
  const r = state.config && /^(\d+)x(\d+)$/.exec(state.config.STREAM_RESOLUTION || "");
  return r ? { width: Number(r[1]), height: Number(r[2]) } : { width: 1920, height: 1080 };
}

function time(ms) {
  return ms ? new Date(ms).toLocaleString() : "—";
}

/** Two clicks within 3 s: the first arms the button, the second confirms. */
function confirmClick(button, label, fn) {
  if (button.dataset.armed === "true") {
    delete button.dataset.armed;
    button.textContent = label;
    return fn();
  }
  button.dataset.armed = "true";
  button.textContent = "Confirm?";
  setTimeout(() => {
    if (button.dataset.armed === "true") {
      delete button.dataset.armed;
      button.textContent = label;
    }
  }, 3000);
  return undefined;
}

/** The JWT's claims, for showing who is signed in (the server does the checking). */
function claims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "=")));
  } catch {
    return {};
  }
}

// ---------------------------------------------------------------- session

async function signIn(raw, { quiet = false } = {}) {
  const token = raw.trim().replace(/^Bearer\s+/i, "");
  const error = $("signin-error");
  error.hidden = true;
  if (!token) return;
  state.token = token;
  try {
    const list = await api.get("/streams");
    sessionStorage.setItem(TOKEN_KEY, token);
    state.streams = list.streams;
    showApp();
  } catch (err) {
    state.token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    showSignIn();
    if (!quiet || err.status !== 401) {
      error.textContent = err.status === 401 ? `This token was refused: ${err.message}` : err.message;
      error.hidden = false;
    }
  }
}

function signOut(message) {
  state.token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(STREAM_KEY);
  socket.close();
  clearStream();
  state.streams = [];
  showSignIn();
  if (message) {
    $("signin-error").textContent = message;
    $("signin-error").hidden = false;
  }
}

function showSignIn() {
  $("app-view").hidden = true;
  $("session").hidden = true;
  $("signin-view").hidden = false;
  $("token-input").value = "";
  $("token-input").focus();
}

function showApp() {
  $("signin-view").hidden = true;
  $("app-view").hidden = false;
  $("session").hidden = false;
  const c = claims(state.token);
  $("tenant").textContent = c.sub ? `tenant ${c.sub}` : "";
  $("tenant").title = c.exp ? `token expires ${new Date(c.exp * 1000).toLocaleString()}` : "";
  renderStreams();
  const remembered = sessionStorage.getItem(STREAM_KEY);
  const pick = state.streams.find((s) => s.id === remembered) || state.streams.find((s) => s.isDefault) || state.streams[0];
  if (pick) selectStream(pick.id);
  else clearStream();
}

// ---------------------------------------------------------------- streams

async function refreshStreams() {
  const list = await api.get("/streams");
  state.streams = list.streams;
  const current = state.streams.find((s) => s.id === state.streamId);
  if (current) state.stream = current;
  renderStreams();
  renderHead();
}

function renderStreams() {
  const ul = $("stream-list");
  ul.replaceChildren(
    ...state.streams.map((s) =>
      h(
        "li",
        {},
        h(
          "button",
          {
            type: "button",
            class: `stream-item${s.id === state.streamId ? " selected" : ""}`,
            "aria-current": s.id === state.streamId ? "true" : null,
            dataset: { streamId: s.id },
            onclick: () => selectStream(s.id),
          },
          h("span", { class: "stream-item-name" }, s.name),
          h("span", { class: "badge small", dataset: { state: s.desiredState } }, s.desiredState),
        ),
      ),
    ),
  );
  if (state.streams.length === 0) ul.append(h("li", { class: "muted small" }, "No streams yet."));
}

function clearStream() {
  state.streamId = null;
  state.stream = null;
  state.status = null;
  state.config = null;
  state.layers = [];
  state.scenes = [];
  state.keys = [];
  state.sceneId = null;
  state.activeSceneId = null;
  state.selectedLayerId = null;
  $("stream-view").hidden = true;
  $("empty-state").hidden = false;
  stopPreview();
}

function selectStream(id) {
  const s = state.streams.find((x) => x.id === id);
  if (!s) return;
  if (state.streamId === id && socket.streamId === id && socket.wanted) {
    resync();
    return;
  }
  if (state.streamId !== id) {
    state.streamId = id;
    state.stream = s;
    state.status = null;
    state.layers = [];
    state.scenes = [];
    state.keys = [];
    state.sceneId = s.activeSceneId;
    state.activeSceneId = s.activeSceneId;
    state.selectedLayerId = null;
    state.eventCount = 0;
    $("event-log").replaceChildren();
    $("event-log").dataset.count = "0";
    $("event-count").textContent = "";
    hideNewKey();
    Object.values(charts).forEach((c) => c.clear());
    layerRows.clear();
    $("layer-list").replaceChildren();
    sessionStorage.setItem(STREAM_KEY, id);
  }
  $("empty-state").hidden = true;
  $("stream-view").hidden = false;
  renderStreams();
  renderHead();
  renderAll();
  socket.connect(id);
  resync();
  startPreview();
}

/**
 * Reads everything about the selected stream from the API (after selecting or reconnecting).
 * Events that arrive while the answers are on their way are replayed on top of them, so an
 * answer read just before a change never hides that change.
 */
let resyncSeq = 0;
let replay = null;
async function resync() {
  const id = state.streamId;
  if (!id) return;
  const seq = ++resyncSeq;
  replay = [];
  try {
    const [list, stream, status, config, layers, scenes, keys, metrics] = await Promise.all([
      api.get("/streams"),
      api.get(streamPath()),
      api.get(streamPath("/status")),
      api.get(streamPath("/config")),
      api.get(streamPath("/layers")),
      api.get(streamPath("/scenes")),
      api.get(streamPath("/keys")),
      api.get(streamPath("/metrics")),
    ]);
    if (seq !== resyncSeq || state.streamId !== id) return;
    state.streams = list.streams.map((s) => (s.id === id ? stream : s));
    state.stream = stream;
    state.status = status;
    state.config = config;
    state.layers = layers.layers;
    state.scenes = scenes.scenes;
    const followActive = !state.sceneId || state.sceneId === state.activeSceneId || !state.scenes.some((s) => s.id === state.sceneId);
    state.activeSceneId = scenes.activeSceneId;
    if (followActive) state.sceneId = scenes.activeSceneId;
    state.keys = keys.keys;
    // Only a running pipeline has figures; a queued stream's zeros would draw a false dip.
    if (status.isLive) pushMetrics(metrics);
    for (const ev of replay || []) applyStateEvent(ev);
    replay = null;
    renderStreams();
    renderHead();
    renderAll();
    $("stream-view").dataset.synced = String(Date.now());
  } catch (err) {
    if (seq !== resyncSeq) return;
    replay = null;
    if (err.status === 401) return;
    if (err.status === 404 && state.streamId === id) {
      // Deleted elsewhere: fall back to another stream.
      notify("This stream no longer exists.", "info");
      sessionStorage.removeItem(STREAM_KEY);
      socket.close();
      clearStream();
      await refreshStreams().catch(() => {});
      if (state.streams[0]) selectStream(state.streams[0].id);
      return;
    }
    notify(`Could not load the stream: ${err.message}`);
  }
}

function renderAll() {
  renderStatus();
  renderLayers();
  renderScenes();
  renderKeys();
}

// ---------------------------------------------------------------- lifecycle and status

const LIFECYCLE = {
  start: { button: "btn-start", desired: "running" },
  stop: { button: "btn-stop", desired: "stopped" },
  pause: { button: "btn-pause", desired: "paused" },
  resume: { button: "btn-resume", desired: "running" },
};

for (const [action, { button, desired }] of Object.entries(LIFECYCLE)) {
  $(button).addEventListener("click", (e) =>
    act(e.currentTarget, async () => {
      const status = await api.post(streamPath(`/${action}`));
      state.status = status;
      if (state.stream) state.stream = { ...state.stream, desiredState: desired, version: status.version };
      const i = state.streams.findIndex((s) => s.id === state.streamId);
      if (i >= 0) state.streams[i] = { ...state.streams[i], desiredState: desired };
      renderStreams();
      renderHead();
      renderStatus();
      // The preview's pace follows the stream's state: poll at once at the new pace.
      startPreview({ keep: true });
    }),
  );
}

function renderHead() {
  const s = state.stream;
  if (!s) return;
  $("stream-name").textContent = s.name;
  $("stream-id").textContent = s.id;
  const st = (state.status && state.status.state) || (s.desiredState === "stopped" ? "idle" : "queued");
  const badge = $("stream-state");
  badge.textContent = st;
  badge.dataset.state = st;
  const desired = s.desiredState;
  $("btn-start").disabled = desired !== "stopped";
  $("btn-stop").disabled = desired === "stopped";
  $("btn-pause").disabled = desired !== "running";
  $("btn-resume").disabled = desired !== "paused";
  $("btn-delete-stream").disabled = desired !== "stopped";
}

$("btn-delete-stream").addEventListener("click", (e) => {
  const b = e.currentTarget;
  confirmClick(b, "Delete", () =>
    act(b, async () => {
      const id = state.streamId;
      await api.del(streamPath());
      socket.close();
      sessionStorage.removeItem(STREAM_KEY);
      state.streams = state.streams.filter((s) => s.id !== id);
      clearStream();
      renderStreams();
      if (state.streams[0]) selectStream(state.streams[0].id);
      notify("Stream deleted.", "info");
    }),
  );
});

function renderStatus() {
  const st = state.status;
  const set = (id, v) => {
    $(id).textContent = v;
  };
  if (!st) {
    for (const id of ["st-state", "st-live", "st-paused", "st-node", "st-version", "st-started", "st-format"]) set(id, "—");
    $("st-outputs").replaceChildren();
    return;
  }
  $("st-state").replaceChildren(h("span", { class: "badge", dataset: { state: st.state } }, st.state));
  set("st-live", st.isLive ? "yes" : "no");
  set("st-paused", st.isPaused ? "yes" : "no");
  set("st-node", st.nodeId || "none yet");
  set("st-version", String(st.version));
  set("st-started", time(st.startTime));
  const c = state.config;
  set("st-format", c ? `${c.STREAM_RESOLUTION} · ${c.TARGET_FPS} fps · ${c.STREAM_BITRATE}` : "—");
  $("st-reason").hidden = $("st-reason-label").hidden = !st.reason;
  set("st-reason", st.reason || "");
  const outputs = $("st-outputs");
  if (st.outputs && st.outputs.length) {
    outputs.replaceChildren(
      ...st.outputs.map((o) =>
        h("li", {}, h("code", {}, o.url), " ", h("span", { class: "badge small", dataset: { state: o.state } }, o.state), o.error ? h("span", { class: "error small" }, ` ${o.error}`) : null),
      ),
    );
  } else if (c && c.outputs && c.outputs.length) {
    outputs.replaceChildren(...c.outputs.map((u) => h("li", {}, h("code", {}, maskUrl(u)), " ", h("span", { class: "muted small" }, "not connected"))));
  } else {
    outputs.replaceChildren(h("li", { class: "muted small" }, "No destinations configured."));
  }
  renderHead();
}

/** Hides the stream key (last path segment) of an RTMP URL, as the API does. */
function maskUrl(u) {
  const i = u.lastIndexOf("/");
  if (i < 0) return "****";
  const key = u.slice(i + 1);
  return `${u.slice(0, i)}/****${key.length > 8 ? key.slice(-4) : ""}`;
}

/**
 * Adds one sample to the charts. Reads both spellings in use: the API's metrics
 * (`droppedFrames`, `cpuUsage`) and the render nodes' `metrics:update` (`dropped`, `cpu`).
 */
function pushMetrics(m) {
  if (!m) return;
  const t = Date.now();
  const pick = (...keys) => {
    for (const k of keys) if (m[k] !== undefined && m[k] !== null && Number.isFinite(Number(m[k]))) return Number(m[k]);
    return undefined;
  };
  const show = (id, text) => {
    $(id).textContent = text;
  };
  const fps = pick("fps");
  if (fps !== undefined) {
    charts.fps.push(fps, t);
    show("m-fps", fps.toFixed(1));
  }
  const bitrate = pick("bitrate");
  if (bitrate !== undefined) {
    charts.bitrate.push(bitrate, t);
    show("m-bitrate", `${kbps(bitrate)}bit/s`);
  }
  const dropped = pick("droppedFrames", "dropped");
  if (dropped !== undefined) {
    charts.dropped.push(dropped, t);
    show("m-dropped", String(dropped));
  }
  const cpu = pick("cpuUsage", "cpu");
  if (cpu !== undefined) {
    charts.cpu.push(cpu, t);
    show("m-cpu", `${cpu.toFixed(0)}%`);
  }
}

// Keep the charts' time axis moving even between samples.
setInterval(() => {
  if (document.visibilityState === "visible" && state.streamId) Object.values(charts).forEach((c) => c.draw());
}, 1000);

// ---------------------------------------------------------------- live events

function handleEvent(ev) {
  if (ev.streamId && ev.streamId !== state.streamId) return;
  const d = ev.data || {};
  switch (ev.type) {
    case "metrics:update":
      pushMetrics(d.metrics || d);
      countEvent();
      return;
    case "stream:status":
      // The API's own status, or a node's report (no isLive/isPaused, its rendered version):
      // shown at once, then the composed status is read again from the API.
      state.status = { ...(state.status || {}), ...d };
      if (d.isLive === undefined && d.state) state.status.isLive = d.state === "live" || d.state === "paused";
      renderStatus();
      logLine(ev.type, `state ${d.state}${d.nodeId ? ` on ${d.nodeId}` : ""}${d.reason ? `: ${d.reason}` : ""}`);
      if (d.isLive === undefined) refreshStatusSoon();
      else if (state.stream && d.version && d.version !== state.stream.version) refreshStreams().catch(() => {});
      break;
    case "layer:update":
      if (replay) replay.push(ev);
      applyLayerEvent(d);
      logLine(ev.type, describeLayerEvent(d), { layerId: d.id, action: d.action });
      break;
    case "scene:activate": {
      if (replay) replay.push(ev);
      applySceneEvent(d);
      renderScenes();
      renderLayers();
      const scene = state.scenes.find((s) => s.id === d.activeSceneId);
      const t = d.transition || {};
      logLine(ev.type, `on air: ${scene ? scene.name : d.activeSceneId} (${t.type || "cut"}${t.durationMs ? ` ${t.durationMs} ms` : ""})`, { sceneId: d.activeSceneId });
      break;
    }
    case "stream:error": {
      const text = describeStreamError(d);
      notify(`Stream error: ${text}`);
      logLine(ev.type, text);
      refreshStatusSoon();
      break;
    }
    case "ingest:connected":
    case "ingest:disconnected":
      logLine(ev.type, describeIngestEvent(ev.type, d), { keyId: d.keyId || "" });
      refreshKeysSoon();
      break;
    default:
      logLine(ev.type, JSON.stringify(d).slice(0, 120));
  }
}

/** An encoder that started or stopped publishing with one of the stream's keys, in words. */
function describeIngestEvent(type, d) {
  const key = keyLabel(d.keyId);
  const node = d.nodeId ? ` on node ${d.nodeId}` : "";
  if (type === "ingest:connected") return `encoder publishing with ${key}${node}`;
  return `encoder stopped publishing with ${key}${node}${d.reason ? `: ${d.reason}` : ""}`;
}

/** A node's or the dispatcher's error, in words. */
function describeStreamError(d) {
  const what = d.message || d.error || d.reason || "unknown error";
  switch (d.type) {
    case "layerError": {
      const name = layerNames.get(d.layerId);
      return `layer ${name ? `“${name}”` : d.layerId} skipped: ${what}`;
    }
    case "sourceError":
      return `source ${d.source} failed: ${what}`;
    case "output":
      return `destination ${d.url} ${d.state || ""}: ${what}`;
    case "streamFailed":
      return `the stream failed: ${what}`;
    default:
      return what;
  }
}

let statusTimer = null;
/** Reads the composed status (and the stream's desired state) again, at most every 300 ms. */
function refreshStatusSoon() {
  if (statusTimer || !state.streamId) return;
  const id = state.streamId;
  statusTimer = setTimeout(async () => {
    statusTimer = null;
    try {
      const [status] = await Promise.all([api.get(streamPath("/status")), refreshStreams()]);
      if (state.streamId !== id) return;
      state.status = status;
      renderStatus();
    } catch {
      // The next event or re-sync tries again.
    }
  }, 300);
}

function countEvent() {
  state.eventCount += 1;
  $("event-log").dataset.count = String(state.eventCount);
  $("event-count").textContent = `${state.eventCount} received`;
}

function logLine(type, text, data = {}) {
  if (type !== "socket") countEvent();
  const li = h(
    "li",
    { dataset: { type, ...data } },
    h("time", {}, new Date().toLocaleTimeString()),
    h("span", { class: "ev-type" }, type),
    h("span", { class: "ev-text" }, text),
  );
  const log = $("event-log");
  log.prepend(li);
  while (log.children.length > MAX_LOG) log.lastElementChild.remove();
}

/** Applies an event that changes what the page holds (replayed after a re-sync). */
function applyStateEvent(ev) {
  if (ev.type === "layer:update") applyLayerEvent(ev.data || {}, false);
  else if (ev.type === "scene:activate") applySceneEvent(ev.data || {});
}

function applySceneEvent(d) {
  const wasFollowing = state.sceneId === state.activeSceneId;
  state.activeSceneId = d.activeSceneId;
  if (wasFollowing) state.sceneId = d.activeSceneId;
  state.scenes = state.scenes.map((s) => ({ ...s, active: s.id === d.activeSceneId }));
  if (state.stream) state.stream = { ...state.stream, activeSceneId: d.activeSceneId, version: d.version };
}

function applyLayerEvent(d, render = true) {
  if (d.action === "deleted") {
    state.layers = state.layers.filter((l) => l.id !== d.id);
    if (state.selectedLayerId === d.id) state.selectedLayerId = null;
  } else if (d.layer) {
    const i = state.layers.findIndex((l) => l.id === d.id);
    if (i >= 0) state.layers[i] = d.layer;
    else state.layers.push(d.layer);
  }
  if (render) renderLayers();
}

function describeLayerEvent(d) {
  const name = d.layer ? d.layer.name : layerNames.get(d.id) || d.id;
  const changed = d.changes && Object.keys(d.changes).length ? `: ${Object.keys(d.changes).join(", ")}` : "";
  return `${d.action} ${name}${changed}`;
}

function showConnection(s, detail) {
  const el = $("conn");
  el.dataset.state = s;
  el.textContent =
    s === "open" ? "events live" : s === "connecting" ? "connecting…" : s === "reconnecting" ? `reconnecting in ${Math.ceil(detail.delayMs / 1000)} s` : "events offline";
  if (s === "reconnecting") logLine("socket", `connection lost${detail.reason ? ` (${detail.reason})` : ""}; retrying in ${(detail.delayMs / 1000).toFixed(1)} s`);
}

// ---------------------------------------------------------------- layers

const layerRows = new Map();
// Names of every layer seen, so an event about a layer already gone still reads well.
const layerNames = new Map();

function sceneLayers() {
  return state.layers.filter((l) => l.sceneId === state.sceneId);
}

function renderLayers({ force = false } = {}) {
  for (const l of state.layers) layerNames.set(l.id, l.name);
  const layers = sceneLayers().sort((a, b) => b.zIndex - a.zIndex);
  const list = $("layer-list");
  const ids = new Set(layers.map((l) => l.id));
  for (const [id, row] of layerRows) {
    if (!ids.has(id)) {
      row.remove();
      layerRows.delete(id);
    }
  }
  layers.forEach((l, i) => {
    let row = layerRows.get(l.id);
    if (!row) {
      row = buildLayerRow(l.id);
      layerRows.set(l.id, row);
    }
    fillLayerRow(row, l, i, layers.length, force);
    if (list.children[i] !== row) list.insertBefore(row, list.children[i] || null);
  });
  $("layers-empty").hidden = layers.length > 0;
  const { width, height } = resolution();
  schematic.set({ layers: sceneLayers(), width, height, selectedId: state.selectedLayerId });
  const scene = state.scenes.find((s) => s.id === state.sceneId);
  $("preview-scene").textContent = scene ? `· ${scene.name}${scene.id === state.activeSceneId ? " (on air)" : " (not on air)"}` : "";
  $("schematic").dataset.sceneId = state.sceneId || "";
  highlightLayerRow();
}

function highlightLayerRow() {
  for (const [id, row] of layerRows) row.classList.toggle("selected", id === state.selectedLayerId);
}

function buildLayerRow(id) {
  const num = (cls, label, min, max) => h("label", { class: "num" }, label, h("input", { type: "number", class: cls, min, max, step: 1, required: true }));
  const row = h(
    "li",
    { class: "layer", dataset: { layerId: id } },
    h(
      "div",
      { class: "layer-top" },
      h("span", { class: "swatch", "aria-hidden": "true" }),
      h("button", { type: "button", class: "layer-name linklike", title: "Select on the preview" }),
      h("span", { class: "layer-kind muted small" }),
      h("label", { class: "toggle", title: "Visible" }, h("input", { type: "checkbox", class: "layer-visible" }), h("span", {}, "visible")),
      h("button", { type: "button", class: "layer-up icon", title: "Bring forward", "aria-label": "Bring forward" }, "↑"),
      h("button", { type: "button", class: "layer-down icon", title: "Send backward", "aria-label": "Send backward" }, "↓"),
      h("button", { type: "button", class: "layer-delete icon danger", title: "Delete layer", "aria-label": "Delete layer" }, "✕"),
    ),
    h(
      "div",
      { class: "layer-fields" },
      h("label", { class: "opacity" }, "opacity", h("input", { type: "range", class: "layer-opacity", min: 0, max: 1, step: 0.05 }), h("output", { class: "layer-opacity-value" })),
      num("layer-x", "x", -16384, 16384),
      num("layer-y", "y", -16384, 16384),
      num("layer-w", "w", 1, 16384),
      num("layer-h", "h", 1, 16384),
    ),
  );
  const q = (cls) => row.querySelector(`.${cls}`);
  q("layer-name").addEventListener("click", () => {
    state.selectedLayerId = id;
    schematic.select(id);
    highlightLayerRow();
  });
  q("layer-visible").addEventListener("change", (e) => patchLayer(id, { visible: e.target.checked }, e.target));
  q("layer-opacity").addEventListener("input", (e) => {
    q("layer-opacity-value").textContent = Number(e.target.value).toFixed(2);
  });
  q("layer-opacity").addEventListener("change", (e) => patchLayer(id, { opacity: Number(e.target.value) }, e.target));
  const geometry = (e) => {
    const x = Number(q("layer-x").value);
    const y = Number(q("layer-y").value);
    const width = Number(q("layer-w").value);
    const height = Number(q("layer-h").value);
    if (![x, y, width, height].every(Number.isInteger)) {
      notify("Position and size are whole pixels.");
      return;
    }
    const cls = e.target.classList;
    const patch = cls.contains("layer-x") || cls.contains("layer-y") ? { position: { x, y } } : { size: { width, height } };
    patchLayer(id, patch, e.target);
  };
  for (const cls of ["layer-x", "layer-y", "layer-w", "layer-h"]) q(cls).addEventListener("change", geometry);
  q("layer-up").addEventListener("click", (e) => reorder(id, +1, e.currentTarget));
  q("layer-down").addEventListener("click", (e) => reorder(id, -1, e.currentTarget));
  q("layer-delete").addEventListener("click", (e) => {
    const b = e.currentTarget;
    confirmClick(b, "✕", () =>
      act(b, async () => {
        await api.del(streamPath(`/layers/${id}`));
        state.layers = state.layers.filter((l) => l.id !== id);
        renderLayers();
      }),
    );
  });
  return row;
}

function fillLayerRow(row, l, index, count, force) {
  const q = (cls) => row.querySelector(`.${cls}`);
  const setValue = (cls, v) => {
    const input = q(cls);
    if (force || document.activeElement !== input || input.type === "checkbox") {
      if (input.type === "checkbox") input.checked = v;
      else input.value = String(v);
    }
  };
  const src = l.source || {};
  q("swatch").style.background = l.kind === "color" ? cssColor(src.color) : l.kind === "text" ? cssColor(src.color || "#FFFFFF") : "";
  q("swatch").dataset.kind = l.kind;
  q("layer-name").textContent = l.name;
  q("layer-kind").textContent = layerKindText(l);
  q("layer-kind").title = q("layer-kind").textContent;
  setValue("layer-visible", l.visible);
  setValue("layer-opacity", l.opacity);
  q("layer-opacity-value").textContent = Number(l.opacity).toFixed(2);
  setValue("layer-x", l.position.x);
  setValue("layer-y", l.position.y);
  setValue("layer-w", l.size.width);
  setValue("layer-h", l.size.height);
  q("layer-up").disabled = index === 0;
  q("layer-down").disabled = index === count - 1;
  row.classList.toggle("hidden-layer", !l.visible);
  row.dataset.zIndex = String(l.zIndex);
  row.dataset.visible = String(l.visible);
}

function layerKindText(l) {
  const src = l.source || {};
  if (l.kind === "text") return `text “${(src.text || "").slice(0, 24)}”`;
  if (l.kind === "ingest") {
    const k = state.keys.find((x) => x.id === src.keyId);
    return `live feed ${keyLabel(src.keyId)}${k ? (k.publishing ? " · publishing" : " · no encoder") : ""}`;
  }
  return l.kind;
}

/** PATCHes a layer; on failure the row and preview go back to the server's values. */
async function patchLayer(id, patch, control) {
  const ok = await act(control, async () => {
    const layer = await api.patch(streamPath(`/layers/${id}`), patch);
    const i = state.layers.findIndex((l) => l.id === id);
    if (i >= 0) state.layers[i] = layer;
    return true;
  });
  // After a refusal the fields show the stored values again, even the one being edited.
  renderLayers({ force: !ok });
  if (ok && control && document.body.contains(control) && control.focus && control.type !== "range") control.focus({ preventScroll: true });
}

/** Moves a layer one step up (+1) or down (-1) in its scene's stacking order. */
async function reorder(id, dir, button) {
  const bottomFirst = sceneLayers().sort((a, b) => a.zIndex - b.zIndex);
  const i = bottomFirst.findIndex((l) => l.id === id);
  const j = i + dir;
  if (i < 0 || j < 0 || j >= bottomFirst.length) return;
  const me = bottomFirst[i];
  const other = bottomFirst[j];
  await act(button, async () => {
    if (me.zIndex === other.zIndex) {
      const z = Math.max(-10000, Math.min(10000, other.zIndex + dir));
      await patchOnly(me.id, { zIndex: z });
    } else {
      await patchOnly(me.id, { zIndex: other.zIndex });
      await patchOnly(other.id, { zIndex: me.zIndex });
    }
  });
  renderLayers();
}

async function patchOnly(id, patch) {
  const layer = await api.patch(streamPath(`/layers/${id}`), patch);
  const i = state.layers.findIndex((l) => l.id === id);
  if (i >= 0) state.layers[i] = layer;
}

$("new-layer-kind").addEventListener("change", (e) => {
  const text = e.target.value === "text";
  const ingest = e.target.value === "ingest";
  $("new-layer-text-row").hidden = !text;
  $("new-layer-text").required = text;
  $("new-layer-ingest-row").hidden = !ingest;
  $("new-layer-color-label").hidden = ingest;
  renderKeyChoices();
  if (text && $("new-layer-color").value.toLowerCase() === "#e4572e") $("new-layer-color").value = "#ffffff";
  if (!text && $("new-layer-color").value.toLowerCase() === "#ffffff") $("new-layer-color").value = "#e4572e";
});

$("add-layer-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const kind = $("new-layer-kind").value;
  const name = $("new-layer-name").value.trim();
  const color = $("new-layer-color").value.toUpperCase();
  const { width, height } = resolution();
  const n = sceneLayers().length;
  const body = { kind, sceneId: state.sceneId || undefined };
  if (name) body.name = name;
  if (kind === "text") {
    const fontSize = Number($("new-layer-font-size").value) || 48;
    body.source = { text: $("new-layer-text").value, fontSize, color };
    body.size = { width: Math.round(width / 2), height: Math.min(height, Math.round(fontSize * 1.8)) };
  } else if (kind === "ingest") {
    const keyId = $("new-layer-key").value;
    if (!keyId) {
      notify("Choose a stream key for the live feed (create one under Stream keys).");
      return;
    }
    body.source = { keyId };
    // Half the canvas, in the stream's own aspect (usually the camera's too).
    body.size = { width: Math.round(width / 2), height: Math.round(height / 2) };
  } else {
    body.source = { color };
    body.size = { width: Math.round(width / 3), height: Math.round(height / 3) };
  }
  // New boxes cascade from the top-left so they never hide one another completely.
  const step = Math.round(width / 24);
  body.position = { x: Math.round(width / 12) + (n % 8) * step, y: Math.round(height / 12) + (n % 8) * step };
  act(e.submitter || $("add-layer"), async () => {
    const layer = await api.post(streamPath("/layers"), body);
    if (!state.layers.some((l) => l.id === layer.id)) state.layers.push(layer);
    state.selectedLayerId = layer.id;
    $("new-layer-name").value = "";
    renderLayers();
  });
});

// ---------------------------------------------------------------- scenes

function renderScenes() {
  const ul = $("scene-list");
  ul.replaceChildren(
    ...state.scenes.map((s) => {
      const onAir = s.id === state.activeSceneId;
      return h(
        "li",
        { class: `scene${s.id === state.sceneId ? " viewing" : ""}${onAir ? " on-air" : ""}`, dataset: { sceneId: s.id, active: String(onAir) } },
        h("button", { type: "button", class: "scene-view linklike", title: "Show and edit this scene's layers", onclick: () => viewScene(s.id) }, s.name),
        onAir ? h("span", { class: "badge small", dataset: { state: "live" } }, "on air") : null,
        h("span", { class: "grow" }),
        h(
          "button",
          { type: "button", class: "scene-activate", disabled: onAir, onclick: (e) => activateScene(s.id, e.currentTarget) },
          onAir ? "On air" : "Take",
        ),
      );
    }),
  );
}

function viewScene(id) {
  state.sceneId = id;
  state.selectedLayerId = null;
  renderScenes();
  renderLayers();
}

$("transition-type").addEventListener("change", (e) => {
  $("transition-duration").disabled = e.target.value === "cut";
  $("transition-easing").disabled = e.target.value === "cut";
});

function activateScene(id, button) {
  const type = $("transition-type").value;
  const transition = { type };
  if (type !== "cut") {
    transition.durationMs = Math.max(0, Math.round(Number($("transition-duration").value) || 0));
    transition.easing = $("transition-easing").value;
  }
  act(button, async () => {
    const answer = await api.post(streamPath(`/scenes/${id}/activate`), { transition });
    const following = state.sceneId === state.activeSceneId;
    state.activeSceneId = answer.activeSceneId;
    if (following) state.sceneId = answer.activeSceneId;
    state.scenes = state.scenes.map((s) => ({ ...s, active: s.id === answer.activeSceneId }));
    renderScenes();
    renderLayers();
  });
}

$("create-scene-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = $("new-scene-name");
  act(e.submitter, async () => {
    const scene = await api.post(streamPath("/scenes"), { name: input.value.trim() });
    state.scenes.push({ ...scene, active: false });
    input.value = "";
    viewScene(scene.id);
  });
});

// ---------------------------------------------------------------- keys

/** How a key reads on the page: its masked value (the key may be another stream's). */
function keyLabel(keyId) {
  const k = state.keys.find((x) => x.id === keyId);
  return k ? k.key : `key ${String(keyId || "").slice(0, 8)}…`;
}

function renderKeys() {
  const ul = $("key-list");
  renderKeyChoices();
  if (!state.keys.length) {
    ul.replaceChildren(h("li", { class: "muted small" }, "No keys."));
    return;
  }
  ul.replaceChildren(
    ...state.keys.map((k) => {
      const del = h("button", { type: "button", class: "key-delete icon danger", title: "Delete key (cuts its encoder)", "aria-label": "Delete key" }, "✕");
      del.addEventListener("click", () =>
        confirmClick(del, "✕", () =>
          act(del, async () => {
            await api.del(streamPath(`/keys/${k.id}`));
            state.keys = state.keys.filter((x) => x.id !== k.id);
            renderKeys();
            renderLayers();
          }),
        ),
      );
      return h(
        "li",
        { class: "key", dataset: { keyId: k.id, publishing: String(Boolean(k.publishing)) } },
        h("code", { class: "key-masked" }, k.key),
        k.publishing
          ? h("span", { class: "badge small key-publishing", dataset: { state: "live" }, title: "An encoder is publishing with this key now" }, "publishing")
          : null,
        h(
          "span",
          { class: "muted small key-meta" },
          `created ${time(k.createdAt)}`,
          k.lastUsed ? ` · last used ${time(k.lastUsed)}` : " · never used",
        ),
        del,
      );
    }),
  );
}

/** The add-layer form's key choice for a live-feed layer. */
function renderKeyChoices() {
  const select = $("new-layer-key");
  const current = select.value;
  select.replaceChildren(
    ...state.keys.map((k) => h("option", { value: k.id }, `${k.key}${k.publishing ? " (publishing)" : ""}`)),
  );
  if (state.keys.some((k) => k.id === current)) select.value = current;
  const ingest = $("new-layer-kind").value === "ingest";
  $("new-layer-key-empty").hidden = !ingest || state.keys.length > 0;
  select.disabled = state.keys.length === 0;
}

async function refreshKeys() {
  const id = state.streamId;
  const list = await api.get(streamPath("/keys"));
  if (state.streamId !== id) return;
  state.keys = list.keys;
  renderKeys();
  renderLayers();
}

let keysTimer = null;
/** Reads the keys again (publishing, lastUsed) after an ingest event, at most every 300 ms. */
function refreshKeysSoon() {
  if (keysTimer || !state.streamId) return;
  keysTimer = setTimeout(() => {
    keysTimer = null;
    refreshKeys().catch(() => {
      // The next event or re-sync tries again.
    });
  }, 300);
}

$("create-key").addEventListener("click", (e) =>
  act(e.currentTarget, async () => {
    const key = await api.post(streamPath("/keys"));
    $("new-key-server").textContent = key.ingestUrl;
    $("new-key-value").textContent = key.key;
    $("new-key-hint").textContent = `OBS (Settings → Stream): Service: Custom, Server: ${key.ingestUrl}, Stream Key: ${key.key}`;
    for (const b of [$("copy-server"), $("copy-key")]) b.textContent = "Copy";
    $("new-key").hidden = false;
    await refreshKeys();
  }),
);

for (const button of [$("copy-server"), $("copy-key")]) {
  button.addEventListener("click", async () => {
    const source = $(button.dataset.copies);
    try {
      await navigator.clipboard.writeText(source.textContent);
      button.textContent = "Copied";
    } catch {
      // No clipboard permission: select the text so the user can copy it by hand.
      const range = document.createRange();
      range.selectNodeContents(source);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      button.textContent = "Press Ctrl+C";
    }
  });
}

/** Forgets the new key's value: it is never shown again. */
function hideNewKey() {
  $("new-key").hidden = true;
  for (const id of ["new-key-server", "new-key-value", "new-key-hint"]) $(id).textContent = "";
}

$("dismiss-key").addEventListener("click", hideNewKey);

// ---------------------------------------------------------------- program preview image

let previewTimer = null;
let previewUrl = null;
let previewBusy = false;
// Bumped on every restart, so a tick still in flight does not start a second loop.
let previewGen = 0;

/** (Re)starts polling; `keep` leaves the current picture up until the next answer. */
function startPreview({ keep = false } = {}) {
  if (keep) {
    clearTimeout(previewTimer);
    previewGen += 1;
  } else {
    stopPreview();
  }
  previewTick();
}

function stopPreview() {
  clearTimeout(previewTimer);
  previewTimer = null;
  previewGen += 1;
  $("live-preview").hidden = true;
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = null;
}

/** Every second while the stream is on air (a node may serve frames), slower when stopped. */
async function previewTick() {
  const id = state.streamId;
  const onAir = state.stream && state.stream.desiredState !== "stopped";
  const next = onAir ? PREVIEW_EVERY_MS : PREVIEW_IDLE_EVERY_MS;
  const gen = previewGen;
  if (id && !previewBusy && document.visibilityState === "visible") {
    previewBusy = true;
    try {
      const r = await api.fetchRaw(streamPath("/preview.jpg"));
      if (r.ok && (r.headers.get("Content-Type") || "").startsWith("image/") && state.streamId === id) {
        const blob = await r.blob();
        const url = URL.createObjectURL(blob);
        $("preview-img").src = url;
        if (previewUrl) URL.revokeObjectURL(previewUrl);
        previewUrl = url;
        $("live-preview").hidden = false;
      } else {
        $("live-preview").hidden = true;
      }
    } catch {
      $("live-preview").hidden = true;
    } finally {
      previewBusy = false;
    }
  }
  if (state.streamId === id && id && gen === previewGen) previewTimer = setTimeout(previewTick, next);
}

// ---------------------------------------------------------------- wiring

$("signin-form").addEventListener("submit", (e) => {
  e.preventDefault();
  act($("signin-submit"), () => signIn($("token-input").value));
});

$("sign-out").addEventListener("click", () => signOut());

$("create-stream-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = $("new-stream-name");
  act(e.submitter, async () => {
    const stream = await api.post("/streams", { name: input.value.trim() });
    input.value = "";
    state.streams.push(stream);
    selectStream(stream.id);
  });
});

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) signIn(saved, { quiet: true });
else showSignIn();
