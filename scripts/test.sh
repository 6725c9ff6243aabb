#!/usr/bin/env bash
# Runs every test: Rust unit and integration tests, y-websocket interop tests, browser
# end-to-end tests. Installs what they need first. PostgreSQL tests run when
# TEST_DATABASE_URL is set (e.g. postgres://postgres@127.0.0.1:5432/test) and skip otherwise.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_chromium
ensure_bubblewrap
ensure_server_user
ensure_nginx
ensure_languages
ensure_exercise_envs
ensure_code_server
build_web
ensure_npm tests
build_server

if [ -z "${TEST_DATABASE_URL:-}" ]; then
  log "TEST_DATABASE_URL is unset: PostgreSQL tests will be skipped"
fi
log "Rust tests"
cargo test --release --workspace

log "web unit tests"
(cd web && npm test --silent)

log "interop and browser tests"
(cd tests && node --test --test-concurrency=1 --test-timeout=120000 interop/ e2e/)
log "all tests passed"
