# interview-ide production images.
#
#   docker build -t interview-ide .                        the full image (the last stage)
#   docker build --target slim -t interview-ide:slim .     the slim one
#
# Stages: `web` builds the web app (Node 20), `server` the Rust binary that embeds it, `base` is
# Debian bookworm with what every deployment needs. Two images are made from them:
#  - `slim`: pads, the in-browser languages (Python, JavaScript, TypeScript), the assistant,
#    accounts, SSO and cluster mode. No sandbox: no server-side languages, no workspace sessions,
#    no tests run on the server.
#  - `full` (the default): everything, with what workspace sessions and server-side code runs
#    need installed by the same steps as ./scripts/start.sh (scripts/lib.sh): bubblewrap, the
#    language toolchains, code-server and every exercise's environment.
#
# Works with the classic builder and with BuildKit (no BuildKit-only syntax): the server's
# dependencies are compiled in a layer of their own, keyed on Cargo.toml/Cargo.lock only, so a
# rebuild after a source change compiles the interview-ide crate alone.
#
# Extra CA certificates (a TLS-intercepting proxy between the build and the package registries):
# put them as *.crt in docker/extra-ca/ before building; they are trusted in every stage.
#
# Running it needs the sandbox's privileges: see docker-compose.yml and docs/DEPLOY.md.

ARG RUST_IMAGE=rust:1.95-bookworm
ARG NODE_IMAGE=node:20-bookworm
ARG DEBIAN_IMAGE=debian:bookworm-slim

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS web
COPY docker/extra-ca/ /usr/local/share/ca-certificates/extra/
RUN update-ca-certificates >/dev/null 2>&1 || true
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY web/ ./
RUN npm run build --silent

# ---------------------------------------------------------------------------------------------
FROM ${RUST_IMAGE} AS server
COPY docker/extra-ca/ /usr/local/share/ca-certificates/extra/
RUN update-ca-certificates >/dev/null 2>&1 || true
ENV CARGO_HTTP_CAINFO=/etc/ssl/certs/ca-certificates.crt \
    CARGO_TERM_COLOR=never \
    CARGO_PROFILE_RELEASE_INCREMENTAL=false \
    CARGO_PROFILE_RELEASE_STRIP=symbols
WORKDIR /src
# 1. The dependencies alone, against empty crates: this layer is rebuilt only when a manifest or
#    the lock file changes.
COPY Cargo.toml Cargo.lock ./
COPY crates/server/Cargo.toml crates/server/build.rs crates/server/
COPY crates/loadgen/Cargo.toml crates/loadgen/
RUN mkdir -p crates/server/src crates/loadgen/src web/dist \
 && echo 'fn main() {}' >crates/server/src/main.rs \
 && touch crates/server/src/lib.rs \
 && echo 'fn main() {}' >crates/loadgen/src/main.rs \
 && cargo build --release --locked -p interview-ide \
 && rm -rf crates/server/src crates/loadgen/src \
      target/release/interview-ide target/release/.fingerprint/interview-ide-* \
      target/release/deps/interview_ide-* target/release/deps/libinterview_ide-*
# 2. The server itself, embedding the web app.
COPY crates/ crates/
COPY --from=web /src/web/dist web/dist
RUN touch crates/server/src/main.rs crates/server/src/lib.rs crates/server/build.rs \
 && cargo build --release --locked -p interview-ide \
 && install -m 0755 target/release/interview-ide target/release/iide-forward /usr/local/bin/

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS node

# ---------------------------------------------------------------------------------------------
FROM ${DEBIAN_IMAGE} AS base
SHELL ["/bin/bash", "-eo", "pipefail", "-c"]
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8
# No recommended packages (the toolchains' recommendations add hundreds of MB of docs and tools).
RUN echo 'APT::Install-Recommends "false";' >/etc/apt/apt.conf.d/90no-recommends
COPY docker/extra-ca/ /usr/local/share/ca-certificates/extra/
RUN apt-get update -qq \
 && apt-get install -y -qq ca-certificates curl procps tini >/dev/null \
 && update-ca-certificates >/dev/null 2>&1 \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt
WORKDIR /app
# The user the server becomes once its sandbox helper (which keeps root) has started.
RUN useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin interview-ide
COPY docker/entrypoint.sh /usr/local/bin/docker-entrypoint
# Configuration by environment only (every flag has a variable: see .env.example).
ENV BIND_ADDR=0.0.0.0:8080 \
    DATABASE_URL=sqlite:///data/interview-ide.db \
    WORKSPACES_DIR=/data/workspaces \
    RUNS_DIR=/data/runs \
    EXERCISES_DIR=/app/exercises \
    QUESTIONS_DIR=/app/questions \
    TOOLS_DIR=/opt/interview-ide \
    RUST_LOG=info
# Everything that lives across restarts: the SQLite database (unless DATABASE_URL points at
# PostgreSQL), workspace files, run folders.
RUN mkdir -p /data && chmod 0755 /data
VOLUME /data
# 8081: the untrusted origin (candidate-made content: VS Code, the candidate's app).
EXPOSE 8080 8081
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=5 \
  CMD curl -fsS http://127.0.0.1:8080/healthz >/dev/null || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["tini", "--", "docker-entrypoint"]
CMD ["interview-ide"]

# ---------------------------------------------------------------------------------------------
FROM base AS slim
COPY questions/ questions/
COPY --from=server /usr/local/bin/interview-ide /usr/local/bin/iide-forward /usr/local/bin/

# ---------------------------------------------------------------------------------------------
FROM base AS full
# Node.js 20 under /usr, where the sandboxes see it (they mount /usr read-only): code-server,
# the payments-node exercise and JavaScript question tests run on it; its headers let native
# modules build offline.
COPY --from=node /usr/local/bin/node /usr/bin/node
COPY --from=node /usr/local/include/node /usr/include/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/bin/npx \
 && node --version
COPY scripts/lib.sh scripts/lib.sh
# The sandbox and the server-side languages: scripts/lib.sh's ensure_bubblewrap and
# LANGUAGE_DEBS, except Debian's nodejs (18), as Node.js 20 is already in /usr.
RUN . scripts/lib.sh \
 && ensure_bubblewrap \
 && ensure_debs ${LANGUAGE_DEBS[@]/nodejs} \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /usr/share/doc/* /usr/share/man/*
# VS Code in the browser (scripts/lib.sh's ensure_code_server).
RUN . scripts/lib.sh \
 && ensure_code_server \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /root/.npm /root/.cache /tmp/*
# Every exercise and its environment (scripts/lib.sh's ensure_exercise_envs).
COPY exercises/ exercises/
RUN . scripts/lib.sh \
 && ensure_exercise_envs \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /root/.npm /root/.cache /tmp/*
COPY questions/ questions/
COPY --from=server /usr/local/bin/interview-ide /usr/local/bin/iide-forward /usr/local/bin/
