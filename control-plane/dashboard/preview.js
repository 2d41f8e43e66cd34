// The program preview: the latest output frame of the selected stream, polled from the API
// (which asks the render node holding the stream) every second while the stream is asked to
// be on air, every five seconds otherwise; hidden whenever there is no frame to show.

import { $ } from "./dom.js";
import { api } from "./session.js";
import { selectedStream, selectedStreamId, streamPath } from "./streams.js";

const EVERY_MS = 1000;
const IDLE_EVERY_MS = 5000;

let timer = null;
let url = null;
let busy = false;
// Bumped on every restart, so a tick still in flight does not start a second loop.
let generation = 0;

/** (Re)starts polling; `keep` leaves the current picture up until the next answer. */
export function startPreview({ keep = false } = {}) {
  if (keep) {
    clearTimeout(timer);
    generation += 1;
  } else {
    stopPreview();
  }
  tick();
}

export function stopPreview() {
  clearTimeout(timer);
  timer = null;
  generation += 1;
  $("live-preview").hidden = true;
  if (url) URL.revokeObjectURL(url);
  url = null;
}

async function tick() {
  const id = selectedStreamId();
  const stream = selectedStream();
  const next = stream && stream.desiredState !== "stopped" ? EVERY_MS : IDLE_EVERY_MS;
  const gen = generation;
  if (id && !busy && document.visibilityState === "visible") {
    busy = true;
    try {
      const r = await api.fetchRaw(streamPath("/preview.jpg"));
      if (r.ok && (r.headers.get("Content-Type") || "").startsWith("image/") && selectedStreamId() === id) {
        const fresh = URL.createObjectURL(await r.blob());
        $("preview-img").src = fresh;
        if (url) URL.revokeObjectURL(url);
        url = fresh;
        $("live-preview").hidden = false;
      } else {
        $("live-preview").hidden = true;
      }
    } catch {
      $("live-preview").hidden = true;
    } finally {
      busy = false;
    }
  }
  if (selectedStreamId() === id && id && gen === generation) timer = setTimeout(tick, next);
}
