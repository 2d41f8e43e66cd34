// The stream's live events, as they arrive on the socket: each one changes what the page
// holds and is logged in words. Events that change the layers or the scene on air while a
// re-sync is reading the API are kept and replayed on top of its answers
// (`holdEvents` / `replayEvents`), so an answer read just before a change never hides it.

import { notify } from "./dom.js";
import { countEvent, logLine } from "./eventlog.js";
import { keyLabel, refreshKeysSoon } from "./keys.js";
import { applyLayerEvent, applyLayerSource, describeLayerEvent, describeLayerSource, layerName, renderLayers, showLevels } from "./layers.js";
import { pushMetrics } from "./metrics.js";
import { applySceneEvent, findScene, renderScenes } from "./scenes.js";
import { applyStatusEvent, onAir, refreshStatusSoon } from "./status.js";
import { selectedStreamId } from "./streams.js";

let held = null;

/** Starts keeping state-changing events for a re-sync under way. */
export function holdEvents() {
  held = [];
}

/** Applies the events kept since `holdEvents` and stops keeping them. */
export function replayEvents() {
  for (const ev of held || []) {
    if (ev.type === "layer:update") applyLayerEvent(ev.data || {}, false);
    else if (ev.type === "scene:activate") applySceneEvent(ev.data || {});
  }
  held = null;
}

/** Stops keeping events without applying them (the re-sync failed or was overtaken). */
export function dropHeldEvents() {
  held = null;
}

/** One `{type, streamId, data}` message from the socket. */
export function handleEvent(ev) {
  if (ev.streamId && ev.streamId !== selectedStreamId()) return;
  const d = ev.data || {};
  switch (ev.type) {
    case "metrics:update":
      pushMetrics(d.metrics || d);
      countEvent();
      // Only the node running the stream sends its figures: a page that still shows the
      // stream off air missed the status change (events are not replayed), so it asks.
      if (!onAir()) refreshStatusSoon();
      return;
    case "audio:levels":
      // Ten a second: shown, not logged.
      showLevels(d);
      return;
    case "stream:status":
      applyStatusEvent(d);
      logLine(ev.type, `state ${d.state}${d.nodeId ? ` on ${d.nodeId}` : ""}${d.reason ? `: ${d.reason}` : ""}`);
      break;
    case "layer:update":
      if (held) held.push(ev);
      applyLayerEvent(d);
      logLine(ev.type, describeLayerEvent(d), { layerId: d.id, action: d.action });
      break;
    case "scene:activate": {
      if (held) held.push(ev);
      applySceneEvent(d);
      renderScenes();
      renderLayers();
      const scene = findScene(d.activeSceneId);
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
    case "layer:source":
      applyLayerSource(d);
      logLine(ev.type, describeLayerSource(d), { layerId: d.layerId || "" });
      break;
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
      const name = layerName(d.layerId);
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
