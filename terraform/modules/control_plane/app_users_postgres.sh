#!/bin/sh
# App-users task, Postgres step (container image: postgres, for psql). Environment:
# DATABASE_ADMIN_URL and APP_PASSWORD (secrets), APP_USER, DB_NAME, APP_USERS_SQL (app_users.sql).
set -eu
printf '%s\n' "$APP_USERS_SQL" | psql -X -q -v ON_ERROR_STOP=1 \
  -v app_user="$APP_USER" -v app_password="$APP_PASSWORD" -v db="$DB_NAME" \
  "$DATABASE_ADMIN_URL"
echo "postgres: user $APP_USER ready"
