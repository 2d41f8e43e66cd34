// Page helpers every part of the dashboard uses: building elements without parsing HTML,
// toasts, buttons that disable themselves while their call runs, value formatting, and a
// canvas sized to its CSS box.
// Holds no state of its own.

/** The element with this id. */
export const $ = (id) => document.getElementById(id);

/** Builds an element: `h("button", {class: "x", onclick: f}, "text")`. Text is never parsed as HTML. */
export function h(tag, props = {}, ...children) {
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

/** A toast: errors stay 8 s (and are announced as alerts), the rest 4 s. */
export function notify(message, kind = "error") {
  const toast = h("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" }, message);
  const close = h("button", { type: "button", class: "ghost small", "aria-label": "Dismiss", onclick: () => toast.remove() }, "×");
  toast.append(close);
  $("toasts").append(toast);
  setTimeout(() => toast.remove(), kind === "error" ? 8000 : 4000);
}

/** Runs `fn` with `button` disabled; API errors become readable messages. */
export async function act(button, fn) {
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

/** Two clicks within 3 s: the first arms the button, the second confirms. */
export function confirmClick(button, label, fn) {
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

/** kbit/s as "850k" or "4.5M". */
export function kbps(v) {
  return v >= 1000 ? `${(v / 1000).toFixed(v >= 10000 ? 0 : 1)}M` : `${Math.round(v)}k`;
}

/** Unix milliseconds in the reader's locale; "—" for none. */
export function time(ms) {
  return ms ? new Date(ms).toLocaleString() : "—";
}

/**
 * Sizes a canvas's backing store to its CSS box at the screen's pixel ratio and returns a 2D
 * context drawing in CSS pixels, with the box's size; null while the canvas is not laid out.
 */
export function fitCanvas(c) {
  const dpr = window.devicePixelRatio || 1;
  const w = c.clientWidth;
  const h = c.clientHeight;
  if (!w || !h) return null;
  if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
    c.width = Math.round(w * dpr);
    c.height = Math.round(h * dpr);
  }
  const g = c.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  return { g, w, h };
}
