#!/usr/bin/env bash
# Builds what is needed and starts interview-ide with the embedded defaults: SQLite in ./data,
# http://127.0.0.1:8080. Extra arguments go to the server (see `--help`).
#
# On a fresh machine it serves pads as soon as the web app and the server are built (both at
# once); the server-side languages, the exercises' environments and code-server install in the
# background afterwards and switch on by themselves when ready (/readyz and the UI say what is
# still installing). IIDE_SKIP_CODE_SERVER=1 skips code-server (workspaces then have no VS Code).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_server_user
# bubblewrap (the sandbox) installs from Debian while the builds run.
ensure_bubblewrap &
sandbox_install=$!
build_web_and_server
wait "$sandbox_install"
install_in_background
cd "$ROOT"
exec "$ROOT/target/release/interview-ide" "$@"
