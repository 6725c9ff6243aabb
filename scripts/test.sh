#!/usr/bin/env bash
# Runs every test: the format and lint gates, Rust unit and integration tests, web unit tests,
# y-websocket interop tests, browser end-to-end tests. Installs what they need first.
# PostgreSQL, Redis and NATS tests run when TEST_DATABASE_URL, TEST_REDIS_URL and TEST_NATS_URL
# are set (.ci/run sets them) and skip otherwise.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

# Waits for start.sh's background install, if one runs.
take_install_lock
ensure_chromium
ensure_bubblewrap
ensure_server_user
ensure_nginx
ensure_languages
ensure_exercise_envs
ensure_code_server
release_install_lock
ensure_npm tests
build_web_and_server

if [ -z "${TEST_DATABASE_URL:-}" ]; then
  log "TEST_DATABASE_URL is unset: PostgreSQL tests will be skipped"
fi

# Gates: the code is formatted, lint-free and type-checks (Rust, the web app and tests/).
log "gates: format, lint, types"
cargo fmt --all --check
cargo clippy --release --workspace --all-targets --quiet -- -D warnings
(cd web && npm run lint --silent)

log "Rust tests"
cargo test --release --workspace

log "web unit tests"
(cd web && npm test --silent)

log "interop and browser tests"
(cd tests && node --test --test-concurrency=1 --test-timeout=120000 interop/ e2e/)
log "all tests passed"
