#!/usr/bin/env bash
# Self-test of scripts/check-deploy.sh: it must pass on an intact copy of terraform/ and
# docker/ and fail on each deliberately broken copy. Needs the Cargo.toml, Cargo.lock and the
# workspace members' manifests/sources that the Dockerfiles copy, so those are copied too.
# Usage: bash scripts/test-check-deploy.sh
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
check="$repo/scripts/check-deploy.sh"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

passed=0
failed=0

# fresh_copy DIR: the deploy files plus what the Dockerfiles and the checker read.
fresh_copy() {
  local dst="$1"
  mkdir -p "$dst"
  (
    cd "$repo"
    # Only what the checks look at: manifests, the .sqlx/ and migrations/ directories, and the
    # workspace members' directories (for COPY sources), without build output.
    tar --exclude='./target' --exclude='*/node_modules' --exclude='./.git' -cf - \
      ./terraform ./docker ./.dockerignore ./Cargo.toml ./Cargo.lock \
      $(for d in .sqlx migrations shared control-plane render-node tests; do [ -e "$d" ] && printf './%s ' "$d"; done)
  ) | tar -C "$dst" -xf -
}

# expect OUTCOME NAME DIR: runs the checker on DIR, expecting "pass" or "fail".
expect() {
  local outcome="$1" name="$2" dir="$3" status=0
  bash "$check" "$dir" >"$work/$name.log" 2>&1 || status=$?
  if { [ "$outcome" = pass ] && [ "$status" = 0 ]; } || { [ "$outcome" = fail ] && [ "$status" != 0 ]; }; then
    printf 'ok   %-40s (checker %s)\n' "$name" "$([ "$status" = 0 ] && echo passed || echo failed)"
    passed=$((passed + 1))
  else
    printf 'FAIL %-40s expected the checker to %s; its output:\n' "$name" "$outcome"
    sed 's/^/     /' "$work/$name.log"
    failed=$((failed + 1))
  fi
}

# A case: copy, break with a command run inside the copy, expect failure, and show why.
broken() {
  local name="$1" cmd="$2" dir="$work/$1"
  fresh_copy "$dir"
  (cd "$dir" && eval "$cmd")
  expect fail "$name" "$dir"
  grep -m 3 '^FAIL' "$work/$name.log" | sed 's/^/       reason: /' || true
}

# Warm the tool cache first (the intact run installs the venvs when missing).
intact="$work/intact"
fresh_copy "$intact"
expect pass intact "$intact"

broken tf-syntax-error \
  'printf "\nresource \"aws_s3_bucket\" \"broken\" {\n  bucket = \n" >> terraform/modules/network/main.tf'

broken tf-undeclared-variable \
  'sed -i "s/var.single_nat_gateway ? 1/var.single_nat_gatewy ? 1/" terraform/modules/network/main.tf'

broken tf-missing-module-path \
  'sed -i "s#source = \"../redis\"#source = \"../redis-cache\"#" terraform/modules/stream_manager/main.tf'

broken tf-argument-not-a-module-variable \
  'sed -i "s/^  slow_log_group_name        = /  slow_log_group             = /" terraform/modules/stream_manager/main.tf'

broken tf-unknown-module-output \
  'sed -i "s/module.postgres.address/module.postgres.hostname/" terraform/modules/stream_manager/main.tf'

broken checkov-finding \
  'printf "\nresource \"aws_s3_bucket\" \"unprotected\" {\n  bucket = \"\${var.name}-unprotected\"\n}\n" >> terraform/modules/observability/main.tf'

broken dockerfile-copy-missing-file \
  'sed -i "s#^COPY migrations ./migrations#COPY migrations ./migrations\nCOPY does-not-exist.toml ./#" docker/control-plane.Dockerfile'

broken dockerfile-root-user \
  'sed -i "s/^USER 10001:10001/USER root/" docker/render-node.Dockerfile'

broken dockerfile-no-healthcheck \
  'sed -i "/^HEALTHCHECK/,/^$/d" docker/control-plane.Dockerfile'

broken dockerfile-unknown-package \
  'sed -i "s/-p render-node/-p render-nodes/" docker/render-node.Dockerfile'

broken compose-missing-config \
  'rm docker/proxy/nginx.conf'

broken compose-missing-dockerfile \
  'sed -i "s#dockerfile: docker/render-node.Dockerfile#dockerfile: docker/render.Dockerfile#" docker/compose.yaml'

printf '\ndeploy check self-test: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" = 0 ]
