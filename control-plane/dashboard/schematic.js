// A schematic of one scene: every layer drawn as a box at its canvas position, scaled to the
// stream's resolution. Layers can be dragged (move), resized by their bottom-right corner,
// and nudged with the arrow keys; the owner is told when a gesture ends.

import { fitCanvas } from "./dom.js";

const HANDLE_CSS_PX = 10;
const SNAP_CSS_PX = 8;
const NUDGE_DEBOUNCE_MS = 350;
const LABEL_H = 16;

export class Schematic {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {object} opts
   * @param {(layer: object, position: {x: number, y: number}) => void} opts.onMove
   * @param {(layer: object, size: {width: number, height: number}) => void} opts.onResize
   * @param {(id: string | null) => void} opts.onSelect
   */
  constructor(canvas, { onMove, onResize, onSelect }) {
    this.canvas = canvas;
    this.onMove = onMove;
    this.onResize = onResize;
    this.onSelect = onSelect;
    this.layers = [];
    this.width = 1920;
    this.height = 1080;
    this.selectedId = null;
    this.drag = null;
    this.nudge = null;
    canvas.addEventListener("pointerdown", (e) => this.#down(e));
    canvas.addEventListener("pointermove", (e) => this.#move(e));
    canvas.addEventListener("pointerup", (e) => this.#up(e));
    canvas.addEventListener("pointercancel", () => this.#cancel());
    canvas.addEventListener("keydown", (e) => this.#key(e));
    new ResizeObserver(() => this.draw()).observe(canvas);
  }

  /** Shows `layers` (any order) on a `width`×`height` canvas. */
  set({ layers, width, height, selectedId }) {
    this.width = width || this.width;
    this.height = height || this.height;
    this.canvas.style.aspectRatio = `${this.width} / ${this.height}`;
    const held = this.drag ? this.drag.id : this.nudge ? this.nudge.id : null;
    const local = held ? this.layers.find((l) => l.id === held) : null;
    this.layers = layers.map((l) => (local && l.id === held ? { ...l, position: local.position, size: local.size } : { ...l }));
    if (selectedId !== undefined) this.selectedId = selectedId;
    this.draw();
  }

  select(id) {
    this.selectedId = id;
    this.draw();
  }

  get scale() {
    return this.canvas.clientWidth / this.width || 1;
  }

  #point(e) {
    const r = this.canvas.getBoundingClientRect();
    const s = this.scale;
    return { x: (e.clientX - r.left) / s, y: (e.clientY - r.top) / s };
  }

  /** The topmost layer under a canvas point, and whether the point is on its resize handle. */
  #hit(p) {
    const handle = HANDLE_CSS_PX / this.scale;
    const sel = this.layers.find((l) => l.id === this.selectedId);
    if (sel) {
      const cx = sel.position.x + sel.size.width;
      const cy = sel.position.y + sel.size.height;
      if (Math.abs(p.x - cx) <= handle && Math.abs(p.y - cy) <= handle) return { layer: sel, mode: "resize" };
    }
    const ordered = [...this.layers].sort((a, b) => b.zIndex - a.zIndex);
    for (const l of ordered) {
      if (p.x >= l.position.x && p.x <= l.position.x + l.size.width && p.y >= l.position.y && p.y <= l.position.y + l.size.height) {
        return { layer: l, mode: "move" };
      }
    }
    return null;
  }

  #down(e) {
    if (e.button !== 0) return;
    this.canvas.focus({ preventScroll: true });
    const p = this.#point(e);
    const hit = this.#hit(p);
    if (!hit) {
      if (this.selectedId !== null) {
        this.selectedId = null;
        this.onSelect(null);
        this.draw();
      }
      return;
    }
    e.preventDefault();
    const l = hit.layer;
    if (this.selectedId !== l.id) {
      this.selectedId = l.id;
      this.onSelect(l.id);
    }
    this.drag = {
      id: l.id,
      mode: hit.mode,
      start: p,
      orig: { x: l.position.x, y: l.position.y, w: l.size.width, h: l.size.height },
      moved: false,
      pointerId: e.pointerId,
    };
    this.canvas.setPointerCapture(e.pointerId);
    this.canvas.dataset.dragging = "true";
    this.draw();
  }

  #move(e) {
    const p = this.#point(e);
    if (!this.drag) {
      const hit = this.#hit(p);
      this.canvas.style.cursor = hit ? (hit.mode === "resize" ? "nwse-resize" : "move") : "default";
      return;
    }
    const d = this.drag;
    const l = this.layers.find((x) => x.id === d.id);
    if (!l) return;
    const dx = p.x - d.start.x;
    const dy = p.y - d.start.y;
    if (!d.moved && Math.hypot(dx, dy) * this.scale < 2) return;
    d.moved = true;
    const snap = SNAP_CSS_PX / this.scale;
    if (d.mode === "move") {
      l.position = {
        x: snapTo(Math.round(d.orig.x + dx), [0, this.width - d.orig.w, (this.width - d.orig.w) / 2], snap),
        y: snapTo(Math.round(d.orig.y + dy), [0, this.height - d.orig.h, (this.height - d.orig.h) / 2], snap),
      };
    } else {
      const right = snapTo(Math.round(d.orig.x + d.orig.w + dx), [this.width], snap);
      const bottom = snapTo(Math.round(d.orig.y + d.orig.h + dy), [this.height], snap);
      l.size = { width: Math.max(1, right - d.orig.x), height: Math.max(1, bottom - d.orig.y) };
    }
    this.draw();
  }

  #up(e) {
    const d = this.drag;
    if (!d || e.pointerId !== d.pointerId) return;
    this.drag = null;
    delete this.canvas.dataset.dragging;
    const l = this.layers.find((x) => x.id === d.id);
    if (l && d.moved) {
      if (d.mode === "move") this.onMove(l, { x: Math.round(l.position.x), y: Math.round(l.position.y) });
      else this.onResize(l, { width: Math.round(l.size.width), height: Math.round(l.size.height) });
    }
    this.draw();
  }

  #cancel() {
    const d = this.drag;
    if (!d) return;
    this.drag = null;
    delete this.canvas.dataset.dragging;
    const l = this.layers.find((x) => x.id === d.id);
    if (l) {
      l.position = { x: d.orig.x, y: d.orig.y };
      l.size = { width: d.orig.w, height: d.orig.h };
    }
    this.draw();
  }

  #key(e) {
    const steps = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    const step = steps[e.key];
    const l = this.layers.find((x) => x.id === this.selectedId);
    if (e.key === "Escape" && this.selectedId) {
      this.selectedId = null;
      this.onSelect(null);
      this.draw();
      return;
    }
    if (!step || !l || this.drag) return;
    e.preventDefault();
    const by = e.shiftKey ? 10 : 1;
    l.position = { x: l.position.x + step[0] * by, y: l.position.y + step[1] * by };
    this.draw();
    clearTimeout(this.nudge && this.nudge.timer);
    this.nudge = {
      id: l.id,
      timer: setTimeout(() => {
        this.nudge = null;
        this.onMove(l, { ...l.position });
      }, NUDGE_DEBOUNCE_MS),
    };
  }

  draw() {
    const fitted = fitCanvas(this.canvas);
    if (!fitted) return;
    const { g, w, h } = fitted;
    const c = this.canvas;
    const s = w / this.width;
    g.fillStyle = "#0b0d10";
    g.fillRect(0, 0, w, h);
    // Thirds, a framing aid.
    g.strokeStyle = "rgba(255,255,255,0.06)";
    g.lineWidth = 1;
    g.beginPath();
    for (const f of [1 / 3, 2 / 3]) {
      g.moveTo(Math.round(w * f) + 0.5, 0);
      g.lineTo(Math.round(w * f) + 0.5, h);
      g.moveTo(0, Math.round(h * f) + 0.5);
      g.lineTo(w, Math.round(h * f) + 0.5);
    }
    g.stroke();

    const ordered = [...this.layers].sort((a, b) => a.zIndex - b.zIndex);
    for (const l of ordered) drawLayer(g, l, s);
    // Names last, so no box hides another's; above the box where there is room.
    for (const l of ordered) {
      const x = Math.max(0, l.position.x * s);
      const y = l.position.y * s;
      label(g, l.visible ? l.name : `${l.name} (hidden)`, x, y >= LABEL_H ? y - LABEL_H : Math.max(0, y), Math.max(40, Math.min(w - x, l.size.width * s)));
    }
    const sel = ordered.find((l) => l.id === this.selectedId);
    if (sel) {
      const x = sel.position.x * s;
      const y = sel.position.y * s;
      const bw = sel.size.width * s;
      const bh = sel.size.height * s;
      g.strokeStyle = "#4f8cff";
      g.lineWidth = 2;
      g.setLineDash([]);
      g.strokeRect(x + 1, y + 1, Math.max(0, bw - 2), Math.max(0, bh - 2));
      g.fillStyle = "#4f8cff";
      g.fillRect(x + bw - 6, y + bh - 6, 10, 10);
      g.strokeStyle = "#0b0d10";
      g.lineWidth = 1;
      g.strokeRect(x + bw - 6 + 0.5, y + bh - 6 + 0.5, 9, 9);
    }
    if (ordered.length === 0) {
      g.fillStyle = "rgba(230,233,238,0.4)";
      g.font = "13px system-ui, sans-serif";
      g.textAlign = "center";
      g.textBaseline = "middle";
      g.fillText("No layers in this scene", w / 2, h / 2);
    }
    c.dataset.layerCount = String(ordered.length);
    c.dataset.selected = this.selectedId || "";
    c.dataset.signature = signature(this.width, this.height, ordered);
  }
}

function snapTo(v, targets, within) {
  for (const t of targets) if (Math.abs(v - t) <= within) return Math.round(t);
  return v;
}

function drawLayer(g, l, s) {
  const x = l.position.x * s;
  const y = l.position.y * s;
  const w = l.size.width * s;
  const h = l.size.height * s;
  const src = l.source || {};
  g.save();
  g.beginPath();
  g.rect(x, y, w, h);
  g.clip();
  if (!l.visible) {
    g.setLineDash([5, 4]);
    g.strokeStyle = "rgba(230,233,238,0.45)";
    g.lineWidth = 1;
    g.strokeRect(x + 0.5, y + 0.5, w - 1, h - 1);
    g.setLineDash([]);
    g.restore();
    return;
  }
  g.globalAlpha = clamp01(l.opacity);
  if (l.kind === "color") {
    g.fillStyle = cssColor(src.color);
    g.fillRect(x, y, w, h);
  } else if (l.kind === "text") {
    g.fillStyle = "rgba(255,255,255,0.04)";
    g.fillRect(x, y, w, h);
    const size = Math.max(4, (src.fontSize || 48) * s);
    g.font = `${size}px ${safeFamily(src.fontFamily)}, system-ui, sans-serif`;
    g.fillStyle = cssColor(src.color || "#FFFFFF");
    g.textAlign = "left";
    g.textBaseline = "middle";
    g.fillText(src.text || "", x + 4, y + h / 2);
  } else {
    g.fillStyle = "#1b2330";
    g.fillRect(x, y, w, h);
    g.strokeStyle = "rgba(79,140,255,0.25)";
    g.lineWidth = 1;
    g.beginPath();
    for (let d = -h; d < w; d += 14) {
      g.moveTo(x + d, y + h);
      g.lineTo(x + d + h, y);
    }
    g.stroke();
    g.fillStyle = "rgba(230,233,238,0.7)";
    g.font = "12px system-ui, sans-serif";
    g.textAlign = "center";
    g.textBaseline = "middle";
    g.fillText(l.kind === "ingest" ? "live feed" : l.kind, x + w / 2, y + h / 2);
  }
  g.globalAlpha = 1;
  g.strokeStyle = "rgba(0,0,0,0.35)";
  g.lineWidth = 1;
  g.strokeRect(x + 0.5, y + 0.5, w - 1, h - 1);
  g.restore();
}

function label(g, text, x, y, maxW) {
  g.font = "11px system-ui, sans-serif";
  g.textAlign = "left";
  g.textBaseline = "top";
  const tw = Math.min(g.measureText(text).width + 8, maxW);
  g.fillStyle = "rgba(11,13,16,0.78)";
  g.fillRect(x, y, tw, LABEL_H);
  g.fillStyle = "#e6e9ee";
  g.fillText(text, x + 4, y + 2, Math.max(0, tw - 8));
}

/** `#RRGGBB` or `#RRGGBBAA` → a CSS color (canvas does not read 8-digit hex everywhere). */
export function cssColor(hex) {
  const m = /^#([0-9a-f]{6})([0-9a-f]{2})?$/i.exec(hex || "");
  if (!m) return "#888888";
  const n = parseInt(m[1], 16);
  const a = m[2] ? parseInt(m[2], 16) / 255 : 1;
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${a.toFixed(3)})`;
}

function safeFamily(f) {
  return /^[\w -]{1,100}$/.test(f || "") ? `"${f}"` : "sans-serif";
}

function clamp01(v) {
  return Math.min(1, Math.max(0, Number.isFinite(v) ? v : 1));
}

/** A short fingerprint of what is drawn: tests and tools can tell the picture changed. */
function signature(w, h, layers) {
  const text = JSON.stringify([w, h, layers.map((l) => [l.id, l.visible, l.opacity, l.zIndex, l.position, l.size, l.source])]);
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, "0");
}
