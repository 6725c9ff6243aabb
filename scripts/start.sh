#!/usr/bin/env bash
# Builds what is needed and starts interview-ide with the embedded defaults: SQLite in ./data,
# http://127.0.0.1:8080. Extra arguments go to the server (see `--help`). IIDE_SKIP_CODE_SERVER=1
# skips installing code-server (workspace sessions then have no VS Code).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
# Tools that workspace sessions run (sandbox, exercise venvs, code-server).
ensure_bubblewrap
ensure_server_user
ensure_languages
ensure_exercise_envs
ensure_code_server
build_web
build_server
cd "$ROOT"
exec "$ROOT/target/release/interview-ide" "$@"
