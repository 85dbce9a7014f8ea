# The pipeline's worker, for docker-compose.yml (or any container platform). Not built here: this machine has no
# Docker engine. Production dependencies only; tsx runs the TypeScript as `npm run worker` does.
FROM node:20.20-bookworm-slim AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: they fetch the Temporal CLI and the embedded Postgres, which only the local stack needs.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:20.20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=dependencies /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY src ./src
# The data directory (a volume in docker-compose.yml) holds the development key when no root key is set.
RUN mkdir /data && chown node:node /data
USER node
# The worker's Prometheus endpoint, when METRICS_ADDRESS is 0.0.0.0:9464.
EXPOSE 9464
# The worker's Node flags from package.json (config.workerNodeFlags), as `npm run worker` takes them. exec makes node
# PID 1, so SIGTERM reaches it and stops it within 20 s.
CMD exec node $(node -p "require('./package.json').config.workerNodeFlags") --import tsx src/worker.ts
