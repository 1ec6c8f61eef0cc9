#!/usr/bin/env bash
# Builds (or reuses) the binaries `pnpm k8s:verify` runs, into .data/k8s/bin: kube-apiserver, kube-controller-manager,
# kube-scheduler, etcd and kwok, all from the Go module proxy, plus kwok's stage files. Idempotent: once every binary
# is present the script only checks them and takes seconds. The first build takes tens of minutes and a Go cache of a
# few GB.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
DATA="$ROOT/.data/k8s"
BIN="$DATA/bin"
WORK="$DATA/build"
K8S_VERSION=v1.34.4
ETCD_VERSION=v3.6.6
KWOK_VERSION=v0.8.0

log() { echo "[k8s-build] $(date -u +%H:%M:%S) $*" >&2; }
mkdir -p "$BIN" "$WORK"

# module_info <module@version> <field>: a field (Dir, GoMod) of `go mod download -json`.
module_info() {
  go mod download -json "$1" | sed -n "s/^\t\"$2\": \"\(.*\)\",\{0,1\}$/\1/p"
}

# wrapper_module <dir> <module> <version> <replace-version>: a module in <dir> that requires <module>@<version> and
# points each of its local `replace ... => ./x` or `../x` lines at the same module from the proxy at
# <replace-version>, since `go install` refuses a module with such replace lines.
wrapper_module() {
  local dir=$1 module=$2 version=$3 replace_version=$4 gomod
  mkdir -p "$dir"
  gomod=$(module_info "$module@$version" GoMod)
  {
    echo "module local/verify-build"
    echo
    sed -n 's/^go \([0-9.]*\)$/go \1/p' "$gomod" | head -1
    echo
    echo "require $module $version"
    echo
    # Both the block form and the single-line form of replace.
    # (etcd points modules it forbids at a FORBIDDEN_DEPENDENCY folder: left out, nothing needs them.)
    grep -v FORBIDDEN_DEPENDENCY "$gomod" |
      sed -n -E 's#^(replace)?[[:space:]]*([^[:space:]]+)[[:space:]]+=>[[:space:]]+\.{1,2}/.*$#replace \2 => \2 '"$replace_version"'#p'
  } >"$dir/go.mod"
  # Keep the upstream godebug settings: the binaries behave as upstream builds them.
  sed -n -e '/^godebug ($/,/^)$/p' -e '/^godebug [^(]/p' "$gomod" >>"$dir/go.mod"
  log "wrapper module for $module@$version: $(grep -c '^replace' "$dir/go.mod") replace lines"
}

# Kubernetes control plane.
if [ -x "$BIN/kube-apiserver" ] && [ -x "$BIN/kube-controller-manager" ] && [ -x "$BIN/kube-scheduler" ]; then
  log "kube-apiserver, kube-controller-manager, kube-scheduler present"
else
  dir="$WORK/kubernetes"
  wrapper_module "$dir" k8s.io/kubernetes "$K8S_VERSION" "v0${K8S_VERSION#v1}"
  pkgs="k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler"
  log "resolving the dependencies of Kubernetes $K8S_VERSION"
  # shellcheck disable=SC2086
  (cd "$dir" && go get $(for p in $pkgs; do echo "$p@$K8S_VERSION"; done))
  v=k8s.io/component-base/version
  minor=${K8S_VERSION#v1.}
  minor=${minor%%.*}
  ldflags="-s -w -X $v.gitVersion=$K8S_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean"
  ldflags="$ldflags -X $v.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  log "building kube-apiserver, kube-controller-manager, kube-scheduler $K8S_VERSION (the first build takes 20 min or more)"
  # shellcheck disable=SC2086
  (cd "$dir" && go build -trimpath -ldflags "$ldflags" -o "$BIN/" $pkgs)
  log "built $(cd "$BIN" && du -sh kube-apiserver kube-controller-manager kube-scheduler | tr '\t\n' ' ')"
fi

# etcd.
if [ -x "$BIN/etcd" ]; then
  log "etcd present"
else
  dir="$WORK/etcd"
  wrapper_module "$dir" go.etcd.io/etcd/server/v3 "$ETCD_VERSION" "$ETCD_VERSION"
  log "building etcd $ETCD_VERSION (about a minute or two)"
  (cd "$dir" && go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" && go build -trimpath -ldflags "-s -w" -o "$BIN/etcd" go.etcd.io/etcd/server/v3)
fi

# kwok and its stage files (fake nodes become Ready, pods get Running and Ready).
if [ -x "$BIN/kwok" ]; then
  log "kwok present"
else
  log "building kwok $KWOK_VERSION (a few minutes)"
  GOBIN="$BIN" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
fi
stages="$DATA/kwok-stages"
if [ ! -d "$stages" ]; then
  kwok_dir=$(module_info "sigs.k8s.io/kwok@$KWOK_VERSION" Dir)
  mkdir -p "$stages.partial"
  for stage in node/fast node/heartbeat pod/general; do
    for f in "$kwok_dir/kustomize/stage/$stage"/*.yaml; do
      [ "$(basename "$f")" = kustomization.yaml ] && continue
      { echo "---"; cat "$f"; } >>"$stages.partial/$(echo "$stage" | tr / -).yaml"
    done
  done
  mv "$stages.partial" "$stages"
fi

for b in kube-apiserver kube-controller-manager kube-scheduler etcd kwok; do
  "$BIN/$b" --help >/dev/null 2>&1 || { log "$BIN/$b does not run"; exit 1; }
done
log "ready: $("$BIN/kube-apiserver" --version), etcd $("$BIN/etcd" --version | sed -n 's/^etcd Version: //p'), kwok $KWOK_VERSION"
