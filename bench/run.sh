#!/usr/bin/env bash
# interview-ide benchmark: y-websocket edit propagation under load, and server start-to-ready time.
#
#   bench/run.sh [load]     one load run against a fresh server (default)
#   bench/run.sh sweep      one fresh-server load run per rate in RATES, then a summary table
#   bench/run.sh startup    start the server RUNS times on a fresh SQLite DB, time to /readyz 200
#   bench/run.sh cluster    cluster mode: one node, then two nodes at the same loads (the clients of
#                           a room split across them, then each room on one node as a load balancer
#                           with session affinity places them), each node limited to NODE_CPUS
#                           cores; a fresh PostgreSQL database and a private Redis (AOF on) per run
#
# Environment (defaults in brackets):
#   SERVER        interview-ide | yws (@y/websocket-server 0.1.1, for comparison) | ysweet (a
#                 y-sweet binary built from its own source, at YSWEET_BIN) [interview-ide]
#   ROOMS [1000]  CLIENTS [3]  RATE edits/s per client [2]  DURATION measured s [60]
#   WORKLOAD      cursor (each client types at its own cursor) | same-spot (all clients of a room
#                 append 20-char edits at the end of the one shared text and apply every update
#                 into their own yrs document) [cursor]
#   WARMUP [5]    CONNECT_RATE connections/s [200]  RATES for sweep ["2 3 4 5 6 8"]
#   RUNS [20]     starts in startup mode
#   PORT [18931]  SERVER_CPU [0]  LOADGEN_CPU [1]
#   Cluster mode: CLUSTER_ROOMS rooms per run ["500 750 1000 1250 1500 1750"], CLUSTER_SETUPS
#   nodes[:placement] per run, placement split or room (loadgen --placement) ["1 2:split 2:room"],
#   NODE_CPUS cores per node, a cgroup CPU quota [0.25], BENCH_PG postgres:// URL of a server
#   where a database may be created [postgres://postgres@127.0.0.1:5432/postgres],
#   REDIS_PORT of the private redis-server [18379]
#   IIDE_BIN      server binary [target/release/interview-ide]
#   IIDE_ARGS     extra server flags
#   LOADGEN       load generator binary [$CARGO_TARGET_DIR or target/release/loadgen]
#   LOADGEN_ARGS  extra loadgen flags (e.g. --apply)
#   JSON=1        print the JSON report instead of the text one
#   QUIET_WAIT=s  before each run wait up to s seconds for the machine to be idle (< 10 % CPU
#                 over 5 s), since other processes on the two cores spoil the figures [0]
#   RETRIES=n     run again, up to n times, when other processes used more than 10 % of a core
#                 during the measured window [0]
# Results (text and JSON) are also written under bench/results/ (git-ignored).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODE=${1:-load}
SERVER=${SERVER:-interview-ide}
ROOMS=${ROOMS:-1000}
CLIENTS=${CLIENTS:-3}
RATE=${RATE:-2}
WORKLOAD=${WORKLOAD:-cursor}
DURATION=${DURATION:-60}
WARMUP=${WARMUP:-5}
CONNECT_RATE=${CONNECT_RATE:-200}
RATES=${RATES:-"2 3 4 5 6 8"}
RUNS=${RUNS:-20}
PORT=${PORT:-18931}
SERVER_CPU=${SERVER_CPU:-0}
LOADGEN_CPU=${LOADGEN_CPU:-1}
IIDE_BIN=${IIDE_BIN:-$ROOT/target/release/interview-ide}
IIDE_ARGS=${IIDE_ARGS:-}
LOADGEN_ARGS=${LOADGEN_ARGS:-}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
LOADGEN=${LOADGEN:-$TARGET_DIR/release/loadgen}
YWS_DIR=$ROOT/bench/yws
RESULTS=$ROOT/bench/results

# 3,000 client sockets on one side and 3,000 on the other.
ulimit -n 65536 2>/dev/null || true

log() { echo "bench: $*" >&2; }

ensure_loadgen() {
  if [[ ! -x $LOADGEN ]]; then
    log "building loadgen"
    (cd "$ROOT" && cargo build --release -p loadgen >&2)
  elif ! "$LOADGEN" run --help 2>/dev/null | grep -q -- --workload; then
    # A binary from before --workload existed would refuse the flag this script passes.
    log "loadgen at $LOADGEN is older than this script: rebuilding it"
    (cd "$ROOT" && cargo build --release -p loadgen >&2)
    if ! "$LOADGEN" run --help 2>/dev/null | grep -q -- --workload; then
      log "$LOADGEN still lacks --workload: point LOADGEN at a current build"
      exit 1
    fi
  fi
}

# The binary is copied once per invocation, so a rebuild during a sweep cannot mix two builds.
IIDE_COPY=
ensure_iide() {
  if [[ -n $IIDE_COPY ]]; then return; fi
  if [[ ! -x $IIDE_BIN ]]; then
    log "no server binary at $IIDE_BIN: run 'cargo build --release' first (or set IIDE_BIN)"
    exit 1
  fi
  IIDE_COPY=$(mktemp -d /tmp/iide-bin.XXXXXX)/interview-ide
  cp "$IIDE_BIN" "$IIDE_COPY"
  IIDE_BIN=$IIDE_COPY
}

ensure_yws() {
  if [[ ! -f $YWS_DIR/node_modules/@y/websocket-server/src/server.js ]]; then
    log "installing @y/websocket-server into bench/yws"
    (cd "$YWS_DIR" && npm install --no-audit --no-fund --loglevel=error >&2)
  fi
}

# Flags the server needs so that the benchmark itself is not rate limited: one session per room is
# created from one address in a few seconds. Only flags this build of the server knows are passed.
# Sessions are created by people of the organisation: the server starts with this admin, and
# loadgen creates sessions with an API key of it (servers from before accounts need neither).
BENCH_EMAIL=bench@example.com
BENCH_PASSWORD=bench-password-not-secret
iide_admin_flags() {
  if "$IIDE_BIN" --help 2>&1 | grep -q -- --admin-email; then
    echo "--admin-email $BENCH_EMAIL --admin-password $BENCH_PASSWORD"
  fi
}

bench_api_key() {
  local base="http://127.0.0.1:$PORT" cookie
  cookie=$(curl -fsS -D - -o /dev/null -H 'content-type: application/json' \
    -d "{\"email\":\"$BENCH_EMAIL\",\"password\":\"$BENCH_PASSWORD\"}" "$base/api/auth/login" |
    sed -n 's/^[Ss]et-[Cc]ookie: \(iide_account=[^;]*\).*/\1/p')
  curl -fsS -H "cookie: $cookie" -H 'content-type: application/json' -d '{"name":"bench"}' "$base/api/keys" |
    sed -n 's/.*"secret":"\([^"]*\)".*/\1/p'
}

iide_bench_flags() {
  local help
  help=$("$IIDE_BIN" --help 2>&1 || true)
  local flag
  for flag in --max-sessions-per-minute --sessions-per-minute; do
    if grep -q -- "$flag" <<<"$help"; then
      echo "$flag 1000000"
      return
    fi
  done
}

SERVER_PID=
TMP_DB=
stop_server() {
  if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=
  if [[ -n $TMP_DB ]]; then rm -rf "$TMP_DB"; TMP_DB=; fi
}
cleanup() {
  stop_server
  if [[ -n $IIDE_COPY ]]; then rm -rf "$(dirname "$IIDE_COPY")"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Starts a fresh server pinned to SERVER_CPU; sets SERVER_PID and TARGET_ARGS (for loadgen).
start_server() {
  local ready_url
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    log "port $PORT is already in use: set PORT to a free one"
    exit 1
  fi
  case $SERVER in
    interview-ide)
      ensure_iide
      TMP_DB=$(mktemp -d /tmp/iide-bench.XXXXXX)
      # shellcheck disable=SC2046,SC2086
      taskset -c "$SERVER_CPU" "$IIDE_BIN" --bind "127.0.0.1:$PORT" \
        --database-url "sqlite://$TMP_DB/bench.db" $(iide_bench_flags) $(iide_admin_flags) $IIDE_ARGS \
        >"$TMP_DB/server.log" 2>&1 &
      SERVER_PID=$!
      ready_url="http://127.0.0.1:$PORT/readyz"
      TARGET_ARGS=(--interview-ide "http://127.0.0.1:$PORT")
      NEEDS_KEY=1
      ;;
    yws)
      ensure_yws
      TMP_DB=$(mktemp -d /tmp/yws-bench.XXXXXX)
      HOST=127.0.0.1 PORT=$PORT taskset -c "$SERVER_CPU" \
        node "$YWS_DIR/node_modules/@y/websocket-server/src/server.js" >"$TMP_DB/server.log" 2>&1 &
      SERVER_PID=$!
      ready_url="http://127.0.0.1:$PORT/"
      TARGET_ARGS=(--url "ws://127.0.0.1:$PORT/{room}")
      ;;
    ysweet)
      # y-sweet is not packaged anywhere this script can install from: build it from its source
      # (`cargo build --release -p y-sweet` in its crates/ folder) and point YSWEET_BIN at it.
      if [[ ! -x ${YSWEET_BIN:-} ]]; then
        log "SERVER=ysweet needs YSWEET_BIN: the path of a y-sweet binary built from its source"
        exit 1
      fi
      TMP_DB=$(mktemp -d /tmp/ysweet-bench.XXXXXX)
      taskset -c "$SERVER_CPU" "$YSWEET_BIN" serve "$TMP_DB/store" --host 127.0.0.1 --port "$PORT" \
        >"$TMP_DB/server.log" 2>&1 &
      SERVER_PID=$!
      ready_url="http://127.0.0.1:$PORT/ready"
      # Without an auth key y-sweet creates a document on its first connection.
      TARGET_ARGS=(--url "ws://127.0.0.1:$PORT/doc/ws/{room}")
      ;;
    *)
      log "unknown SERVER=$SERVER (interview-ide, yws or ysweet)"
      exit 1
      ;;
  esac
  for _ in $(seq 200); do
    if curl -fsS -o /dev/null "$ready_url" 2>/dev/null; then
      if [[ ${NEEDS_KEY:-} == 1 ]] && [[ -n $(iide_admin_flags) ]]; then TARGET_ARGS+=(--api-key "$(bench_api_key)"); fi
      return 0
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      log "server exited during start:"; cat "$TMP_DB/server.log" >&2; exit 1
    fi
    sleep 0.05
  done
  log "server not ready after 10 s"; cat "$TMP_DB/server.log" >&2; exit 1
}

# One load run at rate $1 against a fresh server; the JSON report goes to $2. Repeated (RETRIES)
# while the report says other processes disturbed the window.
load_run() {
  local attempt other
  for attempt in $(seq 0 "${RETRIES:-0}"); do
    load_run_once "$@"
    other=$(jq -r '.machine.other_processes_cpu_percent // 0 | floor' "$2" 2>/dev/null || echo 0)
    if [[ $other -le 10 ]]; then return 0; fi
    if [[ $attempt -lt ${RETRIES:-0} ]]; then
      log "other processes used $other % of a core during the window: running again"
    fi
  done
}

load_run_once() {
  local rate=$1 json_file=$2 rc=0
  wait_quiet
  start_server
  log "$SERVER pid $SERVER_PID on CPU $SERVER_CPU; loadgen on CPU $LOADGEN_CPU:" \
    "$ROOMS rooms x $CLIENTS clients x $rate edits/s, ${DURATION}s, workload $WORKLOAD"
  # shellcheck disable=SC2086
  taskset -c "$LOADGEN_CPU" "$LOADGEN" run "${TARGET_ARGS[@]}" --workload "$WORKLOAD" \
    --rooms "$ROOMS" --clients "$CLIENTS" --rate "$rate" --duration "$DURATION" \
    --warmup "$WARMUP" --connect-rate "$CONNECT_RATE" --server-pid "$SERVER_PID" \
    --json-file "$json_file" ${JSON:+--json} $LOADGEN_ARGS || rc=$?
  if [[ $rc -ne 0 && $rc -ne 2 ]]; then
    log "loadgen failed (exit $rc); server log:"; tail -20 "$TMP_DB/server.log" >&2
  fi
  stop_server
  if [[ -s $json_file ]]; then
    if [[ -n ${JSON:-} ]]; then summary_line "$json_file" >&2; else summary_line "$json_file"; fi
  fi
  return 0
}

# The figures most often quoted, on one line, from a JSON report.
summary_line() {
  jq -r '"summary       \(.config.workload), \(.config.rooms) rooms x \(.config.clients_per_room) x \(.config.edits_per_sec_per_client) edits/s: " +
    "p50 \(.latency_ms.p50 // "-") ms, p95 \(.latency_ms.p95 // "-") ms, p99 \(.latency_ms.p99 // "-") ms, max \(.latency_ms.max // "-") ms; " +
    "\(.deliveries.per_sec | floor) deliveries/s; server CPU \((.server.cpu_percent // 0) | floor) %, peak RSS \((.server.peak_rss_mb // 0) | floor) MB; " +
    "loadgen \((.loadgen.cpu_us_per_delivery // 0) * 100 | round / 100) µs CPU per delivered edit; errors \(.errors.total)"' "$1"
}

stamp() { date +%Y%m%d-%H%M%S; }

# Busy jiffies and total jiffies of all CPUs, from /proc/stat.
cpu_jiffies() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }

wait_quiet() {
  local limit=${QUIET_WAIT:-0} waited=0 b0 t0 b1 t1 pct
  [[ $limit -gt 0 ]] || return 0
  while :; do
    read -r b0 t0 < <(cpu_jiffies); sleep 5; read -r b1 t1 < <(cpu_jiffies)
    pct=$(( (b1 - b0) * 100 / (t1 - t0 > 0 ? t1 - t0 : 1) ))
    if [[ $pct -lt 10 ]]; then return 0; fi
    waited=$((waited + 5))
    if [[ $waited -ge $limit ]]; then log "machine still busy ($pct %), running anyway"; return 0; fi
    log "machine busy ($pct % of all CPUs), waiting"
  done
}

# ---- cluster mode ---------------------------------------------------------------------------
BENCH_PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432/postgres}
REDIS_PORT=${REDIS_PORT:-18379}
NODE_CPUS=${NODE_CPUS:-0.25}
CLUSTER_ROOMS=${CLUSTER_ROOMS:-"500 750 1000 1250 1500 1750"}
CLUSTER_SETUPS=${CLUSTER_SETUPS:-"1 2:split 2:room"}
NODE_PIDS=()
CLUSTER_TMP=
REDIS_PID=
BENCH_DB=

# Limits process $1 to NODE_CPUS cores with a CPU quota in its own cgroup ($2 names it). A
# 10 ms period keeps a throttled node's pause short, so the quota costs throughput, not spikes.
limit_cpu() {
  local pid=$1 name=$2 quota dir
  quota=$(awk -v c="$NODE_CPUS" 'BEGIN { printf "%d", c * 10000 }')
  if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
    dir=/sys/fs/cgroup/iide-bench-$name
    mkdir -p "$dir" && echo "$quota 10000" >"$dir/cpu.max" && echo "$pid" >"$dir/cgroup.procs" && return 0
  elif [[ -d /sys/fs/cgroup/cpu ]]; then
    dir=/sys/fs/cgroup/cpu/iide-bench-$name
    mkdir -p "$dir" && echo 10000 >"$dir/cpu.cfs_period_us" && echo "$quota" >"$dir/cpu.cfs_quota_us" &&
      echo "$pid" >"$dir/cgroup.procs" && return 0
  fi
  log "cannot limit CPU with a cgroup here (needs root and the cpu controller): nodes run unlimited"
}

start_private_redis() {
  CLUSTER_TMP=$(mktemp -d /tmp/iide-cluster-bench.XXXXXX)
  # The settings the README asks of a production Redis: AOF on, no eviction.
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly yes --appendfsync everysec \
    --maxmemory-policy noeviction --dir "$CLUSTER_TMP" >"$CLUSTER_TMP/redis.log" 2>&1 &
  REDIS_PID=$!
  for _ in $(seq 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0; sleep 0.05; done
  log "private redis-server did not start:"; cat "$CLUSTER_TMP/redis.log" >&2; exit 1
}

stop_cluster() {
  local pid
  for pid in "${NODE_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${NODE_PIDS[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  NODE_PIDS=()
  if [[ -n $BENCH_DB ]]; then
    psql -q "$BENCH_PG" -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" >/dev/null 2>&1 || true
    BENCH_DB=
  fi
}

cleanup_cluster() {
  stop_cluster
  if [[ -n $REDIS_PID ]]; then kill "$REDIS_PID" 2>/dev/null || true; wait "$REDIS_PID" 2>/dev/null || true; fi
  if [[ -n $CLUSTER_TMP ]]; then rm -rf "$CLUSTER_TMP"; fi
  rmdir /sys/fs/cgroup/iide-bench-* /sys/fs/cgroup/cpu/iide-bench-* 2>/dev/null || true
}

# Starts $1 nodes on PORT, PORT+1, ... against a fresh database and an emptied Redis.
start_cluster() {
  local n=$1 i port db_url
  BENCH_DB=iide_bench_$$_$RANDOM
  psql -q "$BENCH_PG" -c "CREATE DATABASE $BENCH_DB" >/dev/null
  db_url="${BENCH_PG%/*}/$BENCH_DB"
  redis-cli -p "$REDIS_PORT" flushall >/dev/null
  TARGET_ARGS=()
  local bases=() pids=()
  for i in $(seq 1 "$n"); do
    port=$((PORT + i - 1))
    # shellcheck disable=SC2046,SC2086
    "$IIDE_BIN" --bind "127.0.0.1:$port" --database-url "$db_url" \
      --redis-url "redis://127.0.0.1:$REDIS_PORT" --node-id "bench-$i" --advertise-url "http://127.0.0.1:$port" \
      $(iide_bench_flags) $(iide_admin_flags) $IIDE_ARGS >"$CLUSTER_TMP/node-$i.log" 2>&1 &
    NODE_PIDS+=($!)
    limit_cpu "$!" "node-$i"
    bases+=("http://127.0.0.1:$port")
  done
  for i in $(seq 1 "$n"); do
    port=$((PORT + i - 1))
    for _ in $(seq 300); do
      curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && break
      if ! kill -0 "${NODE_PIDS[$((i - 1))]}" 2>/dev/null; then
        log "node $i exited during start:"; cat "$CLUSTER_TMP/node-$i.log" >&2; exit 1
      fi
      sleep 0.05
    done
  done
  pids=("${NODE_PIDS[@]}")
  TARGET_ARGS=(--interview-ide "$(IFS=,; echo "${bases[*]}")" --server-pid "$(IFS=,; echo "${pids[*]}")")
  if [[ -n $(iide_admin_flags) ]]; then TARGET_ARGS+=(--api-key "$(bench_api_key)"); fi
}

# Every 5 s: the number of document streams, their total and their longest length.
sample_streams() {
  while :; do
    redis-cli -p "$REDIS_PORT" --scan --pattern 'iide:doc:*' | awk '{ print "XLEN", $0 }' |
      redis-cli -p "$REDIS_PORT" | awk '{ n++; s += $1; if ($1 > m) m = $1 } END { print n + 0, s + 0, m + 0 }'
    sleep 5
  done
}

# "2:room" -> a file-name-friendly "2-room"; "1" -> "1".
setup_name() { echo "${1/:/-}"; }

cluster_bench() {
  trap 'cleanup_cluster; cleanup' EXIT
  local dir setup nodes placement name rooms json sampler
  dir="$RESULTS/$(stamp)-cluster"
  mkdir -p "$dir"
  start_private_redis
  for rooms in $CLUSTER_ROOMS; do
    for setup in $CLUSTER_SETUPS; do
      nodes=${setup%%:*}
      placement=split
      [[ $setup == *:* ]] && placement=${setup#*:}
      name="nodes-$(setup_name "$setup")-rooms-$rooms"
      json="$dir/$name.json"
      wait_quiet
      start_cluster "$nodes"
      log "$nodes node(s) ($placement), $NODE_CPUS core(s) each: $rooms rooms x $CLIENTS clients x $RATE edits/s, ${DURATION}s"
      sample_streams >"$dir/$name.streams" 2>/dev/null &
      sampler=$!
      # shellcheck disable=SC2086
      "$LOADGEN" run "${TARGET_ARGS[@]}" --placement "$placement" --workload "$WORKLOAD" --rooms "$rooms" \
        --clients "$CLIENTS" --rate "$RATE" --duration "$DURATION" --warmup "$WARMUP" --connect-rate "$CONNECT_RATE" \
        --watch-process redis-server --watch-process postgres \
        --json-file "$json" $LOADGEN_ARGS >"$dir/$name.txt" || true
      kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true
      stop_cluster
      cat "$dir/$name.txt"
    done
  done
  {
    printf '%-8s %-6s %-13s %-8s %-8s %-14s %-15s %-7s %-18s %-10s %-10s %-15s %-12s\n' \
      nodes rooms deliveries/s "p50 ms" "p99 ms" "p99 same node" "p99 cross node" errors "node CPU" "Redis CPU" "PG CPU" "longest stream" "loadgen CPU"
    for rooms in $CLUSTER_ROOMS; do
      for setup in $CLUSTER_SETUPS; do
        name="nodes-$(setup_name "$setup")-rooms-$rooms"
        json="$dir/$name.json"
        [[ -s $json ]] || continue
        longest=$(awk '$3 > m { m = $3 } END { print m + 0 }' "$dir/$name.streams")
        jq -r --arg n "$setup" --arg r "$rooms" --arg l "$longest" '[$n, $r,
            (.deliveries.per_sec|floor), (.latency_ms.p50 // "-"), (.latency_ms.p99 // "-"),
            (.latency_ms_same_node.p99 // "-"), (.latency_ms_cross_node.p99 // "-"), .errors.total,
            ([.server.cpu_percent_each[] | (. // 0 | floor | tostring)] | join("+") + " %"),
            ([.watched_processes[] | select(.name == "redis-server") | .cpu_percent | floor | tostring + " %"][0]),
            ([.watched_processes[] | select(.name == "postgres") | .cpu_percent | floor | tostring + " %"][0]),
            $l, (.loadgen.cpu_percent | floor | tostring + " %")] | @tsv' "$json" |
          awk -F'\t' '{printf "%-8s %-6s %-13s %-8s %-8s %-14s %-15s %-7s %-18s %-10s %-10s %-15s %-12s\n",$1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13}'
      done
    done
    for setup in $CLUSTER_SETUPS; do
      best=$(for rooms in $CLUSTER_ROOMS; do
        jq -r 'select(.errors.total == 0 and .latency_ms.p99 < 50) | .deliveries.per_sec | floor' \
          "$dir/nodes-$(setup_name "$setup")-rooms-$rooms.json" 2>/dev/null
      done | sort -g | tail -1)
      echo "$setup: highest throughput with p99 < 50 ms and no errors: ${best:-none} deliveries/s"
    done
  } | tee "$dir/summary.txt"
  log "saved under $dir"
}

mkdir -p "$RESULTS"
case $MODE in
  load)
    ensure_loadgen
    out="$RESULTS/$(stamp)-$SERVER-$WORKLOAD-${ROOMS}x${CLIENTS}x${RATE}-${DURATION}s"
    # Process substitution, not a pipe: load_run must run in this shell so the EXIT trap
    # still knows the server to stop.
    load_run "$RATE" "$out.json" > >(tee "$out.txt")
    log "saved $out.txt and $out.json"
    ;;
  sweep)
    ensure_loadgen
    dir="$RESULTS/$(stamp)-$SERVER-$WORKLOAD-sweep"
    mkdir -p "$dir"
    for r in $RATES; do
      load_run "$r" "$dir/rate-$r.json" > >(tee "$dir/rate-$r.txt")
    done
    {
      printf '%-7s %-12s %-9s %-9s %-9s %-9s %-7s %-11s %-9s %-11s %-14s %-6s\n' \
        "edits/s" "deliveries/s" "p50 ms" "p99 ms" "p99.9 ms" "max ms" "errors" "server CPU" "peak RSS" "loadgen CPU" "loadgen/deliv" "clean"
      for r in $RATES; do
        jq -r --arg r "$r" '[$r,
            (.deliveries.per_sec|floor), (.latency_ms.p50 // "-"), (.latency_ms.p99 // "-"),
            (.latency_ms.p999 // "-"), (.latency_ms.max // "-"), .errors.total,
            ((.server.cpu_percent // 0)|floor|tostring + " %"),
            ((.server.peak_rss_mb // 0)|floor|tostring + " MB"),
            ((.loadgen.cpu_percent)|floor|tostring + " %"),
            ((.loadgen.cpu_us_per_delivery // 0) * 100 | round / 100 | tostring + " µs"),
            (if (.machine.other_processes_cpu_percent // 0) <= 10 then "yes" else "no" end)] | @tsv' "$dir/rate-$r.json" |
          awk -F'\t' '{printf "%-7s %-12s %-9s %-9s %-9s %-9s %-7s %-11s %-9s %-11s %-14s %-6s\n",$1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12}'
      done
      best=$(for r in $RATES; do
        jq -r --arg r "$r" 'select(.errors.total == 0 and .latency_ms.p99 < 50) | $r' "$dir/rate-$r.json"
      done | sort -g | tail -1)
      echo "highest rate with p99 < 50 ms and no errors: ${best:-none} edits/s per client"
    } | tee "$dir/summary.txt"
    ;;
  startup)
    ensure_loadgen
    ensure_iide
    # shellcheck disable=SC2046
    taskset -c "$LOADGEN_CPU" "$LOADGEN" startup --runs "$RUNS" --ready-url "http://127.0.0.1:$PORT/readyz" -- \
      taskset -c "$SERVER_CPU" "$IIDE_BIN" --bind "127.0.0.1:$PORT" \
      --database-url "sqlite://{tmp}/bench.db" | tee "$RESULTS/$(stamp)-startup.txt"
    ;;
  cluster)
    ensure_loadgen
    ensure_iide
    cluster_bench
    ;;
  *)
    log "unknown mode $MODE (load, sweep, startup or cluster)"
    exit 1
    ;;
esac
