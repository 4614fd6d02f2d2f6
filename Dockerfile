# syntax=docker/dockerfile:1.7
# One image for every vcu app; docker-compose.yml picks the app with `command`.
# Stages: prune the workspace to what the apps need (turbo prune), install and build, then
# copy production dependencies and the built code into a small image that runs as non-root.

ARG NODE_VERSION=22.21

FROM node:${NODE_VERSION}-bookworm-slim AS base
# corepack fetches the pnpm of package.json's packageManager; no prompt for it (there is no TTY)
ENV PNPM_HOME=/pnpm PATH=/pnpm:$PATH COREPACK_ENABLE_DOWNLOAD_PROMPT=0
RUN corepack enable
WORKDIR /app

FROM base AS prune
COPY . .
RUN pnpm dlx turbo@2.11.11 prune @vcu/watcher @vcu/worker @vcu/dashboard @vcu/cli --docker

FROM base AS build
COPY --from=prune /app/out/json/ .
RUN --mount=type=cache,id=pnpm,target=/pnpm/store pnpm install --frozen-lockfile
COPY --from=prune /app/out/full/ .
RUN pnpm turbo run build --filter=@vcu/watcher --filter=@vcu/worker --filter=@vcu/dashboard --filter=@vcu/cli \
 && rm -rf node_modules apps/*/node_modules packages/*/node_modules \
 && find . -name '*.test.js*' -path '*/dist/*' -delete
RUN --mount=type=cache,id=pnpm,target=/pnpm/store pnpm install --frozen-lockfile --prod --ignore-scripts \
 && chmod -R a+rX /app

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=root:root /app /app
# the watched folder is only read; objects go to S3 and state to Redis. Compose runs the apps as
# VCU_UID:VCU_GID (default 1000:1000, this user), so /app is readable by every user (chmod above).
USER node
STOPSIGNAL SIGTERM
# the worker, with its Node options (NODE_FLAGS in packages/config/src/launch.ts)
CMD ["node", "--max-semi-space-size=4", "apps/worker/dist/main.js"]
