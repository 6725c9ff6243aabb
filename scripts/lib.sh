# Shared steps of start.sh and test.sh. Every step is idempotent: it does nothing when its
# result is already there and up to date.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "missing: $1 ($2)" >&2; exit 1; }
}

# npm dependencies of a folder, installed from its lock file when missing or stale.
ensure_npm() {
  local dir="$ROOT/$1"
  need npm "Node.js 20.19+ with npm"
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    log "installing npm packages in $1/"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# Whether the web app in web/dist is older than any of its sources (or missing).
web_stale() {
  local stamp="$ROOT/web/dist/index.html"
  [ ! -f "$stamp" ] || [ -n "$(find "$ROOT/web/src" "$ROOT/web/public" "$ROOT/web/index.html" "$ROOT/web/vite.config.ts" "$ROOT/web/package-lock.json" -newer "$stamp" -print -quit 2>/dev/null)" ]
}

# The web app in web/dist, rebuilt when any of its sources is newer than the last build.
build_web() {
  ensure_npm web
  if web_stale; then
    log "building the web app"
    (cd "$ROOT/web" && npm run build --silent)
  fi
}

# The server binary (it embeds web/dist, so build the web app first). The same command as the
# test run's (`cargo test --release --workspace`) resolves the same features, so neither
# rebuilds what the other built.
build_server() {
  need cargo "the Rust toolchain"
  log "building the server (release)"
  (cd "$ROOT" && cargo build --release --workspace "$@")
}

# The web app and the server built at once (a fresh clone's first start spends minutes on each).
# The server's dependencies compile while npm installs and Vite builds; the server's build
# script (crates/server/build.rs) waits while $IIDE_WEB_BUILDING exists, so the crate that
# embeds web/dist compiles after it is complete. web/dist's files are then dated to before
# this cargo run began: cargo, which compares them with the moment the build script started,
# must not take them for a change and build the server once more on its next run.
build_web_and_server() {
  if ! web_stale; then
    build_server
    return
  fi
  local marker="$ROOT/target/.web-building" began web_status=0 cargo_pid
  mkdir -p "$ROOT/target"
  began="$(date +%s)"
  # Gone, web/dist counts as changed, so the build script runs (and waits) this time.
  rm -rf "$ROOT/web/dist"
  echo building >"$marker"
  sleep 1
  IIDE_WEB_BUILDING="$marker" build_server --jobs "$(( $(nproc) + 1 ))" &
  cargo_pid=$!
  build_web || web_status=$?
  if [ "$web_status" -eq 0 ]; then
    find "$ROOT/web/dist" -exec touch -h -d "@$((began - 1))" {} +
    rm -f "$marker"
  else
    echo failed >"$marker"
  fi
  wait "$cargo_pid" || { rm -f "$marker"; exit 1; }
  [ "$web_status" -eq 0 ] || { rm -f "$marker"; exit 1; }
}

# Debian packages, installed when missing. The package lists are refreshed when older than a
# day. Another install running (start.sh's background one) is waited for, not failed on.
# apt's first install on a fresh machine can fail with "cannot access archive" (a cache clean
# hook); the same install then succeeds, hence the retry.
apt_install() {
  local sudo="" wait=(-o DPkg::Lock::Timeout=1800)
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -1440 -print -quit 2>/dev/null)" ]; then
    $sudo apt-get "${wait[@]}" update -qq
  fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get "${wait[@]}" install -y -qq "$@" >/dev/null \
    || $sudo env DEBIAN_FRONTEND=noninteractive apt-get "${wait[@]}" install -y -qq "$@" >/dev/null
}

# The Debian packages among "$@" that are not installed yet.
missing_debs() {
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || echo "$pkg"
  done
}

# Installs the Debian packages among "$@" that are not installed yet.
ensure_debs() {
  local missing
  mapfile -t missing < <(missing_debs "$@")
  [ ${#missing[@]} -eq 0 ] && return
  log "installing ${missing[*]}"
  apt_install "${missing[@]}"
}

# Debian's chromium for the browser tests.
ensure_chromium() {
  if command -v chromium >/dev/null 2>&1; then return; fi
  log "installing chromium (browser tests)"
  apt_install chromium
}

# Tools for workspace sessions live here, outside the repo, so that sandboxed sessions (running as
# unprivileged uids) can read them.
IIDE_TOOLS_DIR="${IIDE_TOOLS_DIR:-/opt/interview-ide}"

# Makes $IIDE_TOOLS_DIR and every parent folder traversable by any uid.
tools_dir() {
  mkdir -p "$IIDE_TOOLS_DIR"
  local d="$IIDE_TOOLS_DIR"
  while [ "$d" != "/" ]; do
    [ -n "$(find "$d" -maxdepth 0 -perm -o+x)" ] || chmod a+x "$d"
    d="$(dirname "$d")"
  done
  chmod a+rx "$IIDE_TOOLS_DIR"
}

# bubblewrap: sessions run candidate code and code-server inside it.
# nginx, for the test that puts two nodes behind deploy/nginx/interview-ide.conf.
ensure_nginx() {
  command -v nginx >/dev/null 2>&1 && return
  log "installing nginx (load balancer of the cluster test)"
  apt_install nginx-light
}

ensure_bubblewrap() {
  # mkfs.ext4 makes each workspace's disk-quota image (the server falls back to no quota without it).
  ensure_debs e2fsprogs
  command -v bwrap >/dev/null 2>&1 && return
  log "installing bubblewrap (session sandbox)"
  apt_install bubblewrap
}

# The unprivileged user the server becomes when started as root (`--user`, SERVER_USER): only
# the sandbox helper it starts first keeps root's powers. Its data (./data) becomes this user's.
ensure_server_user() {
  local name="${SERVER_USER:-interview-ide}"
  [ "$(id -u)" = 0 ] || return 0
  id -u "$name" >/dev/null 2>&1 && return
  log "creating the system user $name (the server runs as it)"
  useradd --system --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin "$name"
}

# Compilers and runtimes of the languages that run on the server (crates/server/src/execute):
# Debian's, in /usr, which every run's sandbox sees read-only. rustc is Debian's too (a rustup
# toolchain under ~ is invisible to the sandbox). python3, nodejs and esbuild (which strips
# TypeScript's types) run a question's tests for Python, JavaScript and TypeScript, whose Run
# happens in the browser.
LANGUAGE_DEBS=(gcc g++ default-jdk-headless golang-go rustc ruby sqlite3 bash python3 nodejs esbuild)
ensure_languages() {
  ensure_debs "${LANGUAGE_DEBS[@]}"
}
languages_ready() { [ -z "$(missing_debs "${LANGUAGE_DEBS[@]}")" ]; }

# The environment of every exercise whose exercise.toml has a [runtime.install] table (see
# docs/EXERCISES.md), at $IIDE_TOOLS_DIR/<runtime.environment>: sandboxes bind it read-only at
# the same path. The manifest says everything: the Debian packages its commands need, the
# commands (run on the host, in the exercise folder, with {env} and {exercise} replaced), the
# input files and a fingerprint command whose output, when any of them changes, means: install
# again from scratch. The key is written last, so a failed install is retried on the next run.
# (trading-backend: a venv made with Debian's /usr/bin/python3, whose symlinks point into /usr,
# which sandboxes see, and pip install -r requirements.txt.)
ensure_exercise_envs() {
  local manifest
  for manifest in "$ROOT"/exercises/*/exercise.toml; do
    [ -f "$manifest" ] || continue
    ensure_exercise_env "$manifest"
  done
}

# Whether every exercise's environment is installed and current.
exercise_envs_ready() {
  local manifest
  for manifest in "$ROOT"/exercises/*/exercise.toml; do
    [ -f "$manifest" ] || continue
    ensure_exercise_env "$manifest" check || return 1
  done
}

# The [runtime] of one manifest as shell assignments (read with Python's tomllib).
exercise_runtime() {
  /usr/bin/python3 - "$1" <<'PY'
import shlex, sys, tomllib
with open(sys.argv[1], "rb") as f:
    rt = tomllib.load(f).get("runtime", {})
inst = rt.get("install") or {}
words = lambda xs: " ".join(shlex.quote(str(x)) for x in xs)
print("env_rel=" + shlex.quote(rt.get("environment", "")))
print("packages=(" + words(inst.get("packages", [])) + ")")
print("commands=(" + words(inst.get("commands", [])) + ")")
print("inputs=(" + words(inst.get("inputs", [])) + ")")
print("fingerprint=" + shlex.quote(inst.get("fingerprint", "")))
PY
}

# With a second argument `check`, only answers whether it is current (installs nothing).
ensure_exercise_env() {
  local manifest="$1" mode="${2:-}" exdir id env_rel="" fingerprint="" env key cmd f
  local packages=() commands=() inputs=()
  exdir="$(cd "$(dirname "$manifest")" && pwd)"
  id="$(basename "$exdir")"
  if ! /usr/bin/python3 -c 'import tomllib' 2>/dev/null; then
    log "installing python3 (reads the exercises' manifests)"
    apt_install python3
  fi
  eval "$(exercise_runtime "$manifest")"
  [ ${#commands[@]} -gt 0 ] || return 0
  case "/$env_rel/" in
    //|*/../*|*/./*) echo "exercise $id: runtime.environment must be a relative path inside $IIDE_TOOLS_DIR" >&2; return 1 ;;
  esac
  env="$IIDE_TOOLS_DIR/$env_rel"
  key="$( { [ -z "$fingerprint" ] || (cd "$exdir" && eval "$fingerprint"); for f in "${inputs[@]}"; do cat "$exdir/$f"; done; } | sha256sum | cut -d' ' -f1)"
  # .requirements.sha256: the same key, as environments made before [runtime.install] stored it.
  if [ "$(cat "$env/.install.sha256" 2>/dev/null || cat "$env/.requirements.sha256" 2>/dev/null)" = "$key" ]; then return 0; fi
  [ "$mode" != check ] || return 1
  [ ${#packages[@]} -eq 0 ] || ensure_debs "${packages[@]}"
  log "installing the environment of exercise $id ($env_rel)"
  tools_dir
  rm -rf "$env"
  mkdir -p "$(dirname "$env")"
  chmod a+rx "$(dirname "$env")"
  for cmd in "${commands[@]}"; do
    cmd="${cmd//\{env\}/$env}"
    cmd="${cmd//\{exercise\}/$exdir}"
    (cd "$exdir" && bash -eo pipefail -c "$cmd")
  done
  echo "$key" >"$env/.install.sha256"
  chmod -R a+rX "$env"
}

# code-server (VS Code in the browser) for workspace sessions, at
# $IIDE_TOOLS_DIR/code-server/node_modules/.bin/code-server. 4.100.3 is the last release that runs
# on Node 20. Its install needs, offline from GitHub: libkrb5-dev (the kerberos module),
# npm_config_yes (node-pty's postinstall runs npx), --unsafe-perm (root), node headers from /usr,
# and a pre-seeded ripgrep download cache holding Debian's rg (@vscode/ripgrep's postinstall
# otherwise downloads it from GitHub). It is built in a staging folder and moved in place once it
# runs, so a half install is never used. IIDE_SKIP_CODE_SERVER=1 skips it.
CODE_SERVER_VERSION="4.100.3"
code_server_ready() {
  local dir="$IIDE_TOOLS_DIR/code-server"
  [ "${IIDE_SKIP_CODE_SERVER:-}" = "1" ] && return 0
  [ "$(cat "$dir/.installed-version" 2>/dev/null)" = "$CODE_SERVER_VERSION" ] && [ -x "$dir/node_modules/.bin/code-server" ]
}
ensure_code_server() {
  if [ "${IIDE_SKIP_CODE_SERVER:-}" = "1" ]; then
    log "IIDE_SKIP_CODE_SERVER=1: not installing code-server"
    return
  fi
  local dir="$IIDE_TOOLS_DIR/code-server"
  local bin="$dir/node_modules/.bin/code-server"
  code_server_ready && return
  need npm "Node.js 20 with npm"
  ensure_debs libkrb5-dev ripgrep build-essential
  log "installing code-server $CODE_SERVER_VERSION (takes a minute or two)"
  tools_dir
  local stage="$dir.staging" tmp
  tmp="$(mktemp -d)"
  rm -rf "$stage"
  mkdir -p "$stage"
  # The cache file name @vscode/ripgrep 1.15.x looks for; it holds a single `rg` at its root.
  local cache="$tmp/vscode-ripgrep-cache-1.15.11"
  mkdir -p "$cache"
  cp "$(command -v rg)" "$tmp/rg"
  tar -C "$tmp" -czf "$cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" rg
  echo '{"name":"iide-code-server","private":true}' >"$stage/package.json"
  # Native modules compile against the installed node headers instead of downloading them.
  local nodedir=()
  [ -f /usr/include/node/node.h ] && nodedir=(npm_config_nodedir=/usr)
  if ! (cd "$stage" && env TMPDIR="$tmp" npm_config_yes=true "${nodedir[@]}" \
      npm install --unsafe-perm --no-audit --no-fund --loglevel=error "code-server@$CODE_SERVER_VERSION" >"$tmp/npm.log" 2>&1); then
    tail -n 40 "$tmp/npm.log" >&2
    rm -rf "$tmp"
    echo "code-server install failed" >&2
    exit 1
  fi
  rm -rf "$tmp"
  rm -rf "$dir"
  mv "$stage" "$dir"
  chmod -R a+rX "$dir"
  "$bin" --version >/dev/null
  echo "$CODE_SERVER_VERSION" >"$dir/.installed-version"
  log "code-server $CODE_SERVER_VERSION installed at $bin"
}

# Installs under $IIDE_TOOLS_DIR and from Debian one script at a time: a test run started while
# start.sh still installs in the background waits for it here. The lock is held on fd 9 until
# `release_install_lock` (or the shell's end).
take_install_lock() {
  tools_dir
  exec 9>"$IIDE_TOOLS_DIR/.install.lock"
  if ! flock -n 9; then
    log "waiting for another install (start.sh's, in the background) to finish"
    flock 9
  fi
}
release_install_lock() { exec 9>&-; }

# The features only some sessions need, installed after the server is up: the server-side
# languages, the exercises' environments and code-server. $IIDE_TOOLS_DIR/installing says what
# is still being installed (`pid <installer>` first, then one feature per line, each dropped when
# its install ends); the server reads it (crates/server/src/installing.rs) for /readyz and the
# UI, and switches each feature on when its line goes. Output goes to $IIDE_TOOLS_DIR/install.log.
install_in_background() {
  local todo=() status="$IIDE_TOOLS_DIR/installing" logfile="$IIDE_TOOLS_DIR/install.log"
  languages_ready || todo+=(languages)
  exercise_envs_ready || todo+=(exercises)
  code_server_ready || todo+=(code-server)
  rm -f "$status"
  [ ${#todo[@]} -eq 0 ] && return
  tools_dir
  log "installing in the background: ${todo[*]} (see $logfile; they switch on when ready)"
  (
    trap '' INT
    printf 'pid %s\n' "$BASHPID" >"$status.new"
    printf '%s\n' "${todo[@]}" >>"$status.new"
    chmod a+r "$status.new"
    mv "$status.new" "$status"
    take_install_lock
    done_with() { sed -i "/^$1\$/d" "$status"; }
    ensure_languages || log "installing the server-side languages failed"
    done_with languages
    # code-server (npm) and the exercises' environments (pip, npm) install side by side.
    ensure_code_server &
    ensure_exercise_envs || log "installing the exercises' environments failed"
    done_with exercises
    wait $! || log "installing code-server failed"
    done_with code-server
    rm -f "$status"
    log "background install finished"
  ) </dev/null >>"$logfile" 2>&1 &
  # The server reads the file from its first request on.
  local i
  for i in $(seq 50); do [ -f "$status" ] && break; sleep 0.1; done
}
