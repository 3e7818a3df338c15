# sks-recon: SKS recon gossip with the peers in membership; port 11370 is published directly.
# The health check looks for the listening socket in /proc instead of connecting (a connection would be a recon
# session turned away, logged every 30 s).
# Build from the repository root: docker build -f docker/sks-recon.Dockerfile .  (docker-compose.yml does this)
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
RUN sh docker/assemble.sh sks-recon /out

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
EXPOSE 11370 9372
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["node", "-e", "const fs = require(`node:fs`); const port = `:` + (11370).toString(16).toUpperCase().padStart(4, `0`); const listening = [`/proc/net/tcp`, `/proc/net/tcp6`].some((f) => { try { return fs.readFileSync(f, `utf8`).split(`\\n`).some((l) => { const c = l.trim().split(/ +/); return c[1]?.endsWith(port) && c[3] === `0A`; }); } catch { return false; } }); process.exit(listening ? 0 : 1)"]
ENTRYPOINT ["sks-entrypoint"]
CMD ["node", "--enable-source-maps", "packages/sks-recon/dist/main.js", "--basedir", "/var/sks"]
