# Docker for the container test, on a Debian machine with no systemd and no reachable image
# registry. Sourced by tests/container/run.sh; every step is idempotent.
#
#   ensure_docker        docker.io (dockerd 20.10) and docker-compose from Debian, when missing
#   ensure_dockerd       starts dockerd in the background (log: $DOCKERD_LOG) unless it answers
#   ensure_base_images   the official base images the Dockerfile and compose file use; each one
#                        that cannot be pulled is built locally under the same name from Debian
#                        packages (a "stand-in", labelled org.interview-ide.stand-in=true)
#   compose ...          `docker compose` when the plugin exists, else docker-compose (v1)

# shellcheck source=../../scripts/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/lib.sh"

CONTAINER_DIR="$ROOT/tests/container"
DOCKERD_LOG="${DOCKERD_LOG:-/var/log/dockerd-interview-ide.log}"

# The base images, as the Dockerfile and docker-compose.yml name them.
DEBIAN_IMAGE="debian:bookworm-slim"
RUST_IMAGE="rust:1.95-bookworm"
NODE_IMAGE="node:20-bookworm"
POSTGRES_IMAGE="postgres:15-bookworm"
REDIS_IMAGE="redis:7-bookworm"
CADDY_IMAGE="caddy:2"
BASE_IMAGES=("$DEBIAN_IMAGE" "$RUST_IMAGE" "$NODE_IMAGE" "$POSTGRES_IMAGE" "$REDIS_IMAGE" "$CADDY_IMAGE")

# An engine and compose already there (Docker's own packages, a CI runner) are used as they are.
ensure_docker() {
  command -v dockerd >/dev/null 2>&1 || docker info >/dev/null 2>&1 || ensure_debs docker.io
  docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1 || ensure_debs docker-compose
}

ensure_dockerd() {
  if docker info >/dev/null 2>&1; then return; fi
  if [ -S /var/run/docker.sock ] && ! pgrep -x dockerd >/dev/null; then rm -f /var/run/docker.sock; fi
  if ! pgrep -x dockerd >/dev/null; then
    log "starting dockerd (log: $DOCKERD_LOG)"
    # containerd is started by dockerd itself when it is not running.
    nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
  fi
  local i
  for i in $(seq 1 120); do
    docker info >/dev/null 2>&1 && return
    sleep 0.5
  done
  tail -n 30 "$DOCKERD_LOG" >&2
  echo "dockerd did not start" >&2
  exit 1
}

compose() {
  if docker compose version >/dev/null 2>&1; then docker compose "$@"; else docker-compose "$@"; fi
}

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

is_stand_in() {
  [ "$(docker image inspect -f '{{ index .Config.Labels "org.interview-ide.stand-in" }}' "$1" 2>/dev/null)" = "true" ]
}

# The first Debian mirror apt uses on this machine.
debian_mirror() {
  local m
  m="$(grep -hoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null \
    | grep -oE 'https?://[^ ]+' | head -n1)"
  echo "${m:-http://deb.debian.org/debian}"
}

# One base image: present, pulled, or built as a stand-in.
ensure_base_image() {
  local image="$1"
  image_exists "$image" && return
  if timeout 60 docker pull -q "$image" >/dev/null 2>&1; then
    log "pulled $image"
    return
  fi
  log "$image cannot be pulled: building a local stand-in from Debian packages"
  case "$image" in
    "$DEBIAN_IMAGE") build_debian_standin ;;
    "$RUST_IMAGE") build_rust_standin ;;
    "$NODE_IMAGE") build_node_standin ;;
    "$POSTGRES_IMAGE") build_standin "$image" postgres ;;
    "$REDIS_IMAGE") build_standin "$image" redis ;;
    "$CADDY_IMAGE") build_standin "$image" caddy ;;
    *) echo "no stand-in recipe for $image" >&2; exit 1 ;;
  esac
}

ensure_base_images() {
  local image
  for image in "${BASE_IMAGES[@]}"; do ensure_base_image "$image"; done
}

# The images among BASE_IMAGES that are local stand-ins (for the report).
stand_ins() {
  local image out=()
  for image in "${BASE_IMAGES[@]}"; do is_stand_in "$image" && out+=("$image"); done
  echo "${out[*]}"
}

# debian:bookworm-slim: a debootstrap minbase of bookworm, imported as an image. Like the
# official image: apt lists emptied, sources for bookworm, -updates and -security.
build_debian_standin() {
  local mirror root
  command -v debootstrap >/dev/null 2>&1 || ensure_debs debootstrap
  mirror="$(debian_mirror)"
  root="$(mktemp -d /var/tmp/iide-debian.XXXXXX)"
  log "debootstrap bookworm from $mirror (about a minute)"
  debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 || { tail -n 30 "$root.log" >&2; exit 1; }
  cat >"$root/etc/apt/sources.list" <<SRC
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${mirror%/debian}/debian-security bookworm-security main
SRC
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
  tar -C "$root" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'LABEL org.interview-ide.stand-in=true' \
    --change 'CMD ["bash"]' - "$DEBIAN_IMAGE" >/dev/null
  rm -rf "$root" "$root.log"
}

# A stand-in built from tests/container/standins/<name>.Dockerfile on top of debian:bookworm-slim
# (extra build context in $2's folder when given).
build_standin() {
  local image="$1" name="$2" context="${3:-$CONTAINER_DIR/standins}"
  [ "$context" = "$CONTAINER_DIR/standins" ] || cp "$CONTAINER_DIR/standins/"* "$context/"
  ensure_base_image "$DEBIAN_IMAGE"
  DOCKER_BUILDKIT=0 docker build -q -t "$image" -f "$context/$name.Dockerfile" \
    --label org.interview-ide.stand-in=true "$context" >/dev/null
}

# rust:<version>-bookworm: the machine's Rust toolchain (without its docs) in /usr/local, where
# the official image has it (RUSTUP_HOME=/usr/local/rustup, CARGO_HOME=/usr/local/cargo).
build_rust_standin() {
  local ctx toolchain
  toolchain="$(rustc --print sysroot)"
  ctx="$(mktemp -d /var/tmp/iide-rust.XXXXXX)"
  mkdir -p "$ctx/toolchain"
  tar -C "$toolchain" --exclude=./share/doc -c . | tar -C "$ctx/toolchain" -x
  build_standin "$RUST_IMAGE" rust "$ctx"
  rm -rf "$ctx"
}

# node:20-bookworm: the machine's Node.js 20 (binary, npm, headers) in /usr/local, as the
# official image has it, on Debian with the build tools the official image has.
build_node_standin() {
  local ctx node_root
  node_root="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
  case "$(node --version)" in v20.*) ;; *) echo "node 20 needed for the node:20 stand-in" >&2; exit 1 ;; esac
  ctx="$(mktemp -d /var/tmp/iide-node.XXXXXX)"
  mkdir -p "$ctx/node/bin" "$ctx/node/lib/node_modules" "$ctx/node/include"
  cp "$node_root/bin/node" "$ctx/node/bin/"
  cp -a "$node_root/lib/node_modules/npm" "$ctx/node/lib/node_modules/"
  [ -d "$node_root/lib/node_modules/corepack" ] && cp -a "$node_root/lib/node_modules/corepack" "$ctx/node/lib/node_modules/"
  cp -a "$node_root/include/node" "$ctx/node/include/"
  build_standin "$NODE_IMAGE" node "$ctx"
  rm -rf "$ctx"
}

# Extra CA certificates for the image build (a TLS-intercepting proxy on the way to the package
# registries): the machine's local ones, copied into docker/extra-ca/ (ignored by git).
ensure_extra_ca() {
  local f
  for f in /usr/local/share/ca-certificates/*.crt; do
    [ -f "$f" ] || continue
    cmp -s "$f" "$ROOT/docker/extra-ca/$(basename "$f")" || cp "$f" "$ROOT/docker/extra-ca/"
  done
}
