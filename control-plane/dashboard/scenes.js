// The Scenes panel: the selected stream's scenes, which one is on air, and which one the page
// shows and edits (it follows the one on air until another is picked). Taking a scene on
// air goes with the transition chosen above the list.

import { $, act, h } from "./dom.js";
import { api } from "./session.js";
import { patchSelected, streamPath } from "./streams.js";

let scenes = [];
let activeId = null;
let viewingId = null;
let hooks = { viewed: () => {}, changed: () => {} };

/**
 * Wires the panel. `viewed()` runs when another scene is shown (its layers replace the
 * others); `changed()` when the scene on air or the list changed.
 */
export function setupScenes({ viewed, changed }) {
  hooks = { viewed, changed };
  $("transition-type").addEventListener("change", (e) => {
    $("transition-duration").disabled = e.target.value === "cut";
    $("transition-easing").disabled = e.target.value === "cut";
  });
  $("create-scene-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = $("new-scene-name");
    act(e.submitter, async () => {
      const scene = await api.post(streamPath("/scenes"), { name: input.value.trim() });
      scenes.push({ ...scene, active: false });
      input.value = "";
      viewScene(scene.id);
    });
  });
}

/** The scene the page shows and edits. */
export function viewedSceneId() {
  return viewingId;
}

export function activeSceneId() {
  return activeId;
}

export function findScene(id) {
  return scenes.find((s) => s.id === id);
}

/** A newly selected stream: nothing read yet, its row names the scene on air. */
export function resetScenes(onAirId) {
  scenes = [];
  activeId = onAirId;
  viewingId = onAirId;
}

/** The API's list; the page keeps showing a scene that was picked while it still exists. */
export function setScenes(list, onAirId) {
  scenes = list;
  const follow = !viewingId || viewingId === activeId || !scenes.some((s) => s.id === viewingId);
  activeId = onAirId;
  if (follow) viewingId = onAirId;
}

/** A `scene:activate` event or answer: another scene is on air. */
export function applySceneEvent(d) {
  const following = viewingId === activeId;
  activeId = d.activeSceneId;
  if (following) viewingId = d.activeSceneId;
  scenes = scenes.map((s) => ({ ...s, active: s.id === d.activeSceneId }));
  const fields = { activeSceneId: d.activeSceneId };
  if (d.version !== undefined) fields.version = d.version;
  patchSelected(fields);
}

export function renderScenes() {
  const ul = $("scene-list");
  ul.replaceChildren(
    ...scenes.map((s) => {
      const live = s.id === activeId;
      return h(
        "li",
        { class: `scene${s.id === viewingId ? " viewing" : ""}${live ? " on-air" : ""}`, dataset: { sceneId: s.id, active: String(live) } },
        h("button", { type: "button", class: "scene-view linklike", title: "Show and edit this scene's layers", onclick: () => viewScene(s.id) }, s.name),
        live ? h("span", { class: "badge small", dataset: { state: "live" } }, "on air") : null,
        h("span", { class: "grow" }),
        h("button", { type: "button", class: "scene-activate", disabled: live, onclick: (e) => activateScene(s.id, e.currentTarget) }, live ? "On air" : "Take"),
      );
    }),
  );
}

function viewScene(id) {
  viewingId = id;
  renderScenes();
  hooks.viewed();
}

function activateScene(id, button) {
  const type = $("transition-type").value;
  const transition = { type };
  if (type !== "cut") {
    transition.durationMs = Math.max(0, Math.round(Number($("transition-duration").value) || 0));
    transition.easing = $("transition-easing").value;
  }
  act(button, async () => {
    const answer = await api.post(streamPath(`/scenes/${id}/activate`), { transition });
    applySceneEvent({ activeSceneId: answer.activeSceneId });
    renderScenes();
    hooks.changed();
  });
}
