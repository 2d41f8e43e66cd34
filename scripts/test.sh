#!/usr/bin/env bash
# The test command: installs what the tests need, starts the services, and runs every check
# CI runs — formatting, clippy, the sqlx offline data, the whole test suite and the deploy
# checks. Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/stream-manager/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# The build reads .sqlx/ and never needs a database.
export SQLX_OFFLINE=true

step() { printf '\n== %s\n' "$*"; }

step "system packages and tools"
bash scripts/install-deps.sh
step "services"
bash scripts/services.sh
# A test deletes its namespace's queues when it ends; one killed by a timeout cannot, and
# quorum queues left behind hold the broker's file descriptors: test namespaces' queues
# expire after 15 minutes unused.
if [ -z "${AMQP_URL:-}" ] && command -v rabbitmqctl >/dev/null; then
  rabbitmqctl set_policy --apply-to queues it-expiry '^it-' '{"expires":900000}' >/dev/null
fi

step "format"
cargo fmt --all -- --check
cargo fmt --manifest-path fuzz/Cargo.toml -- --check
step "architecture: no import cycle between modules, at any level, of any crate"
python3 scripts/check-module-cycles.py --self-test >/dev/null
python3 scripts/check-module-cycles.py --nested
step "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "sqlx offline data matches the queries"
admin="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
prepare_db="${admin%/*}/sm_prepare_check"
psql "${admin}" -qc "DROP DATABASE IF EXISTS sm_prepare_check" -c "CREATE DATABASE sm_prepare_check" >/dev/null
DATABASE_URL="$prepare_db" cargo sqlx migrate run --source migrations >/dev/null
DATABASE_URL="$prepare_db" SQLX_OFFLINE=false cargo sqlx prepare --workspace --check

step "old test databases"
psql "${admin}" -tAc "SELECT datname FROM pg_database WHERE datname LIKE 'sm_it_%'" |
  while read -r db; do psql "${admin}" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null; done

step "tests"
features=()
# Where a Docker engine answers, services missing locally are started as containers.
if docker info >/dev/null 2>&1; then features=(--features stream-manager-tests/containers); fi
cargo nextest run --workspace --locked --no-fail-fast "${features[@]}"

step "soak: a live stream for 60 s with a layer change every second (scripts/soak.sh runs longer)"
# --no-capture prints the memory and descriptor samples and the A/V figures.
SOAK_SECONDS=60 cargo nextest run -p stream-manager-tests --locked --run-ignored only -E 'test(soak_)' --no-capture

step "fault tests: RabbitMQ, Redis and Postgres restarted under a live stream (one at a time)"
# --no-capture shows each fault's measured downtime (the lines starting with "|").
cargo nextest run -p stream-manager-tests --locked --run-ignored only -E 'test(fault_)' -j 1 --no-capture

step "cluster test: a RabbitMQ node and a Redis master killed under a simulated fleet (scripts/clusters.sh)"
# Alone, after the fault tests: it starts the clusters on their own ports (5701-5703,
# 7001-7003) and kills a node of each. Bounded: the clusters' first start takes about a
# minute, the test itself about one more.
timeout 600 cargo nextest run -p stream-manager-tests --locked --run-ignored only -E 'test(cluster_)' -j 1 --no-capture

step "fuzz: every cargo-fuzz target for 10 s from the committed seeds"
bash scripts/fuzz.sh 10

step "schemathesis against /openapi.json"
bash scripts/schemathesis.sh 25

step "dashboard end to end in headless chromium"
bash tests/e2e/run.sh

step "deploy checks, and their self-test (each check must fail on a file broken for it)"
# The self-test's first case is the whole check on the intact files, so the checks run once.
bash scripts/test-check-deploy.sh
step "all checks passed"
