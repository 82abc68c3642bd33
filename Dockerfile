# Why: the production image. Node 22 runs the TypeScript sources directly (type stripping), so the
# build stage only installs production dependencies; the runtime stage is small and runs as non-root.

FROM node:22-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:22-bookworm-slim AS runtime
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
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "src/server.ts"]
