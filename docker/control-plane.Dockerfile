# syntax=docker/dockerfile:1
# Control plane image. Build from the repository root (the workspace is the context):
#   docker build -f docker/control-plane.Dockerfile -t stream-manager/control-plane .

# Pinned (scripts/check_dockerfiles.py refuses floating tags): an unrelated rebuild must not
# move the toolchain or the runtime.
ARG RUST_IMAGE=rust:1.95.0-bookworm
ARG RUNTIME_IMAGE=debian:12.12-slim

# ---- build ------------------------------------------------------------------------------
FROM ${RUST_IMAGE} AS builder
WORKDIR /src
# Queries are checked against the committed .sqlx/ data: the build needs no database.
ENV SQLX_OFFLINE=true \
    CARGO_TERM_COLOR=never \
    CARGO_NET_RETRY=5

# Every workspace member's manifest must be present for cargo to resolve the workspace,
# even the members this image does not build.
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
    cargo build --release --locked -p control-plane \
    && install -D -m 0755 target/release/control-plane /out/control-plane

# ---- runtime ----------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE} AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /nonexistent --no-create-home \
       --shell /usr/sbin/nologin app

COPY --from=builder /out/control-plane /usr/local/bin/control-plane

# Operator contract: listen on every interface inside the container; the rest comes from
# the environment (DATABASE_URL, REDIS_URL, AMQP_URL, JWT_SECRET, ... see docker/README.md).
ENV HTTP_ADDR=0.0.0.0:8080 \
    RUST_LOG=info
EXPOSE 8080

USER 10001:10001

# /healthz answers while the process is alive (no dependency checks: those are /readyz).
# The slim base has no curl; bash's /dev/tcp makes the HTTP request.
HEALTHCHECK --interval=10s --timeout=4s --start-period=30s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && timeout 3 head -n 1 <&3 | grep -q ' 200'"]

STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/control-plane"]
CMD ["serve"]
