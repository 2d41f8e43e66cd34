#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for a bounded time each, starting from the committed
# seeds (fuzz/seeds/<target>/) and dictionaries (fuzz/dicts/<target>.dict) plus what earlier
# runs found (fuzz/corpus/<target>/, ignored by git). A target that finds an input breaking its
# properties fails the run and leaves the input in fuzz/artifacts/<target>/.
# Usage: bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# cargo-fuzz needs nightly compiler flags (-Z sanitizer); on the stable toolchain this machine
# has, RUSTC_BOOTSTRAP=1 unlocks them. The fuzz build has its own target directory, so it never
# invalidates the main build.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs="${1:-10}"; shift || true
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$HOME/.cache/stream-manager/fuzz-target}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
targets=("$@")
((${#targets[@]})) || mapfile -t targets < <(cargo fuzz list)
# -O: optimised with debug assertions; one build for all targets.
cargo fuzz build -O
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  out=$(mktemp)
  dict=(); [ -f "dicts/$t.dict" ] && dict=(-dict="dicts/$t.dict")
  if ! cargo fuzz run -O "$t" "corpus/$t" "seeds/$t" -- -max_total_time="$secs" -rss_limit_mb=2048 \
      -print_final_stats=1 "${dict[@]}" >"$out" 2>&1; then
    tail -n 60 "$out"
    echo "fuzz target $t failed: reproduce with  cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run -O $t artifacts/$t/<file>" >&2
    rm -f "$out"
    exit 1
  fi
  runs=$(awk '/stat::number_of_executed_units/ {print $2}' "$out")
  printf 'fuzz %-20s %8s runs in %ss, corpus %s inputs\n' "$t" "${runs:-?}" "$secs" "$(ls "corpus/$t" | wc -l)"
  rm -f "$out"
done
