# sks-cron: scheduled upkeep (logs, SQLite, stats, keydumps, blocklist); also holds sks-admin.
# Build from the repository root: docker build -f docker/sks-cron.Dockerfile .  (docker-compose.yml does this)
FROM node:20-bookworm-slim AS build
# better-sqlite3 compiles its native binding when no prebuilt one fits.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/* \
 && npm install -g pnpm@10.34.9
WORKDIR /src
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml tsconfig.base.json ./
COPY packages ./packages
COPY docker ./docker
RUN sh docker/assemble.sh sks-cron /out

FROM node:20-bookworm-slim
ENV NODE_ENV=production SKS_BASEDIR=/var/sks
WORKDIR /app
COPY --from=build /out /app
COPY docker/entrypoint.sh /usr/local/bin/sks-entrypoint
RUN chmod 0755 /usr/local/bin/sks-entrypoint \
 && mkdir -p /var/sks \
 && chown node:node /var/sks
USER node
VOLUME /var/sks

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["node", "-e", "process.kill(1, 0)"]
ENTRYPOINT ["sks-entrypoint"]
CMD ["node", "--enable-source-maps", "packages/sks-cron/dist/main.js", "--basedir", "/var/sks"]
