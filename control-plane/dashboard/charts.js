// A small time-series line chart drawn on a <canvas>: the samples of the last WINDOW_MS (or
// since the first sample, at least MIN_SPAN_MS, so a fresh stream fills the chart at once).

import { fitCanvas } from "./dom.js";

const WINDOW_MS = 120_000;
const MIN_SPAN_MS = 10_000;
const MAX_POINTS = 600;

export class Chart {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {object} opts
   * @param {string} opts.color         line color
   * @param {number} [opts.minMax]      the y axis reaches at least this value
   * @param {(v: number) => string} [opts.format]  axis labels
   */
  constructor(canvas, { color, minMax = 1, format = (v) => (Number.isInteger(v) ? String(v) : v.toFixed(1)) }) {
    this.canvas = canvas;
    this.color = color;
    this.minMax = minMax;
    this.format = format;
    this.points = [];
    new ResizeObserver(() => this.draw()).observe(canvas);
  }

  push(value, t = Date.now()) {
    if (!Number.isFinite(value)) return;
    this.points.push({ t, v: value });
    if (this.points.length > MAX_POINTS) this.points.splice(0, this.points.length - MAX_POINTS);
    this.canvas.dataset.points = String(this.points.length);
    this.canvas.dataset.last = String(value);
    this.draw();
  }

  clear() {
    this.points = [];
    this.canvas.dataset.points = "0";
    delete this.canvas.dataset.last;
    this.draw();
  }

  draw() {
    const fitted = fitCanvas(this.canvas);
    if (!fitted) return;
    const { g, w, h } = fitted;
    g.clearRect(0, 0, w, h);

    const now = Date.now();
    const first = this.points.length ? this.points[0].t : now;
    const span = Math.min(WINDOW_MS, Math.max(MIN_SPAN_MS, now - first + 500));
    const from = now - span;
    const visible = this.points.filter((p) => p.t >= from - 2000);
    const top = Math.max(this.minMax, niceCeil(Math.max(0, ...visible.map((p) => p.v)) * 1.1));
    const left = 36;
    const right = 6;
    const pad = 6;
    const plotW = w - left - right;
    const plotH = h - pad * 2;
    const x = (t) => left + ((t - from) / span) * plotW;
    const y = (v) => pad + plotH - (v / top) * plotH;

    // Grid and axis labels.
    g.font = "10px system-ui, sans-serif";
    g.textBaseline = "middle";
    g.textAlign = "right";
    for (let i = 0; i <= 2; i += 1) {
      const v = (top * i) / 2;
      const yy = Math.round(y(v)) + 0.5;
      g.strokeStyle = "rgba(255,255,255,0.08)";
      g.lineWidth = 1;
      g.beginPath();
      g.moveTo(left, yy);
      g.lineTo(w - right, yy);
      g.stroke();
      g.fillStyle = "rgba(230,233,238,0.55)";
      g.fillText(this.format(v), left - 4, yy);
    }

    if (visible.length === 0) {
      g.textAlign = "center";
      g.fillStyle = "rgba(230,233,238,0.35)";
      g.fillText("no data", left + plotW / 2, pad + plotH / 2);
      return;
    }

    g.save();
    g.beginPath();
    g.rect(left, 0, plotW, h);
    g.clip();
    // Area under the line, then the line.
    g.beginPath();
    visible.forEach((p, i) => (i === 0 ? g.moveTo(x(p.t), y(p.v)) : g.lineTo(x(p.t), y(p.v))));
    const last = visible[visible.length - 1];
    g.lineTo(x(last.t), y(0));
    g.lineTo(x(visible[0].t), y(0));
    g.closePath();
    g.globalAlpha = 0.18;
    g.fillStyle = this.color;
    g.fill();
    g.globalAlpha = 1;
    g.beginPath();
    visible.forEach((p, i) => (i === 0 ? g.moveTo(x(p.t), y(p.v)) : g.lineTo(x(p.t), y(p.v))));
    g.strokeStyle = this.color;
    g.lineWidth = 1.75;
    g.lineJoin = "round";
    g.stroke();
    g.beginPath();
    g.arc(x(last.t), y(last.v), 2.5, 0, Math.PI * 2);
    g.fillStyle = this.color;
    g.fill();
    g.restore();
  }
}

/** The next "round" number at or above v (1, 2, 2.5, 5 × 10^n). */
function niceCeil(v) {
  if (!(v > 0)) return 1;
  const exp = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * exp >= v) return m * exp;
  return 10 * exp;
}
