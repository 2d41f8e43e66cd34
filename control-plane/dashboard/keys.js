// The Stream keys panel: the selected stream's keys (masked, with publishing and last use),
// a new key's full value shown once with its server and the OBS settings, and the key
// choice of the add-layer form. Ingest events make it read the keys again.

import { $, act, confirmClick, h, time } from "./dom.js";
import { api } from "./session.js";
import { selectedStreamId, streamPath } from "./streams.js";

const REFRESH_AFTER_MS = 300;

let keys = [];
let refreshTimer = null;
let onChange = () => {};

/** Wires the panel; `changed()` runs when the keys changed (live-feed layers name them). */
export function setupKeys({ changed }) {
  onChange = changed;
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
  for (const button of [$("copy-server"), $("copy-key")]) button.addEventListener("click", () => copy(button));
  $("dismiss-key").addEventListener("click", hideNewKey);
}

export function streamKeys() {
  return keys;
}

export function setKeys(list) {
  keys = list;
}

/** Forgets the keys (another stream selected), the new key's value among them. */
export function clearKeys() {
  keys = [];
  clearTimeout(refreshTimer);
  refreshTimer = null;
  hideNewKey();
}

/** How a key reads on the page: its masked value (the key may be another stream's). */
export function keyLabel(keyId) {
  const k = keys.find((x) => x.id === keyId);
  return k ? k.key : `key ${String(keyId || "").slice(0, 8)}…`;
}

/** Reads the keys again (publishing, lastUsed) after an ingest event, at most every 300 ms. */
export function refreshKeysSoon() {
  if (refreshTimer || !selectedStreamId()) return;
  refreshTimer = setTimeout(() => {
    refreshTimer = null;
    refreshKeys().catch(() => {
      // The next event or re-sync tries again.
    });
  }, REFRESH_AFTER_MS);
}

export function renderKeys() {
  const ul = $("key-list");
  renderKeyChoices();
  if (!keys.length) {
    ul.replaceChildren(h("li", { class: "muted small" }, "No keys."));
    return;
  }
  ul.replaceChildren(
    ...keys.map((k) => {
      const del = h("button", { type: "button", class: "key-delete icon danger", title: "Delete key (cuts its encoder)", "aria-label": "Delete key" }, "✕");
      del.addEventListener("click", () =>
        confirmClick(del, "✕", () =>
          act(del, async () => {
            await api.del(streamPath(`/keys/${k.id}`));
            keys = keys.filter((x) => x.id !== k.id);
            renderKeys();
            onChange();
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
        h("span", { class: "muted small key-meta" }, `created ${time(k.createdAt)}`, k.lastUsed ? ` · last used ${time(k.lastUsed)}` : " · never used"),
        del,
      );
    }),
  );
}

/** The add-layer form's key choice for a live-feed layer. */
export function renderKeyChoices() {
  const select = $("new-layer-key");
  const current = select.value;
  select.replaceChildren(...keys.map((k) => h("option", { value: k.id }, `${k.key}${k.publishing ? " (publishing)" : ""}`)));
  if (keys.some((k) => k.id === current)) select.value = current;
  const ingest = $("new-layer-kind").value === "ingest";
  $("new-layer-key-empty").hidden = !ingest || keys.length > 0;
  select.disabled = keys.length === 0;
}

async function refreshKeys() {
  const id = selectedStreamId();
  const list = await api.get(streamPath("/keys"));
  if (selectedStreamId() !== id) return;
  keys = list.keys;
  renderKeys();
  onChange();
}

async function copy(button) {
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
}

/** Forgets the new key's value: it is never shown again. */
function hideNewKey() {
  $("new-key").hidden = true;
  for (const id of ["new-key-server", "new-key-value", "new-key-hint"]) $(id).textContent = "";
}
