# Stand-in for the official node:20-bookworm image, built when it cannot be pulled: Debian
# bookworm with the build tools of buildpack-deps and the machine's Node.js 20 (binary, npm,
# headers) in /usr/local, where the official image has it.
FROM debian:bookworm-slim
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      ca-certificates curl git gcc g++ libc6-dev make python3 >/dev/null \
 && rm -rf /var/lib/apt/lists/*
COPY node/ /usr/local/
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version
CMD ["node"]
