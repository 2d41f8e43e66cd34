#!/usr/bin/env bash
# Installs the system packages Stream Manager builds and tests with, on Debian 12.
# Idempotent: packages already present are skipped without touching apt.
set -euo pipefail

PACKAGES=(
  # building
  pkg-config libssl-dev
  # render node: GStreamer 1.22 with the plugins the pipelines use
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev
  libgstrtspserver-1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-x
  fonts-dejavu-core
  # real receivers and decoders for tests and benchmarks
  ffmpeg nginx-light libnginx-mod-rtmp wrk python3-pil
  # services the suite talks to (already running on CI machines)
  postgresql redis-server rabbitmq-server
  # the dashboard's browser test (tests/e2e/run.sh installs npm itself where nodejs lacks it:
  # NodeSource's nodejs bundles npm and conflicts with Debian's npm package)
  chromium nodejs
)

missing=()
for p in "${PACKAGES[@]}"; do
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
