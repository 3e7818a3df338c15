# The suite's front door. Every target honours SKS_BASEDIR (default volumes/sks).
SKS_BASEDIR ?= $(CURDIR)/volumes/sks
export SKS_BASEDIR
NODE := node --enable-source-maps
DUMP_OUT ?= $(SKS_BASEDIR)/dump

.PHONY: deps test-deps build install dump run run-db run-recon run-cron cluster up down rebuild cluster-up cluster-down web test test-fast fuzz bench lint-docker clean bench-scale

## deps: pnpm and node packages (better-sqlite3 compiled from source)
deps:
	@bash scripts/install-deps.sh

## test-deps: also the real peers and clients the tests drive (Debian: sks, gnupg, nginx, debian-keyring, ...)
test-deps:
	@bash scripts/install-deps.sh --test

## build: compile every package to dist/
build: deps
	pnpm run build

## install: load keydumps into the store. DUMP_URL=... downloads first; DUMP_DIR=dir loads a local folder.
install: build
	$(NODE) packages/sks-admin/dist/main.js load $(if $(DUMP_URL),--url "$(DUMP_URL)") $(if $(DUMP_DIR),--dir "$(DUMP_DIR)")

## dump: write the store out as SKS dump files into DUMP_OUT
dump: build
	$(NODE) packages/sks-admin/dist/main.js dump --out "$(DUMP_OUT)"

## run: all three services as local processes, in the foreground; Ctrl-C stops all
run: build
	$(NODE) packages/sks-admin/dist/main.js init
	$(NODE) scripts/run-suite.mjs

## cluster: CLUSTER_NODES (default 3) complete nodes, each on volumes/cluster/nodeN, reconciling with each other,
## behind nginx as a load balancer on 11371 (scripts/run-cluster.mjs: every setting); Ctrl-C stops all
cluster: build
	$(NODE) scripts/run-cluster.mjs

run-db: build
	$(NODE) packages/sks-db/dist/main.js --basedir "$(SKS_BASEDIR)"

run-recon: build
	$(NODE) packages/sks-recon/dist/main.js

run-cron: build
	$(NODE) packages/sks-cron/dist/main.js

## web: copy the built-in web pages into the base directory's web root
web: build
	$(NODE) packages/sks-db/dist/main.js --install-web --basedir "$(SKS_BASEDIR)"

## up/down/rebuild: the same services under docker compose (v2 `docker compose`, else v1 `docker-compose`: COMPOSE below)
up:
	$(COMPOSE) up -d
down:
	$(COMPOSE) down
rebuild:
	$(COMPOSE) build --no-cache && $(COMPOSE) up -d

## cluster-up/cluster-down: the compose profile `cluster` (three nodes behind nginx, a volume each) alone
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)
CLUSTER_SERVICES := balancer node1 node1-recon node1-cron node2 node2-recon node2-cron node3 node3-recon node3-cron
cluster-up:
	$(COMPOSE) --profile cluster up -d $(CLUSTER_SERVICES)
cluster-down:
	$(COMPOSE) --profile cluster rm -s -f $(CLUSTER_SERVICES)

## lint-docker: validate docker-compose.yml and lint every Dockerfile (test/compose.test.ts does the same in make test)
lint-docker: deps
	docker-compose config -q
	for f in docker/*.Dockerfile; do node_modules/.bin/dockerfile-utils lint "$$f" || exit 1; done

## test: everything .ci/run runs: type-check sources, tests and bench, then the fast tier, then the integration tier
test: test-deps build
	pnpm test

## test-fast: the fast tier only (each package's own tests in one process: no GnuPG, SKS, nginx, docker; < 1 min)
test-fast: test-deps
	pnpm run test:fast

## fuzz: the property-based tests with many more cases (FUZZ_RUNS, default 20000 here; 300 in make test)
fuzz: test-deps build
	FUZZ_RUNS=$${FUZZ_RUNS:-20000} node --conditions=source --import tsx --test --test-timeout=3600000 \
	  packages/keystore/test/fuzz.test.ts packages/hkp/test/fuzz.test.ts packages/sks-recon/test/fuzz.test.ts \
	  packages/sks-db/test/integration/fuzz.test.ts

## bench: load, lookup and recon benchmarks, ours beside real SKS 1.1.6
bench: test-deps build
	$(NODE) --conditions=source --import tsx bench/run.ts

## bench-scale: the suite at network scale (stores of 100k, 2M and 6M keys, SKS beside it up to 2M); see bench/scale.ts
bench-scale: test-deps build
	BENCH_ONLY=scale $(NODE) --conditions=source --import tsx bench/run.ts

clean:
	rm -rf packages/*/dist packages/*/tsconfig.tsbuildinfo packages/*/test/tsconfig.tsbuildinfo test/tsconfig.tsbuildinfo bench/tsconfig.tsbuildinfo
