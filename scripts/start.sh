#!/usr/bin/env bash
# Builds what is needed and starts interview-ide with the embedded defaults: SQLite in ./data,
# http://127.0.0.1:8080. Extra arguments go to the server (see `--help`).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
build_web
build_server
cd "$ROOT"
exec "$ROOT/target/release/interview-ide" "$@"
