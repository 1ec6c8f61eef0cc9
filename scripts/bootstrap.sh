#!/usr/bin/env bash
# Installs what the project needs on a fresh machine: pnpm (pinned), the workspace's packages, the Kafka jars and
# the schema registry.
# Idempotent: a second run checks and returns quickly.
set -euo pipefail
cd "$(dirname "$0")/.."

PNPM_VERSION=$(node -p "require('./package.json').packageManager.split('@')[1]")
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
  echo "[bootstrap] installing pnpm $PNPM_VERSION" >&2
  npm install --global --no-fund --no-audit "pnpm@$PNPM_VERSION" >&2
fi

if [ ! -f node_modules/.modules.yaml ] || [ pnpm-lock.yaml -nt node_modules/.modules.yaml ]; then
  echo "[bootstrap] installing packages" >&2
  pnpm install --frozen-lockfile >&2
fi

node test/kafka/broker.mjs fetch
node test/registry/registry.mjs fetch

# Tools and schemas for the offline Kubernetes manifest checks. A registry that does not answer must not stop the
# rest: the schema tests skip (and say why) until the fetch succeeds.
if ! bash examples/k8s/tools/fetch.sh; then
  echo "[bootstrap] Kubernetes schema checks unavailable for now; rerun examples/k8s/tools/fetch.sh" >&2
fi
