# syntax=docker/dockerfile:1
# Render node image. Build from the repository root (the workspace is the context):
#   docker build -f docker/render-node.Dockerfile -t stream-manager/render-node .

# Pinned: the builder's Debian must match the runtime's (GStreamer 1.22 of Debian 12), and an
# unrelated rebuild must not move the toolchain. scripts/check_dockerfiles.py refuses floating
# tags (a major version only, `latest`, a bare codename) for every base image.
ARG RUST_IMAGE=rust:1.95.0-bookworm
ARG RUNTIME_IMAGE=debian:12.12-slim

# ---- build ------------------------------------------------------------------------------
FROM ${RUST_IMAGE} AS builder
# GStreamer 1.22 headers (Debian 12), as scripts/install-deps.sh installs them for local builds.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
       pkg-config libssl-dev \
       libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev \
       libgstrtspserver-1.0-dev libsrt-gnutls-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
ENV SQLX_OFFLINE=true \
    CARGO_TERM_COLOR=never \
    CARGO_NET_RETRY=5

# Every workspace member's manifest must be present for cargo to resolve the workspace.
COPY Cargo.toml Cargo.lock ./
COPY .sqlx ./.sqlx
COPY migrations ./migrations
COPY shared ./shared
COPY control-plane ./control-plane
COPY render-node ./render-node
COPY srt-ffi ./srt-ffi
COPY tests ./tests

RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked -p render-node \
    && install -D -m 0755 target/release/render-node /out/render-node

# ---- runtime ----------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE} AS runtime
# Only the GStreamer runtime the pipelines use: core + base/good/bad/ugly plugins (x264 is in
# -ugly, FLV/RTMP in -good/-bad), libav decoders for video files and feeds, Pango's
# `textoverlay` for text layers (gstreamer1.0-x: a Recommends of the others, which
# --no-install-recommends leaves out), the RTSP server library for previews, one font family
# for text layers, libsrt for SRT ingest, libnice's GStreamer plugin (ICE for webrtcbin: WHIP
# ingest), and CA roots for rtmps:// and https://. docker/render-node.elements lists
# every element the code creates; scripts/check_gst_elements.py proves these packages
# provide each one.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
       gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad \
       gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-x libgstrtspserver-1.0-0 \
       gstreamer1.0-nice libsrt1.5-gnutls fonts-dejavu-core ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /var/lib/render-node --create-home \
       --shell /usr/sbin/nologin app

COPY --from=builder /out/render-node /usr/local/bin/render-node

# Operator contract: bind every interface inside the container. CONTROL_PLANE_URL, AMQP_URL,
# REDIS_URL, NODE_SECRET, NODE_ID and NODE_CAPACITY come from the environment.
ENV METRICS_ADDR=0.0.0.0:9091 \
    INGEST_ADDR=0.0.0.0:1935 \
    SRT_ADDR=0.0.0.0:9000 \
    RTSP_ADDR=0.0.0.0:8554 \
    RUST_LOG=info \
    HOME=/var/lib/render-node \
    XDG_CACHE_HOME=/var/lib/render-node/.cache
# 1935 RTMP ingest (tenants' encoders), 9000/udp SRT ingest (SRT_ADDR, which Terraform's user
# data sets), 8554 RTSP preview, 9091 Prometheus metrics.
EXPOSE 1935 9000/udp 8554 9091

USER 10001:10001
WORKDIR /var/lib/render-node

HEALTHCHECK --interval=10s --timeout=4s --start-period=30s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9091 && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && timeout 3 head -n 1 <&3 | grep -q ' 200'"]

# SIGTERM drains the node: its streams move to other nodes, then it exits. Give it time
# (docker stop -t / compose stop_grace_period / the ASG lifecycle hook).
STOPSIGNAL SIGTERM
# No arguments: the fleet worker. `docker run … render-node render --scene …` runs the
# standalone renderer instead.
ENTRYPOINT ["/usr/local/bin/render-node"]
