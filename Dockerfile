# syntax=docker/dockerfile:1
# alvd container image: build the single-file binary, ship it on debian-slim.
#
#   docker build -t alvd --build-arg ALVD_COMMIT=$(git rev-parse --short HEAD) .
#   docker run --rm -p 8080:8080 -p 8000:8000 -p 9090:9090 -v alvd-data:/var/lib/alvd alvd server --index-path /var/lib/alvd
#
# Only linux/amd64: the arm64 binary needs the cross-compiled addon (see docs/deploy.md).

# ---- build: node for npm ci (and the C/C++ toolchain + Node headers the addon needs), bun from devDependencies
FROM node:20-bookworm AS build
WORKDIR /src
# package files and the addon sources first: npm ci's postinstall compiles the addon,
# and this layer stays cached while only src/ changes
COPY package.json package-lock.json ./
COPY native ./native
RUN npm ci --no-audit --no-fund
COPY . .
# .git is not in the build context; the commit comes in as a build argument
ARG ALVD_COMMIT=unknown
RUN ALVD_COMMIT=${ALVD_COMMIT} node_modules/.bin/bun build.ts --target linux-x64 --no-archive \
 && cp dist/alvd-*-linux-x64/alvd /alvd

# ---- runtime: glibc >= 2.34 for the addon (bookworm has 2.36); no Alpine/musl
FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/alvd --shell /usr/sbin/nologin alvd \
 && mkdir -p /var/lib/alvd /var/tmp/alvd \
 && chown alvd:alvd /var/lib/alvd /var/tmp/alvd
COPY --from=build /alvd /usr/local/bin/alvd
# The binary extracts its native addon into $BUN_TMPDIR before loading it: it must be
# writable and allow exec. Mount an emptyDir/tmpfs (exec) here with a read-only root.
ENV BUN_TMPDIR=/var/tmp/alvd
USER alvd:alvd
WORKDIR /var/lib/alvd
VOLUME /var/lib/alvd
# 8080 Vald gRPC/gRPC-web/Connect gateway, 8000 agent tunnel (websocket),
# 8081 (embedded) agent gRPC, 9090 /metrics /healthz /readyz
EXPOSE 8080 8000 8081 9090
# bash's /dev/tcp instead of curl: nothing extra in the image
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${ALVD_METRICS_PORT:-9090} && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n1 <&3 | grep -q ' 200 '"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/alvd"]
CMD ["server"]
