// The tenant's streams: the list in the sidebar and which one is selected, with that stream's
// row and output config. Every other part reads the selection from here (`selectedId`,
// `streamPath`); only the page's wiring changes it.

import { $, h } from "./dom.js";
import { api } from "./session.js";

const STREAM_KEY = "sm.stream";

let list = [];
let selectedId = null;
let selected = null;
let config = null;
let onPick = () => {};

/** `pick(id)` runs when a stream in the sidebar is clicked. */
export function setupStreams({ pick }) {
  onPick = pick;
}

export function streams() {
  return list;
}

export function selectedStreamId() {
  return selectedId;
}

/** The selected stream's row (name, desiredState, version, activeSceneId). */
export function selectedStream() {
  return selected;
}

export function streamConfig() {
  return config;
}

/** An API path under the selected stream. */
export function streamPath(suffix = "") {
  return `/streams/${encodeURIComponent(selectedId)}${suffix}`;
}

/** The selected stream's canvas size (1920×1080 until its config is read). */
export function resolution() {
  const r = config && /^(\d+)x(\d+)$/.exec(config.STREAM_RESOLUTION || "");
  return r ? { width: Number(r[1]), height: Number(r[2]) } : { width: 1920, height: 1080 };
}

/** The stream to show after signing in: the one this tab showed last, else the default. */
export function rememberedStream() {
  const remembered = sessionStorage.getItem(STREAM_KEY);
  return list.find((s) => s.id === remembered) || list.find((s) => s.isDefault) || list[0] || null;
}

export function setStreams(next) {
  list = next;
  if (selectedId) selected = list.find((s) => s.id === selectedId) || selected;
}

export function addStream(stream) {
  list.push(stream);
}

export function removeStream(id) {
  list = list.filter((s) => s.id !== id);
}

/** Makes `id` the selected stream; false when it is not in the list. */
export function selectStreamId(id) {
  const s = list.find((x) => x.id === id);
  if (!s) return false;
  selectedId = id;
  selected = s;
  config = null;
  sessionStorage.setItem(STREAM_KEY, id);
  return true;
}

/** Forgets the selection; `forget` also drops it from this tab's memory. */
export function clearSelection({ forget = false } = {}) {
  selectedId = null;
  selected = null;
  config = null;
  if (forget) sessionStorage.removeItem(STREAM_KEY);
}

/** Takes the API's answers about the selected stream (its row, its config). */
export function setSelected(stream, nextConfig) {
  if (stream.id !== selectedId) return;
  selected = stream;
  list = list.map((s) => (s.id === stream.id ? stream : s));
  if (nextConfig !== undefined) config = nextConfig;
}

/** Changes fields of the selected stream, in its row and in the list. */
export function patchSelected(fields) {
  if (!selected) return;
  selected = { ...selected, ...fields };
  list = list.map((s) => (s.id === selectedId ? { ...s, ...fields } : s));
}

/** Reads the list again (a desired state changed elsewhere). */
export async function refreshStreams() {
  const answer = await api.get("/streams");
  setStreams(answer.streams);
  renderStreams();
}

export function renderStreams() {
  const ul = $("stream-list");
  ul.replaceChildren(
    ...list.map((s) =>
      h(
        "li",
        {},
        h(
          "button",
          {
            type: "button",
            class: `stream-item${s.id === selectedId ? " selected" : ""}`,
            "aria-current": s.id === selectedId ? "true" : null,
            dataset: { streamId: s.id },
            onclick: () => onPick(s.id),
          },
          h("span", { class: "stream-item-name" }, s.name),
          h("span", { class: "badge small", dataset: { state: s.desiredState }, title: `asked to be ${s.desiredState}` }, s.desiredState),
        ),
      ),
    ),
  );
  if (list.length === 0) ul.append(h("li", { class: "muted small" }, "No streams yet."));
}
