# countersign worker image.
#
#   docker build -t countersign-worker .
#   docker run --rm -e TEMPORAL_ADDRESS=temporal:7233 \
#     -e COUNTERSIGN_PLATFORM_KEY_PASSWORD=... -v "$PWD/keys:/keys:ro" countersign-worker
#
# There is no compile step: tsx (a runtime dependency) runs the TypeScript sources as they are.
# Key files are never baked in: mount them read-only at /keys and name /keys/... in countersign.yaml.

# ---- dependencies: production only (typescript and @types stay out) --------------------------
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# ---- runtime ------------------------------------------------------------------------------------
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app

# Everything stays owned by root and read-only to the process: the worker never rewrites its code.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY src/ ./src/
COPY schema/ ./schema/
COPY workflows/ ./workflows/
COPY activities/ ./activities/
COPY workers/ ./workers/
COPY bin/ ./bin/
COPY examples/ ./examples/

# Mount point for cosign key files (private keys stay mode 0600: the files must be readable by
# uid 1000, the image's "node" user).
RUN mkdir -p /keys
VOLUME ["/keys"]

# Where the worker creates the seal key its replicas share (COUNTERSIGN_SEAL_KEY_FILE in
# docker-compose.yml): owned by the worker's user, so a fresh named volume is writable by it.
RUN mkdir -p /var/lib/countersign/seal && chown 1000:1000 /var/lib/countersign/seal && chmod 700 /var/lib/countersign/seal

# "node" (uid/gid 1000 in the official image), numeric so runtimes can check it is not root.
USER 1000:1000

ENTRYPOINT ["node", "--import", "tsx", "workers/main.ts"]
