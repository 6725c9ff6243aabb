#!/usr/bin/env bash
# How long a new user waits on a fresh machine: `./scripts/start.sh` from a clean clone until the
# pad is served, until the background install is done, and then the first `./scripts/test.sh`.
#
# "Fresh" is made on this machine: a clean clone of HEAD in a temporary folder, an empty Cargo
# home (so every crate is downloaded and compiled), an empty npm cache, an empty tools folder
# (code-server and the exercises' environments installed again), and with --purge the Debian
# packages the scripts install removed first (chromium, nginx, bubblewrap, the languages'
# toolchains). --purge changes the machine: it asks for the flag on purpose.
#
#   bench/first-start.sh [--purge] [--no-test]
#
# Extra environment (TEST_DATABASE_URL ...) reaches test.sh as usual.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
purge=0 run_tests=1
for a in "$@"; do
  case "$a" in
    --purge) purge=1 ;;
    --no-test) run_tests=0 ;;
    *) echo "usage: $0 [--purge] [--no-test]" >&2; exit 2 ;;
  esac
done

work="$(mktemp -d /tmp/iide-first-start.XXXXXX)"
# As a clone anywhere a user keeps it: the server, once unprivileged, must reach ./data.
chmod 755 "$work"
# The rustup toolchain stays (it is part of "a machine with Rust"); the crate registry is new.
export CARGO_HOME="$work/cargo-home" npm_config_cache="$work/npm-cache" PIP_NO_CACHE_DIR=1
mkdir -p "$CARGO_HOME"
tools=/opt/interview-ide
if [ -d "$tools" ]; then
  rm -rf "$tools.before-first-start"
  mv "$tools" "$tools.before-first-start"
fi
git clone -q "$ROOT" "$work/clone"
cd "$work/clone"

if [ "$purge" = 1 ]; then
  echo "removing the packages the scripts install" >&2
  DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq chromium nginx-light bubblewrap \
    default-jdk-headless golang-go rustc ruby esbuild libkrb5-dev ripgrep >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive apt-get autoremove -y -qq >/dev/null 2>&1 || true
  apt-get clean
fi

port=18180
t0=$(date +%s)
secs() { echo $(( $(date +%s) - t0 )); }
./scripts/start.sh --bind "127.0.0.1:$port" --untrusted-bind "127.0.0.1:$((port + 1))" >"$work/start.log" 2>&1 &
server=$!
until curl -fsS "http://127.0.0.1:$port/" 2>/dev/null | grep -q '<div id="root">'; do
  kill -0 "$server" 2>/dev/null || { tail -40 "$work/start.log" >&2; echo "start.sh failed" >&2; exit 1; }
  sleep 1
done
serving=$(secs)
echo "start.sh: the pad is served after ${serving} s" >&2
curl -fsS "http://127.0.0.1:$port/readyz" >&2 || true
while [ -f "$tools/installing" ]; do sleep 2; done
installed=$(secs)
echo "start.sh: the background install ended after ${installed} s" >&2
curl -fsS "http://127.0.0.1:$port/readyz" >&2 || true
kill "$server"; wait "$server" 2>/dev/null || true

tests="not run"
if [ "$run_tests" = 1 ]; then
  t1=$(date +%s)
  ./scripts/test.sh >"$work/test.log" 2>&1 || { tail -60 "$work/test.log" >&2; echo "test.sh failed" >&2; exit 1; }
  tests="$(( $(date +%s) - t1 )) s"
  grep -c "Compiling interview-ide" "$work/test.log" | xargs printf 'test.sh compiled the server crate %s time(s) (its unit tests need one)\n' >&2
fi
cat <<REPORT
first start, from a clean clone ($(nproc) cores):
  start.sh until the pad is served:      ${serving} s
  start.sh until the background install: ${installed} s
  the first test.sh after it:            ${tests}
(logs: $work/start.log, $work/test.log)
REPORT
