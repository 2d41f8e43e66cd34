#!/bin/sh
# App-users task, RabbitMQ step (container image with curl). Creates or re-passwords the
# services' user through the management API (Amazon MQ cannot change RabbitMQ users itself) and
# gives it the default virtual host. Tag `management` lets it read its own queues' depth (the
# render nodes' agent reads the jobs queue), nothing administrative. Environment:
# RABBITMQ_API_URL, ADMIN_USER, APP_USER; ADMIN_PASSWORD and APP_PASSWORD (secrets).
set -eu
put() {
  curl -fsS --retry 5 --retry-all-errors --max-time 20 -u "$ADMIN_USER:$ADMIN_PASSWORD" \
    -X PUT -H 'content-type: application/json' -d "$2" "$RABBITMQ_API_URL/api/$1" >/dev/null
}
put "users/$APP_USER" "{\"password\":\"$APP_PASSWORD\",\"tags\":\"management\"}"
put "permissions/%2F/$APP_USER" '{"configure":".*","write":".*","read":".*"}'
echo "rabbitmq: user $APP_USER ready"
