# Stand-in for the official rust:<version>-bookworm image, built when it cannot be pulled:
# Debian bookworm with the build tools of buildpack-deps and a Rust toolchain copied from the
# machine into the official image's places.
FROM debian:bookworm-slim
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      ca-certificates curl git gcc g++ libc6-dev make pkg-config libssl-dev >/dev/null \
 && rm -rf /var/lib/apt/lists/*
ENV RUSTUP_HOME=/usr/local/rustup CARGO_HOME=/usr/local/cargo \
    PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
COPY toolchain/ /usr/local/rustup/toolchains/stable-x86_64-unknown-linux-gnu/
RUN mkdir -p /usr/local/cargo/bin \
 && for t in cargo rustc rustdoc cargo-clippy clippy-driver cargo-fmt rustfmt; do \
      [ -e /usr/local/rustup/toolchains/stable-x86_64-unknown-linux-gnu/bin/$t ] \
        && ln -s /usr/local/rustup/toolchains/stable-x86_64-unknown-linux-gnu/bin/$t /usr/local/cargo/bin/$t; \
    done; \
    cargo --version && rustc --version
