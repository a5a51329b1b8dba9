# syntax=docker/dockerfile:1.7
# alligator, the eBPF sensor: `understory sensor` with its BPF object and native addon.
# Build from the repository root:  docker build -f infra/images/sensor.Dockerfile -t understory/understory-sensor:TAG .
# (infra/images/build.sh does this.) The DaemonSet runs it as root with only the capabilities eBPF and uprobes
# need (see infra/helm/understory/values.yaml, sensor.capabilities), never privileged.

ARG NODE_MAJOR=20

# --- 1. npm packages the program needs at run time (no dev tools, no install scripts) ---------------------
FROM node:${NODE_MAJOR}-bookworm AS deps
WORKDIR /src
COPY package.json package-lock.json ./
# `npm install` as locked rather than `npm ci`: chdb lists optional platform packages the registry does not
# serve for every platform, which `npm ci` calls out of sync (see scripts/setup.sh).
RUN npm install --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

# --- 2. the TypeScript compiled to JavaScript (scripts/build-js.mjs: tests and test data left out): the
#        program runs on plain node, without tsx's loader thread (~26 MiB less RSS, a faster start) ----------
FROM node:${NODE_MAJOR}-bookworm AS js
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm install --ignore-scripts --no-audit --no-fund
COPY scripts/build-js.mjs scripts/
COPY bin ./bin
COPY cli ./cli
COPY lib ./lib
COPY incloud ./incloud
COPY db ./db
COPY sensor ./sensor
RUN node scripts/build-js.mjs /out

# --- 3. the BPF object, its skeleton and the addon (clang, libbpf, bpftool, node-gyp) ---------------------
FROM node:${NODE_MAJOR}-bookworm AS native
RUN apt-get update \
 && apt-get install -y --no-install-recommends clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config \
      make g++ python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
COPY --from=deps /src/node_modules ./node_modules
COPY scripts/build-native.mjs scripts/
COPY sensor/bpf/capture.bpf.c sensor/bpf/capture.h sensor/bpf/
COPY sensor/native/binding.gyp sensor/native/
COPY sensor/native/src sensor/native/src
# vmlinux.h comes from the build host's /sys/kernel/btf/vmlinux; CO-RE relocates the object to each node's
# kernel at load time, so the image runs on any BTF-enabled kernel.
RUN node scripts/build-native.mjs --force

# --- 4. runtime: Node 20 on Debian bookworm slim, shared libbpf and libelf ----------------------------------
FROM node:${NODE_MAJOR}-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libbpf1 libelf1 zlib1g \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/understory
COPY --from=deps /src/node_modules ./node_modules
# The compiled tree (bin/understory.mjs runs cli/main.js when it is there) and the native parts beside it.
COPY --from=js /out/ ./
COPY --from=native /src/sensor/bpf/capture.bpf.o ./sensor/bpf/
COPY --from=native /src/sensor/native/build/Release/understory_capture.node ./sensor/native/build/Release/
# `understory` = bin/understory.mjs under the sensor's Node flags (sensor/nodeFlags.ts).
COPY --chmod=755 infra/images/sensor-launcher.sh /usr/local/bin/understory
ENV NODE_ENV=production
# Root, because loading eBPF programs and reading other processes' /proc entries need uid 0 on most kernels;
# the chart drops every capability except the ones it names.
USER 0
ENTRYPOINT ["understory"]
CMD ["sensor"]
