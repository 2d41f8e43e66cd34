// The Live metrics panel: four charts fed by the render node's `metrics:update` events (and
// the API's figures after a re-sync), redrawn every second so the time axis moves between
// samples.

import { Chart } from "./charts.js";
import { $, kbps } from "./dom.js";

const REDRAW_EVERY_MS = 1000;

const charts = {
  fps: new Chart($("chart-fps"), { color: "#4f8cff", minMax: 30 }),
  bitrate: new Chart($("chart-bitrate"), { color: "#30a46c", minMax: 1000, format: kbps }),
  dropped: new Chart($("chart-dropped"), { color: "#f5a524", minMax: 10 }),
  cpu: new Chart($("chart-cpu"), { color: "#e5484d", minMax: 100, format: (v) => `${Math.round(v)}%` }),
};
let redrawTimer = null;

/** Keeps the charts' time axis moving while `showing()` says a stream is on the page. */
export function setupMetrics({ showing }) {
  clearInterval(redrawTimer);
  redrawTimer = setInterval(() => {
    if (document.visibilityState === "visible" && showing()) Object.values(charts).forEach((c) => c.draw());
  }, REDRAW_EVERY_MS);
}

const LABELS = ["m-fps", "m-bitrate", "m-dropped", "m-cpu"];

/** Empties the charts and their labels (another stream selected). */
export function clearMetrics() {
  Object.values(charts).forEach((c) => c.clear());
  for (const id of LABELS) $(id).textContent = "—";
}

/**
 * Off air, the labels stop showing the last figures as if they were current; the charts
 * keep their history.
 */
export function metricsOffAir() {
  for (const id of LABELS) $(id).textContent = "—";
}

/**
 * Adds one sample to the charts. Reads both spellings in use: the API's metrics
 * (`droppedFrames`, `cpuUsage`) and the render nodes' `metrics:update` (`dropped`, `cpu`).
 */
export function pushMetrics(m) {
  if (!m) return;
  const t = Date.now();
  const pick = (...keys) => {
    for (const k of keys) if (m[k] !== undefined && m[k] !== null && Number.isFinite(Number(m[k]))) return Number(m[k]);
    return undefined;
  };
  const show = (id, text) => {
    $(id).textContent = text;
  };
  const fps = pick("fps");
  if (fps !== undefined) {
    charts.fps.push(fps, t);
    show("m-fps", fps.toFixed(1));
  }
  const bitrate = pick("bitrate");
  if (bitrate !== undefined) {
    charts.bitrate.push(bitrate, t);
    show("m-bitrate", `${kbps(bitrate)}bit/s`);
  }
  const dropped = pick("droppedFrames", "dropped");
  if (dropped !== undefined) {
    charts.dropped.push(dropped, t);
    show("m-dropped", String(dropped));
  }
  const cpu = pick("cpuUsage", "cpu");
  if (cpu !== undefined) {
    charts.cpu.push(cpu, t);
    show("m-cpu", `${cpu.toFixed(0)}%`);
  }
}
