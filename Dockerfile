# Dockerfile -- webrtc-gateway: build with the Rust toolchain, run on a small Debian image.
#
#   docker build -t webrtc-gateway .
#   docker run --rm --network host -v "$PWD/gateway.toml:/etc/webrtc-gateway/gateway.toml:ro" webrtc-gateway
#
# docker-compose.yml builds it as the `gateway` service. Deployment: docs/deployment.md.

# --- Build ---------------------------------------------------------------------------------------
FROM rust:1-bookworm AS builder

# libopus (the opus crate links it through pkg-config), as scripts/install-deps --build-only.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends libopus-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# The whole workspace (.dockerignore leaves out target directories, .git and secrets):
# Cargo needs every member's manifest to resolve the workspace.
COPY . .
RUN cargo build --release --locked -p webrtc-gateway \
 && install -D -m 0755 target/release/webrtc-gateway /out/webrtc-gateway

# --- Run -----------------------------------------------------------------------------------------
FROM debian:bookworm-slim

# libopus0: the only shared library beyond glibc (SQLite is bundled, TLS is rustls).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends libopus0 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 gateway \
 && useradd --system --uid 10001 --gid gateway --home-dir /data --shell /usr/sbin/nologin gateway \
 && mkdir -p /data /etc/webrtc-gateway \
 && chown gateway:gateway /data

COPY --from=builder /out/webrtc-gateway /usr/local/bin/webrtc-gateway
# A configuration that starts as is; mount your own over it (docker-compose.yml mounts
# deploy/gateway/gateway.toml). Its relative data_dir "./data" is /data/data.
COPY gateway.example.toml /etc/webrtc-gateway/gateway.toml

# The user gateway (uid 10001), by number so that runtimes can check it is not root.
USER 10001:10001
WORKDIR /data
# The outbox of reports to Odoo ([storage] data_dir = "/data" in deploy/gateway/gateway.toml).
VOLUME ["/data"]

# HTTP: the page, /ws, /api/v1, /healthz. SIP toward Asterisk. Media (RTP toward Asterisk and
# WebRTC toward browsers): media.rtp_ports. With --network host (docker-compose.yml) these are
# documentation only.
EXPOSE 8080/tcp 5080/udp 5080/tcp 20000-29999/udp

# Liveness: GET /healthz over plain HTTP on 127.0.0.1:$HEALTHCHECK_PORT, with bash's /dev/tcp
# (no curl in the image). With TLS on the HTTP listener ([http] tls_cert) this probe cannot
# speak it: override the healthcheck (docs/deployment.md).
# NO_COLOR: plain log lines (docker logs, log collectors) instead of terminal colours.
ENV HEALTHCHECK_PORT=8080 NO_COLOR=1
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${HEALTHCHECK_PORT} && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && grep -q '\"status\":\"ok\"' <&3"]

ENTRYPOINT ["webrtc-gateway"]
CMD ["serve", "--config", "/etc/webrtc-gateway/gateway.toml"]
