#!/usr/bin/env bash
# The container test: builds the production image with the real Dockerfile, starts
# docker-compose.yml (the app and PostgreSQL), waits for health, checks a pad session with a live
# document, a server-side run, a workspace session (its app through the platform, the terminal,
# VS Code) and the Chaos Engine (tests/container/check.mjs), then `down` and `up` again and checks
# that the sessions and the document survived. Builds the slim image too and checks a pad session
# on it (docker run, no privileges). Prints both images' sizes, build and start times.
#
# It sets up what it needs first: Debian's docker.io (dockerd 20.10), docker-compose and
# debootstrap; dockerd started in the background when it is not running (no systemd needed); the
# official base images, or local stand-ins built from Debian packages under the same names when
# no registry is reachable (tests/container/docker-env.sh).
#
#   IIDE_CONTAINER_PORT=18080   host port of the test deployment
#   IIDE_CONTAINER_KEEP=1       leave the deployment running afterwards (docker compose -p iide-ctest ...)
set -euo pipefail
source "$(dirname "$0")/docker-env.sh"
cd "$ROOT"

PROJECT="${IIDE_CONTAINER_PROJECT:-iide-ctest}"
IMAGE=interview-ide:test
SLIM_IMAGE=interview-ide:slim-test
PORT="${IIDE_CONTAINER_PORT:-18080}"
URL="http://127.0.0.1:$PORT"
TLS_PORT="${IIDE_CONTAINER_TLS_PORT:-18443}"
SLIM_PORT=$((PORT + 4))
TLS_HTTP_PORT="${IIDE_CONTAINER_TLS_HTTP_PORT:-18081}"
work="$(mktemp -d)"
t_start=$(date +%s)

ensure_docker
ensure_dockerd
ensure_base_images
ensure_extra_ca
ensure_npm tests

export ADMIN_EMAIL="admin@example.com"
export ADMIN_PASSWORD="container-test-password"
cat >"$work/test.env" <<ENV
IIDE_IMAGE=$IMAGE
HTTP_PORT=$PORT
UNTRUSTED_PORT=$((PORT + 2))
PUBLIC_URL=$URL
UNTRUSTED_ORIGIN=http://127.0.0.1:$((PORT + 2))
POSTGRES_PASSWORD=container-test-db-password
ADMIN_EMAIL=$ADMIN_EMAIL
ADMIN_PASSWORD=$ADMIN_PASSWORD
DOMAIN=localhost
HTTPS_PORT=$TLS_PORT
ACME_HTTP_PORT=$TLS_HTTP_PORT
ENV
dc() { compose --env-file "$work/test.env" -p "$PROJECT" -f "$ROOT/docker-compose.yml" "$@"; }

cleanup() {
  local rc=$?
  if [ $rc -ne 0 ]; then
    echo "--- app log (last 80 lines) ---" >&2
    dc logs --no-color --tail 80 app >&2 2>/dev/null || true
  fi
  if [ "${IIDE_CONTAINER_KEEP:-}" != "1" ]; then dc --profile tls down -v --remove-orphans >/dev/null 2>&1 || true; fi
  docker rm -f -v "$PROJECT-slim" >/dev/null 2>&1 || true
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT

# BuildKit when the client has it (buildx), the classic builder otherwise: the Dockerfile works
# with both.
if docker buildx version >/dev/null 2>&1; then builder=BuildKit; export DOCKER_BUILDKIT=1; else builder=classic; export DOCKER_BUILDKIT=0; fi
log "building $IMAGE with the $builder builder"
t0=$(date +%s)
docker build -q -t "$IMAGE" . >/dev/null
build_s=$(( $(date +%s) - t0 ))
size_bytes="$(docker image inspect -f '{{.Size}}' "$IMAGE")"
t0=$(date +%s)
docker build -q --target slim -t "$SLIM_IMAGE" . >/dev/null
slim_build_s=$(( $(date +%s) - t0 ))
slim_size_bytes="$(docker image inspect -f '{{.Size}}' "$SLIM_IMAGE")"

# The slim image on its own (SQLite in its volume, no privileges): a pad session works.
log "the slim image: docker run, then a pad session"
docker rm -f "$PROJECT-slim" >/dev/null 2>&1 || true
docker run -d --name "$PROJECT-slim" -p "127.0.0.1:$SLIM_PORT:8080" \
  -e ADMIN_EMAIL -e ADMIN_PASSWORD -e PUBLIC_URL="http://127.0.0.1:$SLIM_PORT" "$SLIM_IMAGE" >/dev/null
deadline=$(( $(date +%s) + 60 ))
until curl -fsS "http://127.0.0.1:$SLIM_PORT/readyz" >/dev/null 2>&1; do
  [ "$(date +%s)" -lt "$deadline" ] || { docker logs "$PROJECT-slim" >&2; echo "the slim image did not become ready" >&2; exit 1; }
  sleep 0.2
done
(cd tests && node container/check.mjs slim "http://127.0.0.1:$SLIM_PORT" "$work/slim.json")
docker rm -f "$PROJECT-slim" >/dev/null

# Waits until the app container reports healthy; prints the seconds since $1.
wait_healthy() {
  local since="$1" cid status i
  for i in $(seq 1 240); do
    cid="$(dc ps -q app 2>/dev/null || true)"
    if [ -n "$cid" ]; then
      status="$(docker inspect -f '{{.State.Health.Status}}' "$cid" 2>/dev/null || true)"
      if [ "$status" = "healthy" ]; then echo $(( $(date +%s) - since )); return; fi
      if [ "$(docker inspect -f '{{.State.Status}}' "$cid")" = "exited" ]; then echo "the app container exited" >&2; return 1; fi
    fi
    sleep 0.5
  done
  echo "the app did not become healthy" >&2
  return 1
}

# Milliseconds from the app container's start until /readyz answered 200 from the host.
ready_ms() {
  local started now
  started="$(docker inspect -f '{{.State.StartedAt}}' "$(dc ps -q app)")"
  local deadline=$(( $(date +%s) + 180 ))
  until curl -fsS "$URL/readyz" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "/readyz did not answer" >&2; return 1; }
    sleep 0.05
  done
  now="$(date +%s%3N)"
  echo $(( now - $(date -d "$started" +%s%3N) ))
}

dc --profile tls down -v --remove-orphans >/dev/null 2>&1 || true
log "docker compose up (app + PostgreSQL)"
t0=$(date +%s)
dc up -d --no-build
first_ready_ms="$(ready_ms)"
first_healthy_s="$(wait_healthy "$t0")"
log "healthy ${first_healthy_s}s after up (app container start -> /readyz: ${first_ready_ms} ms)"
if dc logs --no-color app 2>&1 | grep -q "docker-entrypoint: the workspace sandbox"; then
  dc logs --no-color app 2>&1 | grep docker-entrypoint >&2
  exit 1
fi

log "checks against the running deployment"
(cd tests && node container/check.mjs before "$URL" "$work/state.json")

log "docker compose down, then up again"
dc down
t0=$(date +%s)
dc up -d --no-build
again_ready_ms="$(ready_ms)"
again_healthy_s="$(wait_healthy "$t0")"
(cd tests && node container/check.mjs after "$URL" "$work/state.json")

# The tls profile: Caddy with deploy/caddy/Caddyfile in front, for DOMAIN=localhost (a certificate
# from Caddy's own local CA, whose root the checks trust).
log "the tls profile: Caddy in front (https://localhost:$TLS_PORT)"
dc --profile tls up -d --no-build caddy
for i in $(seq 1 60); do
  dc exec -T caddy cat /data/caddy/pki/authorities/local/root.crt >"$work/caddy-root.crt" 2>/dev/null && \
    [ -s "$work/caddy-root.crt" ] && break
  sleep 0.5
done
(cd tests && NODE_EXTRA_CA_CERTS="$work/caddy-root.crt" node container/check.mjs tls "https://localhost:$TLS_PORT" "$work/state.json")

total_s=$(( $(date +%s) - t_start ))
log "container test passed"
cat <<REPORT
  image $IMAGE (full): $(( size_bytes / 1000000 )) MB ($builder builder); build ${build_s} s (layers already cached are reused)
  image $SLIM_IMAGE (slim): $(( slim_size_bytes / 1000000 )) MB; build ${slim_build_s} s
  start to healthy: ${first_healthy_s} s from \`up\` with an empty database (/readyz ${first_ready_ms} ms after the app container started),
                    ${again_healthy_s} s on the second \`up\` (/readyz ${again_ready_ms} ms)
  local stand-ins for official images: $(stand_ins || true)
  whole container test: ${total_s} s
REPORT
