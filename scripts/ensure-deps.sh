#!/usr/bin/env bash
# Installs what the tests need and a fresh machine may lack: redis-server (and redis-cli),
# chromium and firefox-esr (Debian packages; the browser tests drive a real headless
# Chromium, and system/browser/bidi drives Firefox ESR over WebDriver BiDi).
# Idempotent; quiet when everything is present. With --redis-only it installs only
# redis-server and redis-cli: what `make test-short` needs (no browsers).
set -euo pipefail
redis_only=false
[ "${1:-}" = --redis-only ] && redis_only=true

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
# redis-cli forms the test clusters (shared/redistest); Debian's redis-server depends on
# redis-tools, which holds it, but a redis-server from elsewhere may come without.
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
if ! $redis_only; then
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || need+=(chromium)
  command -v firefox-esr >/dev/null 2>&1 || command -v firefox >/dev/null 2>&1 || need+=(firefox-esr)
  command -v npm >/dev/null 2>&1 || need+=(npm)
fi

# axe-core, injected by system/browser/a11y_test.go into the demo page, in a cache
# folder (never node_modules in the repository). Keep the version in step with
# axeVersion there.
axe_version=4.10.3
axe_dir="${XDG_CACHE_HOME:-$HOME/.cache}/vividly-axe"
ensure_axe() {
  if ! grep -qs "\"version\": \"$axe_version\"" "$axe_dir/node_modules/axe-core/package.json"; then
    echo "ensure-deps: installing axe-core@$axe_version into $axe_dir" >&2
    mkdir -p "$axe_dir"
    npm install --silent --no-audit --no-fund --prefix "$axe_dir" "axe-core@$axe_version" >&2
  fi
}

if [ ${#need[@]} -eq 0 ]; then
  $redis_only || ensure_axe
  exit 0
fi
echo "ensure-deps: installing ${need[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
  sudo=sudo
else
  sudo=
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The package may start a system service on 6379; the tests start their own on free
# ports and do not need it.
$redis_only || ensure_axe
