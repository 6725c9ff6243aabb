#!/usr/bin/env bash
# The sandbox's limits on a real cgroup v2 kernel: boots the Debian 12 VM of scripts/vm/ (built
# and cached there), runs the release server inside it and checks memory, processes, CPU and
# disk limits through the product's own API (tests/vm/check.sh). This host is cgroup v1, where
# the other tests run; most production hosts are v2 only.
#
#   tests/vm/run.sh          (after a release build; ./scripts/test.sh makes one)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
bin="$ROOT/target/release"
[ -x "$bin/interview-ide" ] && [ -x "$bin/iide-forward" ] || { echo "build first: cargo build --release -p interview-ide" >&2; exit 1; }
share="$(mktemp -d)"
trap 'rm -rf "$share"' EXIT
cp "$bin/interview-ide" "$bin/iide-forward" "$share/"
cp "$ROOT/tests/vm/check.sh" "$share/run-in-vm"
chmod 0755 "$share" "$share/run-in-vm"
"$ROOT/scripts/vm/run.sh" "$share"
