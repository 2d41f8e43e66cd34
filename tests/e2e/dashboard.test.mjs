// End-to-end test of the dashboard: Debian's chromium driven by playwright-core against a real
// control plane (started by run.sh). Every check waits on a condition, never on a fixed sleep.
// Prints `e2e: N passed, M failed` last and exits non-zero on any failure.

import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const BASE = need("BASE_URL");
const TOKEN = need("E2E_TOKEN");
const OUT = need("E2E_OUT");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const EVENTS_CHANNEL = process.env.EVENTS_CHANNEL || "";
const REDIS_URL = process.env.REDIS_URL || "redis://127.0.0.1:6379";
// The render node's RTMP URL (run.sh), which the control plane returns as ingestUrl.
const INGEST_URL = need("E2E_INGEST_URL");
// The render node that runs the stream and takes the encoder's publish (run.sh).
const NODE_ID = need("E2E_NODE_ID");
// Generous: a slow 2-core machine building in the background must still pass.
const WAIT = Number(process.env.E2E_WAIT_MS || 30000);

function need(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`e2e: ${name} is not set (run tests/e2e/run.sh)`);
    process.exit(2);
  }
  return v;
}

// ------------------------------------------------------------------ tiny runner

const results = [];
let shot = 0;
let page;

async function test(name, fn) {
  const started = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
    return true;
  } catch (err) {
    results.push({ name, ok: false, err });
    console.log(`FAIL ${name} (${Date.now() - started} ms)\n     ${String(err && err.stack ? err.stack : err).split("\n").join("\n     ")}`);
    if (page) await screenshot(`failure-${slug(name)}`).catch(() => {});
    return false;
  }
}

function slug(s) {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 50);
}

async function screenshot(name) {
  shot += 1;
  const path = join(OUT, `${String(shot).padStart(2, "0")}-${name}.png`);
  // From the top, so the sticky header sits where it belongs in a full-page picture.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path, fullPage: true });
  return path;
}

function assert(cond, msg) {
  if (!cond) throw new Error(`assertion failed: ${msg}`);
}

/** Waits until `fn(arg)` is truthy in the page; `what` names the condition in the error. */
async function until(what, fn, arg) {
  try {
    return await page.waitForFunction(fn, arg, { timeout: WAIT, polling: 100 });
  } catch (err) {
    throw new Error(`timed out after ${WAIT} ms waiting for ${what}`, { cause: err });
  }
}

/** Polls an async condition in node until it returns a truthy value. */
async function eventually(what, fn) {
  const deadline = Date.now() + WAIT;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${WAIT} ms waiting for ${what}${last ? `: ${last.message}` : ""}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

async function api(method, path, body) {
  const r = await fetch(BASE + path, {
    method,
    headers: { Authorization: `Bearer ${TOKEN}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await r.json();
  if (!json.success) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(json.error)}`);
  return json.data;
}

/** The RGBA of the schematic canvas at a point given in stream (canvas) pixels. */
async function schematicPixel(x, y) {
  return page.$eval(
    "#schematic",
    (c, [x, y, w]) => {
      const k = c.width / w;
      const d = c.getContext("2d").getImageData(Math.round(x * k), Math.round(y * k), 1, 1).data;
      return [d[0], d[1], d[2], d[3]];
    },
    [x, y, 1920],
  );
}

function near(rgba, [r, g, b], tol = 6) {
  return Math.abs(rgba[0] - r) <= tol && Math.abs(rgba[1] - g) <= tol && Math.abs(rgba[2] - b) <= tol;
}

const eventCount = (type, extra = "") => page.locator(`#event-log li[data-type="${type}"]${extra}`).count();

// ------------------------------------------------------------------ the scenario

const userDataDir = mkdtempSync(join(tmpdir(), "sm-e2e-chromium-"));
const started = Date.now();
let context;
const pageErrors = [];
// While the test cuts the network on purpose, failed loads are expected.
let networkCut = false;
let streamId;
let layerId;
// The first stream key, shown once when it is created, and its id.
let streamKey;
let keyId;
let encoder;
const ORANGE = [0xe4, 0x57, 0x2e];

try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1440, height: 1000 },
    deviceScaleFactor: 1,
    timeout: 120000,
  });
  // Lets the test cut the event socket and hold off reconnection (the server side of a
  // drop is not reachable from here); the page's own code is unchanged.
  await context.addInitScript(() => {
    const Native = window.WebSocket;
    window.__e2e = { sockets: [], block: false };
    window.WebSocket = class extends Native {
      constructor(url, protocols) {
        super(window.__e2e.block ? "ws://127.0.0.1:9/blocked" : url, protocols);
        window.__e2e.sockets.push(this);
      }
    };
  });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: BASE });
  page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(WAIT);
  page.on("pageerror", (e) => pageErrors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    // Chromium logs every 4xx answer ("Failed to load resource"): the refused token, the
    // refused value and the preview's 404/503 (no frame yet, or the node slow to answer) are expected; script errors are not.
    if (m.type() === "error" && !networkCut && !m.text().startsWith("Failed to load resource")) pageErrors.push(`console: ${m.text()}`);
  });

  const steps = [
    ["serves the dashboard with the right headers", async () => {
      const index = await fetch(`${BASE}/`);
      assert(index.status === 200, `GET / answered ${index.status}`);
      assert(index.headers.get("content-type").startsWith("text/html"), "index is text/html");
      assert(index.headers.get("cache-control") === "no-cache", "index has Cache-Control: no-cache");
      assert((await index.text()).includes("/dashboard/app.js"), "index loads app.js");
      const js = await fetch(`${BASE}/dashboard/app.js`);
      assert(js.status === 200 && js.headers.get("content-type").startsWith("text/javascript"), "app.js is JavaScript");
      const again = await fetch(`${BASE}/dashboard/app.js`, { headers: { "If-None-Match": js.headers.get("etag") } });
      assert(again.status === 304, `revalidation answers 304, got ${again.status}`);
      const module = await fetch(`${BASE}/dashboard/status.js`);
      assert(module.status === 200 && module.headers.get("content-type").startsWith("text/javascript"), "the modules app.js imports are served as JavaScript");
      const css = await fetch(`${BASE}/dashboard/style.css`);
      assert(css.headers.get("content-type").startsWith("text/css"), "style.css is CSS");
      const missing = await fetch(`${BASE}/dashboard/nope.js`);
      assert(missing.status === 404 && (await missing.json()).success === false, "unknown asset is a JSON 404");
    }],

    ["refuses a bad token with a readable message", async () => {
      await page.goto(`${BASE}/`);
      await page.locator("#signin-form").waitFor();
      await page.fill("#token-input", "not-a-token");
      await page.click("#signin-submit");
      await page.locator("#signin-error").waitFor();
      const text = await page.textContent("#signin-error");
      assert(/refused/i.test(text) && text.length > 20, `error message shown: ${text}`);
      assert(await page.locator("#app-view").isHidden(), "the app stays hidden");
      await screenshot("signin-refused");
    }],

    ["signs in with a tenant token", async () => {
      await page.fill("#token-input", TOKEN);
      await page.click("#signin-submit");
      await page.locator("#app-view").waitFor();
      await until("the tenant name", () => document.getElementById("tenant").textContent.includes("e2e"));
      const kept = await page.evaluate(() => sessionStorage.getItem("sm.token"));
      assert(kept && kept.length > 20, "the token is kept in sessionStorage");
    }],

    ["creates and selects a stream", async () => {
      await page.fill("#new-stream-name", "E2E Show");
      await page.click("#create-stream-form button[type=submit]");
      await until("the new stream selected", () => document.getElementById("stream-name").textContent === "E2E Show");
      streamId = (await page.textContent("#stream-id")).trim();
      assert(/^[0-9a-f-]{36}$/.test(streamId), `stream id shown: ${streamId}`);
      await until("the event socket open", () => document.getElementById("conn").dataset.state === "open");
      await until("the status loaded", () => document.getElementById("st-state").textContent.trim() === "idle");
      await until("the main scene listed", () => document.querySelectorAll("#scene-list li.scene").length === 1);
      const listed = await page.locator(`#stream-list [data-stream-id="${streamId}"]`).count();
      assert(listed === 1, "the stream is in the list");
      await screenshot("stream-created");
    }],

    ["adds a color layer and sees its layer:update event", async () => {
      await page.selectOption("#new-layer-kind", "color");
      await page.fill("#new-layer-name", "Lower third");
      await page.fill("#new-layer-color", "#e4572e");
      await page.click("#add-layer");
      await until("the layer in the list", () => document.querySelectorAll("#layer-list li.layer").length === 1);
      await until("the created event in the log", () => document.querySelector('#event-log li[data-type="layer:update"][data-action="created"]'));
      layerId = await page.getAttribute("#layer-list li.layer", "data-layer-id");
      const layer = await api("GET", `/streams/${streamId}/layers/${layerId}`);
      assert(layer.name === "Lower third" && layer.source.color === "#E4572E", `layer stored: ${JSON.stringify(layer)}`);
      await until("the schematic drawing one layer", () => document.getElementById("schematic").dataset.layerCount === "1");
      const cx = layer.position.x + layer.size.width / 2;
      const cy = layer.position.y + layer.size.height / 2;
      const px = await schematicPixel(cx, cy);
      assert(near(px, ORANGE), `the layer's color at its center on the schematic, got ${px}`);
    }],

    ["starts the stream", async () => {
      const before = await eventCount("stream:status");
      await page.click("#btn-start");
      // Queued until the render node takes it, then starting and live: any of them by now.
      await until("state queued or later", () => ["queued", "starting", "live"].includes(document.getElementById("stream-state").textContent));
      await eventually("the stream:status event", async () => (await eventCount("stream:status")) > before);
      const status = await api("GET", `/streams/${streamId}/status`);
      assert(["queued", "starting", "live"].includes(status.state), `API says ${status.state}`);
      await until("Stop enabled, Start disabled", () => !document.getElementById("btn-stop").disabled && document.getElementById("btn-start").disabled);
      await screenshot("started");
    }],

    ["goes live on the render node: status, metrics and events agree", async () => {
      // The head's badge and the Status panel follow the node's report (stream:status), not
      // only the API's answer to Start.
      await until("the state badge live", () => document.getElementById("stream-state").textContent === "live");
      await until(
        "the Status panel live, on air, on the node",
        (node) => {
          const text = (id) => document.getElementById(id).textContent.trim();
          return text("st-state") === "live" && text("st-live") === "yes" && text("st-node") === node;
        },
        NODE_ID,
      );
      const status = await api("GET", `/streams/${streamId}/status`);
      assert(status.state === "live" && status.isLive && status.nodeId === NODE_ID, `the API agrees: ${JSON.stringify(status)}`);
      const log = await page.locator('#event-log li[data-type="stream:status"] .ev-text').allTextContents();
      assert(log.some((t) => t.includes("live") && t.includes(NODE_ID)), `the event log says live on the node: ${log.join(" | ")}`);
      // The node's own figures, about once a second: frames are flowing.
      await until("three samples from the node", () => Number(document.getElementById("chart-fps").dataset.points || 0) >= 3);
      await until("frames per second above zero", () => Number(document.getElementById("m-fps").textContent) > 0);
      const badge = await page.textContent(`#stream-list [data-stream-id="${streamId}"] .badge`);
      assert(badge === "running", `the sidebar shows what was asked: ${badge}`);
      await screenshot("live");
    }],

    ["shows the program preview: the node's frames, refreshed", async () => {
      await until("the preview shown", () => {
        const img = document.getElementById("preview-img");
        return !document.getElementById("live-preview").hidden && img.complete && img.naturalWidth > 0;
      });
      const first = await page.getAttribute("#preview-img", "src");
      await until("a newer frame", (src) => document.getElementById("preview-img").getAttribute("src") !== src, first);
      const r = await fetch(`${BASE}/streams/${streamId}/preview.jpg`, { headers: { Authorization: `Bearer ${TOKEN}` } });
      assert(r.status === 200 && r.headers.get("content-type") === "image/jpeg", `the preview endpoint answers ${r.status} ${r.headers.get("content-type")}`);
      await until("the frame loaded", () => document.getElementById("preview-img").complete);
      const size = await page.$eval("#preview-img", (img) => [img.naturalWidth, img.naturalHeight]);
      assert(Math.abs(size[0] / size[1] - 16 / 9) < 0.02, `a 16:9 frame of the 1920x1080 stream: ${size}`);
      await screenshot("program-preview");
    }],

    ["drags the layer on the preview: PATCH, event, and a changed picture", async () => {
      const layer = await api("GET", `/streams/${streamId}/layers/${layerId}`);
      await page.locator("#schematic").scrollIntoViewIfNeeded();
      const box = await page.locator("#schematic").boundingBox();
      const scale = box.width / 1920;
      const signature = await page.getAttribute("#schematic", "data-signature");
      const updatesBefore = await eventCount("layer:update", '[data-action="updated"]');
      const from = { x: box.x + (layer.position.x + layer.size.width / 2) * scale, y: box.y + (layer.position.y + layer.size.height / 2) * scale };
      const move = { x: 700, y: 300 };
      await page.mouse.move(from.x, from.y);
      await page.mouse.down();
      for (let i = 1; i <= 10; i += 1) await page.mouse.move(from.x + (move.x * scale * i) / 10, from.y + (move.y * scale * i) / 10);
      await page.mouse.up();
      const moved = await eventually("the new position stored", async () => {
        const l = await api("GET", `/streams/${streamId}/layers/${layerId}`);
        return l.position.x !== layer.position.x ? l : null;
      });
      const want = { x: layer.position.x + move.x, y: layer.position.y + move.y };
      assert(Math.abs(moved.position.x - want.x) <= 4 && Math.abs(moved.position.y - want.y) <= 4, `moved to ${JSON.stringify(moved.position)}, wanted about ${JSON.stringify(want)}`);
      await eventually("the layer:update event", async () => (await eventCount("layer:update", '[data-action="updated"]')) > updatesBefore);
      const text = await page.textContent('#event-log li[data-type="layer:update"][data-action="updated"] .ev-text');
      assert(text.includes("position"), `the event names the change: ${text}`);
      await until("the schematic redrawn", (s) => document.getElementById("schematic").dataset.signature !== s, signature);
      const atNew = await schematicPixel(moved.position.x + layer.size.width / 2, moved.position.y + layer.size.height / 2);
      const atOld = await schematicPixel(layer.position.x + layer.size.width / 2, layer.position.y + layer.size.height / 2);
      assert(near(atNew, ORANGE), `the layer drawn at its new place, got ${atNew}`);
      assert(!near(atOld, ORANGE), `its old place is empty, got ${atOld}`);
      const x = await page.inputValue(`#layer-list li[data-layer-id="${layerId}"] .layer-x`);
      assert(Number(x) === moved.position.x, `the x field follows: ${x}`);
      await screenshot("layer-dragged");
    }],

    ["toggles visibility: the event arrives and the preview changes", async () => {
      const layer = await api("GET", `/streams/${streamId}/layers/${layerId}`);
      const signature = await page.getAttribute("#schematic", "data-signature");
      const before = await eventCount("layer:update", '[data-action="updated"]');
      await page.uncheck(`#layer-list li[data-layer-id="${layerId}"] .layer-visible`);
      await eventually("the visibility event", async () => (await eventCount("layer:update", '[data-action="updated"]')) > before);
      const text = await page.textContent('#event-log li[data-type="layer:update"][data-action="updated"] .ev-text');
      assert(text.includes("visible"), `the event names the change: ${text}`);
      await until("the schematic redrawn", (s) => document.getElementById("schematic").dataset.signature !== s, signature);
      const px = await schematicPixel(layer.position.x + layer.size.width / 2, layer.position.y + layer.size.height / 2);
      assert(!near(px, ORANGE), `a hidden layer is not filled, got ${px}`);
      assert((await api("GET", `/streams/${streamId}/layers/${layerId}`)).visible === false, "stored hidden");
      await screenshot("layer-hidden");
      await page.check(`#layer-list li[data-layer-id="${layerId}"] .layer-visible`);
      await eventually("shown again", async () => (await api("GET", `/streams/${streamId}/layers/${layerId}`)).visible === true);
      await until("the row says visible", (id) => document.querySelector(`#layer-list li[data-layer-id="${id}"]`).dataset.visible === "true", layerId);
    }],

    ["edits opacity and stacking from the layer list", async () => {
      // A second layer, then bring the first one above it.
      await page.fill("#new-layer-name", "Backdrop");
      await page.fill("#new-layer-color", "#2e86e4");
      await page.click("#add-layer");
      await until("two layers", () => document.querySelectorAll("#layer-list li.layer").length === 2);
      const first = await page.getAttribute("#layer-list li.layer:first-child", "data-layer-id");
      assert(first !== layerId, "the new layer is on top");
      await page.click(`#layer-list li[data-layer-id="${layerId}"] .layer-up`);
      await until("the first layer back on top", (id) => document.querySelector("#layer-list li.layer:first-child").dataset.layerId === id, layerId);
      // Two PATCHes swap the z-indexes: wait for both.
      await eventually("the z-indexes swapped in the API", async () => {
        const layers = (await api("GET", `/streams/${streamId}/layers`)).layers;
        const mine = layers.find((l) => l.id === layerId);
        const other = layers.find((l) => l.id !== layerId);
        return mine.zIndex > other.zIndex;
      });
      await until("the order buttons settled", (id) => document.querySelector(`#layer-list li[data-layer-id="${id}"] .layer-up`).disabled, layerId);
      await page.locator(`#layer-list li[data-layer-id="${layerId}"] .layer-opacity`).fill("0.5");
      await eventually("opacity stored", async () => (await api("GET", `/streams/${streamId}/layers/${layerId}`)).opacity === 0.5);
      const w = page.locator(`#layer-list li[data-layer-id="${layerId}"] .layer-w`);
      await w.fill("500");
      await w.press("Enter");
      await eventually("width stored", async () => (await api("GET", `/streams/${streamId}/layers/${layerId}`)).size.width === 500);
      // A third layer, deleted again: two clicks (arm, confirm).
      await page.fill("#new-layer-name", "Temporary");
      await page.click("#add-layer");
      await until("three layers", () => document.querySelectorAll("#layer-list li.layer").length === 3);
      const temp = await page.getAttribute("#layer-list li.layer:first-child", "data-layer-id");
      const del = page.locator(`#layer-list li[data-layer-id="${temp}"] .layer-delete`);
      await del.click();
      await until("the delete button armed", (id) => document.querySelector(`#layer-list li[data-layer-id="${id}"] .layer-delete`).dataset.armed === "true", temp);
      await del.click();
      await until("two layers again", () => document.querySelectorAll("#layer-list li.layer").length === 2);
      await until("the deleted event", (id) => document.querySelector(`#event-log li[data-type="layer:update"][data-action="deleted"][data-layer-id="${id}"]`), temp);
      assert((await api("GET", `/streams/${streamId}/layers`)).layers.length === 2, "deleted in the API");
    }],

    ["shows an API error as a readable message", async () => {
      const x = page.locator(`#layer-list li[data-layer-id="${layerId}"] .layer-x`);
      await x.fill("99999");
      await x.press("Enter");
      await page.locator(".toast.error").first().waitFor();
      const text = await page.textContent(".toast.error");
      assert(/position\.x/.test(text) && /16384/.test(text), `the API's message is shown: ${text}`);
      await until("the field reverted", (id) => document.querySelector(`#layer-list li[data-layer-id="${id}"] .layer-x`).value !== "99999", layerId);
      await screenshot("api-error");
      for (const close of await page.locator(".toast button").all()) await close.click();
    }],

    ["draws the node's metrics as charts while the status says live", async () => {
      const points = Number(await page.getAttribute("#chart-fps", "data-points"));
      await until("three more samples", (n) => Number(document.getElementById("chart-fps").dataset.points || 0) >= n + 3, points);
      for (const [id, pattern] of [["m-fps", /^\d+\.\d$/], ["m-bitrate", /bit\/s$/], ["m-dropped", /^\d+$/], ["m-cpu", /^\d+%$/]]) {
        const text = await page.textContent(`#${id}`);
        assert(pattern.test(text), `${id} reads ${text}`);
      }
      assert(Number(await page.getAttribute("#chart-cpu", "data-points")) >= 3, "the CPU chart has samples");
      // A status event the page missed or got out of order (here: an old `queued`, as the
      // API sent it before the node took the stream) is put right by the node's next figures.
      if (!EVENTS_CHANNEL) throw new Error("EVENTS_CHANNEL not set");
      const stale = await api("GET", `/streams/${streamId}/status`);
      const before = await eventCount("stream:status");
      const event = {
        tenantId: "e2e",
        event: { type: "stream:status", streamId, data: { ...stale, state: "queued", isLive: false, nodeId: null, startTime: null, outputs: [] } },
      };
      const r = spawnSync("redis-cli", ["-u", REDIS_URL, "PUBLISH", EVENTS_CHANNEL, JSON.stringify(event)], { encoding: "utf8" });
      if (r.error || r.status !== 0) throw new Error(`redis-cli PUBLISH failed: ${r.error || r.stderr}`);
      await eventually("the stale status applied", async () => (await eventCount("stream:status")) > before);
      await until(
        "live again, on the node",
        (node) => {
          const text = (id) => document.getElementById(id).textContent.trim();
          return text("stream-state") === "live" && text("st-live") === "yes" && text("st-node") === node;
        },
        NODE_ID,
      );
      const sync = await page.textContent('#event-log li[data-type="sync"] .ev-text');
      assert(sync.includes("live") && sync.includes(NODE_ID), `the log says the state was read again: ${sync}`);
      await screenshot("metrics");
    }],

    ["shows a node's stream:error as a readable message", async () => {
      const event = { tenantId: "e2e", event: { type: "stream:error", streamId, data: { type: "layerError", layerId, message: "cannot decode the image" } } };
      const r = spawnSync("redis-cli", ["-u", REDIS_URL, "PUBLISH", EVENTS_CHANNEL, JSON.stringify(event)], { encoding: "utf8" });
      if (r.error || r.status !== 0) throw new Error(`redis-cli PUBLISH failed: ${r.error || r.stderr}`);
      await until("the error toast", () => [...document.querySelectorAll(".toast.error")].some((t) => t.textContent.includes("cannot decode the image")));
      const text = await page.textContent('#event-log li[data-type="stream:error"] .ev-text');
      assert(text.includes("Lower third") && text.includes("cannot decode the image"), `log: ${text}`);
      for (const close of await page.locator(".toast button").all()) await close.click();
    }],

    ["switches scene with a fade", async () => {
      const mainId = (await api("GET", `/streams/${streamId}/scenes`)).activeSceneId;
      await page.fill("#new-scene-name", "Break");
      await page.click("#create-scene-form button[type=submit]");
      await until("the Break scene listed and shown", () => [...document.querySelectorAll("#scene-list li.scene.viewing")].some((li) => li.textContent.includes("Break")));
      await until("its empty schematic", () => document.getElementById("schematic").dataset.layerCount === "0");
      await page.selectOption("#new-layer-kind", "text");
      await page.fill("#new-layer-text", "We'll be right back");
      await page.fill("#new-layer-name", "Slate");
      await page.fill("#new-layer-color", "#ffffff");
      await page.click("#add-layer");
      await until("the slate on the Break scene", () => document.getElementById("schematic").dataset.layerCount === "1");
      const breakId = await page.getAttribute("#scene-list li.scene.viewing", "data-scene-id");
      assert(breakId !== mainId, "a new scene");
      await page.selectOption("#transition-type", "fade");
      await page.fill("#transition-duration", "800");
      const before = await eventCount("scene:activate");
      await page.click(`#scene-list li[data-scene-id="${breakId}"] .scene-activate`);
      await eventually("the scene:activate event", async () => (await eventCount("scene:activate")) > before);
      const text = await page.textContent('#event-log li[data-type="scene:activate"] .ev-text');
      assert(text.includes("Break") && text.includes("fade") && text.includes("800"), `event text: ${text}`);
      await until("Break on air", (id) => document.querySelector(`#scene-list li[data-scene-id="${id}"]`).dataset.active === "true", breakId);
      const scenes = await api("GET", `/streams/${streamId}/scenes`);
      assert(scenes.activeSceneId === breakId, "the API has Break active");
      await screenshot("scene-fade");
      // Back to the main scene for the rest.
      await page.selectOption("#transition-type", "cut");
      await page.click(`#scene-list li[data-scene-id="${mainId}"] .scene-activate`);
      await until("main on air", (id) => document.querySelector(`#scene-list li[data-scene-id="${id}"]`).dataset.active === "true", mainId);
      await until("main's layers shown", () => document.getElementById("schematic").dataset.layerCount === "2");
    }],

    ["creates a stream key: server and key shown once, then masked", async () => {
      await page.click("#create-key");
      await page.locator("#new-key").waitFor();
      const key = (await page.textContent("#new-key-value")).trim();
      assert(/^sk_[0-9a-f]{48}$/.test(key), `full key shown once: ${key}`);
      const server = (await page.textContent("#new-key-server")).trim();
      assert(server === INGEST_URL, `the ingest server shown is the ingestUrl: ${server}, want ${INGEST_URL}`);
      const hint = await page.textContent("#new-key-hint");
      assert(hint.includes(`Service: Custom, Server: ${INGEST_URL}, Stream Key: ${key}`), `the OBS hint: ${hint}`);
      for (const [button, want] of [["#copy-server", server], ["#copy-key", key]]) {
        await page.click(button);
        await until(`${button} copied`, (b) => /Copied|Ctrl\+C/.test(document.querySelector(b).textContent), button);
        if ((await page.textContent(button)) === "Copied") {
          const clip = await page.evaluate(() => navigator.clipboard.readText());
          assert(clip === want, `the clipboard holds ${want}, got ${clip}`);
        }
      }
      streamKey = key;
      await until("the key listed", () => document.querySelectorAll("#key-list li.key").length === 1);
      const masked = (await page.textContent("#key-list li.key .key-masked")).trim();
      assert(masked === `sk_****${key.slice(-4)}`, `listed masked: ${masked}`);
      await screenshot("key-created");
      await page.click("#dismiss-key");
      await until("the full key gone from the page", (k) => !document.body.innerText.includes(k), key);
      const keys = (await api("GET", `/streams/${streamId}/keys`)).keys;
      assert(keys.length === 1 && keys[0].key === masked, "the API lists it masked");
      assert(keys[0].publishing === false && keys[0].lastUsed == null, `not used yet: ${JSON.stringify(keys[0])}`);
      keyId = keys[0].id;
      assert((await page.getAttribute(`#key-list li[data-key-id="${keyId}"]`, "data-publishing")) === "false", "no publishing badge yet");
      // A second key, deleted (two clicks).
      await page.click("#create-key");
      await until("two keys", () => document.querySelectorAll("#key-list li.key").length === 2);
      await page.click("#dismiss-key");
      const second = await page.getAttribute(`#key-list li.key:not([data-key-id="${keys[0].id}"])`, "data-key-id");
      const del = page.locator(`#key-list li[data-key-id="${second}"] .key-delete`);
      await del.click();
      await until("armed", (id) => document.querySelector(`#key-list li[data-key-id="${id}"] .key-delete`).dataset.armed === "true", second);
      await del.click();
      await until("one key again", () => document.querySelectorAll("#key-list li.key").length === 1);
      assert((await api("GET", `/streams/${streamId}/keys`)).keys.length === 1, "deleted in the API");
    }],

    ["adds a live-feed (ingest) layer for the key", async () => {
      const before = await page.locator("#layer-list li.layer").count();
      await page.selectOption("#new-layer-kind", "ingest");
      await until("the key offered", (id) => [...document.querySelectorAll("#new-layer-key option")].some((o) => o.value === id), keyId);
      assert(await page.locator("#new-layer-color-label").isHidden(), "no colour for a live feed");
      await page.selectOption("#new-layer-key", keyId);
      await page.fill("#new-layer-name", "Camera");
      await page.click("#add-layer");
      await until("the live-feed layer listed", (n) => document.querySelectorAll("#layer-list li.layer").length === n + 1, before);
      const layers = (await api("GET", `/streams/${streamId}/layers`)).layers;
      const cam = layers.find((l) => l.name === "Camera");
      assert(cam && cam.kind === "ingest" && cam.source.keyId === keyId, `stored as an ingest layer of the key: ${JSON.stringify(cam)}`);
      const kind = await page.textContent(`#layer-list li[data-layer-id="${cam.id}"] .layer-kind`);
      assert(kind.includes("live feed") && kind.includes(`sk_****${streamKey.slice(-4)}`) && kind.includes("no encoder"), `the row names the key: ${kind}`);
      await until("the created event", (id) => document.querySelector(`#event-log li[data-type="layer:update"][data-action="created"][data-layer-id="${id}"]`), cam.id);
      await page.selectOption("#new-layer-kind", "color");
    }],

    ["publishes with ffmpeg to the node's ingest: publishing badge, events, lastUsed", async () => {
      const url = `${INGEST_URL}/${streamKey}`;
      // Bounded: ffmpeg stops by itself after 60 s; the test stops it as soon as it has seen enough.
      encoder = spawn("ffmpeg", ["-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=15", "-f", "lavfi", "-i", "sine=frequency=440",
        "-t", "60", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "15", "-c:a", "aac", "-ar", "44100", "-f", "flv", url], { stdio: ["ignore", "ignore", "pipe"] });
      let ffmpegErr = "";
      encoder.stderr.on("data", (d) => {
        ffmpegErr += d;
      });
      try {
        await until("the publishing badge", (id) => document.querySelector(`#key-list li[data-key-id="${id}"][data-publishing="true"] .key-publishing`), keyId);
      } catch (err) {
        throw new Error(`${err.message}; ffmpeg said: ${ffmpegErr.trim() || "(nothing)"} (exit ${encoder.exitCode})`);
      }
      const connected = await page.textContent(`#event-log li[data-type="ingest:connected"][data-key-id="${keyId}"] .ev-text`);
      assert(connected.includes(`sk_****${streamKey.slice(-4)}`) && connected.includes("node"), `the log describes it: ${connected}`);
      const keys = (await api("GET", `/streams/${streamId}/keys`)).keys;
      assert(keys[0].publishing === true && keys[0].lastUsed > 0, `the API says publishing, lastUsed set: ${JSON.stringify(keys[0])}`);
      const meta = await page.textContent(`#key-list li[data-key-id="${keyId}"] .key-meta`);
      assert(meta.includes("last used"), `lastUsed shown: ${meta}`);
      await until("the layer row says publishing", () => [...document.querySelectorAll("#layer-list .layer-kind")].some((k) => k.textContent.includes("· publishing")));
      // Audio: the feed's tone moves its layer's meter and the programme's (`audio:levels`, on
      // the socket the page opens with ?meters=1); muting it from its row silences its meter.
      const feedLayer = (await api("GET", `/streams/${streamId}/layers`)).layers.find((l) => l.kind === "ingest");
      const feedRow = `#layer-list li[data-layer-id="${feedLayer.id}"]`;
      await until("the feed's meter moving", (sel) => document.querySelector(`${sel} .layer-level`)?.value > -40, feedRow);
      await until("the programme meter moving", () => document.getElementById("programme-meter").value > -40);
      assert((await page.textContent(`${feedRow} .layer-volume-db`)) === "0.0 dB", "the volume's dB readout");
      await page.click(`${feedRow} .layer-muted`);
      await eventually("the feed muted in the API", async () => (await api("GET", `/streams/${streamId}/layers/${feedLayer.id}`)).audio.muted === true);
      await until("the muted feed's meter at the floor", (sel) => document.querySelector(`${sel} .layer-level`).value <= -59, feedRow);
      await screenshot("audio-meters");
      await page.locator("#key-list").scrollIntoViewIfNeeded();
      await screenshot("ingest-publishing");
      encoder.kill("SIGINT");
      await until("the badge gone when the encoder stops", (id) => document.querySelector(`#key-list li[data-key-id="${id}"][data-publishing="false"]`), keyId);
      const gone = await page.textContent(`#event-log li[data-type="ingest:disconnected"][data-key-id="${keyId}"] .ev-text`);
      assert(gone.includes("stopped publishing"), `the log describes the disconnect: ${gone}`);
      assert((await api("GET", `/streams/${streamId}/keys`)).keys[0].publishing === false, "the API says not publishing");
    }],

    ["re-syncs from the API after the socket reconnects", async () => {
      // The socket is cut from the page's side and kept from reconnecting (see the init
      // script) while a change is made: the page can learn of it only by re-syncing.
      networkCut = true;
      await page.evaluate(() => {
        window.__e2e.block = true;
        for (const s of window.__e2e.sockets) s.close();
      });
      await until("the socket dropped", () => document.getElementById("conn").dataset.state !== "open");
      await api("PATCH", `/streams/${streamId}/layers/${layerId}`, { name: "Renamed while away" });
      await page.evaluate(() => {
        window.__e2e.block = false;
      });
      await until("the socket open again", () => document.getElementById("conn").dataset.state === "open");
      networkCut = false;
      await until("the missed change shown", (id) => document.querySelector(`#layer-list li[data-layer-id="${id}"] .layer-name`).textContent === "Renamed while away", layerId);
      const log = await page.textContent("#event-log");
      assert(log.includes("reconnected"), "the log says it reconnected");
    }],

    ["pauses, resumes and stops", async () => {
      await page.click("#btn-pause");
      await until("paused", () => document.getElementById("st-paused").textContent === "yes" && !document.getElementById("btn-resume").disabled);
      await until("the node reports it paused", () => document.getElementById("stream-state").textContent === "paused");
      await page.click("#btn-resume");
      await until("resumed", () => document.getElementById("st-paused").textContent === "no" && !document.getElementById("btn-pause").disabled);
      await until("the node reports it live", () => document.getElementById("stream-state").textContent === "live");
      await page.click("#btn-stop");
      await until("idle", () => document.getElementById("stream-state").textContent === "idle" && !document.getElementById("btn-start").disabled);
      await until("off air, on no node", () => document.getElementById("st-live").textContent === "no" && document.getElementById("st-node").textContent === "none yet");
      assert((await api("GET", `/streams/${streamId}/status`)).state === "idle", "the API says idle");
      assert((await page.textContent("#m-fps")) === "—", "no current figures off air");
      await until("the preview hidden once the node has no frame", () => document.getElementById("live-preview").hidden);
      await screenshot("stopped");
    }],

    ["creates and deletes a scratch stream", async () => {
      await page.fill("#new-stream-name", "Scratch");
      await page.click("#create-stream-form button[type=submit]");
      await until("Scratch selected", () => document.getElementById("stream-name").textContent === "Scratch");
      await until("two streams listed", () => document.querySelectorAll("#stream-list [data-stream-id]").length === 2);
      await until("Delete enabled", () => !document.getElementById("btn-delete-stream").disabled);
      await page.click("#btn-delete-stream");
      await until("the delete button armed", () => document.getElementById("btn-delete-stream").dataset.armed === "true");
      await page.click("#btn-delete-stream");
      await until("back to one stream", () => document.querySelectorAll("#stream-list [data-stream-id]").length === 1);
      await until("the show selected again", (id) => document.getElementById("stream-id").textContent === id, streamId);
      const streams = (await api("GET", "/streams")).streams;
      assert(streams.length === 1 && streams[0].id === streamId, "deleted in the API");
    }],

    ["keeps the session across a reload and signs out", async () => {
      await page.reload();
      await until("signed in again from sessionStorage", (id) => document.getElementById("stream-id").textContent === id, streamId);
      await until("the layers back (two colours and the live feed)", () => document.querySelectorAll("#layer-list li.layer").length === 3);
      await screenshot("dashboard");
      await page.click("#sign-out");
      await page.locator("#signin-form").waitFor();
      assert((await page.evaluate(() => sessionStorage.getItem("sm.token"))) === null, "token forgotten");
    }],

    ["no script errors", async () => {
      assert(pageErrors.length === 0, pageErrors.join("\n"));
    }],
  ];

  for (const [i, [name, fn]] of steps.entries()) {
    if (!(await test(name, fn))) {
      for (const [rest] of steps.slice(i + 1)) results.push({ name: rest, skipped: true });
      break;
    }
  }
} catch (err) {
  results.push({ name: "launch chromium", ok: false, err });
  console.log(`FAIL launch chromium: ${err && err.stack ? err.stack : err}`);
} finally {
  if (encoder && encoder.exitCode === null) encoder.kill("SIGKILL");
  if (context) await context.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
}

const passed = results.filter((r) => r.ok).length;
const failed = results.filter((r) => r.ok === false).length;
const skipped = results.filter((r) => r.skipped).length;
console.log(`screenshots in ${OUT}; ${((Date.now() - started) / 1000).toFixed(1)} s in the browser`);
console.log(`e2e: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed ? 1 : 0);
