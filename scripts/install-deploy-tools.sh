#!/usr/bin/env bash
# Debian packages the deploy checks need (scripts/check-deploy.sh calls this first; the
# Python tools — python-hcl2, checkov, hadolint — live in its virtualenvs):
#   prometheus             promtool (rules, unit tests, config) and the server of the scrape test
#   ShellCheck             lints the node agent, drain watcher, app-users and deploy scripts
#   postgresql-client      psql, for the app-users SQL test
#   gstreamer1.0-tools     gst-inspect-1.0, which names the plugin file of each element
#   + every package the render-node image installs at run time (read from its Dockerfile), so
#     gst-inspect-1.0 can find the elements those packages provide and dpkg -S can name them.
# Installs only what is missing; needs root (or sudo) and Debian's apt when something is.
# Usage: bash scripts/install-deploy-tools.sh [ROOT]
set -euo pipefail

root="$(cd "${1:-$(dirname "${BASH_SOURCE[0]}")/..}" && pwd)"
dockerfile="$root/docker/render-node.Dockerfile"

wanted=(prometheus shellcheck postgresql-client gstreamer1.0-tools)
if [ -f "$dockerfile" ]; then
  # The runtime stage's `apt-get install` arguments (the last stage; flags dropped).
  mapfile -t image_packages < <(python3 "$(dirname "${BASH_SOURCE[0]}")/check_gst_elements.py" --runtime-packages "$root")
  wanted+=("${image_packages[@]}")
fi

missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
echo "install-deploy-tools: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# RUNLEVEL=1: packages that ship a service (prometheus) must not start it.
if ! RUNLEVEL=1 $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
  $SUDO apt-get update -qq
  RUNLEVEL=1 $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
