# syntax=docker/dockerfile:1
# hookline production image. Written by the book but not built here (no Docker engine on this
# machine); see README "Docker".

FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# better-sqlite3 ships prebuilt binaries for linux-x64/arm64 (glibc and musl): no compiler needed,
# so install scripts stay off.
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json config.example.yaml ./
COPY bin ./bin
COPY src ./src
COPY schema ./schema
COPY recipes ./recipes
RUN mkdir -p /app/data && chown node:node /app/data
USER node
VOLUME ["/app/data"]
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# exec form: hookline is PID 1 and gets SIGTERM directly for a graceful shutdown.
CMD ["node", "bin/hookline.js", "serve"]
