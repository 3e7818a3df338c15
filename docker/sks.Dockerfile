# The three service images, one target each, from one build stage: the workspace is installed and compiled once
# and each image takes its service's share of /out (docker/assemble.sh). From the repository root:
#   docker build -f docker/sks.Dockerfile --target sks-db .     (sks-recon, sks-cron; docker-compose.yml does this)
# Behind a TLS-intercepting proxy in front of the npm registry, give the build its CA (PEM text; the runtime images
# do not carry it): --build-arg EXTRA_CA="$(cat proxy-ca.pem)", or SKS_BUILD_EXTRA_CA for docker-compose.
FROM node:20-bookworm-slim AS build
ARG EXTRA_CA=""
# better-sqlite3 compiles its native binding, with our patch (patches/: its SQLite may map a whole large store),
# never a prebuilt one.
ENV npm_config_build_from_source=better-sqlite3
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY docker/with-extra-ca.sh docker/
RUN sh docker/with-extra-ca.sh npm install -g pnpm@10.34.9
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml tsconfig.base.json ./
COPY patches ./patches
COPY packages ./packages
COPY docker ./docker
RUN sh docker/with-extra-ca.sh sh docker/assemble.sh /out

# What the three runtime images share: no compilers, the unprivileged node user, the base directory's volume.
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production SKS_BASEDIR=/var/sks
WORKDIR /app
COPY docker/entrypoint.sh /usr/local/bin/sks-entrypoint
RUN chmod 0755 /usr/local/bin/sks-entrypoint \
 && mkdir -p /var/sks \
 && chown node:node /var/sks
USER node
VOLUME /var/sks
ENTRYPOINT ["sks-entrypoint"]

# sks-db: the HKP service (lookups, /pks/add, /pks/hashquery, web, WKD, VKS); nginx sits in front.
FROM runtime AS sks-db
COPY --from=build /out/sks-db /app
EXPOSE 11371 9371
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["node", "-e", "fetch(`http://127.0.0.1:11371/pks/lookup?op=stats&options=mr`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "--enable-source-maps", "packages/sks-db/dist/main.js", "--basedir", "/var/sks"]

# sks-recon: SKS recon gossip with the peers in membership; port 11370 is published directly. The health check
# looks for the listening socket in /proc instead of connecting (a connection would be a recon session turned
# away, logged every 30 s).
FROM runtime AS sks-recon
COPY --from=build /out/sks-recon /app
EXPOSE 11370 9372
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["node", "-e", "const fs = require(`node:fs`); const port = `:` + (11370).toString(16).toUpperCase().padStart(4, `0`); const listening = [`/proc/net/tcp`, `/proc/net/tcp6`].some((f) => { try { return fs.readFileSync(f, `utf8`).split(`\\n`).some((l) => { const c = l.trim().split(/ +/); return c[1]?.endsWith(port) && c[3] === `0A`; }); } catch { return false; } }); process.exit(listening ? 0 : 1)"]
CMD ["node", "--enable-source-maps", "packages/sks-recon/dist/main.js", "--basedir", "/var/sks"]

# sks-cron: scheduled upkeep (logs, SQLite, stats, keydumps, blocklist); also holds sks-admin.
FROM runtime AS sks-cron
COPY --from=build /out/sks-cron /app
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["node", "-e", "process.kill(1, 0)"]
CMD ["node", "--enable-source-maps", "packages/sks-cron/dist/main.js", "--basedir", "/var/sks"]
