#!/usr/bin/env bash
# The app-users task's Postgres step (terraform/modules/control_plane/app_users_postgres.sh +
# app_users.sql), run as the task runs it, against the local Postgres, on a database migrated
# with the repository's migrations: the services' user can read and write every table, also
# one a later migration creates, and can change no schema. Run twice: it is idempotent and
# re-passwords. Uses its own database and role, dropped at the end.
# Usage: bash scripts/check_app_users.sh [ROOT]   (APP_USERS_ADMIN_URL: a superuser URL,
#        default postgres://postgres@127.0.0.1:5432/test)
# Prints ok/FAIL lines and `RESULT passed=N failed=M`.
set -uo pipefail

root="$(cd "${1:-$(dirname "${BASH_SOURCE[0]}")/..}" && pwd)"
module="$root/terraform/modules/control_plane"
admin="${APP_USERS_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/test}"
suffix="$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
db="sm_deploy_users_$suffix"
role="sm_app_$suffix"
base="${admin%/*}"
passed=0
failed=0
check() { # OK WHAT [WHY]
  if [ "$1" = 0 ]; then passed=$((passed + 1)); echo "ok   $2"; else failed=$((failed + 1)); echo "FAIL $2${3:+: $3}"; fi
}
cleanup() {
  psql "$admin" -qXc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
  psql "$admin" -qXc "DROP ROLE IF EXISTS $role" >/dev/null 2>&1
}
trap cleanup EXIT

if ! psql "$admin" -qXc "CREATE DATABASE $db" >/dev/null 2>&1; then
  check 1 "a scratch database at $admin" "cannot create one (is Postgres running?)"
  echo "RESULT passed=$passed failed=$failed"
  exit 1
fi
as_admin() { psql "$base/$db" -qtAX -v ON_ERROR_STOP=1 "$@"; }
as_app() { psql "postgresql://$role@${base#*@}/$db" -qtAX -v ON_ERROR_STOP=1 "$@"; }

status=0
for migration in "$root"/migrations/*.sql; do
  as_admin -f "$migration" >/dev/null 2>"/tmp/app-users-$suffix.err" || { status=1; break; }
done
check "$status" "the repository's migrations apply as the master" "$(head -c 300 "/tmp/app-users-$suffix.err" 2>/dev/null)"

run_task() { # PASSWORD
  APP_USERS_SQL="$(cat "$module/app_users.sql")" DATABASE_ADMIN_URL="$base/$db" \
    APP_USER="$role" APP_PASSWORD="$1" DB_NAME="$db" sh "$module/app_users_postgres.sh"
}
out="$(run_task first-password 2>&1)"; check $? "the app-users step creates the user" "$out"
out="$(run_task second-password 2>&1)"; check $? "the app-users step runs again (re-password, idempotent)" "$out"
[ "$(as_admin -c "SELECT count(*) FROM pg_roles WHERE rolname = '$role' AND rolcanlogin AND NOT rolsuper AND NOT rolcreatedb AND NOT rolcreaterole")" = 1 ]
check $? "the user logs in and holds no superuser, createdb or createrole"

public_tables="FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
tables="$(as_admin -c "SELECT count(*) $public_tables")"
missing="$(as_admin -c "SELECT coalesce(string_agg(c.relname, ', '), '') $public_tables AND NOT has_table_privilege('$role', c.oid, 'SELECT,INSERT,UPDATE,DELETE')" 2>&1)"
[ "${tables:-0}" -gt 0 ] && [ -z "$missing" ]
check $? "the user may read and write all ${tables:-0} tables the migrations made" "no DML on: $missing"

as_admin -c "CREATE TABLE later_migration (id bigserial PRIMARY KEY, note text)" >/dev/null
out="$(as_app -c "INSERT INTO later_migration (note) VALUES ('x') RETURNING id" 2>&1)"
check $? "a table a later migration creates is granted too (default privileges, sequences)" "$out"

if out="$(as_app -c "CREATE TABLE sneaky (id int)" 2>&1)"; then check 1 "the user cannot create a table" "it could"; else check 0 "the user cannot create a table"; fi
if out="$(as_app -c "DROP TABLE later_migration" 2>&1)"; then check 1 "the user cannot drop a table" "it could"; else check 0 "the user cannot drop a table"; fi
if out="$(as_app -c "ALTER TABLE later_migration ADD COLUMN x int" 2>&1)"; then check 1 "the user cannot alter a table" "it could"; else check 0 "the user cannot alter a table"; fi

rm -f "/tmp/app-users-$suffix.err"
echo "RESULT passed=$passed failed=$failed"
[ "$failed" = 0 ]
