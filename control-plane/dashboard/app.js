// Stream Manager dashboard: signs in with a tenant token, then steers one stream at a time
// through the REST API and follows its live events over a WebSocket.
//
// This file wires the parts together and owns what spans them: which stream is on the page
// (selecting, clearing) and the re-sync that reads everything about it from the API. Each
// panel is its own module with its own state and timers:
//   dom.js       element building, toasts, busy buttons, formatting (no state)
//   api.js       the REST client; events.js the reconnecting event socket
//   session.js   the token, the API client bound to it, sign-in and sign-out
//   streams.js   the stream list and the selected stream (row, config)
//   status.js    lifecycle buttons and the Status panel
//   metrics.js   the Live metrics charts (charts.js draws one)
//   layers.js    the Layers panel and the schematic (schematic.js draws it)
//   scenes.js    the Scenes panel and transitions
//   keys.js      the Stream keys panel
//   preview.js   the program preview image
//   eventlog.js  the Events panel and the connection badge
//   live.js      what each live event changes

import { $, act, notify } from "./dom.js";
import { EventSocket } from "./events.js";
import { clearLog, logLine, showConnection } from "./eventlog.js";
import { clearKeys, renderKeys, setKeys, setupKeys } from "./keys.js";
import { clearLayers, deselectLayer, renderLayers, setLayers, setupLayers } from "./layers.js";
import { dropHeldEvents, handleEvent, holdEvents, replayEvents } from "./live.js";
import { clearMetrics, pushMetrics, setupMetrics } from "./metrics.js";
import { startPreview, stopPreview } from "./preview.js";
import { renderScenes, resetScenes, setScenes, setupScenes } from "./scenes.js";
import { api, currentToken, restoreSession, setupSession } from "./session.js";
import { clearStatus, onAir, renderHead, renderStatus, setupStatus, showStatus, statusTicket } from "./status.js";
import {
  addStream,
  clearSelection,
  refreshStreams,
  rememberedStream,
  removeStream,
  renderStreams,
  selectedStreamId,
  selectStreamId,
  setSelected,
  setStreams,
  setupStreams,
  streamPath,
  streams,
} from "./streams.js";

const socket = new EventSocket({
  url: (id) => {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    return `${proto}//${location.host}/streams/${encodeURIComponent(id)}/events?meters=1&token=${encodeURIComponent(currentToken() || "")}`;
  },
  onEvent: handleEvent,
  onOpen: (reconnected) => {
    logLine("socket", reconnected ? "reconnected: re-syncing state" : "connected");
    resync();
  },
  onState: showConnection,
});

/** Shows stream `id`: its panels emptied, its events followed, everything read again. */
function selectStream(id) {
  if (selectedStreamId() === id && socket.streamId === id && socket.wanted) {
    resync();
    return;
  }
  if (selectedStreamId() !== id) {
    if (!selectStreamId(id)) return;
    forgetStream();
    resetScenes(streams().find((s) => s.id === id).activeSceneId);
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

/** Empties every panel of the stream that was on the page. */
function forgetStream() {
  clearStatus();
  clearLayers();
  clearKeys();
  clearMetrics();
  clearLog();
}

/** No stream on the page (signed out, or the last one deleted). */
function clearStream({ forget = false } = {}) {
  socket.close();
  clearSelection({ forget });
  forgetStream();
  resetScenes(null);
  $("stream-view").hidden = true;
  $("empty-state").hidden = false;
  stopPreview();
}

function renderAll() {
  renderStatus();
  renderLayers();
  renderScenes();
  renderKeys();
}

/**
 * Reads everything about the selected stream from the API (after selecting or reconnecting).
 * Layer and scene events that arrive meanwhile are replayed on top of the answers; a status
 * event is newer than the status answer, which then is not shown (status.js).
 */
let resyncSeq = 0;
async function resync() {
  const id = selectedStreamId();
  if (!id) return;
  const seq = ++resyncSeq;
  holdEvents();
  const ticket = statusTicket();
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
    if (seq !== resyncSeq || selectedStreamId() !== id) return;
    setStreams(list.streams);
    setSelected(stream, config);
    showStatus(status, ticket);
    setLayers(layers.layers);
    setScenes(scenes.scenes, scenes.activeSceneId);
    setKeys(keys.keys);
    // Only a running pipeline has figures; a queued stream's zeros would draw a false dip.
    if (onAir()) pushMetrics(metrics);
    replayEvents();
    renderStreams();
    renderAll();
    $("stream-view").dataset.synced = String(Date.now());
  } catch (err) {
    if (seq !== resyncSeq) return;
    dropHeldEvents();
    if (err.status === 401) return;
    if (err.status === 404 && selectedStreamId() === id) {
      // Deleted elsewhere: fall back to another stream.
      notify("This stream no longer exists.", "info");
      clearStream({ forget: true });
      await refreshStreams().catch(() => {});
      if (streams()[0]) selectStream(streams()[0].id);
      return;
    }
    notify(`Could not load the stream: ${err.message}`);
  }
}

/** After a stream was deleted from the page: the next one, or none. */
function afterDelete(id) {
  clearStream({ forget: true });
  removeStream(id);
  renderStreams();
  if (streams()[0]) selectStream(streams()[0].id);
  notify("Stream deleted.", "info");
}

setupSession({
  signedIn: (list) => {
    setStreams(list);
    renderStreams();
    const pick = rememberedStream();
    if (pick) selectStream(pick.id);
    else clearStream();
  },
  signedOut: () => {
    clearStream({ forget: true });
    setStreams([]);
  },
});
setupStreams({ pick: selectStream });
setupStatus({ changed: () => startPreview({ keep: true }), deleted: afterDelete });
setupMetrics({ showing: () => Boolean(selectedStreamId()) });
setupLayers();
setupScenes({
  viewed: () => {
    deselectLayer();
    renderLayers();
  },
  changed: () => renderLayers(),
});
setupKeys({ changed: () => renderLayers() });

$("create-stream-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = $("new-stream-name");
  act(e.submitter, async () => {
    const stream = await api.post("/streams", { name: input.value.trim() });
    input.value = "";
    addStream(stream);
    selectStream(stream.id);
  });
});

restoreSession();
