# syntax=docker/dockerfile:1.7
# The in-cluster services: `understory ingester | k8s-watcher | portal | migrate | collector` in one image.
# Build from the repository root:  docker build -f infra/images/services.Dockerfile -t understory/understory:TAG .
# Runs as an unprivileged user on a read-only root filesystem (tsx's compile cache goes to /tmp, an emptyDir
# in the chart).

ARG NODE_MAJOR=20

# --- 1. npm packages the program needs at run time (no dev tools, no install scripts) ---------------------
FROM node:${NODE_MAJOR}-bookworm AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm install --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

# --- 2. runtime ----------------------------------------------------------------------------------------------
FROM node:${NODE_MAJOR}-bookworm-slim
WORKDIR /opt/understory
COPY --from=deps /src/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY bin ./bin
COPY cli ./cli
COPY lib ./lib
COPY incloud ./incloud
COPY db ./db
# The sensor's TypeScript is imported by the CLI's command modules; its native parts are not shipped here.
COPY sensor ./sensor
RUN ln -s /opt/understory/bin/understory.mjs /usr/local/bin/understory \
 && find . -name '*.test.ts' -not -path './node_modules/*' -delete \
 && groupadd --system --gid 10001 understory \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent understory
ENV NODE_ENV=production
USER 10001:10001
ENTRYPOINT ["understory"]
CMD ["--help"]
