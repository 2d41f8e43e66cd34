#!/usr/bin/env bash
# Installs what Stream Manager needs on Debian 12, for one of two purposes:
#   run   what `scripts/run.sh` needs: the packages to build the control plane and the render
#         node, GStreamer's plugins, the services, the local RTMP receiver and ffmpeg/ffplay
#         to watch the demo and publish a test feed.
#   test  (the default) all of that, plus what only the checks use: the browser test's
#         chromium and nodejs, wrk and python3-pil for benchmarks and fixtures, and the Rust
#         tools cargo-nextest, sqlx-cli and cargo-fuzz (compiled from source: minutes).
# Idempotent: packages already present are skipped without touching apt.
# Usage: bash scripts/install-deps.sh [run|test]
set -euo pipefail

purpose="${1:-test}"
case "$purpose" in
  run | test) ;;
  *)
    echo "usage: $0 [run|test]" >&2
    exit 2
    ;;
esac

RUN_PACKAGES=(
  # building (gstreamer-sys finds GStreamer through pkg-config; TLS is rustls: no OpenSSL)
  pkg-config
  # render node: GStreamer 1.22 with the plugins the pipelines use
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev
  libgstrtspserver-1.0-dev
  # SRT ingest links libsrt (the GnuTLS flavour GStreamer's and ffmpeg's SRT already use)
  libsrt-gnutls-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-x
  gstreamer1.0-nice
  fonts-dejavu-core
  # the local RTMP receiver, and ffplay/ffmpeg to watch it and to publish a camera feed
  nginx-light libnginx-mod-rtmp ffmpeg
  # services (already running on CI machines)
  postgresql redis-server rabbitmq-server
  # run.sh itself
  curl python3
)
TEST_PACKAGES=(
  # `cargo install` of the Rust tools below
  libssl-dev
  # benchmarks and test fixtures
  wrk python3-pil
  # the dashboard's browser test (tests/e2e/run.sh installs npm itself where nodejs lacks it:
  # NodeSource's nodejs bundles npm and conflicts with Debian's npm package)
  chromium nodejs
)

packages=("${RUN_PACKAGES[@]}")
[ "$purpose" = test ] && packages+=("${TEST_PACKAGES[@]}")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  # policy-rc.d keeps package scripts from starting daemons; scripts/services.sh starts them.
  DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ "$purpose" = test ] || exit 0

# Rust tools the checks use; cached in ~/.cargo/bin after the first run.
if ! command -v cargo-nextest >/dev/null; then
  cargo install cargo-nextest --locked
fi
if ! cargo sqlx --version 2>/dev/null | grep -q " 0\.8\."; then
  cargo install sqlx-cli --version '^0.8' --locked --no-default-features --features postgres,rustls
fi
# cargo-fuzz for scripts/fuzz.sh (it runs on the stable toolchain with RUSTC_BOOTSTRAP=1).
if ! command -v cargo-fuzz >/dev/null; then
  cargo install cargo-fuzz --locked
fi
