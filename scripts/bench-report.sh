#!/usr/bin/env bash
# The benchmark suite against a local stack, in one command, written up as a Markdown report.
# It runs, in this order and on the same machine:
#   scripts/bench-api.sh            API throughput and p50/p99 under wrk
#   scripts/bench-dispatch.sh       start -> first bytes (BENCH_STARTS starts), change -> visible,
#                                   failover after SIGKILL of the holding node, node memory
#   the control-plane kill test     output gap when the replica a node talks to is SIGKILLed
#   the fault tests                 RabbitMQ, Postgres, Redis restarted under a live stream:
#                                   longest video gap at the receiver, render stall
#   render-node/bench/render-bench.sh   render throughput against ../shared/bench/baseline.sh run
#                                   in the same invocation (ratios), 1080p30 in real time,
#                                   720p30 streams at once in real time, memory per stream
#   render-node/bench/floor-bench.sh    the production scene (moving video background, PiP,
#                                   logo, lower third, texts) against its decode + encode floor
#                                   and ffmpeg's filter graph, 1080p and 720p
#   render-node/bench/effects-bench.sh  per-effect compose cost of a moving 1080p layer
#   scripts/bench-ws.sh             WebSocket memory per socket and change -> event latency
#   scripts/soak.sh BENCH_SOAK_SECONDS   RSS/fd slopes and A/V offset at the receiver
# Each prints `FIGURE name=value unit` lines; the report's table is built only from those (a
# figure a step did not print shows as "not measured"). Logs go beside the report.
# Usage: bash scripts/bench-report.sh [OUT.md]   (default artifacts/bench-report.md)
# env:   BENCH_API_SECONDS=15 BENCH_STARTS=20 BENCH_FRAMES=300 BENCH_REALTIME_SECONDS=30
#        BENCH_STREAMS_720_MAX=6 BENCH_SOAK_SECONDS=300
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-artifacts/bench-report.md}"
logs="${out%.md}-logs"
mkdir -p "$(dirname "$out")" "$logs"
rm -f "$logs"/*.log
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/stream-manager/target}"
export SQLX_OFFLINE=true
bash scripts/install-deps.sh >/dev/null
bash scripts/services.sh
# Each step builds what it runs, the way it builds it (one package at a time: building two
# together unifies their features into other artifacts, and each step would rebuild).
cargo build -q --locked --release -p render-node
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
commit="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . || echo '+uncommitted changes')"
started=$(date -u +%FT%TZ)

failed=()
bench() { # name, command...: runs it, its output to $logs/name.log (and the terminal)
  local name=$1; shift
  printf '\n== %s\n' "$name"
  local t0=$SECONDS
  if "$@" 2>&1 | tee "$logs/$name.log"; then
    echo "STEP $name ok $((SECONDS - t0))" >>"$logs/steps.log"
  else
    echo "STEP $name failed $((SECONDS - t0))" >>"$logs/steps.log"
    failed+=("$name")
  fi
}

bench api bash scripts/bench-api.sh "${BENCH_API_SECONDS:-15}"
bench dispatch env BENCH_STARTS="${BENCH_STARTS:-20}" bash scripts/bench-dispatch.sh
bench control-plane-kill bash -c "cargo build -q --locked -p control-plane && cargo nextest run \
  -p stream-manager-tests --locked -E 'test(a_killed_control_plane_replica)' --no-capture"
bench faults bash -c "cargo build -q --locked -p render-node && cargo nextest run -p stream-manager-tests \
  --locked --run-ignored only -E 'test(fault_)' -j 1 --no-capture"
bench render env RENDER_NODE_BIN="$CARGO_TARGET_DIR/release/render-node" \
  REALTIME_SECONDS="${BENCH_REALTIME_SECONDS:-30}" STREAMS_720=3 STREAMS_720_MAX="${BENCH_STREAMS_720_MAX:-6}" \
  bash render-node/bench/render-bench.sh "${BENCH_FRAMES:-300}"
bench floor env RENDER_NODE_BIN="$CARGO_TARGET_DIR/release/render-node" \
  bash render-node/bench/floor-bench.sh "${BENCH_FRAMES:-300}"
bench effects bash -c "cargo build -q --locked --release -p render-node --example effects_cost && \
  bash render-node/bench/effects-bench.sh 120"
bench websockets bash scripts/bench-ws.sh
bench soak bash scripts/soak.sh "${BENCH_SOAK_SECONDS:-300}"

python3 - "$out" "$logs" "$started" "$load_before" "$commit" <<'PY'
import glob, os, re, sys
out, logs, started, load, commit = sys.argv[1:]
fig, src = {}, {}
for path in sorted(glob.glob(os.path.join(logs, "*.log"))):
    step = os.path.basename(path)[:-4]
    for line in open(path, errors="replace"):
        m = re.match(r"^FIGURE ([a-z0-9_]+)=(\S+)(?: (.*))?$", line.strip())
        if m:
            fig[m[1]] = (m[2], (m[3] or "").strip())
            src[m[1]] = step
steps = {}
if os.path.exists(os.path.join(logs, "steps.log")):
    for line in open(os.path.join(logs, "steps.log")):
        _, name, state, secs = line.split()
        steps[name] = (state, int(secs))

def num(name):
    try:
        return float(fig[name][0])
    except (KeyError, ValueError):
        return None

def val(name, fmt="{:,.0f}"):
    if name not in fig:
        return "not measured"
    v, unit = fig[name]
    try:
        v = fmt.format(float(v))
    except ValueError:
        pass
    return f"{v} {unit}".strip()

def derived(a, b, op, unit, fmt="{:.1f}"):
    x, y = num(a), num(b)
    if x is None or y is None:
        return "not measured"
    return f"{fmt.format(op(x, y))} {unit}"

rows = [
    ("API", "`GET /stream/status`, wrk 64 connections: throughput", val("api_status_rps"), "5,000 req/s", "api"),
    ("API", "`GET /stream/status`: p50 / p99", f"{val('api_status_p50', '{:.2f}')} / {val('api_status_p99', '{:.2f}')}", "p99 < 20 ms", "api"),
    ("API", "`PATCH /stream/layers/{id}` (one layer: its stream's row lock serializes writes): throughput", val("api_layer_patch_rps"), "", "api"),
    ("API", "`PATCH /stream/layers/{id}`: p50 / p99", f"{val('api_layer_patch_p50', '{:.2f}')} / {val('api_layer_patch_p99', '{:.2f}')}", "", "api"),
    ("API", "non-2xx answers under load (status / patch)", f"{val('api_status_non2xx')} / {val('api_layer_patch_non2xx')}", "0", "api"),
    ("dispatch", f"start → first RTMP bytes at the receiver, p50 / p95 over {val('dispatch_start_bytes_runs')}", f"{val('dispatch_start_bytes_p50')} / {val('dispatch_start_bytes_p95')}", "about 1 s", "dispatch"),
    ("dispatch", f"start → first decoded frame (low-delay receiver), p50 / p95 over {val('dispatch_start_frame_runs')}", f"{val('dispatch_start_frame_p50')} / {val('dispatch_start_frame_p95')}", "", "dispatch"),
    ("dispatch", f"layer change (PATCH) → visible in a decoded frame, p50 / max of {val('dispatch_change_runs')}", f"{val('dispatch_change_p50')} / {val('dispatch_change_max')}", "100 ms", "dispatch"),
    ("dispatch", "failover after SIGKILL of the holding render node (until live on the other)", val("dispatch_failover"), "5 s", "dispatch"),
    ("dispatch", "SIGKILL of the control-plane replica the node talks to: longest output gap", val("cp_kill_output_gap"), "no downtime", "control-plane-kill"),
    ("faults", "RabbitMQ restarted under a live stream: longest gap in the received video / render stall", f"{val('fault_rabbitmq_output_gap')} / {val('fault_rabbitmq_render_stall')}", "no downtime", "faults"),
    ("faults", "Postgres down 4 s (longer than a lease): longest video gap / render stall", f"{val('fault_postgres_output_gap')} / {val('fault_postgres_render_stall')}", "no downtime", "faults"),
    ("faults", "Redis restarted: longest video gap / render stall", f"{val('fault_redis_output_gap')} / {val('fault_redis_render_stall')}", "no downtime", "faults"),
    ("faults", "start issued while RabbitMQ was down: live after the broker returned", val("fault_start_while_broker_down_live_after"), "", "faults"),
    ("render", "1080p, 8 layers + x264 veryfast, no clock: ours / bare gst-launch-1.0 (same run)", f"{val('render_1080p_fps', '{:.1f}')} / {val('render_1080p_gst_fps', '{:.1f}')}", "", "render"),
    ("render", "1080p ratio to the bare gst-launch-1.0 pipeline / to ffmpeg", f"{val('render_1080p_ratio_gst', '{:.2f}')} / {val('render_1080p_ratio_ffmpeg', '{:.2f}')}", "≈ 1× (close to the bare pipeline)", "render"),
    ("render", "720p, same scene: ours / bare gst-launch-1.0", f"{val('render_720p_fps', '{:.1f}')} / {val('render_720p_gst_fps', '{:.1f}')}", "", "render"),
    ("render", "720p ratio to the bare gst-launch-1.0 pipeline / to ffmpeg", f"{val('render_720p_ratio_gst', '{:.2f}')} / {val('render_720p_ratio_ffmpeg', '{:.2f}')}", "", "render"),
    ("render", "busy moving background + x264, ratio to ffmpeg (1080p / 720p)", f"{val('render_1080p_busy_ratio_ffmpeg', '{:.2f}')} / {val('render_720p_busy_ratio_ffmpeg', '{:.2f}')}", "", "render"),
    ("render", "1080p30 in real time: dropped frames, CPU, RSS", f"{val('realtime_1080p_dropped')}, {val('realtime_1080p_cpu')}, {val('realtime_1080p_rss')}", "0 dropped", "render"),
    ("floor", "production scene 1080p: our CPU-seconds over the decode + encode floor", val("prod_1080p_render_overhead_vs_floor", "{:+.1%}").replace(" x", ""), "≤ +10 %", "floor"),
    ("floor", "production scene 1080p: decode / encode floor / ours / ffmpeg (CPU-s)", f"{val('prod_1080p_floor_decode_cpu_s', '{:.2f}')} / {val('prod_1080p_floor_encode_cpu_s', '{:.2f}')} / {val('prod_1080p_ours_cpu_s', '{:.2f}')} / {val('prod_1080p_ffmpeg_cpu_s', '{:.2f}')}", "", "floor"),
    ("floor", "production scene 1080p: ours / ffmpeg's filter graph (wall fps), ratio", f"{val('prod_1080p_ours_fps', '{:.1f}')} / {val('prod_1080p_ffmpeg_fps', '{:.1f}')}, {val('prod_1080p_ratio_ffmpeg', '{:.2f}')}", "≥ 1.5×", "floor"),
    ("floor", "production scene 720p: our CPU-seconds over the decode + encode floor", val("prod_720p_render_overhead_vs_floor", "{:+.1%}").replace(" x", ""), "≤ +10 %", "floor"),
    ("floor", "production scene 720p: decode / encode floor / ours / ffmpeg (CPU-s)", f"{val('prod_720p_floor_decode_cpu_s', '{:.2f}')} / {val('prod_720p_floor_encode_cpu_s', '{:.2f}')} / {val('prod_720p_ours_cpu_s', '{:.2f}')} / {val('prod_720p_ffmpeg_cpu_s', '{:.2f}')}", "", "floor"),
    ("floor", "production scene 720p: ours / ffmpeg's filter graph (wall fps), ratio", f"{val('prod_720p_ours_fps', '{:.1f}')} / {val('prod_720p_ffmpeg_fps', '{:.1f}')}, {val('prod_720p_ratio_ffmpeg', '{:.2f}')}", "≥ 1.5×", "floor"),
    ("effects", "moving 1080p layer, compose ms/frame: no effect / chroma key / corner radius / border / flip", f"{val('effect_none_1080p_ms', '{:.2f}')} / {val('effect_chromakey_1080p_ms', '{:.2f}')} / {val('effect_cornerradius_1080p_ms', '{:.2f}')} / {val('effect_border_1080p_ms', '{:.2f}')} / {val('effect_flip_1080p_ms', '{:.2f}')}", "", "effects"),
    ("effects", "moving 1080p layer, compose ms/frame: rotate 90 / rotate 15 / colour adjust / blur 8 / shadow", f"{val('effect_rotate90_1080p_ms', '{:.2f}')} / {val('effect_rotate15_1080p_ms', '{:.2f}')} / {val('effect_coloradjust_1080p_ms', '{:.2f}')} / {val('effect_blur8_1080p_ms', '{:.2f}')} / {val('effect_shadow_1080p_ms', '{:.2f}')}", "", "effects"),
    ("effects", "keyed card (chroma key + corners + border): moving 1080p ms/frame; static: bake once / per frame", f"{val('effect_keyed_card_1080p_ms', '{:.2f}')}; {val('effect_static_keyed_card_1080p_bake_ms', '{:.1f}')} / {val('effect_static_keyed_card_1080p_frame_ms', '{:.2f}')}", "", "effects"),
    ("capacity", "720p30 streams at once in real time on this machine (no drop, ≥ 29.5 fps each)", val("streams720_realtime_per_node"), "", "render"),
    ("capacity", "memory per 720p30 stream (3 at once, one render process each, RSS)", val("streams720_rss_per_stream"), "", "render"),
    ("capacity", "CPU per 720p30 stream (3 at once), dropped frames in total", f"{val('streams720_cpu_per_stream')}, {val('streams720_dropped')}", "", "render"),
    ("capacity", "render node RSS: idle (warmed up) / holding one 640x360 stream (what the first stream adds)", f"{val('node_rss_idle', '{:.1f}')} / {val('node_rss_one_stream', '{:.1f}')} ({derived('node_rss_one_stream', 'node_rss_idle', lambda a, b: a - b, 'MiB')})", "", "dispatch"),
    ("events", f"WebSockets: control plane RSS before / with {val('ws_sockets')}", f"{val('ws_rss_before', '{:.1f}')} / {val('ws_rss_connected', '{:.1f}')}", "", "websockets"),
    ("events", "memory per socket", val("ws_kib_per_socket", "{:.1f}"), "", "websockets"),
    ("events", "change → event at the clients, p50 / p99; events delivered", f"{val('ws_event_p50', '{:.1f}')} / {val('ws_event_p99', '{:.1f}')}; {val('ws_delivered')} of {val('ws_expected')}", "1 s", "websockets"),
    ("events", "PATCH answered → event at the clients (the fan-out alone), p50 / p99", f"{val('ws_fanout_p50', '{:.1f}')} / {val('ws_fanout_p99', '{:.1f}')}", "", "websockets"),
    ("soak", "render node RSS slope after warm-up (layer change every second)", val("soak_rss_slope", "{:+.1f}"), "flat", "soak"),
    ("soak", "render node RSS slope over the second half of the soak (growth that stops is warm-up, a leak keeps its slope)", val("soak_rss_tail_slope", "{:+.1f}"), "flat", "soak"),
    ("soak", "open file descriptors slope", val("soak_fd_slope", "{:+.1f}"), "flat", "soak"),
    ("soak", "A/V offset at the receiver at the end (audio pts − video pts against wall time)", val("soak_av_offset", "{:+.1f}"), "< 40 ms", "soak"),
    ("soak", "drift against wall time over the soak: video / audio", f"{val('soak_video_drift', '{:+.1f}')} / {val('soak_audio_drift', '{:+.1f}')}", "≈ 0", "soak"),
]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
lines = [
    "# Benchmark report",
    "",
    f"Generated by `bash scripts/bench-report.sh` at {started} on commit `{commit}`: {os.cpu_count()} cores ({cpu}),",
    f"load average {load} when it started (the machine is shared, so figures are a snapshot; ratios",
    "are against baselines measured in the same run). Every value below was parsed from a `FIGURE` line the",
    "step printed; the full output of each step is in the logs beside this file.",
    "",
    "| area | figure | value | target | step |",
    "| --- | --- | --- | --- | --- |",
]
for area, name, value, target, step in rows:
    lines.append(f"| {area} | {name} | {value} | {target} | `{step}` |")
lines += ["", "| step | result | seconds |", "| --- | --- | ---: |"]
for name, (state, secs) in steps.items():
    lines.append(f"| `{name}` | {state} | {secs} |")
soak = os.path.join(logs, "soak.log")
if os.path.exists(soak):
    samples = [l.rstrip() for l in open(soak) if re.match(r"^\| (t \(s\)|---:|\d)", l)]
    if samples:
        lines += ["", "Soak samples (render node):", ""] + samples
lines += ["", f"Logs: `{logs}/`."]
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
echo
echo "report: $out"
if ((${#failed[@]})); then
  echo "steps that failed: ${failed[*]} (see $logs/)" >&2
  exit 1
fi
