# Shared steps of start.sh and test.sh. Every step is idempotent: it does nothing when its
# result is already there and up to date.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "missing: $1 ($2)" >&2; exit 1; }
}

# npm dependencies of a folder, installed from its lock file when missing or stale.
ensure_npm() {
  local dir="$ROOT/$1"
  need npm "Node.js 20.19+ with npm"
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    log "installing npm packages in $1/"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# The web app in web/dist, rebuilt when any of its sources is newer than the last build.
build_web() {
  ensure_npm web
  local stamp="$ROOT/web/dist/index.html"
  if [ ! -f "$stamp" ] || [ -n "$(find "$ROOT/web/src" "$ROOT/web/public" "$ROOT/web/index.html" "$ROOT/web/vite.config.ts" "$ROOT/web/package-lock.json" -newer "$stamp" -print -quit 2>/dev/null)" ]; then
    log "building the web app"
    (cd "$ROOT/web" && npm run build --silent)
  fi
}

# The server binary (it embeds web/dist, so build the web app first).
build_server() {
  need cargo "the Rust toolchain"
  log "building the server (release)"
  (cd "$ROOT" && cargo build --release -p interview-ide)
}

# Debian's chromium for the browser tests. apt's first install on a fresh machine can fail
# with "cannot access archive" (a cache clean hook); the same install then succeeds.
ensure_chromium() {
  if command -v chromium >/dev/null 2>&1; then return; fi
  log "installing chromium (browser tests)"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
    || $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
}
