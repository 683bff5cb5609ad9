# ttpush: one image for every role (api, worker, sandbox). Node 24 LTS.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY apps/api/package.json apps/api/
COPY apps/worker/package.json apps/worker/
COPY packages/cli/package.json packages/cli/
COPY packages/client/package.json packages/client/
COPY packages/config/package.json packages/config/
COPY packages/contract/package.json packages/contract/
COPY packages/store/package.json packages/store/
COPY packages/pdu/package.json packages/pdu/
COPY packages/sandbox/package.json packages/sandbox/
COPY packages/testkit/package.json packages/testkit/
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY apps ./apps
COPY packages ./packages
COPY proto ./proto
USER node
# Runs as the role given by the command: api, worker or sandbox.
ENTRYPOINT ["node", "packages/cli/bin/ttpush.mjs"]
CMD ["api"]
