# The pipeline's worker, for docker-compose.yml (or any container platform). Not built here: this machine has no
# Docker engine. The first stage compiles (npm run build: dist/ with the prebuilt workflow bundle, so the worker
# starts without webpack); the image keeps only dist/ and the production dependencies, and runs on Node 24 LTS.
# Pinned by exact version; pin by digest too (node:24.21.0-bookworm-slim@sha256:…) where your registry gives one.
FROM node:24.21.0-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: they fetch the Temporal CLI and the embedded Postgres, which only the local stack needs.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.ts ./scripts/
COPY src ./src
RUN npm run build && npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:24.21.0-bookworm-slim
ENV NODE_ENV=production
# The worker's Prometheus endpoint, reachable from outside the container; the health check reads it too.
ENV METRICS_ADDRESS=0.0.0.0:9464
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# The data directory (a volume in docker-compose.yml) holds the development key when no root key is set.
RUN mkdir /data && chown node:node /data
USER node
EXPOSE 9464
# Healthy while the worker is ready: running, and Temporal, SQS and Postgres answer (/readyz on METRICS_ADDRESS's port).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:' + process.env.METRICS_ADDRESS.split(':').pop() + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
# The worker's Node flags from package.json (config.workerNodeFlags), as `npm run worker` takes them. exec makes node
# PID 1, so SIGTERM reaches it and stops it within 20 s.
CMD exec node $(node -p "require('./package.json').config.workerNodeFlags") dist/worker.js
