// The Events panel: the last MAX_LOG events in words, newest first, with a count of every
// event received (metrics included, though they are not listed), and the header's
// connection badge.

import { $, h } from "./dom.js";

const MAX_LOG = 100;

let count = 0;

/** Empties the log (another stream selected). */
export function clearLog() {
  count = 0;
  $("event-log").replaceChildren();
  $("event-log").dataset.count = "0";
  $("event-count").textContent = "";
}

/** Counts an event that is not listed (metrics arrive every second). */
export function countEvent() {
  count += 1;
  $("event-log").dataset.count = String(count);
  $("event-count").textContent = `${count} received`;
}

/**
 * Lists an event; `data` becomes the line's data attributes. The page's own lines (`socket`:
 * the connection, `sync`: a state read again from the API) are not counted as received.
 */
export function logLine(type, text, data = {}) {
  if (type !== "socket" && type !== "sync") countEvent();
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

/** The event socket's state in the header; a lost connection is logged with its retry. */
export function showConnection(s, detail) {
  const el = $("conn");
  el.dataset.state = s;
  el.textContent =
    s === "open" ? "events live" : s === "connecting" ? "connecting…" : s === "reconnecting" ? `reconnecting in ${Math.ceil(detail.delayMs / 1000)} s` : "events offline";
  if (s === "reconnecting") logLine("socket", `connection lost${detail.reason ? ` (${detail.reason})` : ""}; retrying in ${(detail.delayMs / 1000).toFixed(1)} s`);
}
