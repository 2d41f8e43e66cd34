// The selected stream's lifecycle and status: the head (name, state badge, Start / Pause /
// Resume / Stop / Delete) and the Status panel.
//
// Status comes from three places that race: the API's answers (a re-sync, a lifecycle
// button, a refresh), the API's own `stream:status` events, and the render node's reports.
// Every request takes a ticket when it is sent; an answer is shown only if nothing newer
// (a later request's answer, or an event that arrived meanwhile) was shown first, so a slow
// answer never puts back a state the stream has left.

import { $, act, confirmClick, h, time } from "./dom.js";
import { logLine } from "./eventlog.js";
import { setLadders } from "./layers.js";
import { metricsOffAir } from "./metrics.js";
import { api } from "./session.js";
import { patchSelected, refreshStreams, renderStreams, selectedStream, selectedStreamId, streamConfig, streamPath } from "./streams.js";

const LIFECYCLE = {
  start: { button: "btn-start", desired: "running" },
  stop: { button: "btn-stop", desired: "stopped" },
  pause: { button: "btn-pause", desired: "paused" },
  resume: { button: "btn-resume", desired: "running" },
};
const REFRESH_AFTER_MS = 300;

let status = null;
let issued = 0;
let shown = 0;
let refreshTimer = null;

/**
 * Wires the lifecycle buttons. `changed()` runs after a lifecycle call succeeded (the
 * preview's pace follows the state); `deleted(id)` after the stream was deleted.
 */
export function setupStatus({ changed, deleted }) {
  for (const [action, { button, desired }] of Object.entries(LIFECYCLE)) {
    $(button).addEventListener("click", (e) =>
      act(e.currentTarget, async () => {
        const n = statusTicket();
        const answer = await api.post(streamPath(`/${action}`));
        patchSelected({ desiredState: desired, version: answer.version });
        renderStreams();
        if (!showStatus(answer, n)) renderHead();
        changed();
      }),
    );
  }
  $("btn-delete-stream").addEventListener("click", (e) => {
    const b = e.currentTarget;
    confirmClick(b, "Delete", () =>
      act(b, async () => {
        const id = selectedStreamId();
        await api.del(streamPath());
        deleted(id);
      }),
    );
  });
}

/** Whether a render node runs the stream, as far as the page knows. */
export function onAir() {
  return Boolean(status && status.isLive);
}

/** Numbers a status request; pass the number to `showStatus` with its answer. */
export function statusTicket() {
  issued += 1;
  return issued;
}

/** Shows an API answer unless something newer was shown; true if it was. */
export function showStatus(answer, ticket) {
  if (ticket < shown || answer.streamId !== selectedStreamId()) return false;
  shown = ticket;
  status = answer;
  renderStatus();
  setLadders(answer.layerSources);
  return true;
}

/** Forgets the status (another stream selected); answers still on their way are dropped. */
export function clearStatus() {
  status = null;
  shown = statusTicket();
  clearTimeout(refreshTimer);
  refreshTimer = null;
}

/**
 * A `stream:status` event: the API's own status (with isLive), or a node's report (its
 * state, node and rendered version, no isLive), shown at once. A node's report is only part
 * of the picture (the lease decides whose report counts), so the composed status is read
 * again; the API's status says when the desired state moved, so the list is read again.
 */
export function applyStatusEvent(d) {
  // The event takes a ticket of its own: whatever was asked before it is older.
  shown = statusTicket();
  status = { ...(status || {}), ...d };
  if (d.isLive === undefined && d.state) status.isLive = d.state === "live" || d.state === "paused";
  renderStatus();
  const stream = selectedStream();
  if (d.isLive === undefined) refreshStatusSoon();
  else if (stream && d.version && d.version !== stream.version) refreshStreams().then(renderHead, () => {});
}

/** Reads the composed status (and the stream's desired state) again, at most every 300 ms. */
export function refreshStatusSoon() {
  if (refreshTimer || !selectedStreamId()) return;
  const id = selectedStreamId();
  refreshTimer = setTimeout(async () => {
    refreshTimer = null;
    const n = statusTicket();
    try {
      const [answer] = await Promise.all([api.get(streamPath("/status")), refreshStreams()]);
      if (selectedStreamId() !== id) return;
      const before = status && status.state;
      if (!showStatus(answer, n)) renderHead();
      // A correction no event announced: the log says so, so it reads like the panel.
      else if (answer.state !== before) logLine("sync", `state ${answer.state}${answer.nodeId ? ` on ${answer.nodeId}` : ""} (read again from the API)`);
    } catch {
      // The next event or re-sync tries again.
    }
  }, REFRESH_AFTER_MS);
}

/** The head: the stream's name, its state and the buttons its desired state allows. */
export function renderHead() {
  const s = selectedStream();
  if (!s) return;
  $("stream-name").textContent = s.name;
  $("stream-id").textContent = s.id;
  const st = (status && status.state) || (s.desiredState === "stopped" ? "idle" : "queued");
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

export function renderStatus() {
  const st = status;
  const set = (id, v) => {
    $(id).textContent = v;
  };
  if (!st) {
    for (const id of ["st-state", "st-live", "st-paused", "st-node", "st-version", "st-started", "st-format"]) set(id, "—");
    $("st-outputs").replaceChildren();
    renderHead();
    return;
  }
  if (!st.isLive) metricsOffAir();
  $("st-state").replaceChildren(h("span", { class: "badge", dataset: { state: st.state } }, st.state));
  set("st-live", st.isLive ? "yes" : "no");
  set("st-paused", st.isPaused ? "yes" : "no");
  set("st-node", st.nodeId || "none yet");
  set("st-version", String(st.version));
  set("st-started", time(st.startTime));
  const c = streamConfig();
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
