# ecadraft production image: the compiled service and its production
# dependencies on the official Node.js 24 (LTS) image, Debian trixie slim, run
# as a numeric non-root user.
#
#   docker build -t ecadraft .
#   docker run --rm -p 8080:8080 -e VERSION=v1 ecadraft     # or VERSION=v2
#
# The base image is pinned by tag, and fully qualified so that podman/buildah
# resolve it without short-name aliases. For reproducible production builds pin
# it by digest as well (docker.io/library/node:24-trixie-slim@sha256:...);
# this repository's CI cannot reach Docker Hub (it builds against a local
# stand-in of the same name, see test/image/), so a digest could not be tested
# here and is left out on purpose.

# --- build: all dependencies, compile TypeScript (src/ -> dist/) -------------
FROM docker.io/library/node:24-trixie-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# --- prod-deps: production dependencies only, from a clean install -----------
FROM docker.io/library/node:24-trixie-slim AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# --- runtime ----------------------------------------------------------------
FROM docker.io/library/node:24-trixie-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Nothing is RUN in this stage, it only copies. The files stay owned by root:
# the service only reads them and writes nothing to disk.
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# Numeric non-root user and group, no passwd entry needed; matches
# runAsUser/runAsGroup 10001 in kubernetes/ and satisfies runAsNonRoot.
USER 10001:10001
EXPOSE 8080
# No VERSION here: it is chosen per container (-e VERSION=v1|v2); PORT and
# HOST default to 8080 and 0.0.0.0 in the service itself.
# node itself is PID 1 (no npm, no shell, no docker-entrypoint.sh), so it
# receives SIGTERM directly; the service handles it (fail /readyz, drain for
# SHUTDOWN_DELAY_MS, close, exit 0).
# --max-semi-space-size=4 (MiB): what a request allocates dies before the next
# scavenge, so a young generation that stays in the CPU's cache serves more
# requests per core than V8's default, which start-up alone grows to tens of
# MiB; the process is about 20 MB smaller too. 4 served more than 1, 2 or 8
# (docs/performance.md has the side-by-side figures).
# npm start and every process the tests and the benchmark start use this
# line's flags.
ENTRYPOINT []
CMD ["node", "--max-semi-space-size=4", "dist/server.js"]
