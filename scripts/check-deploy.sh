#!/usr/bin/env bash
# Offline checks of the deploy files (no Terraform binary, no Docker engine needed):
#   1. every .tf parses (python-hcl2), variables used are declared, module sources exist and
#      get only (and all required) variables they declare   -> scripts/check_terraform.py
#   2. checkov on terraform/ passes: no failed check at all (stricter than "no HIGH/CRITICAL":
#      offline checkov knows no severities); every exception is an inline
#      `#checkov:skip=CKV_...:reason` next to the resource it concerns
#   3. Dockerfiles and docker/compose.yaml reference only files, stages and workspace
#      binaries that exist; final stages run as non-root and have a HEALTHCHECK
#                                                             -> scripts/check_dockerfiles.py
#
# Usage: bash scripts/check-deploy.sh [ROOT]     (ROOT: a tree with terraform/ and docker/;
#                                                 default: this repository)
# The tools live in pinned virtualenvs under ${XDG_CACHE_HOME:-$HOME/.cache}/stream-manager/
# deploy-venv (created on first use from PyPI; later runs need no network at all).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="$(cd "${1:-$repo}" && pwd)"
scripts="$repo/scripts"

# Pinned tools. python-hcl2 and checkov live in separate venvs: checkov depends on
# bc-python-hcl2, a fork that installs the same `hcl2` module as python-hcl2.
TOOLS_REQUIREMENTS=("python-hcl2==8.1.4" "lark==1.3.1" "PyYAML==6.0.2")
CHECKOV_REQUIREMENTS=("checkov==3.3.30")

venv_root="${XDG_CACHE_HOME:-$HOME/.cache}/stream-manager/deploy-venv"
python="${PYTHON:-python3}"

log() { printf '%s\n' "$*" >&2; }

if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  log "check-deploy: needs Python >= 3.11 as \$PYTHON or python3 (Debian 12's python3 is 3.11)"
  exit 2
fi

# make_venv DIR REQUIREMENT... : (re)creates DIR unless it holds exactly these pins.
make_venv() {
  local dir="$1"
  shift
  local want="$*"
  if [ -x "$dir/bin/python" ] && [ "$(cat "$dir/.pins" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  log "check-deploy: installing $want into $dir"
  rm -rf "$dir"
  mkdir -p "$(dirname "$dir")"
  if ! "$python" -m venv "$dir" 2>/dev/null; then
    rm -rf "$dir"
    # Debian splits venv/ensurepip into python3-venv.
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
      log "check-deploy: python3 -m venv failed; installing python3-venv"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null \
        || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null; }
      "$python" -m venv "$dir"
    else
      log "check-deploy: '$python -m venv' failed; install python3-venv (apt-get install python3-venv)"
      exit 2
    fi
  fi
  "$dir/bin/python" -m pip install --disable-pip-version-check --no-input --quiet --timeout 60 --retries 3 "$@" >&2
  printf '%s' "$want" >"$dir/.pins"
}

make_venv "$venv_root/tools" "${TOOLS_REQUIREMENTS[@]}"
make_venv "$venv_root/checkov" "${CHECKOV_REQUIREMENTS[@]}"

passed=0
failed=0
tally() { # OUTPUT-FILE: adds its RESULT line to the totals
  local line p f
  line="$(grep -E '^RESULT passed=[0-9]+ failed=[0-9]+$' "$1" | tail -n 1 || true)"
  if [ -z "$line" ]; then
    failed=$((failed + 1))
    return
  fi
  p="${line#RESULT passed=}"
  p="${p%% *}"
  f="${line##*failed=}"
  passed=$((passed + p))
  failed=$((failed + f))
}

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

printf '\n== terraform: parse, variables, modules (python-hcl2)\n'
"$venv_root/tools/bin/python" "$scripts/check_terraform.py" "$root" >"$tmp/tf.out" 2>&1 || true
grep -v '^ok ' "$tmp/tf.out" || true
tally "$tmp/tf.out"

printf '\n== dockerfiles and compose\n'
"$venv_root/tools/bin/python" "$scripts/check_dockerfiles.py" "$root" >"$tmp/docker.out" 2>&1 || true
grep -v '^ok ' "$tmp/docker.out" || true
tally "$tmp/docker.out"

printf '\n== checkov (terraform)\n'
# Offline: no policy download, no platform mapping, no external modules, no update check;
# a timeout in case some future version reaches for the network anyway.
ck_status=0
if [ -d "$root/terraform" ]; then
  BC_SKIP_MAPPING=TRUE CHECKOV_SKIP_DOWNLOAD=TRUE ANSI_COLORS_DISABLED=1 LOG_LEVEL=ERROR \
    timeout 300 "$venv_root/checkov/bin/checkov" \
    --directory "$root/terraform" --framework terraform \
    --skip-download --download-external-modules false \
    --quiet --compact --output cli >"$tmp/checkov.out" 2>"$tmp/checkov.err" || ck_status=$?
else
  echo "no terraform/ directory" >"$tmp/checkov.out"
  ck_status=1
fi
summary="$(grep -E '^Passed checks: [0-9]+, Failed checks: [0-9]+, Skipped checks: [0-9]+' "$tmp/checkov.out" | tail -n 1 || true)"
if [ "$ck_status" = 0 ] && [ -n "$summary" ]; then
  echo "ok   checkov: $summary"
  passed=$((passed + 1))
else
  cat "$tmp/checkov.out"
  tail -n 20 "$tmp/checkov.err" >&2 || true
  [ "$ck_status" = 124 ] && echo "FAIL checkov timed out"
  echo "FAIL checkov (exit $ck_status)${summary:+: $summary}"
  failed=$((failed + 1))
fi

printf '\ndeploy checks: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" = 0 ]
