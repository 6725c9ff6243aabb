#!/bin/bash
# Runs inside the cgroup v2 VM (scripts/vm/run.sh), as root in a cgroup delegated to it, with
# this folder (the server's binaries and this script) at /mnt/host, read-only. Starts the real
# server, then checks through its own API that the sandbox's limits hold on a unified-only
# kernel: memory, processes, CPU, disk, no nested user namespaces, no cgroup left behind.
set -uo pipefail
cd /tmp
failed=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; failed=1; }
check() { # check <what> <command...>: passes when the command succeeds
  local what="$1"; shift
  if "$@"; then ok "$what"; else bad "$what"; fi
}

echo "kernel $(uname -r); $(bwrap --version); cgroup: $(stat -fc %T /sys/fs/cgroup)"
echo "controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"

export DATABASE_URL=sqlite:///tmp/iide.db BIND_ADDR=127.0.0.1:8080 PUBLIC_URL=http://127.0.0.1:8080
export RUNS_DIR=/tmp/runs WORKSPACES_DIR=/tmp/ws EXERCISES_DIR=/tmp/no-exercises QUESTIONS_DIR=/tmp/no-questions
export ADMIN_EMAIL=admin@example.com ADMIN_PASSWORD=vm-check-password RUST_LOG=warn
export RUN_MEMORY_MB=64 RUN_MAX_PROCESSES=16 RUN_CPUS=1 RUN_DISK_MB=32 RUN_MAX_FILE_MB=16
# Started as root, it drops to this user once its sandbox helper runs (as start.sh does).
id -u interview-ide >/dev/null 2>&1 || useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin interview-ide
/mnt/host/interview-ide >/tmp/server.log 2>&1 &
server=$!
for _ in $(seq 240); do curl -fsS http://127.0.0.1:8080/readyz >/tmp/ready 2>/dev/null && break; sleep 0.5; done
cat /tmp/ready || { echo "the server did not start:"; cat /tmp/server.log; exit 1; }
check "/readyz: limits enforced by cgroup v2" grep -q "sandbox limits: cgroup v2" /tmp/ready
check "the HTTP process runs as its own user, not root" test "$(awk '/^Uid:/ {print $3}' /proc/$server/status)" = "$(id -u interview-ide)"

api=http://127.0.0.1:8080/api
curl -fsS -c /tmp/jar -H 'content-type: application/json' -d "{\"email\":\"$ADMIN_EMAIL\",\"password\":\"$ADMIN_PASSWORD\"}" "$api/auth/login" >/dev/null
key=$(curl -fsS -b /tmp/jar -H 'content-type: application/json' -H 'origin: http://127.0.0.1:8080' -d '{"name":"vm"}' "$api/keys" | sed -n 's/.*"secret":"\([^"]*\)".*/\1/p')
session=$(curl -fsS -H "authorization: Bearer $key" -H 'content-type: application/json' -d '{"title":"vm"}' "$api/sessions")
id=$(echo "$session" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
token=$(echo "$session" | sed -n 's/.*"candidate_token":"\([^"]*\)".*/\1/p')
[ -n "$id" ] && [ -n "$token" ] || { echo "could not create a session: $session"; exit 1; }

json() { # a JSON string of $1
  local s="${1//\\/\\\\}"; s="${s//\"/\\\"}"; printf '"%s"' "${s//$'\n'/\\n}"
}
run() { # run <bash code>: the run's whole event stream
  curl -sS -N --max-time 120 -H "authorization: Bearer $token" -H 'content-type: application/json' \
    -d "{\"language\":\"bash\",\"code\":$(json "$1")}" "$api/sessions/$id/execute"
}
exit_of() { grep -A1 '^event: exit' | sed -n 's/^data: //p'; }

out=$(run 'echo hello from $(hostname)')
check "a run works" grep -q "hello from sandbox" <<<"$out"

# dd's one 200 MB block is allocated and filled at once (a shell string would be too slow here).
out=$(run 'dd if=/dev/zero of=/dev/null bs=200M count=1 && echo held' | exit_of)
echo "  memory hog: $out"
check "memory.max stops a 200 MB hog at 64 MB" grep -q "Memory limit reached" <<<"$out"

out=$(run 'for i in $(seq 60); do sleep 3 & done; wait; echo done' | exit_of)
echo "  fork bomb: $out"
check "pids.max stops the 17th process" grep -qi "process limit" <<<"$out"

out=$(run 'spin() { local end=$((SECONDS+3)); while [ $SECONDS -lt $end ]; do :; done; }; spin & spin & wait' | exit_of)
cpu=$(sed -n 's/.*"cpu_ms":\([0-9]*\).*/\1/p' <<<"$out"); wall=$(sed -n 's/.*"time_ms":\([0-9]*\).*/\1/p' <<<"$out")
echo "  two busy loops, one core: cpu ${cpu} ms in ${wall} ms"
check "cpu.max holds two busy loops to one core (cpu <= 1.25 x wall)" test -n "$cpu" -a "$((cpu * 100))" -le "$((wall * 125))"

out=$(run 'for i in 1 2 3; do head -c 15M /dev/zero > f$i || exit 9; done; echo wrote-all' | exit_of)
echo "  disk: $out"
check "a run's disk quota stops 45 MB at 32 MB" grep -q "Disk limit reached" <<<"$out"

out=$(run 'unshare -Urn id 2>&1; echo "rc=$?"; grep Seccomp: /proc/self/status')
check "unshare -Urn is refused" grep -q "rc=1" <<<"$out"
check "seccomp filter on" grep -q 'Seccomp:.*2' <<<"$out"

for _ in $(seq 10); do run 'sleep 20 & echo x' >/dev/null; done
sleep 1
leaf=$(sed -n 's/^0:://p' "/proc/$server/cgroup")
sandboxes="/sys/fs/cgroup$(dirname "$leaf")/sandboxes"
left=$(find "$sandboxes" -mindepth 1 -maxdepth 1 -type d | wc -l)
echo "  server in $leaf; groups left under $sandboxes: $left"
check "no cgroup left behind" test "$left" -eq 0

kill "$server"
[ "$failed" = 0 ] && echo "all VM checks passed" || { echo "server log:"; tail -20 /tmp/server.log; }
exit "$failed"
