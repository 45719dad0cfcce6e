# syntax=docker/dockerfile:1
# hookline production image: Node 24 on Debian slim, production dependencies only, a non-root user,
# a health check. Written by the book but not built here (no Docker engine on this machine); see
# README "Docker" and docker-compose.yml (several instances on PostgreSQL).

FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# better-sqlite3 ships its prebuilt binaries inside the package (linux x64/arm64, glibc and musl):
# nothing to compile or download, so install scripts stay off.
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
# Node runs the TypeScript sources directly (type stripping): no build step, no dev dependencies.
COPY package.json config.example.yaml ./
COPY bin ./bin
COPY src ./src
COPY schema ./schema
COPY recipes ./recipes
# The data folder (SQLite file, attachments, generated dev secrets) belongs to the runtime user, and
# so does attachments/ inside it: a volume mounted there (docker-compose.yml) takes that ownership.
RUN mkdir -p /app/data/attachments && chown -R node:node /app/data
USER node
VOLUME ["/app/data"]
EXPOSE 3000
# Liveness: the process answers. Readiness, including the database, is GET /readyz (for a load
# balancer or an orchestrator's readiness probe).
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form: node is PID 1 and gets SIGTERM directly, for a graceful shutdown (requests drained,
# running steps finished, up to 10 s: give the orchestrator's stop timeout more than that).
STOPSIGNAL SIGTERM
CMD ["node", "bin/hookline.js", "serve"]
