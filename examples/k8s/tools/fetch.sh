#!/usr/bin/env bash
# Fetches what the offline manifest checks need into .data/k8s: kubeconform, strict standalone Kubernetes JSON
# schemas, the KEDA ScaledObject schema, the trigger metadata keys of KEDA's Kafka scaler, and kustomize when no
# kubectl is installed. Idempotent: each piece is skipped once present, so a second run takes well under a second.
# A piece that cannot be fetched (after retries) is reported and the script exits 1; the checks that need it skip.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
DATA="$ROOT/.data/k8s"
TOOLS="$ROOT/examples/k8s/tools"
KUBECONFORM_VERSION=v0.8.0
KUSTOMIZE_VERSION=v5.8.0
K8S_VALIDATE_VERSION=1.37.0
# The oldest and the newest Kubernetes versions the manifests are checked against.
K8S_VERSIONS="1.30.0 1.34.0"
KEDA_VERSION=v2.21.0

log() { echo "[k8s] $*" >&2; }

# retry <what> <command...>: three attempts, each bounded, with a pause that grows.
retry() {
  local what=$1 attempt
  shift
  for attempt in 1 2 3; do
    if timeout 600 "$@"; then return 0; fi
    if [ "$attempt" -lt 3 ]; then
      log "$what failed (attempt $attempt of 3); retrying in $((attempt * 5)) s"
      sleep $((attempt * 5))
    fi
  done
  log "$what failed 3 times; the checks that need it will be skipped until examples/k8s/tools/fetch.sh succeeds"
  return 1
}

mkdir -p "$DATA/bin" "$DATA/downloads" "$DATA/schemas"
failed=0

# kubeconform, built from the Go module proxy.
if [ ! -x "$DATA/bin/kubeconform" ]; then
  log "building kubeconform $KUBECONFORM_VERSION (about a minute)"
  GOBIN="$DATA/bin" retry "go install kubeconform" \
    go install "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION" || failed=1
fi

# kustomize renders the overlays; kubectl has it built in.
if ! command -v kubectl >/dev/null 2>&1 && [ ! -x "$DATA/bin/kustomize" ]; then
  log "no kubectl: building kustomize $KUSTOMIZE_VERSION"
  GOBIN="$DATA/bin" retry "go install kustomize" \
    go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" || failed=1
fi

# Kubernetes schemas: the kubernetes-validate wheel from PyPI, made standalone per kind.
wheel="$DATA/downloads/kubernetes_validate-$K8S_VALIDATE_VERSION-py3-none-any.whl"
for version in $K8S_VERSIONS; do
  out="$DATA/schemas/v$version-standalone-strict"
  [ -d "$out" ] && continue
  if [ ! -f "$wheel" ]; then
    log "downloading kubernetes-validate $K8S_VALIDATE_VERSION from PyPI (about 22 MB)"
    retry "pip download kubernetes-validate" python3 -m pip download --quiet --no-deps --only-binary=:all: \
      --dest "$DATA/downloads" "kubernetes-validate==$K8S_VALIDATE_VERSION" || { failed=1; break; }
  fi
  log "making the Kubernetes v$version schemas standalone"
  unpacked="$DATA/downloads/unpacked"
  rm -rf "$unpacked"
  src="kubernetes_validate/kubernetes-json-schema/v$version-local-strict"
  if unzip -q "$wheel" "$src/*" -d "$unpacked" && node "$TOOLS/inline-schemas.mjs" "$unpacked/$src" "$out" >&2; then
    rm -rf "$unpacked"
  else
    log "could not make the v$version schemas from $wheel"
    rm -rf "$unpacked" "$out.partial"
    failed=1
  fi
done

# KEDA: the ScaledObject CRD and the Kafka scaler's metadata keys, from the Go module.
crd_out="$DATA/schemas/crds/keda.sh/scaledobject_v1alpha1.json"
keys_out="$DATA/keda-kafka-metadata-keys.txt"
if [ ! -f "$crd_out" ] || [ ! -f "$keys_out" ]; then
  log "downloading the KEDA module $KEDA_VERSION"
  if keda_dir=$(retry "go mod download keda" go mod download -json "github.com/kedacore/keda/v2@$KEDA_VERSION" |
    sed -n 's/^\t"Dir": "\(.*\)",$/\1/p') && [ -n "$keda_dir" ]; then
    converter=$(go env GOMODCACHE)/github.com/yannh/kubeconform@$KUBECONFORM_VERSION/scripts/openapi2jsonschema.py
    [ -f "$converter" ] || retry "go mod download kubeconform" go mod download "github.com/yannh/kubeconform@$KUBECONFORM_VERSION" || failed=1
    mkdir -p "$DATA/schemas/crds/keda.sh"
    # The converter writes <kind>_<version>.json into the current folder; kubeconform looks for <group>/ in front.
    if (cd "$DATA/schemas/crds/keda.sh" && DENY_ROOT_ADDITIONAL_PROPERTIES=1 FILENAME_FORMAT='{kind}_{version}' \
      python3 "$converter" "$keda_dir/config/crd/bases/keda.sh_scaledobjects.yaml" >/dev/null); then
      # Keys the scaler reads from trigger metadata; those it may also resolve from the target's env take *FromEnv.
      grep -o 'keda:"name=[^"]*"' "$keda_dir/pkg/scalers/kafka_scaler.go" |
        sed -E 's/keda:"name=([^,"]*),order=([^,"]*).*/\1 \2/' |
        awk '$2 ~ /triggerMetadata/ { print $1; if ($2 ~ /resolvedEnv/) print $1 "FromEnv" }' >"$keys_out.partial" &&
        mv "$keys_out.partial" "$keys_out"
    else
      log "could not convert the ScaledObject CRD (needs python3 with PyYAML)"
      failed=1
    fi
  else
    failed=1
  fi
fi

[ "$failed" = 0 ] || exit 1
