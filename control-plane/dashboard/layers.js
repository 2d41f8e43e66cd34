// The Layers panel and the schematic preview: the viewed scene's layers, top first, each row
// editable in place (visible, opacity, position, size, stacking, delete); the same layers
// drawn on the schematic, where they are dragged, resized and nudged; and the add-layer form.
// A change is PATCHed at once; a refusal puts the server's values back.

import { $, act, confirmClick, h, notify } from "./dom.js";
import { keyLabel, renderKeyChoices, streamKeys } from "./keys.js";
import { activeSceneId, findScene, viewedSceneId } from "./scenes.js";
import { cssColor, Schematic } from "./schematic.js";
import { api } from "./session.js";
import { resolution, streamPath } from "./streams.js";

let layers = [];
let selectedId = null;
const rows = new Map();
// Names of every layer seen, so an event about a layer already gone still reads well.
const names = new Map();
// Layers with a fallback ladder: the rung on air and each rung's health, by layer id
// (from the status's `layerSources` and `layer:source` events).
const ladders = new Map();

const schematic = new Schematic($("schematic"), {
  onMove: (layer, position) => patchLayer(layer.id, { position }),
  onResize: (layer, size) => patchLayer(layer.id, { size }),
  onSelect: (id) => {
    selectedId = id;
    highlightRow();
  },
});

/** Wires the add-layer form. */
export function setupLayers() {
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
  $("add-layer-form").addEventListener("submit", addLayer);
}

export function setLayers(list) {
  layers = list;
}

/** Forgets the layers and their rows (another stream selected). */
export function clearLayers() {
  layers = [];
  selectedId = null;
  rows.clear();
  $("layer-list").replaceChildren();
}

/** Drops the selection (another scene shown). */
export function deselectLayer() {
  selectedId = null;
}

/** A layer's name, even after it was deleted. */
export function layerName(id) {
  return names.get(id);
}

/** A `layer:update` event: created, updated or deleted. */
export function applyLayerEvent(d, render = true) {
  if (d.action === "deleted") {
    layers = layers.filter((l) => l.id !== d.id);
    if (selectedId === d.id) selectedId = null;
  } else if (d.layer) {
    const i = layers.findIndex((l) => l.id === d.id);
    if (i >= 0) layers[i] = d.layer;
    else layers.push(d.layer);
  }
  if (render) renderLayers();
}

/** The ladders in a status answer (`layerSources`): what each layer has on air. */
export function setLadders(list) {
  ladders.clear();
  for (const s of list || []) ladders.set(s.layerId, s);
  renderLayers();
}

/** A `layer:source` event: a layer's ladder switched rungs. */
export function applyLayerSource(d) {
  if (d.layerId) ladders.set(d.layerId, d);
  renderLayers();
}

/** A pulled URL's scheme and host (its path may hold a stream key). */
function pulledHost(url) {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return "stream";
  }
}

/** A rung's name in words: a key's label, a pulled stream's host, or the slate. */
export function rungLabel(source) {
  if (!source) return "?";
  if (source.startsWith("ingest:")) return keyLabel(source.slice("ingest:".length));
  if (source.startsWith("pull:")) return `pulled ${pulledHost(source.slice("pull:".length))}`;
  return source === "slate:default" ? "slate" : "slate image";
}

/** A `layer:source` event in words. */
export function describeLayerSource(d) {
  const name = names.get(d.layerId) || d.layerId;
  return `${name}: on air ${rungLabel(d.activeSource)} (rung ${d.active}, ${d.reason || "switched"})`;
}

/** A `layer:update` event in words. */
export function describeLayerEvent(d) {
  const name = d.layer ? d.layer.name : names.get(d.id) || d.id;
  const changed = d.changes && Object.keys(d.changes).length ? `: ${Object.keys(d.changes).join(", ")}` : "";
  return `${d.action} ${name}${changed}`;
}

function sceneLayers() {
  return layers.filter((l) => l.sceneId === viewedSceneId());
}

/** Draws the rows and the schematic; `force` overwrites even the field being edited. */
export function renderLayers({ force = false } = {}) {
  for (const l of layers) names.set(l.id, l.name);
  const shown = sceneLayers().sort((a, b) => b.zIndex - a.zIndex);
  const list = $("layer-list");
  const ids = new Set(shown.map((l) => l.id));
  for (const [id, row] of rows) {
    if (!ids.has(id)) {
      row.remove();
      rows.delete(id);
    }
  }
  shown.forEach((l, i) => {
    let row = rows.get(l.id);
    if (!row) {
      row = buildRow(l.id);
      rows.set(l.id, row);
    }
    fillRow(row, l, i, shown.length, force);
    if (list.children[i] !== row) list.insertBefore(row, list.children[i] || null);
  });
  $("layers-empty").hidden = shown.length > 0;
  const { width, height } = resolution();
  schematic.set({ layers: sceneLayers(), width, height, selectedId });
  const sceneId = viewedSceneId();
  const scene = findScene(sceneId);
  $("preview-scene").textContent = scene ? `· ${scene.name}${scene.id === activeSceneId() ? " (on air)" : " (not on air)"}` : "";
  $("schematic").dataset.sceneId = sceneId || "";
  highlightRow();
}

function highlightRow() {
  for (const [id, row] of rows) row.classList.toggle("selected", id === selectedId);
}

function buildRow(id) {
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
    // The fader of layers that carry sound; its meter is fed by `audio:levels` (showLevels).
    h(
      "div",
      { class: "layer-audio", hidden: true },
      h("label", { class: "toggle", title: "Mute" }, h("input", { type: "checkbox", class: "layer-muted" }), h("span", {}, "mute")),
      h("label", { class: "opacity" }, "volume", h("input", { type: "range", class: "layer-volume", min: 0, max: 2, step: 0.05 }), h("output", { class: "layer-volume-db" })),
      h("meter", { class: "level layer-level", min: -60, max: 0, low: -18, high: -6, optimum: -30, value: -60, title: "level (dBFS, after the fader)" }),
    ),
  );
  const q = (cls) => row.querySelector(`.${cls}`);
  q("layer-name").addEventListener("click", () => {
    selectedId = id;
    schematic.select(id);
    highlightRow();
  });
  q("layer-visible").addEventListener("change", (e) => patchLayer(id, { visible: e.target.checked }, e.target));
  q("layer-opacity").addEventListener("input", (e) => {
    q("layer-opacity-value").textContent = Number(e.target.value).toFixed(2);
  });
  q("layer-opacity").addEventListener("change", (e) => patchLayer(id, { opacity: Number(e.target.value) }, e.target));
  q("layer-muted").addEventListener("change", (e) => patchLayer(id, { audio: { muted: e.target.checked } }, e.target));
  q("layer-volume").addEventListener("input", (e) => {
    q("layer-volume-db").textContent = volumeDb(Number(e.target.value));
  });
  q("layer-volume").addEventListener("change", (e) => patchLayer(id, { audio: { volume: Number(e.target.value) } }, e.target));
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
        layers = layers.filter((l) => l.id !== id);
        renderLayers();
      }),
    );
  });
  return row;
}

function fillRow(row, l, index, count, force) {
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
  q("layer-kind").textContent = kindText(l);
  q("layer-kind").title = q("layer-kind").textContent;
  setValue("layer-visible", l.visible);
  setValue("layer-opacity", l.opacity);
  q("layer-opacity-value").textContent = Number(l.opacity).toFixed(2);
  setValue("layer-x", l.position.x);
  setValue("layer-y", l.position.y);
  setValue("layer-w", l.size.width);
  setValue("layer-h", l.size.height);
  const audio = l.audio || { volume: 1, muted: false };
  q("layer-audio").hidden = !(l.kind === "video" || l.kind === "ingest");
  setValue("layer-muted", audio.muted);
  setValue("layer-volume", audio.volume);
  q("layer-volume-db").textContent = volumeDb(audio.volume);
  q("layer-up").disabled = index === 0;
  q("layer-down").disabled = index === count - 1;
  row.classList.toggle("hidden-layer", !l.visible);
  row.dataset.zIndex = String(l.zIndex);
  row.dataset.visible = String(l.visible);
}

/** A linear gain as the dB readout beside its slider. */
function volumeDb(v) {
  return v > 0 ? `${(20 * Math.log10(v)).toFixed(1)} dB` : "−∞ dB";
}

/** An `audio:levels` event: the programme's meter and each sounding layer's. */
export function showLevels(d) {
  const show = (meter, level) => {
    if (meter) meter.value = level ? Math.max(-60, level.rmsDb) : -60;
  };
  show($("programme-meter"), d.programme);
  const p = d.programme;
  $("programme-level").textContent = p ? `${p.rmsDb.toFixed(0)} / ${p.peakDb.toFixed(0)} dBFS` : "–";
  const heard = new Map((d.layers || []).map((l) => [l.layerId, l]));
  for (const [id, row] of rows) show(row.querySelector(".layer-level"), heard.get(id));
}

function kindText(l) {
  const src = l.source || {};
  if (l.kind === "text") return `text “${(src.text || "").slice(0, 24)}”`;
  if (l.kind === "ingest") {
    const k = streamKeys().find((x) => x.id === src.keyId);
    const feed = src.pull
      ? `pulled ${pulledHost(src.pull)}`
      : `live feed ${keyLabel(src.keyId)}${k ? (k.publishing ? " · publishing" : " · no encoder") : ""}`;
    const lad = ladders.get(l.id);
    if (!lad) return feed;
    // Each rung as ● (alive) or ○ (stalled), the one on air in brackets.
    const rungs = (lad.rungs || []).map((r, i) => (i === lad.active ? `[${r.healthy ? "●" : "○"}]` : r.healthy ? "●" : "○")).join("");
    return `${feed} · on air: ${rungLabel(lad.activeSource)} ${rungs}`;
  }
  return l.kind;
}

/** PATCHes a layer; on failure the row and preview go back to the server's values. */
async function patchLayer(id, patch, control) {
  const ok = await act(control, async () => {
    await patchOnly(id, patch);
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
  const i = layers.findIndex((l) => l.id === id);
  if (i >= 0) layers[i] = layer;
}

function addLayer(e) {
  e.preventDefault();
  const kind = $("new-layer-kind").value;
  const name = $("new-layer-name").value.trim();
  const color = $("new-layer-color").value.toUpperCase();
  const { width, height } = resolution();
  const n = sceneLayers().length;
  const body = { kind, sceneId: viewedSceneId() || undefined };
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
    if (!layers.some((l) => l.id === layer.id)) layers.push(layer);
    selectedId = layer.id;
    $("new-layer-name").value = "";
    renderLayers();
  });
}
